/**
 * Company routes for the orgs whose keys and vaults this node holds: the data inventory, registering
 * a value (it goes to the vault; the ledger gets a commitment), using it (the vault decrypts only
 * after the ledger accepted the access), sharing, rectifying, erasing, the requests queue with legal
 * deadlines, retention, consent receipts and the org's API tokens. Every /v1/orgs/:org route needs a
 * request signed (RFC 9421) by a current member key of that org, or an API token of that org
 * (`read` for GET, `write` otherwise); tokens themselves are managed with member keys only. These
 * routes carry personal data in and out: never log or echo a value.
 */
import { ERASURE_EXCEPTIONS } from '@custos/protocol/ledger';
import type { FastifyInstance } from 'fastify';
import { NodeError } from '../errors.js';
import { policyOf } from '../genesis.js';
import { ACTION_KINDS, type GovPolicy, requiredVotes } from '../governance/policy.js';
import {
  GOV_MEMBERS,
  GOV_PARAMS,
  GOV_POLICY,
  type GovParams,
  PROPOSAL_PREFIX,
  type Proposal,
  proposalStatusAt,
} from '../governance/state.js';
import { type DataRecord, LAWFUL_BASES } from '../modules/data.js';
import type { MemberRecord } from '../modules/member.js';
import { type DataRequest, MAX_EXCEPTIONS } from '../modules/request.js';
import type { CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import { consentReceipts, type ReceiptFormat } from '../orgs/receipts.js';
import {
  cursorOf,
  MAX_TOKEN_TTL_DAYS,
  TOKEN_ID_PATTERN,
  TOKEN_SCOPES,
  type TokenScope,
  tokenStoreOf,
} from '../orgs/tokens.js';
import { overdueRequests } from '../store/read-queries.js';
import { memberOfKey } from './auth/authenticate.js';
import { type Authorize, anyMember, guard, memberOrgOf, orgMember, principalOf } from './auth/guard.js';
import { problem, sendProblem } from './problem.js';
import { readPolicyOf } from './read-access.js';

const ID = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const DID = { type: 'string', pattern: '^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$' };
/** A new key's proof of possession (`proveMemberKey`): a base64url Ed25519 signature. */
const PROOF = { type: 'string', pattern: '^[A-Za-z0-9_-]{86}$' };
const DPV = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,15}:[A-Za-z][A-Za-z0-9-]{0,63}$' };
const ORG = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' };
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});
const ORG_PARAMS = closed({ org: ORG }, ['org']);
const ORG_ID_PARAMS = closed({ org: ORG, id: ID }, ['org', 'id']);
const TOKEN_PARAMS = closed({ org: ORG, id: { type: 'string', pattern: TOKEN_ID_PATTERN } }, ['org', 'id']);

export const MAX_PAGE = 500;
const DEFAULT_PAGE = 200;
const LIMIT = {
  type: 'string',
  pattern: '^[0-9]{1,4}$',
  description: `Page size, 1-${MAX_PAGE}, default ${DEFAULT_PAGE}.`,
};
const pageQuery = (after: Record<string, unknown>) =>
  closed({ after: { ...after, description: "Cursor: the previous page's `next`." }, limit: LIMIT });
const RECORDS_QUERY = pageQuery(ID);
const REQUESTS_CURSOR = { type: 'string', pattern: '^[01]\\.[0-9]{15}\\.[0-9a-f]{64}$' };
const OVERDUE_CURSOR = { type: 'string', pattern: '^[0-9]{15}\\.[a-z0-9][a-z0-9-]{0,31}/[0-9a-f]{64}$' };
const TOKENS_CURSOR = { type: 'string', pattern: '^[0-9]{1,15}\\.[0-9a-f]{16}$' };

/** Problems every org-authenticated route can answer, for the OpenAPI document. */
export const ORG_AUTH_PROBLEMS = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SIGNATURE_EXPIRED',
  'REPLAYED_REQUEST',
  'NOT_FOUND',
] as const;

function limitOf(raw: string | undefined): number {
  const n = raw === undefined ? DEFAULT_PAGE : Number(raw);
  if (!(n >= 1 && n <= MAX_PAGE)) {
    throw new NodeError('BAD_REQUEST', `expected querystring.limit between 1 and ${MAX_PAGE}, got ${n}`);
  }
  return n;
}

