/**
 * The org's own obligations as a controller, under `/v1/orgs/:org` (docs/customer-data.md, "The
 * consortium's own obligations"): its member profile (GDPR Arts. 26, 27, 37), set or changed by
 * profile.set; its records of processing (Art. 30) and the draft of its DPIA (Art. 35), computed
 * from ledger facts at the latest height (orgs/ropa.ts).
 */
import {
  MAX_PROFILE_CONTACT,
  MAX_PROFILE_NAME,
  MAX_PROFILE_REGIONS,
  MAX_PROFILE_REGISTRATION,
  type MemberProfile,
} from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import { NodeError } from '../errors.js';
import { profileKey } from '../modules/profile.js';
import { dpiaOf, ropaOf } from '../orgs/ropa.js';
import { ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, hex64 } from './schema-atoms.js';

const PROFILE_BODY = closed({
  legalName: Type.String({ minLength: 1, maxLength: MAX_PROFILE_NAME, description: "The controller's legal name." }),
  registration: Type.String({
    minLength: 1,
    maxLength: MAX_PROFILE_REGISTRATION,
    description: 'An LEI, register and number, or VAT id.',
  }),
  dpo: Type.Optional(
    Type.String({
      maxLength: MAX_PROFILE_CONTACT,
      description: "The DPO's role address (`mailto:dpo@...` or `https://...`), never a person's.",
    }),
  ),
  euRepresentative: Type.Optional(
    Type.String({ maxLength: MAX_PROFILE_CONTACT, description: "The EU representative's role address (Art. 27)." }),
  ),
  regions: Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), {
    minItems: 1,
    maxItems: MAX_PROFILE_REGIONS,
    uniqueItems: true,
    description: 'ISO 3166-1 alpha-2 codes of the countries where its peers and vaults run.',
  }),
  arrangementDigest: hex64({ description: 'SHA-256 of the joint-controller arrangement (Art. 26).' }),
});

export const orgRopaRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  const { member } = orgGuards(node);

  app.get(
    '/profile',
    {
      ...member,
      schema: {
        ...orgDoc(
          "The org's member profile",
          'The profile in force (legal name, registration, DPO or EU representative, regions, the digest of the Art. 26 arrangement) with its version; 404 NOT_FOUND while the org has none (it then records no customer data: `NO_PROFILE`).',
        ),
        params: ORG_PARAMS,
      },
      config: { problems: [...ORG_CONFIG.problems, 'NOT_FOUND'] },
    },
    async (request) => {
      const text = node.store.getState(profileKey(request.params.org));
      if (text === undefined) throw new NodeError('NOT_FOUND', `org '${request.params.org}' has no member profile yet`);
      return JSON.parse(text) as MemberProfile;
    },
  );

  app.post(
    '/profile',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Set or change the member profile',
          'Commits profile.set signed by the org: the next version of its profile. The same profile as the one in force is a CONFLICT; regions are checked against ISO 3166-1.',
        ),
        params: ORG_PARAMS,
        body: PROFILE_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request) => orgs.submit(request.params.org, 'profile.set', { ...request.body }),
  );

  app.get(
    '/ropa',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Records of processing (GDPR Art. 30)',
          "Per processing activity (purpose): the categories of data and of subjects, lawful bases, recipients (shares), transfers outside the EEA (the org's regions and its recipients'), retention periods, records past retention, automated decisions and the security measures Custos applies, computed from the live records at the latest height, with the profile and the data map digest in force.",
        ),
        params: ORG_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => ropaOf(node, request.params.org),
  );

  app.get(
    '/dpia',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Draft data protection impact assessment (GDPR Art. 35)',
          "A draft for the DPO to complete (`status: draft`, `forTheDpo`): the systematic description (the records of processing), necessity and proportionality facts (purposes, bases, retention), risks to the people concerned from the risk model's inputs (special categories, records past retention, uses without a basis, automated decisions, transfers, open breaches of the incident register, copies received kept past their due date), each with its `source`, and the measures, at the latest height.",
        ),
        params: ORG_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => dpiaOf(node, request.params.org),
  );
};
