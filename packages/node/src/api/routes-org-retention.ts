/**
 * The org's records past their retention period and not erased yet (non-compliant until erased),
 * and the retention schedule of its own systems (connectors/retention.ts), registered under
 * `/v1/orgs/:org`.
 */
import { retentionScheduleOf } from '../connectors/retention.js';
import type { DataRecord } from '../modules/data.js';
import { limitOf, pageQuery } from './org-pages.js';
import { ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { HEX64_PATTERN } from './schema-atoms.js';

/** State rows read at a time while looking for due records. */
const SCAN_BATCH = 500;

export const orgRetentionRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
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

  app.get(
    '/retention/systems',
    {
      ...member,
      schema: {
        ...orgDoc(
          "Retention in the org's systems",
          "The retention schedule of the org's own systems (its data map's, through this node's connectors): the interval (null: no schedule runs on this node), the last run in this node's memory (each system: outcome `done`, `nothing-due` or `failed`, rows, digest, the ledger transaction if one was recorded, and the error's message, which names systems and SQLSTATEs, never a value), and per system the last `retention.run` recorded on the ledger with the count of runs and rows so far.",
        ),
        params: ORG_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org } = request.params;
      const schedule = retentionScheduleOf(orgs, org);
      if (schedule !== undefined) return schedule.view();
      // No schedule here: what the ledger holds for each system of the map in force.
      const systems = orgs.dataMap(org)?.systems ?? [];
      return {
        org,
        intervalMs: null,
        lastRun: null,
        recorded: systems.map((system) => ({ system, run: orgs.retentionRun(org, system) ?? null })),
      };
    },
  );
};