/** One page of `items` (sorted by `key`, unique keys) after the cursor `after`. */
function page<T>(items: T[], key: (t: T) => string, after: string | undefined, limit: number) {
  const rest = after === undefined ? items : items.filter((t) => key(t) > after);
  const out = rest.slice(0, limit);
  const last = out[out.length - 1];
  return { items: out, next: rest.length > limit && last !== undefined ? key(last) : null };
}

const pad = (n: number) => String(Math.max(0, Math.floor(n))).padStart(15, '0');
const requestCursor = (r: DataRequest) => `${r.status === 'open' ? 0 : 1}.${pad(r.deadline)}.${r.id}`;

/**
 * Receipts are the customer's and the org's: the subject who signed the consent event, a member
 * key of the org it was given to, or that org's token with `read`.
 */
const receiptReader: Authorize = (principal, request, node) => {
  const { txId } = request.params as { txId?: string };
  const t = typeof txId === 'string' ? node.store.getTx(txId) : null;
  const type = t?.tx.body.type;
  if (t === null || (type !== 'consent.grant' && type !== 'consent.withdraw')) {
    throw new NodeError('NOT_FOUND', `no consent event ${String(txId).slice(0, 64)}`);
  }
  const org = String(t.tx.body.args.org);
  if (principal.kind === 'signature') {
    if (principal.did === t.tx.body.signer || memberOfKey(node, principal.did) === org) return;
  } else if (principal.org === org && principal.scopes.includes('read')) {
    return;
  }
  throw new NodeError('FORBIDDEN', 'only the subject of this consent event or its org may read its receipts');
};

