/**
 * The consent signals of the ecosystem, for one org (`/v1/orgs/:org`): a GPP string its consent
 * banner collected, recorded on the ledger as `gpp.record` signed by the org (only its restrictive
 * choices apply: an opt-in or a consent needs the customer's own `gpp.record`, which the SDK signs
 * in the customer's browser); the GPP string for its ad stack from the customer's current choices;
 * and its evidence log of Global Privacy Control (docs/customer-data.md, "GPP and GPC").
 */
import { choicesOfModel, decodeGpp, MAX_GPP_LENGTH } from '@custos/protocol/gpp';
import { AGE_BANDS, AGE_EVIDENCE, ART8_AGES } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import { NodeError } from '../errors.js';
import { gpcEvidenceOf } from '../orgs/gpc-evidence.js';
import { custosChoices, emitGppFor } from '../orgs/gpp-emit.js';
import { limitOf, pageQuery } from './org-pages.js';
import { ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, did, hex64, orgId, stringEnum } from './schema-atoms.js';

const GPP_STRING = Type.String({
  minLength: 1,
  maxLength: MAX_GPP_LENGTH,
  pattern: '^[A-Za-z0-9_.~-]+$',
  description: 'An IAB Global Privacy Platform string, e.g. DBABLA~CVVVkkkkkpFY.YA.',
});
const RECORD_BODY = closed({ subject: did(), gpp: GPP_STRING });
const AGE_BODY = closed({
  subject: did(),
  band: stringEnum(AGE_BANDS, { description: 'The age band: under13, 13-15, 16-17 or adult. Never a birth date.' }),
  memberState: Type.Optional(
    stringEnum(Object.keys(ART8_AGES), {
      description: 'The EU member state whose GDPR Art. 8 age applies (default 16).',
    }),
  ),
  evidence: closed({
    method: stringEnum(AGE_EVIDENCE, { description: 'How the org verified the age.' }),
    digest: hex64({ description: 'SHA-256 of the evidence the org keeps (never the evidence itself).' }),
  }),
});
const SUBJECT_PARAMS = closed({ org: orgId(), subject: did() });
const SEQ_PATTERN = '^[1-9][0-9]{0,15}$';

/** A GPP string's choices or BAD_REQUEST saying what was expected. */
function decodedOrBad(gpp: string) {
  try {
    const { model, sections } = decodeGpp(gpp);
    return { sections: [...sections], choices: choicesOfModel(model) };
  } catch (e) {
    throw new NodeError('BAD_REQUEST', `body.gpp: ${(e as Error).message}`);
  }
}

export const orgGppRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  const { member } = orgGuards(node);

  app.post(
    '/gpp',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Record a GPP string from the org banner',
          "Records the customer's GPP string on the ledger (`gpp.record` signed by the org): the ledger applies its opt-outs and limits, and ends the consent a previous GPP record granted if the string no longer consents to all its purposes. `needsCustomer` says whether the string also allows something (an opt-in, a TCF consent) that only the customer's own signature can record (the SDK's `gppRecordTx`, in the customer's browser).",
        ),
        params: ORG_PARAMS,
        body: RECORD_BODY,
      },
      config: { problems: [...ORG_CONFIG.problems, 'BAD_REQUEST', 'TIMEOUT'] },
    },
    async (request, reply) => {
      const { org } = request.params;
      const { subject, gpp } = request.body;
      const { sections, choices } = decodedOrBad(gpp);
      const r = await orgs.submit(org, 'gpp.record', { org, subject, gpp });
      const now = node.latest().time;
      const current = custosChoices((k) => node.store.getState(k), org, subject, now).choices;
      const wantsIn =
        (choices.sale === 'in' && current.sale) ||
        (choices.share === 'in' && current.share) ||
        (choices.targeted === 'in' && current.targeted) ||
        (choices.sensitive === 'in' && current.sensitive) ||
        Object.entries(choices.purposes ?? {}).some(([p, yes]) => yes && !current.consented.has(p));
      return reply.code(r.code === 'OK' ? 201 : 409).send({ ...r, sections, choices, needsCustomer: wantsIn });
    },
  );

  app.post(
    '/age',
    {
      ...member,
      schema: {
        ...orgDoc(
          "Record a customer's age band",
          "Records the age band the org verified for a customer (`age.set` signed by the org), with how it verified it and the SHA-256 of its evidence: a band, never a birth date. Under 16, sale and sharing need the customer's opt-in as a minor, under 13 a parent's (CCPA 1798.120(c)); below the member state's Art. 8 age a use on consent needs a parent's consent (GDPR Art. 8). The customer can record a band too (their own `age.set`), but not change one the org verified.",
        ),
        params: ORG_PARAMS,
        body: AGE_BODY,
      },
      config: { problems: [...ORG_CONFIG.problems, 'BAD_REQUEST', 'TIMEOUT'] },
    },
    async (request, reply) => {
      const { org } = request.params;
      const r = await orgs.submit(org, 'age.set', { org, ...request.body });
      return reply.code(r.code === 'OK' ? 201 : 409).send(r);
    },
  );

  app.get(
    '/gpp/:subject',
    {
      ...member,
      schema: {
        ...orgDoc(
          'GPP string for the ad stack',
          "The customer's current choices at the org as an IAB GPP string: written over the string last recorded for them (fields Custos does not map kept as they came; the same choices give back the same string), or a US National section when none was. Under 16, sale and sharing read as opted out until the customer opted in as a minor; `age` is the relationship's age band (who recorded it, the member state), or null.",
        ),
        params: SUBJECT_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, subject } = request.params;
      return emitGppFor((k) => node.store.getState(k), org, subject, node.latest().time);
    },
  );

  app.get(
    '/gpc-evidence',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Evidence of Global Privacy Control',
          'Every GPC opt-out the API accepted for the org, newest first: pseudonym, what was opted out, when, the request id and route, and the transaction on the ledger. Never an IP address or a user agent. Pass `next` as `after` for the following page.',
        ),
        params: ORG_PARAMS,
        querystring: pageQuery(SEQ_PATTERN),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const limit = limitOf(request.query.limit);
      const before = request.query.after === undefined ? Number.MAX_SAFE_INTEGER : Number(request.query.after);
      const rows = gpcEvidenceOf(node).forOrg(request.params.org, before, limit + 1);
      const evidence = rows.slice(0, limit);
      const last = evidence[evidence.length - 1];
      return { evidence, next: rows.length > limit && last !== undefined ? String(last.seq) : null };
    },
  );
};
