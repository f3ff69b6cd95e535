/**
 * The org's register of personal data breaches (GDPR Arts. 33-34), under `/v1/orgs/:org`: the
 * incidents with their 72-hour clock, opening one, the notification to the authority, the customers
 * affected (from the org's records), notifying them, and closing. The ledger rules are in
 * modules/incident.ts; these routes carry pseudonyms, never values.
 */
import { INCIDENT_DELAY_REASONS, INCIDENT_NATURES, INCIDENT_RISKS } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import { NodeError } from '../errors.js';
import type { DataRecord } from '../modules/data.js';
import { type Incident, incidentKey, incidentNoticeKey, isAuthorityOverdue } from '../modules/incident.js';
import type { CustosNode } from '../node.js';
import { ORG_CONFIG, ORG_ID_PARAMS, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, did, dpvTerm, hex64, stringEnum } from './schema-atoms.js';

/** State rows read at a time. */
const SCAN_BATCH = 500;
/** At most this many customers listed or notified by one call. */
export const MAX_AFFECTED = 10_000;

const OPEN_BODY = closed({
  detectedAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  nature: Type.Array(stringEnum(INCIDENT_NATURES), { minItems: 1, maxItems: 3, uniqueItems: true }),
  categories: Type.Array(dpvTerm(), { minItems: 1, maxItems: 16, uniqueItems: true }),
  risk: stringEnum(INCIDENT_RISKS),
});
const AUTHORITY_BODY = closed({ digest: hex64(), delayReason: Type.Optional(stringEnum(INCIDENT_DELAY_REASONS)) });
const NOTIFY_BODY = closed({
  subjects: Type.Optional(Type.Array(did(), { minItems: 1, maxItems: MAX_AFFECTED, uniqueItems: true })),
});

function incidentOf(node: CustosNode, org: string, id: string): Incident {
  const text = node.store.getState(incidentKey(org, id));
  if (text === undefined) throw new NodeError('NOT_FOUND', `no incident ${id} of ${org}`);
  return JSON.parse(text) as Incident;
}

/**
 * The customers whose data the incident may have touched: a record of theirs at the org in one of its
 * categories, registered before the incident was opened and not erased before it was detected.
 */
export function affectedSubjects(
  node: CustosNode,
  i: Incident,
): { subject: string; records: number; notified: boolean }[] {
  const bySubject = new Map<string, number>();
  let after: string | undefined;
  for (;;) {
    const rows = node.store.listState(`record/${i.org}/`, after, SCAN_BATCH);
    for (const row of rows) {
      const r = JSON.parse(row.value) as DataRecord;
      const held = r.registeredAt <= i.openedAt && (r.erasedAt === null || r.erasedAt >= i.detectedAt);
      if (held && i.categories.includes(r.category)) bySubject.set(r.subject, (bySubject.get(r.subject) ?? 0) + 1);
    }
    if (rows.length < SCAN_BATCH) break;
    after = rows[rows.length - 1]!.key;
  }
  return [...bySubject]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([subject, records]) => ({
      subject,
      records,
      notified: node.store.getState(incidentNoticeKey(i.org, i.id, subject)) !== undefined,
    }));
}

export const orgIncidentRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  const { member } = orgGuards(node);

  app.get(
    '/incidents',
    {
      ...member,
      schema: {
        ...orgDoc(
          "The org's data breaches",
          'Every incident the org registered (GDPR Arts. 33-34), open ones first by the authority deadline (72 hours from detection); `authorityOverdue` marks an open one whose deadline passed without the authority told (a risk not unlikely).',
        ),
        params: ORG_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org } = request.params;
      const now = node.latest().time;
      const incidents: (Incident & { authorityOverdue: boolean })[] = [];
      let after: string | undefined;
      for (;;) {
        const rows = node.store.listState(`incident/${org}/`, after, SCAN_BATCH);
        for (const row of rows) {
          // Notices to customers sit under the incident: `incident/<org>/<id>/n/<did>`.
          if (row.key.split('/').length !== 3) continue;
          const i = JSON.parse(row.value) as Incident;
          incidents.push({ ...i, authorityOverdue: isAuthorityOverdue(i, now) });
        }
        if (rows.length < SCAN_BATCH) break;
        after = rows[rows.length - 1]!.key;
      }
      incidents.sort(
        (a, b) =>
          Number(a.closedAt !== null) - Number(b.closedAt !== null) || a.authorityDeadline - b.authorityDeadline,
      );
      return { now, incidents };
    },
  );

  app.post(
    '/incidents',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Register a data breach',
          'Commits incident.open signed by the org: when it became aware (`detectedAt`, ms, within the last 365 days and not after now), what it touched (`nature`), the DPV categories concerned and the risk to people (`unlikely`, `risk`, `high`). The authority deadline is `detectedAt` + 72 hours. Codes only: no free text reaches the ledger.',
        ),
        params: ORG_PARAMS,
        body: OPEN_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request) => orgs.submit(request.params.org, 'incident.open', { ...request.body }),
  );

  app.post(
    '/incidents/:id/authority',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Record the notification to the authority',
          'Commits incident.authority: the SHA-256 of the notification the org sent its supervisory authority (GDPR Art. 33), once. After the 72 hours `delayReason` is required (`scope-being-established`, `phased-notification`, `detected-by-processor`), and refused before.',
        ),
        params: ORG_ID_PARAMS,
        body: AUTHORITY_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      const { digest, delayReason } = request.body;
      return orgs.submit(org, 'incident.authority', {
        incident: id,
        digest,
        ...(delayReason === undefined ? {} : { delayReason }),
      });
    },
  );

  app.get(
    '/incidents/:id/affected',
    {
      ...member,
      schema: {
        ...orgDoc(
          'The customers a breach may affect',
          `The pseudonyms with a record at the org in one of the incident's categories, registered before it was opened and not erased before it was detected, each with its number of records and whether it was notified; at most ${MAX_AFFECTED} (\`truncated\` says so).`,
        ),
        params: ORG_ID_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      const all = affectedSubjects(node, incidentOf(node, org, id));
      return { incident: id, subjects: all.slice(0, MAX_AFFECTED), truncated: all.length > MAX_AFFECTED };
    },
  );

  app.post(
    '/incidents/:id/notify',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Notify the customers affected',
          'Commits one incident.notify per customer (GDPR Art. 34), each filed under that pseudonym so the customer sees it in the portal: the `subjects` given, or every affected one not yet notified. Answers each result.',
        ),
        params: ORG_ID_PARAMS,
        body: Type.Optional(NOTIFY_BODY),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      const i = incidentOf(node, org, id);
      const subjects =
        request.body?.subjects ??
        affectedSubjects(node, i)
          .filter((s) => !s.notified)
          .slice(0, MAX_AFFECTED)
          .map((s) => s.subject);
      const results = await Promise.all(
        subjects.map(async (subject) => {
          const r = await orgs.submit(org, 'incident.notify', { incident: id, subject });
          return { subject, code: r.code, txId: r.txId, height: r.height };
        }),
      );
      return { incident: id, results };
    },
  );

  app.post(
    '/incidents/:id/close',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Close an incident',
          'Commits incident.close; `CONFLICT` while the authority has not been told, unless the risk was judged unlikely.',
        ),
        params: ORG_ID_PARAMS,
        body: Type.Optional(closed({})),
      },
      config: ORG_CONFIG,
    },
    async (request) => orgs.submit(request.params.org, 'incident.close', { incident: request.params.id }),
  );
};