export function registerOrgRoutes(app: FastifyInstance, node: CustosNode, orgs: OrgService): void {
  const local = (org: string) => orgs.localOrgs().includes(org);
  const notLocal = (org: string) => problem('NOT_FOUND', `this node does not hold the keys of org '${org}'`);
  const orgKey = 'a current member key of the org';
  const member = guard(node, { tokens: true, authorize: orgMember(), signer: orgKey });
  // Proposing and voting change who runs the chain: a `write` token is not enough (trust #11).
  const governor = guard(node, { tokens: true, authorize: orgMember({ scope: 'governance' }), signer: orgKey });
  const keyHolder = guard(node, { tokens: false, authorize: orgMember({ keysOnly: true }), signer: orgKey });
  const authed = (summary: string, description: string) => ({
    tags: ['organizations'],
    summary,
    description: `${description} Signed (RFC 9421) by a member key of the org, or \`Authorization: Bearer\` with an API token of the org (\`read\` for GET, \`write\` otherwise).`,
  });
  const config = { problems: ORG_AUTH_PROBLEMS };

  app.get(
    '/v1/orgs',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Orgs served by this node',
        description: 'The member orgs whose keys and vaults this node holds. Public.',
      },
    },
    async () => ({ local: orgs.localOrgs() }),
  );

  // Receipts of a consent event, signed by the org: a W3C VC (eddsa-jcs-2022), or its ISO/IEC TS 27560
  // or Kantara CR 1.1 export. Served by a node holding the org's key.
  app.get<{ Params: { txId: string }; Querystring: { format?: ReceiptFormat } }>(
    '/v1/receipts/:txId',
    {
      ...guard(node, {
        tokens: true,
        authorize: receiptReader,
        signer: 'the subject of the consent event or a member key of its org',
      }),
      schema: {
        tags: ['organizations'],
        summary: 'Receipts of a consent event',
        description:
          'The consent receipts of a consent.grant or consent.withdraw, signed by the org: a VC 2.0 (eddsa-jcs-2022), or its ISO/IEC TS 27560 or Kantara CR 1.1 export. Signed (RFC 9421) by the subject of the event or a member key of its org, or with a `read` API token of the org.',
        params: closed({ txId: ID }, ['txId']),
        querystring: closed({ format: { type: 'string', enum: ['vc', 'iso27560', 'kantara'] } }),
      },
      config,
    },
    async (request) => ({
      format: request.query.format ?? 'vc',
      receipts: consentReceipts(node, request.params.txId, (org) => orgs.signerOf(org), request.query.format ?? 'vc'),
    }),
  );

  app.get<{ Params: { org: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/orgs/:org/records',
    {
      ...member,
      schema: {
        ...authed('Records the org holds', "A page of the org's data records (ledger state, no values), in id order."),
        params: ORG_PARAMS,
        querystring: RECORDS_QUERY,
      },
      config,
    },
    async (request) => {
      const { org } = request.params;
      const limit = limitOf(request.query.limit);
      const head = node.latest();
      const rows = node.store.listState(
        `record/${org}/`,
        request.query.after && `record/${org}/${request.query.after}`,
        limit + 1,
      );
      const records = rows.slice(0, limit).map((r) => {
        const rec = JSON.parse(r.value) as DataRecord;
        return { ...rec, pastRetention: rec.erasedAt === null && rec.retentionUntil <= head.time };
      });
      return {
        height: head.height,
        records,
        next: rows.length > limit ? (records[records.length - 1]?.id ?? null) : null,
      };
    },
  );

  app.post<{
    Params: { org: string };
    Body: {
      subject: string;
      category: string;
      purposes: Record<string, string>;
      source: string;
      retentionDays: number;
      value: unknown;
    };
  }>(
    '/v1/orgs/:org/records',
    {
      ...member,
      schema: {
        ...authed(
          'Register a value',
          'Stores the value in the org vault and registers its salted commitment on the ledger.',
        ),
        params: ORG_PARAMS,
        body: closed(
          {
            subject: DID,
            category: DPV,
            purposes: {
              type: 'object',
              minProperties: 1,
              maxProperties: 16,
              propertyNames: DPV,
              additionalProperties: { type: 'string', enum: [...LAWFUL_BASES] },
            },
            source: { type: 'string', enum: ['subject', 'public', 'third-party', 'derived'] },
            retentionDays: { type: 'integer', minimum: 1, maximum: 36500 },
            value: {},
          },
          ['subject', 'category', 'purposes', 'source', 'retentionDays', 'value'],
        ),
      },
      config,
    },
    async (request, reply) => {
      const { org } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      const b = request.body;
      const r = await orgs.register(org, {
        subject: b.subject,
        category: b.category,
        purposes: b.purposes as never,
        source: b.source as never,
        retentionDays: b.retentionDays,
        value: b.value as never,
      });
      return reply.code(r.code === 'OK' ? 201 : 409).send({ ...r });
    },
  );

  app.post<{ Params: { org: string; id: string }; Body: { purpose: string; basis: string } }>(
    '/v1/orgs/:org/records/:id/access',
    {
      ...member,
      schema: {
        ...authed(
          'Use a record',
          'Records the access on the ledger and returns the value only if the ledger accepted it.',
        ),
        params: ORG_ID_PARAMS,
        body: closed({ purpose: DPV, basis: { type: 'string', enum: [...LAWFUL_BASES] } }, ['purpose', 'basis']),
      },
      config,
    },
    async (request, reply) => {
      const { org, id } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      const r = await orgs.access(org, id, request.body.purpose, request.body.basis as never);
      // A refused access is a recorded fact, not an error of the request: 200 with its result code.
      return reply.send(r);
    },
  );

  app.post<{ Params: { org: string; id: string }; Body: { recipient: string; purpose: string; sale: boolean } }>(
    '/v1/orgs/:org/records/:id/share',
    {
      ...member,
      schema: {
        ...authed('Share a record', 'Records a share with another member (needs share or sale permission).'),
        params: ORG_ID_PARAMS,
        body: closed({ recipient: ORG, purpose: DPV, sale: { type: 'boolean' } }, ['recipient', 'purpose', 'sale']),
      },
      config,
    },
    async (request, reply) => {
      const { org, id } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      return orgs.share(org, id, request.body.recipient, request.body.purpose, request.body.sale);
    },
  );

  app.post<{ Params: { org: string; id: string }; Body: { value: unknown } }>(
    '/v1/orgs/:org/records/:id/rectify',
    {
      ...member,
      schema: {
        ...authed('Rectify a record', 'Replaces the value in the vault and its commitment on the ledger.'),
        params: ORG_ID_PARAMS,
        body: closed({ value: {} }, ['value']),
      },
      config,
    },
    async (request, reply) => {
      const { org, id } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      return orgs.rectify(org, id, request.body.value as never);
    },
  );

  app.post<{ Params: { org: string }; Body: { records?: string[]; subject?: string; reason: string } }>(
    '/v1/orgs/:org/erase',
    {
      ...member,
      schema: {
        ...authed(
          'Erase records',
          'Crypto-shreds records (or everything on a subject) in the vault, then records the erasure.',
        ),
        params: ORG_PARAMS,
        body: closed(
          {
            records: { type: 'array', items: ID, minItems: 1, maxItems: 10_000 },
            subject: DID,
            reason: { type: 'string', enum: ['request', 'retention', 'consent-withdrawn', 'other'] },
          },
          ['reason'],
        ),
      },
      config,
    },
    async (request, reply) => {
      const { org } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      const { records, subject, reason } = request.body;
      if ((records === undefined) === (subject === undefined)) {
        return sendProblem(reply, problem('BAD_REQUEST', 'expected exactly one of records or subject'));
      }
      const results =
        subject !== undefined
          ? await orgs.eraseSubject(org, subject, reason === 'retention' ? 'other' : (reason as never))
          : await orgs.erase(org, records!, reason as never);
      return { results };
    },
  );

  app.get<{ Params: { org: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/orgs/:org/requests',
    {
      ...member,
      schema: {
        ...authed(
          'Requests made to the org',
          'A page of the data-subject requests made to the org: open ones first, soonest deadline first; `overdue` marks those past their deadline.',
        ),
        params: ORG_PARAMS,
        querystring: pageQuery(REQUESTS_CURSOR),
      },
      config,
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

  /** Records kept under a legal exception when fulfilling an erasure (trust #9): codes, never free text. */
  const EXCEPTIONS = {
    type: 'array',
    minItems: 1,
    maxItems: MAX_EXCEPTIONS,
    items: closed(
      {
        record: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        code: { type: 'string', enum: [...ERASURE_EXCEPTIONS.GDPR, ...ERASURE_EXCEPTIONS.CCPA] },
      },
      ['record', 'code'],
    ),
  };
  for (const action of ['extend', 'fulfil', 'reject'] as const) {
    app.post<{
      Params: { org: string; id: string };
      Body: { reason?: string; exceptions?: { record: string; code: string }[] };
    }>(
      `/v1/orgs/:org/requests/:id/${action}`,
      {
        ...member,
        schema: {
          ...authed(
            `${action[0]!.toUpperCase()}${action.slice(1)} a request`,
            action === 'fulfil'
              ? 'Commits request.fulfil signed by the org. An erasure is fulfilled only when every record the org holds on the subject is erased, or listed in `exceptions` with a legal exception code (GDPR Art. 17(3) `gdpr-17-3-a`..`e`, CCPA 1798.105(d) `ccpa-105-d-1`..`7`); otherwise the result is `CONFLICT`.'
              : `Commits request.${action} signed by the org.`,
          ),
          params: ORG_ID_PARAMS,
          body:
            action === 'fulfil'
              ? closed({ exceptions: EXCEPTIONS }, [])
              : closed({ reason: { type: 'string', minLength: 1, maxLength: 500 } }, ['reason']),
        },
        config,
      },
      async (request, reply) => {
        const { org, id } = request.params;
        if (!local(org)) return sendProblem(reply, notLocal(org));
        return orgs.submit(org, `request.${action}`, {
          request: id,
          ...(request.body.reason === undefined ? {} : { reason: request.body.reason }),
          ...(request.body.exceptions === undefined ? {} : { exceptions: request.body.exceptions }),
        });
      },
    );
  }

  app.get<{ Params: { org: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/orgs/:org/retention',
    {
      ...member,
      schema: {
        ...authed(
          'Records past retention',
          'A page of the records past their retention period and not erased (non-compliant until erased), in id order.',
        ),
        params: ORG_PARAMS,
        querystring: RECORDS_QUERY,
      },
      config,
    },
    async (request) => {
      const { org } = request.params;
      const limit = limitOf(request.query.limit);
      const now = node.latest().time;
      const due: DataRecord[] = [];
      let after = request.query.after && `record/${org}/${request.query.after}`;
      let more = false;
      for (;;) {
        const rows = node.store.listState(`record/${org}/`, after, 500);
        for (const row of rows) {
          const rec = JSON.parse(row.value) as DataRecord;
          if (rec.erasedAt !== null || rec.retentionUntil > now) continue;
          if (due.length === limit) {
            more = true;
            break;
          }
          due.push(rec);
        }
        if (more || rows.length < 500) break;
        after = rows[rows.length - 1]!.key;
      }
      return { now, pastRetention: due, next: more ? (due[due.length - 1]?.id ?? null) : null };
    },
  );

  // Overdue requests name customers' pseudonyms: members only (trust #5, #6). A member sees its own
  // org's in full, and other orgs' as the read policy says (`commitments`: without the subject).
  // Read through the index of open requests by deadline, a page at a time: never a scan of all requests.
  const readPolicy = readPolicyOf(node.genesis);
  app.get<{ Querystring: { after?: string; limit?: string } }>(
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

  // Governance is public ledger data: the members, the rules in force, every proposal and its votes.
  app.get(
    '/v1/gov/proposals',
    {
      schema: {
        tags: ['chain'],
        summary: 'Members and governance proposals',
        description:
          'The current members (id, name, keys, endpoint), the quorum threshold and voting policy in force, and the governance proposals, newest first (at most 500), each with `state` as of the latest block (`open`, `executed`, `rejected` or `expired`) and the yes votes it `needs`. Public.',
      },
    },
    async () => {
      const head = node.latest();
      const json = <T>(key: string): T | undefined => {
        const text = node.store.getState(key);
        return text === undefined ? undefined : (JSON.parse(text) as T);
      };
      const members: MemberRecord[] = [];
      let after: string | undefined;
      for (;;) {
        const rows = node.store.listState('member/', after, 500);
        for (const r of rows) members.push(JSON.parse(r.value) as MemberRecord);
        if (rows.length < 500) break;
        after = rows[rows.length - 1]!.key;
      }
      const ids = json<{ ids: string[] }>(GOV_MEMBERS)?.ids ?? node.genesis.members.map((m) => m.id);
      const current = members.filter((m) => ids.includes(m.id));
      const params = json<GovParams>(GOV_PARAMS) ?? {
        threshold: node.genesis.threshold,
        blockMaxTxs: node.genesis.params.blockMaxTxs,
        blockMaxMs: node.genesis.params.blockMaxMs,
      };
      const policy = json<GovPolicy>(GOV_POLICY) ?? policyOf(node.genesis);
      const proposals: (Proposal & { state: string; needs: number })[] = [];
      after = undefined;
      for (;;) {
        const rows = node.store.listState(PROPOSAL_PREFIX, after, 500);
        for (const r of rows) {
          const p = JSON.parse(r.value) as Proposal;
          const needs = p.tally?.required ?? requiredVotes(policy[p.action.kind], current.length);
          proposals.push({ ...p, state: proposalStatusAt(p, head.height), needs });
        }
        if (rows.length < 500) break;
        after = rows[rows.length - 1]!.key;
      }
      proposals.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
      return {
        height: head.height,
        members: current.map((m) => ({
          id: m.id,
          name: m.name,
          keys: m.keys,
          since: m.since,
          endpoint: m.endpoint ?? null,
        })),
        params,
        policy,
        proposals: proposals.slice(0, 500),
      };
    },
  );

  const GOV_ACTION = {
    type: 'object',
    required: ['kind'],
    maxProperties: 6,
    properties: {
      kind: { type: 'string', enum: [...ACTION_KINDS] },
      id: ORG,
      name: { type: 'string', minLength: 1, maxLength: 128 },
      keys: { type: 'array', minItems: 1, maxItems: 8, items: DID },
      endpoint: { type: 'string', minLength: 1, maxLength: 512 },
      member: ORG,
      oldKey: DID,
      newKey: DID,
      // Proofs of possession by the new keys (trust #4): base64url Ed25519 signatures.
      proofs: { type: 'array', minItems: 1, maxItems: 8, items: PROOF },
      proof: PROOF,
      threshold: { type: 'integer', minimum: 1, maximum: 64 },
      blockMaxTxs: { type: 'integer', minimum: 1, maximum: 10_000 },
      blockMaxMs: { type: 'integer', minimum: 1, maximum: 60_000 },
    },
    additionalProperties: false,
  };

  app.post<{ Params: { org: string }; Body: { action: Record<string, unknown>; reason: string } }>(
    '/v1/orgs/:org/gov/propose',
    {
      ...governor,
      schema: {
        ...authed(
          'Propose a governance change',
          'Commits `gov.propose {action, reason}` signed with the org key (an API token needs the `governance` scope): admit (`id`, `name`, `keys`, `endpoint`, `proofs`), remove (`id`), rotateKey (`member`, `oldKey`, `newKey`, `proof`) or params (`threshold`, `blockMaxTxs`, `blockMaxMs`); the proposer votes yes. Answers 200 with the result code; the proposal id is the `txId`.',
        ),
        params: ORG_PARAMS,
        body: closed({ action: GOV_ACTION, reason: { type: 'string', minLength: 1, maxLength: 1024 } }, [
          'action',
          'reason',
        ]),
      },
      config,
    },
    async (request, reply) => {
      const { org } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      const { action, reason } = request.body;
      return orgs.governance(org, { propose: { action: action as never, reason } });
    },
  );

  app.post<{ Params: { org: string }; Body: { proposal: string; vote: 'yes' | 'no' } }>(
    '/v1/orgs/:org/gov/vote',
    {
      ...governor,
      schema: {
        ...authed(
          'Vote on a governance proposal',
          'Commits `gov.vote {proposal, vote}` signed with the org key (an API token needs the `governance` scope); the vote that reaches the threshold executes the change. Answers 200 with the result code (`PROPOSAL_CLOSED` once decided or expired).',
        ),
        params: ORG_PARAMS,
        body: closed({ proposal: ID, vote: { type: 'string', enum: ['yes', 'no'] } }, ['proposal', 'vote']),
      },
      config,
    },
    async (request, reply) => {
      const { org } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      return orgs.governance(org, { vote: { proposal: request.body.proposal, vote: request.body.vote } });
    },
  );

  // API tokens: issued, listed and revoked with a member key only (a leaked token cannot mint more).
  const tokensDoc = (summary: string, description: string) => ({
    tags: ['organizations'],
    summary,
    description: `${description} Signed (RFC 9421) by a current member key of the org; API tokens are not accepted here.`,
  });

  app.post<{ Params: { org: string }; Body: { scopes: TokenScope[]; ttlDays?: number; label?: string } }>(
    '/v1/orgs/:org/tokens',
    {
      ...keyHolder,
      schema: {
        ...tokensDoc(
          'Issue an API token',
          'Creates a bearer token for the org with scopes `read` and/or `write`, valid `ttlDays` (default 90). The answer holds the token: the only time it is shown; the node keeps its SHA-256.',
        ),
        params: ORG_PARAMS,
        body: closed(
          {
            scopes: {
              type: 'array',
              minItems: 1,
              maxItems: TOKEN_SCOPES.length,
              uniqueItems: true,
              items: { type: 'string', enum: [...TOKEN_SCOPES] },
            },
            ttlDays: { type: 'integer', minimum: 1, maximum: MAX_TOKEN_TTL_DAYS },
            label: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[\\x20-\\x7e]+$' },
          },
          ['scopes'],
        ),
      },
      config,
    },
    async (request, reply) => {
      const { org } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      const principal = principalOf(request);
      const { token, info } = tokenStoreOf(node).create(org, {
        scopes: request.body.scopes,
        createdBy: principal?.kind === 'signature' ? principal.did : 'unknown',
        ...(request.body.ttlDays === undefined ? {} : { ttlDays: request.body.ttlDays }),
        ...(request.body.label === undefined ? {} : { label: request.body.label }),
      });
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ token, ...info });
    },
  );

  app.get<{ Params: { org: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/orgs/:org/tokens',
    {
      ...keyHolder,
      schema: {
        ...tokensDoc(
          'API tokens of the org',
          'A page of the org tokens, oldest first, revoked and expired ones included; never their secrets.',
        ),
        params: ORG_PARAMS,
        querystring: pageQuery(TOKENS_CURSOR),
      },
      config,
    },
    async (request) => {
      const limit = limitOf(request.query.limit);
      const rows = tokenStoreOf(node).list(request.params.org, request.query.after, limit + 1);
      const tokens = rows.slice(0, limit);
      const last = tokens[tokens.length - 1];
      return { tokens, next: rows.length > limit && last !== undefined ? cursorOf(last) : null };
    },
  );

  app.delete<{ Params: { org: string; id: string } }>(
    '/v1/orgs/:org/tokens/:id',
    {
      ...keyHolder,
      schema: {
        ...tokensDoc('Revoke an API token', 'Revokes the token at once; it stays listed with its `revokedAt`.'),
        params: TOKEN_PARAMS,
      },
      config,
    },
    async (request, reply) => {
      const { org, id } = request.params;
      const t = tokenStoreOf(node).revoke(org, id);
      if (t === undefined) return sendProblem(reply, problem('NOT_FOUND', `org '${org}' has no API token ${id}`));
      return t;
    },
  );
}
