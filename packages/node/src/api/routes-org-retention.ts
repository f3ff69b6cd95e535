/**
 * The org's records past their retention period and not erased yet (non-compliant until erased),
 * registered under `/v1/orgs/:org`.
 */
import type { DataRecord } from '../modules/data.js';
import { limitOf, pageQuery } from './org-pages.js';
import { ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { HEX64_PATTERN } from './schema-atoms.js';

/** State rows read at a time while looking for due records. */
const SCAN_BATCH = 500;

export const orgRetentionRoutes: RoutePlugin<OrgRouteOptions> = async (app) => {
  const node = app.custos;
  const { member } = orgGuards(node);

  app.get(
    '/retention',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Records past retention',
          'A page of the records past their retention period and not erased (non-compliant until erased), in id order.',
        ),
        params: ORG_PARAMS,
        querystring: pageQuery(HEX64_PATTERN),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org } = request.params;
      const limit = limitOf(request.query.limit);
      const now = node.latest().time;
      const due: DataRecord[] = [];
      let after = request.query.after && `record/${org}/${request.query.after}`;
      let more = false;
      for (;;) {
        const rows = node.store.listState(`record/${org}/`, after, SCAN_BATCH);
        for (const row of rows) {
          const rec = JSON.parse(row.value) as DataRecord;
          if (rec.erasedAt !== null || rec.retentionUntil > now) continue;
          if (due.length === limit) {
            more = true;
            break;
          }
          due.push(rec);
        }
        if (more || rows.length < SCAN_BATCH) break;
        after = rows[rows.length - 1]!.key;
      }
      return { now, pastRetention: due, next: more ? (due[due.length - 1]?.id ?? null) : null };
    },
  );
};
