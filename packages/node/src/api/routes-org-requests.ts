/**
 * Data-subject requests: the queue of requests made to an org, with their legal deadlines, and the
 * org's answers (extend, fulfil, reject), registered under `/v1/orgs/:org`; and the overdue
 * requests across the consortium, a members' route that any node serves, org keys or not.
 */
import { ERASURE_EXCEPTIONS, EXTEND_REASONS, REJECT_REASONS, REVIEW_OUTCOMES } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import { MAX_RECTIFICATIONS, MAX_RECTIFY_VALUE_CHARS } from '../connectors/connector.js';
import { executeRequest } from '../connectors/execute.js';
import { AT_RISK_DAYS, requestStepsView } from '../connectors/steps-view.js';
import { NodeError } from '../errors.js';
import { DATAMAP_SYSTEM_ID } from '../modules/datamap.js';
import { type DataRequest, MAX_EXCEPTIONS } from '../modules/request.js';
import { exportServiceOf } from '../orgs/export-service.js';
import { overdueRequests } from '../store/read-queries.js';
import { anyMember, guard, memberOrgOf } from './auth/guard.js';
import { limitOf, pad, page, pageQuery } from './org-pages.js';
import { ORG_CONFIG, ORG_ID_PARAMS, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import { readPolicyOf } from './read-access.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, hex64, stringEnum } from './schema-atoms.js';

const REQUESTS_CURSOR = '^[01]\\.[0-9]{15}\\.[0-9a-f]{64}$';
const OVERDUE_CURSOR = '^[0-9]{15}\\.[a-z0-9][a-z0-9-]{0,31}/[0-9a-f]{64}$';

const requestCursor = (r: DataRequest) => `${r.status === 'open' ? 0 : 1}.${pad(r.deadline)}.${r.id}`;

/** Records kept under a legal exception when fulfilling an erasure (trust #9): codes, never free text. */
const EXCEPTIONS = Type.Array(
  closed({
    record: hex64(),
    code: stringEnum([...ERASURE_EXCEPTIONS.GDPR, ...ERASURE_EXCEPTIONS.CCPA]),
  }),
  { minItems: 1, maxItems: MAX_EXCEPTIONS },
);
const FULFIL_BODY = closed({
  exceptions: Type.Optional(EXCEPTIONS),
  outcome: Type.Optional(stringEnum(REVIEW_OUTCOMES)),
});
/** Reasons are codes (issue: no free text on the ledger), each with its legal basis (docs/customer-data.md). */
const REASON_BODIES = {
  extend: closed({ reason: stringEnum(EXTEND_REASONS) }),
  reject: closed({ reason: stringEnum(REJECT_REASONS) }),
};
const EXCEPT_BODY = closed({
  system: Type.String({ pattern: DATAMAP_SYSTEM_ID.source, description: 'A system id of the data map in force.' }),
  code: stringEnum([...ERASURE_EXCEPTIONS.GDPR, ...ERASURE_EXCEPTIONS.CCPA]),
});
/** One corrected value: a mapped field of a table of the system (the vault: table `records`, field a record id). */
const RECTIFICATION = closed({
  table: Type.String({ minLength: 1, maxLength: 160 }),
  field: Type.String({ minLength: 1, maxLength: 64 }),
  value: Type.Union([Type.String({ maxLength: MAX_RECTIFY_VALUE_CHARS }), Type.Number(), Type.Boolean(), Type.Null()]),
});
const EXECUTE_BODY = closed({
  attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  rectifications: Type.Optional(
    Type.Record(
      Type.String({ pattern: DATAMAP_SYSTEM_ID.source }),
      Type.Array(RECTIFICATION, { minItems: 1, maxItems: MAX_RECTIFICATIONS }),
      { maxProperties: 64, description: "A rectification's corrected values, by system id of the data map." },
    ),
  ),
});

export const orgRequestRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  const { member } = orgGuards(node);

  app.get(
    '/requests',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Requests made to the org',
          'A page of the data-subject requests made to the org: open ones first, soonest deadline first; `overdue` marks those past their deadline.',
        ),
        params: ORG_PARAMS,
        querystring: pageQuery(REQUESTS_CURSOR),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const limit = limitOf(request.query.limit);
      const now = node.latest().time;
      const all = orgs.requests(request.params.org, now);
      all.sort((a, b) => (requestCursor(a) < requestCursor(b) ? -1 : 1));
      const p = page(all, requestCursor, request.query.after, limit);
      return { now, requests: p.items, next: p.next };
    },
  );

  /** Extending and rejecting take a reason; fulfilling takes the legal exceptions of an erasure. */
  const reasoned = (action: 'extend' | 'reject') =>
    app.post(
      `/requests/:id/${action}`,
      {
        ...member,
        schema: {
          ...orgDoc(
            `${action[0]!.toUpperCase()}${action.slice(1)} a request`,
            `Commits request.${action} signed by the org. \`reason\` is a code, never free text: ${(action === 'extend' ? EXTEND_REASONS : REJECT_REASONS).map((r) => `\`${r}\``).join(', ')} (docs/customer-data.md, "Reasons").`,
          ),
          params: ORG_ID_PARAMS,
          body: REASON_BODIES[action],
        },
        config: ORG_CONFIG,
      },
      async (request) => {
        const { org, id } = request.params;
        return orgs.submit(org, `request.${action}`, { request: id, reason: request.body.reason });
      },
    );

  reasoned('extend');
  app.post(
    '/requests/:id/acknowledge',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Confirm receipt of a request',
          'Commits request.acknowledge signed by the org: it received the request and will process it. CCPA requests to know, delete and correct carry `ackDeadline`, 10 business days after they were made (CCPA regulations 7021(a)); the queue marks a late confirmation `ackOverdue`. Once per request (`CONFLICT` after).',
        ),
        params: ORG_ID_PARAMS,
        body: Type.Optional(closed({})),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      return orgs.submit(org, 'request.acknowledge', { request: id });
    },
  );
  app.post(
    '/requests/:id/fulfil',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Fulfil a request',
          "Commits request.fulfil signed by the org. An erasure is fulfilled only when every record the org holds on the subject is erased, or listed in `exceptions` with a legal exception code (GDPR Art. 17(3) `gdpr-17-3-a`..`e`, CCPA 1798.105(d) `ccpa-105-d-1`..`7`); otherwise the result is `CONFLICT`. A review of an automated decision (GDPR Art. 22(3)) needs `outcome`: `upheld` (a person kept the decision) or `changed`; other kinds take none (`INVALID_ARGS`). An access or export request is answered with the data itself: the node seals the subject's values from the org's vault to the customer's pairwise key, keeps the envelope for the customer's download (`GET /v1/subjects/{did}/exports/{request}`) and commits `export: {digest, records}` with the fulfilment.",
        ),
        params: ORG_ID_PARAMS,
        body: FULFIL_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      const { exceptions, outcome } = request.body;
      // An access or export request goes with the data itself, sealed to the customer (ADR 0021).
      return exportServiceOf(orgs).fulfil(org, id, {
        ...(exceptions === undefined ? {} : { exceptions }),
        ...(outcome === undefined ? {} : { outcome }),
      });
    },
  );

  reasoned('reject');

  app.get(
    '/requests/:id/steps',
    {
      ...member,
      schema: {
        ...orgDoc(
          "A request's steps in the org's systems",
          `For each system of the data map in force, the recorded step of the request (\`request.step\`: outcome, rows, salted digest, exception or error, failures, time, txId), or \`pending\`; how many are complete; and the legal deadline with its flags: \`overdue\` (open past the deadline), \`paused\` (a failed step keeps it open) and \`atRisk\` (paused with the deadline ${AT_RISK_DAYS} days away or less, or past). \`now\` is the latest block time, the clock of the flags.`,
        ),
        params: ORG_ID_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      return requestStepsView(orgs, org, id, node.latest().time);
    },
  );

  app.post(
    '/requests/:id/except',
    {
      ...member,
      schema: {
        ...orgDoc(
          "Keep one system's data under a legal exception",
          "Commits `request.step` with outcome `exception` for one system of the data map in force: the org keeps the subject's data there under a legal exception of the request's jurisdiction (GDPR Art. 17(3) `gdpr-17-3-a`..`e`, CCPA 1798.105(d) `ccpa-105-d-1`..`7`), and the step counts as complete. Erasure requests only; a code of the other jurisdiction is `INVALID_ARGS`, a system not in the map `NOT_FOUND`, a system already done or excepted `CONFLICT`. The customer sees the exception in words in their history.",
        ),
        params: ORG_ID_PARAMS,
        body: EXCEPT_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      const { system, code } = request.body;
      return orgs.submit(org, 'request.step', {
        request: id,
        system,
        step: 'erase',
        outcome: 'exception',
        exception: code,
      });
    },
  );

  app.post(
    '/requests/:id/execute',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Run a request across the org systems',
          "Runs an open access, export, erasure or rectification request in every system of the org's data map in force, through the connectors this node is configured with: each step retried with backoff (`attempts`, default 3), then recorded on the ledger (`request.step`), and the request fulfilled once every system is done. A failing step is recorded and pauses the request (`status: paused`); running it again resumes from that step. An access run answers each system's exported rows with the salt of its recorded digest. A rectification carries its corrected values in `rectifications`, by system id: each a mapped field of a table (`table` as `schema.name`; the vault's table is `records`, its field a record id of the subject) with its new value, a JSON scalar; the values go to the connectors only, the ledger gets each system's row count and salted digest. A step whose system committed before the node stopped (a crash) is recorded from the node's step journal, not run again (`recovered`).",
        ),
        params: ORG_ID_PARAMS,
        body: EXECUTE_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      const connectors = orgs.connectorsOf(org);
      if (connectors === undefined) {
        throw new NodeError(
          'BAD_REQUEST',
          `this node has no connectors configured for org '${org}' (see docs/operations.md)`,
        );
      }
      const { attempts, rectifications } = request.body;
      const kind = orgs.request(org, id)?.kind;
      if (rectifications !== undefined && kind !== undefined && kind !== 'rectify') {
        throw new NodeError('BAD_REQUEST', `expected rectifications only for a rectification request, not ${kind}`);
      }
      // The corrected values go to the connectors only: never to the ledger (it gets the digest) or a log.
      return executeRequest(orgs, org, id, connectors, {
        ...(attempts === undefined ? {} : { attempts }),
        ...(rectifications === undefined ? {} : { rectifications }),
      });
    },
  );
};

