/**
 * Copies follow the original (GDPR Art. 19), under `/v1/orgs/:org`: the obligations on the copies
 * the org holds (erase, rectify, restrict, with due dates) and how its recipients complied, and
 * recording that the org restricted its copies as their sources' restrictions ask. The ledger rules
 * are in modules/copies.ts; erasure and rectification of a copy go through `/erase` and
 * `/records/:id/rectify` as for any record.
 */
import { Type } from '@sinclair/typebox';
import { copyObligationsOf } from '../orgs/copy-obligations.js';
import { ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, hex64, stringEnum } from './schema-atoms.js';

const COPIES_QUERY = closed({
  overdue: Type.Optional(
    stringEnum(['true', 'false'] as const, { description: 'Only obligations past their due date.' }),
  ),
});
const RESTRICTED_BODY = closed({
  records: Type.Array(hex64(), { minItems: 1, maxItems: 256, uniqueItems: true, description: 'Copies the org holds.' }),
});

export const orgCopyRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  const { member } = orgGuards(node);

  app.get(
    '/copies',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Obligations of copies',
          "What the sources' erasures, rectifications and restrictions ask of the copies the org holds (`held`: each with its due date, one month after the source acted; `overdue` once past it while pending), and how each recipient of the org's own shares complied (`recipients`: counts and dates, without records or subjects). `overdue=true` lists only those past due.",
        ),
        params: ORG_PARAMS,
        querystring: COPIES_QUERY,
      },
      config: ORG_CONFIG,
    },
    async (request) => copyObligationsOf(node, request.params.org, { overdue: request.query.overdue === 'true' }),
  );

  app.post(
    '/copies/restricted',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Record copies restricted',
          "Commits data.restricted signed by the org: it restricted these copies in its systems, as their sources' restrictions ask (GDPR Art. 19); fulfils the pending `restrict` obligation of each. `CONFLICT` for a record with none pending, `NOT_FOUND` for one the org does not hold.",
        ),
        params: ORG_PARAMS,
        body: RESTRICTED_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request) => orgs.submit(request.params.org, 'data.restricted', { records: request.body.records }),
  );
};