/**
 * `GET /v1/requests/overdue`. Overdue requests name customers' pseudonyms: members only (trust #5,
 * #6). A member sees its own org's in full, and other orgs' as the read policy says
 * (`commitments`: without the subject). Read through the index of open requests by deadline, a page
 * at a time: never a scan of all requests. Needs no org key on this node: served by every node.
 */
export const overdueRequestRoutes: RoutePlugin = async (app) => {
  const node = app.custos;
  const readPolicy = readPolicyOf(node.genesis);
  app.get(
    '/v1/requests/overdue',
    {
      ...guard(node, { tokens: true, authorize: anyMember(), signer: 'a current member key' }),
      schema: {
        tags: ['organizations'],
        summary: 'Overdue requests',
        description:
          "A page of the requests still open past their legal deadline, as of the latest block, soonest deadline first: the caller's own org's in full; other orgs' (without the subject, the records and the reasons) only when the consortium's read policy is `commitments`. Signed (RFC 9421) by a current member key, or an API token with `read`.",
        querystring: pageQuery(OVERDUE_CURSOR),
      },
      config: { problems: ['UNAUTHENTICATED', 'FORBIDDEN', 'SIGNATURE_EXPIRED', 'REPLAYED_REQUEST'] },
    },
    async (request) => {
      const limit = limitOf(request.query.limit);
      const now = node.latest().time;
      const org = memberOrgOf(request, node);
      const cursor = request.query.after;
      const after: [number, string] | undefined =
        cursor === undefined ? undefined : [Number(cursor.slice(0, 15)), `request/${cursor.slice(16)}`];
      const rows = overdueRequests(node.store.db, {
        now,
        ...(readPolicy.otherOrgs === 'commitments' ? {} : { org: org ?? '' }),
        ...(after === undefined ? {} : { after }),
        limit: limit + 1,
      });
      const overdue = rows.slice(0, limit).map((row) => {
        const r = JSON.parse(row.value) as DataRequest;
        if (r.org === org) return r;
        const { id, kind, jurisdiction, openedAt, deadline, originalDeadline, status } = r;
        return { id, org: r.org, kind, jurisdiction, openedAt, deadline, originalDeadline, status };
      });
      const last = rows[limit - 1];
      const next =
        rows.length > limit && last !== undefined ? `${pad(last.deadline)}.${last.key.slice('request/'.length)}` : null;
      return { now, overdue, next };
    },
  );
};
