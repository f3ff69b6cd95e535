/**
 * `CustosClient`: a typed client over a Custos node's HTTP API (docs/architecture.md#the-api), one
 * method per route, for Node and the browser (it only needs `fetch`). Answers are typed; every
 * failure is a `CustosApiError` with the node's stable problem `code` (RFC 9457) or a client code.
 *
 * @example
 * const client = new CustosClient({ baseUrl: 'http://127.0.0.1:7070' });
 * const { chainId } = await client.chain();
 * const r = await client.submitAndWait(tx); // r.code: 'OK', 'NO_LAWFUL_BASIS', ...
 */
import { nobleVerifier, type Signer, type Verifier } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import type { JsonValue } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  type ErasureExceptionEntry,
  followMemberSetUpdates,
  genesisMemberChain,
  isMemberSetChain,
  type MemberSet,
  type MemberSetChain,
  type ProofBundle,
  type QuorumCertificate,
  type SignedTx,
  type SubjectReport,
  type TrustedMembers,
  txIdOf,
  type VerifiedFact,
  type VerifiedSubjectReport,
  verifyProofBundle,
  verifySubjectReport,
} from '@custos/protocol/ledger';
import type {
  AccessResult,
  BatchItem,
  BlockView,
  ChainInfo,
  CommitResult,
  CommittedTx,
  DemoWallets,
  Health,
  LawfulBasis,
  LocalOrgs,
  OrgRecordsPage,
  OrgRequests,
  OrgRetention,
  OrgToken,
  OrgTokenInfo,
  OverdueRequests,
  PageQuery,
  ReceiptFormat,
  Receipts,
  RegisterRecordInput,
  StateEntry,
  StatePage,
  TxView,
} from './api-types.js';
import { CustosApiError, isApiError, parseProblem } from './errors.js';
import { readEventStream, type ServerEvent } from './events.js';
import type {
  BlockCertificate,
  BlockTxsPage,
  Finality,
  GpcSupport,
  MemberEpochsPage,
  OpenApiDocument,
  Readiness,
  SnapshotStream,
  TxEvent,
} from './node-types.js';

/** A change a governance proposal makes. */
export type GovAction =
  | {
      kind: 'admit';
      id: string;
      name: string;
      keys: string[];
      endpoint: string;
      /** Proof of possession of each key, in order (`admitAction`, `proveMemberKey`). */
      proofs: string[];
    }
  | { kind: 'remove'; id: string }
  /** `proof`: the new key's proof of possession (`rotateKeyAction`, `proveMemberKey`). */
  | { kind: 'rotateKey'; member: string; oldKey: string; newKey: string; proof: string }
  | { kind: 'params'; threshold: number; blockMaxTxs: number; blockMaxMs: number };

/** A governance proposal (`gov/proposal/<id>`), with its state as of the latest block. */
export interface GovProposal {
  id: string;
  action: GovAction;
  reason: string;
  proposer: string;
  createdAt: number;
  expiresAt: number;
  votes: Record<string, { vote: 'yes' | 'no'; height: number; term: string }>;
  status: 'open' | 'executed' | 'rejected';
  state: 'open' | 'executed' | 'rejected' | 'expired';
  /** Yes votes it needs. */
  needs: number;
  decidedAt?: number;
  effectiveFrom?: number;
  tally?: { yes: number; no: number; members: number; required: number };
}

/** `GET /v1/gov/proposals`: members, rules in force and proposals. */
export interface GovOverview {
  height: number;
  members: { id: string; name: string; keys: string[]; since: number; endpoint: string | null }[];
  params: { threshold: number; blockMaxTxs: number; blockMaxMs: number };
  policy: Record<'admit' | 'remove' | 'rotateKey' | 'params', 'majority' | number> & { proposalTtlBlocks: number };
  proposals: GovProposal[];
}

/** What a `RequestSigner` is asked to sign. */
export interface OutgoingRequest {
  method: string;
  /** Absolute URL (or path, when the client has no base URL), with the query string. */
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Adds authentication headers to a request (an RFC 9421 signature, say). */
export type RequestSigner = (request: OutgoingRequest) => Promise<Record<string, string>> | Record<string, string>;

/**
 * Signs requests with RFC 9421 HTTP Message Signatures (the protocol's `signRequest`): a customer's
 * pairwise key for their own report and receipts, or an org's member key for its routes.
 *
 * @example
 * const { signer } = wallet.relationship(chainId, 'bank');
 * await client.subjectReport(did, {}, { sign: signedBy(signer) });
 */
export function signedBy(signer: Signer): RequestSigner {
  return (req) => {
    const h = signRequest(
      { method: req.method, url: req.url, ...(req.body === undefined ? {} : { body: req.body }) },
      signer,
    );
    const out: Record<string, string> = { 'signature-input': h['Signature-Input'], signature: h.Signature };
    if (h['Content-Digest'] !== undefined) out['content-digest'] = h['Content-Digest'];
    return out;
  };
}

export interface CustosClientOptions {
  /** The node, e.g. `http://127.0.0.1:7070`. Default: the page's origin in a browser. */
  baseUrl?: string;
  /** Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** An org API token, sent as `Authorization: Bearer <token>` (org routes). */
  token?: string;
  /** Signs every request (e.g. RFC 9421 with an org key); per-call `sign` comes on top. */
  sign?: RequestSigner;
  /** Milliseconds before a request is abandoned with `TIMEOUT`. Default 30 s (plus the wait of `?wait=true`). */
  timeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
  /** Signs this call, e.g. a subject report request with the customer's pairwise key. */
  sign?: RequestSigner;
}

export interface SubmitOptions extends CallOptions {
  /**
   * Sends `Sec-GPC: 1` (Global Privacy Control), needed for an `optout.set` with `source: 'gpc'`.
   * A browser never lets a page set a `Sec-` header: there the browser sends it itself when the
   * person turned GPC on, and this flag only documents the intent.
   */
  gpc?: boolean;
  /**
   * Longest wait for the commit, in ms (`submitAndWait`, `submitAndFinalize`...). Default: the
   * client's timeout plus the node's own commit wait. Past it, `TIMEOUT` names the txId: the
   * transaction may still commit, and `tx(txId)` tells later.
   */
  waitMs?: number;
}

/** A commit result, and whether the node said it honoured a GPC signal on that request. */
export type SubmitResult = CommitResult & { gpcHonored: boolean };

const DEFAULT_TIMEOUT_MS = 30_000;
/** The node waits at most 30 s for a commit by default; give it room to answer TIMEOUT itself. */
const WAIT_EXTRA_MS = 35_000;
const MAX_RESPONSE_CHARS = 64 * 1024 * 1024;

export class CustosClient {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #token: string | undefined;
  readonly #sign: RequestSigner | undefined;
  readonly #timeoutMs: number;

  constructor(opts: CustosClientOptions = {}) {
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
    this.baseUrl = (opts.baseUrl ?? origin ?? '').replace(/\/+$/, '');
    const f = opts.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TypeError('expected a fetch implementation');
    this.#fetch = f.bind(globalThis);
    this.#token = opts.token;
    this.#sign = opts.sign;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The same client with another org API token (undefined: none). */
  withToken(token: string | undefined): CustosClient {
    return new CustosClient({
      baseUrl: this.baseUrl,
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      ...(token === undefined ? {} : { token }),
      ...(this.#sign === undefined ? {} : { sign: this.#sign }),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Chain

  /** The chain's id, head and genesis (`GET /v1/chain`). Trust the genesis once, then pin it. */
  async chain(opts?: CallOptions): Promise<ChainInfo> {
    return this.#json('GET', '/v1/chain', undefined, opts);
  }

  /** `GET /healthz`. */
  async health(opts?: CallOptions): Promise<Health> {
    return this.#json('GET', '/healthz', undefined, opts);
  }

  /** A page of block headers, newest first (below `before` when given). */
  async blocks(
    q: { before?: number; limit?: number } = {},
    opts?: CallOptions,
  ): Promise<{ blocks: { height: number; hash: string; header: BlockHeader }[]; next: string | null }> {
    return this.#json('GET', `/v1/blocks${query({ before: q.before, limit: q.limit })}`, undefined, opts);
  }

  /** A block with its transactions and result codes; `'latest'` for the head. */
  async block(height: number | 'latest', opts?: CallOptions): Promise<BlockView> {
    const h = height === 'latest' ? 'latest' : String(checkHeight(height));
    return this.#json('GET', `/v1/blocks/${h}`, undefined, opts);
  }

  /** The quorum certificate of the latest block (`NOT_FOUND` on a node that holds no member key). */
  async checkpoint(opts?: CallOptions): Promise<QuorumCertificate> {
    return this.#json('GET', '/v1/checkpoint', undefined, opts);
  }

  /**
   * A committed transaction: where it landed and its result code, and its signed body when this
   * client's credentials may read it (an org token or key for the org's own, the subject's
   * signature for its own: pass `opts.sign`).
   */
  async tx(txId: string, opts?: CallOptions): Promise<TxView> {
    return this.#json('GET', `/v1/txs/${checkTxId(txId)}`, undefined, opts);
  }

  /** One page of state entries under `prefix` (not proven; use `stateProof` for a proof). */
  async state(q: { prefix?: string; after?: string; limit?: number } = {}, opts?: CallOptions): Promise<StatePage> {
    return this.#json(
      'GET',
      `/v1/state${query({ prefix: q.prefix, after: q.after, limit: q.limit })}`,
      undefined,
      opts,
    );
  }

  /** One state entry (`NOT_FOUND` if absent). */
  async stateEntry(key: string, opts?: CallOptions): Promise<StateEntry> {
    return this.#json('GET', `/v1/state/entry${query({ key })}`, undefined, opts);
  }

  // -------------------------------------------------------------------------------------------
  // Transactions

  /** Submits without waiting: the node checked the shape and window; the signature is checked next. */
  async submit(tx: SignedTx, opts?: SubmitOptions): Promise<{ txId: string }> {
    return this.#json('POST', '/v1/txs', tx, withGpc(opts));
  }

  /** Submits and waits for the block: resolves with the result code (`OK`, `NO_LAWFUL_BASIS`...). */
  async submitAndWait(tx: SignedTx, opts?: SubmitOptions): Promise<SubmitResult> {
    const wait = opts?.waitMs;
    if (wait !== undefined && (!Number.isSafeInteger(wait) || wait < 1)) {
      throw new TypeError('expected waitMs as a positive whole number of milliseconds');
    }
    try {
      const { body, headers } = await this.#call<CommitResult>(
        'POST',
        '/v1/txs?wait=true',
        tx,
        withGpc(opts),
        true,
        wait,
      );
      return { ...body, gpcHonored: headers.get('gpc-honored') === '1' };
    } catch (e) {
      // The node may have admitted it: say which transaction to look up, rather than only "no answer".
      if (!isApiError(e, 'TIMEOUT') || e.problem !== undefined) throw e;
      let txId: string;
      try {
        txId = txIdOf(tx.body);
      } catch {
        throw e;
      }
      throw new CustosApiError(
        'TIMEOUT',
        `transaction ${txId} was sent but no commit came back in time; it may still commit: look it up later (GET /v1/txs/${txId}, custos tx show ${txId})`,
        { request: e.request, cause: e },
      );
    }
  }

  /** Submits up to 2,000 transactions; each item fails or succeeds alone. */
  async submitBatch(txs: SignedTx[], opts: SubmitOptions & { wait?: boolean } = {}): Promise<BatchItem[]> {
    const path = opts.wait === true ? '/v1/txs/batch?wait=true' : '/v1/txs/batch';
    const r = await this.#call<{ results: BatchItem[] }>('POST', path, txs, withGpc(opts), opts.wait === true);
    return r.body.results;
  }

  // -------------------------------------------------------------------------------------------
  // Proofs (verify with the protocol's `verifyProofBundle` and a member set you trust)

  /** Inclusion of a transaction in the history log, against the latest (or a given) checkpoint. */
  async inclusionProof(txId: string, q: { height?: number } = {}, opts?: CallOptions): Promise<ProofBundle> {
    const h = q.height === undefined ? undefined : checkHeight(q.height);
    return this.#json('GET', `/v1/proofs/inclusion/${checkTxId(txId)}${query({ height: h })}`, undefined, opts);
  }

  /** The log at height `to` extends the log at height `from` (append-only). */
  async consistencyProof(from: number, to: number, opts?: CallOptions): Promise<ProofBundle> {
    return this.#json(
      'GET',
      `/v1/proofs/consistency${query({ from: checkHeight(from), to: checkHeight(to) })}`,
      undefined,
      opts,
    );
  }

  /** The value of a state key (or its absence) at the latest checkpoint. */
  async stateProof(key: string, opts?: CallOptions): Promise<ProofBundle> {
    return this.#json('GET', `/v1/proofs/state${query({ key })}`, undefined, opts);
  }

  // -------------------------------------------------------------------------------------------
  // Customers

  /**
   * One page of the right-to-know report of a pairwise pseudonym: state and history with proofs.
   * Verify it (`verifyHistory`) before showing a word of it.
   */
  async subjectReport(
    did: string,
    q: { after?: number; limit?: number } = {},
    opts?: CallOptions,
  ): Promise<SubjectReport> {
    return this.#json(
      'GET',
      `/v1/subjects/${encodeURIComponent(did)}/report${query({ after: q.after, limit: q.limit })}`,
      undefined,
      opts,
    );
  }

  /** The receipts of a consent event (a grant or a withdrawal), signed by the org. */
  async receipts<F extends ReceiptFormat = 'vc'>(txId: string, format?: F, opts?: CallOptions): Promise<Receipts<F>> {
    return this.#json('GET', `/v1/receipts/${checkTxId(txId)}${query({ format })}`, undefined, opts);
  }

  // -------------------------------------------------------------------------------------------
  // Orgs (served by a node holding the org's keys and vault; authenticated with an org token)

  /** The orgs whose keys and vaults this node holds. */
  async localOrgs(opts?: CallOptions): Promise<LocalOrgs> {
    return this.#json('GET', '/v1/orgs', undefined, opts);
  }

  /** One page of the org's records (default 200, at most 500), each flagged when past retention. */
  async orgRecords(org: string, q: PageQuery = {}, opts?: CallOptions): Promise<OrgRecordsPage> {
    return this.#json(
      'GET',
      `/v1/orgs/${seg(org)}/records${query({ after: q.after, limit: q.limit })}`,
      undefined,
      opts,
    );
  }

  /** Stores a value in the org's vault and registers it (the ledger gets a commitment). */
  async registerRecord(
    org: string,
    input: RegisterRecordInput,
    opts?: CallOptions,
  ): Promise<CommitResult & { recordId: string }> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/records`, input, opts, true);
  }

  /** Uses a record for a purpose: the value comes back only if the ledger accepted the access. */
  async accessRecord(
    org: string,
    record: string,
    purpose: string,
    basis: LawfulBasis,
    opts?: CallOptions,
  ): Promise<AccessResult> {
    return this.#json(
      'POST',
      `/v1/orgs/${seg(org)}/records/${checkTxId(record)}/access`,
      { purpose, basis },
      opts,
      true,
    );
  }

  /** Shares (or sells) a record with another member. */
  async shareRecord(
    org: string,
    record: string,
    share: { recipient: string; purpose: string; sale: boolean },
    opts?: CallOptions,
  ): Promise<CommitResult> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/records/${checkTxId(record)}/share`, share, opts, true);
  }

  /** Rectification: the vault gets the new value, the ledger its new commitment. */
  async rectifyRecord(org: string, record: string, value: JsonValue, opts?: CallOptions): Promise<CommitResult> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/records/${checkTxId(record)}/rectify`, { value }, opts, true);
  }

  /** Crypto-shreds records (or everything on a subject), then records the erasure. */
  async erase(
    org: string,
    what: ({ records: string[] } | { subject: string }) & {
      reason: 'request' | 'retention' | 'consent-withdrawn' | 'other';
    },
    opts?: CallOptions,
  ): Promise<{ results: CommitResult[] }> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/erase`, what, opts, true);
  }

  /** One page of the org's requests queue, open ones first by deadline, overdue ones flagged. */
  async orgRequests(org: string, q: PageQuery = {}, opts?: CallOptions): Promise<OrgRequests> {
    return this.#json(
      'GET',
      `/v1/orgs/${seg(org)}/requests${query({ after: q.after, limit: q.limit })}`,
      undefined,
      opts,
    );
  }

  /**
   * Fulfils a request. An erasure is fulfilled only once every record the org holds on the subject
   * is erased, or listed in `exceptions` with a legal exception code (`ERASURE_EXCEPTIONS`);
   * otherwise the result code is `CONFLICT`.
   */
  async fulfilRequest(
    org: string,
    request: string,
    answer: { exceptions?: ErasureExceptionEntry[] } = {},
    opts?: CallOptions,
  ): Promise<CommitResult> {
    const body = answer.exceptions === undefined ? {} : { exceptions: answer.exceptions };
    return this.#json('POST', `/v1/orgs/${seg(org)}/requests/${checkTxId(request)}/fulfil`, body, opts, true);
  }

  /** Extends a request's deadline once, within the legal maximum, with the reason the customer sees. */
  async extendRequest(org: string, request: string, reason: string, opts?: CallOptions): Promise<CommitResult> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/requests/${checkTxId(request)}/extend`, { reason }, opts, true);
  }

  /** Rejects a request with the reason the customer sees. */
  async rejectRequest(org: string, request: string, reason: string, opts?: CallOptions): Promise<CommitResult> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/requests/${checkTxId(request)}/reject`, { reason }, opts, true);
  }

  /** One page of the org's records past retention and not yet erased. */
  async orgRetention(org: string, q: PageQuery = {}, opts?: CallOptions): Promise<OrgRetention> {
    return this.#json(
      'GET',
      `/v1/orgs/${seg(org)}/retention${query({ after: q.after, limit: q.limit })}`,
      undefined,
      opts,
    );
  }

  /** One page of the overdue requests on the chain, as of the latest block. */
  async overdueRequests(q: PageQuery = {}, opts?: CallOptions): Promise<OverdueRequests> {
    return this.#json('GET', `/v1/requests/overdue${query({ after: q.after, limit: q.limit })}`, undefined, opts);
  }

  /** Issues an org API token (sign the call with a member key of the org). The answer is the only time the token is shown. */
  async createToken(
    org: string,
    t: { scopes: ('read' | 'write' | 'governance' | 'replica')[]; ttlDays?: number; label?: string },
    opts?: CallOptions,
  ): Promise<OrgToken> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/tokens`, t, opts);
  }

  /** One page of the org's API tokens, never their secrets (signed with a member key). */
  async orgTokens(
    org: string,
    q: PageQuery = {},
    opts?: CallOptions,
  ): Promise<{ tokens: OrgTokenInfo[]; next: string | null }> {
    return this.#json(
      'GET',
      `/v1/orgs/${seg(org)}/tokens${query({ after: q.after, limit: q.limit })}`,
      undefined,
      opts,
    );
  }

  /** Revokes an org API token at once (signed with a member key). */
  async revokeToken(org: string, id: string, opts?: CallOptions): Promise<OrgTokenInfo> {
    return this.#json('DELETE', `/v1/orgs/${seg(org)}/tokens/${seg(id)}`, undefined, opts);
  }

  // -------------------------------------------------------------------------------------------
  // Event streams (server-sent events; end them with `opts.signal`)

  /**
   * Committed blocks as they come (`GET /v1/events/blocks`), after `after` when given.
   *
   * @example
   * for await (const b of client.blockEvents({ signal })) console.log(b.height);
   */
  async *blockEvents(
    q: { after?: number } = {},
    opts?: CallOptions,
  ): AsyncGenerator<{ height: number; hash: string; header: BlockHeader }> {
    for await (const e of this.#events(`/v1/events/blocks${query({ after: q.after })}`, opts)) {
      if (e.event === 'block') yield JSON.parse(e.data) as { height: number; hash: string; header: BlockHeader };
    }
  }

  /** A subject's new history events as they commit (sign with the subject's key, as its report). */
  async *subjectEvents(did: string, q: { after?: number } = {}, opts?: CallOptions): AsyncGenerator<CommittedTx> {
    const path = `/v1/subjects/${encodeURIComponent(did)}/events${query({ after: q.after })}`;
    for await (const e of this.#events(path, opts)) {
      if (e.event === 'history') yield JSON.parse(e.data) as CommittedTx;
    }
  }

  async *#events(path: string, opts: CallOptions = {}): AsyncGenerator<ServerEvent> {
    const url = `${this.baseUrl}${path}`;
    const what = `GET ${path.split('?')[0]}`;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    Object.assign(headers, opts.headers);
    for (const sign of [this.#sign, opts.sign]) {
      if (sign !== undefined)
        Object.assign(headers, await sign({ method: 'GET', url, headers: { ...headers }, body: undefined }));
    }
    let res: Response;
    try {
      res = await this.#fetch(url, { headers, ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
    } catch (cause) {
      if (opts.signal?.aborted === true) return;
      throw new CustosApiError('NODE_UNREACHABLE', `cannot reach the node at ${this.baseUrl || 'this origin'}`, {
        request: what,
        cause,
      });
    }
    if (!res.ok || res.body === null) {
      const text = await res.text().catch(() => '');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const problem = parseProblem(parsed, res.status);
      if (problem !== undefined) {
        throw new CustosApiError(problem.code, problem.detail, { status: res.status, problem, request: what });
      }
      throw new CustosApiError('BAD_RESPONSE', `${what} failed with HTTP ${res.status}`, {
        status: res.status,
        request: what,
      });
    }
    try {
      yield* readEventStream(res.body);
    } catch (cause) {
      if (opts.signal?.aborted === true) return;
      throw new CustosApiError('NODE_UNREACHABLE', `the event stream ${what} broke off`, { request: what, cause });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Governance

  /** The current members, the rules in force and the governance proposals, newest first (public). */
  async govProposals(opts?: CallOptions): Promise<GovOverview> {
    return this.#json('GET', '/v1/gov/proposals', undefined, opts);
  }

  /** Proposes a governance change signed with the org's key (the proposer votes yes); the proposal id is `txId`. */
  async govPropose(org: string, p: { action: GovAction; reason: string }, opts?: CallOptions): Promise<CommitResult> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/gov/propose`, p, opts, true);
  }

  /** Votes on a governance proposal with the org's key; the deciding vote executes the change. */
  async govVote(org: string, proposal: string, vote: 'yes' | 'no', opts?: CallOptions): Promise<CommitResult> {
    return this.#json('POST', `/v1/orgs/${seg(org)}/gov/vote`, { proposal: checkTxId(proposal), vote }, opts, true);
  }

  // -------------------------------------------------------------------------------------------
  // Chain, finality and snapshots (more reads)

  /** The latest committed block (`GET /v1/blocks/latest`). */
  async latestBlock(opts?: CallOptions): Promise<BlockView> {
    return this.#json('GET', '/v1/blocks/latest', undefined, opts);
  }

  /** One page of a block's transactions in block order, with result codes (`after`: the previous `next`). */
  async blockTxs(height: number, q: PageQuery = {}, opts?: CallOptions): Promise<BlockTxsPage> {
    const path = `/v1/blocks/${checkHeight(height)}/txs${query({ after: q.after, limit: q.limit })}`;
    return this.#json('GET', path, undefined, opts);
  }

  /**
   * A block's quorum certificate; with `wait`, the node answers once the block is final (a quorum of
   * members signed it or a later block), or `TIMEOUT` after 30 s.
   */
  async certificate(height: number, q: { wait?: boolean } = {}, opts?: CallOptions): Promise<BlockCertificate> {
    const path = `/v1/blocks/${checkHeight(height)}/certificate${q.wait === true ? '?wait=true' : ''}`;
    return this.#json('GET', path, undefined, opts, q.wait === true);
  }

  /**
   * A whole block, every transaction in full, as a peer needs it to re-execute: for the consortium's
   * peers only (sign with a member key, or a token with the `replica` scope).
   */
  async replicaBlock(
    height: number,
    opts?: CallOptions,
  ): Promise<Omit<BlockView, 'txIds' | 'indexes' | 'commitments' | 'withheld'>> {
    return this.#json('GET', `/v1/replica/blocks/${checkHeight(height)}`, undefined, opts);
  }

  /** The latest committed height and the latest height a quorum of members signed. */
  async finality(opts?: CallOptions): Promise<Finality> {
    return this.#json('GET', '/v1/finality', undefined, opts);
  }

  /** One page of the chain's certified member-set updates, from epoch `from` (default 1). Public. */
  async memberEpochs(q: { from?: number } = {}, opts?: CallOptions): Promise<MemberEpochsPage> {
    const from = q.from === undefined ? undefined : checkHeight(q.from);
    return this.#json('GET', `/v1/members/epochs${query({ from })}`, undefined, opts);
  }

  /**
   * The chain's member sets up to the current one, each update verified here against the set before
   * it, starting from what you trust (the genesis member set, or a chain of epochs verified before,
   * which never goes back). Pass the result to the `verified*` methods so that a certificate by keys
   * removed since is refused even if a bundle leaves the updates out.
   */
  async verifiedMemberSets(
    trusted: TrustedMembers,
    q: { chainId?: string; verifier?: Verifier } = {},
    opts?: CallOptions,
  ): Promise<MemberSetChain> {
    let chain: MemberSetChain | undefined = isMemberSetChain(trusted) ? trusted : undefined;
    let from: number | null = chain === undefined ? 1 : (chain.epochs[chain.epochs.length - 1]?.epoch ?? 0) + 1;
    for (let pages = 0; from !== null && pages < 64; pages++) {
      const page = await this.memberEpochs({ from }, opts);
      if (chain === undefined) {
        const id = q.chainId ?? page.chainId;
        chain = genesisMemberChain(id, trusted as MemberSet);
      }
      chain = followMemberSetUpdates(chain, page.updates, q.verifier ?? nobleVerifier);
      from = page.next;
    }
    if (chain === undefined) throw new Error('no member sets');
    return chain;
  }

  /**
   * The state at the node's head, once final, as NDJSON (`custos-snapshot/2`), read as a stream:
   * a snapshot can be larger than anything worth buffering. Verify it before trusting a row. For
   * the consortium's peers only: sign with a member key, or use a token with the `replica` scope.
   */
  async snapshot(q: { height?: number } = {}, opts?: CallOptions): Promise<SnapshotStream> {
    const h = q.height === undefined ? undefined : checkHeight(q.height);
    const res = await this.#raw('GET', `/v1/snapshot${query({ height: h })}`, 'application/x-ndjson', opts, true);
    const height = Number(res.headers.get('x-custos-snapshot-height'));
    if (res.body === null || !Number.isSafeInteger(height) || height < 0) {
      await res.body?.cancel().catch(() => {});
      throw new CustosApiError('BAD_RESPONSE', 'expected a snapshot body and an X-Custos-Snapshot-Height header', {
        status: res.status,
        request: 'GET /v1/snapshot',
      });
    }
    return { height, body: res.body };
  }

  // -------------------------------------------------------------------------------------------
  // Waiting for commit and finality, and proofs checked here against a member set the caller trusts

  /**
   * Submits and waits for the commit, then for finality (a quorum certificate over its block).
   *
   * @example
   * const r = await client.submitAndFinalize(tx); // r.code, r.height, r.certificate.final === true
   */
  async submitAndFinalize(
    tx: SignedTx,
    opts?: SubmitOptions,
  ): Promise<SubmitResult & { certificate: BlockCertificate }> {
    const r = await this.submitAndWait(tx, opts);
    return { ...r, certificate: await this.waitForFinality(r.height, opts) };
  }

  /** Resolves once the block at `height` is final on this node (`TIMEOUT` after the node's 30 s). */
  async waitForFinality(height: number, opts?: CallOptions): Promise<BlockCertificate> {
    const c = await this.certificate(height, { wait: true }, opts);
    if (!c.final) {
      throw new CustosApiError(
        'TIMEOUT',
        `expected block ${height} to be final, the node's final height is ${c.finalHeight}`,
        {
          request: 'GET /v1/blocks/{height}/certificate',
        },
      );
    }
    return c;
  }

  /**
   * Waits for a transaction submitted earlier to commit, over its event stream. `TIMEOUT` when the
   * node gave up (past the longest transaction lifetime).
   */
  async waitForCommit(txId: string, opts?: CallOptions): Promise<CommitResult> {
    for await (const e of this.txEvents(txId, opts)) {
      if (e.event === 'committed') {
        const { event: _, ...commit } = e;
        return commit;
      }
      throw new CustosApiError('TIMEOUT', `transaction ${txId} did not commit within ${e.waitedMs} ms`, {
        request: 'GET /v1/events/txs/{txId}',
      });
    }
    throw new CustosApiError('BAD_RESPONSE', `the event stream of ${txId} ended without its commit`, {
      request: 'GET /v1/events/txs/{txId}',
    });
  }

  /**
   * A transaction's inclusion proof, verified here against `members` (never against what the node
   * says the members are): the fact it proves, or a `ProtocolError` from the protocol's verifier.
   */
  async verifiedInclusion(
    txId: string,
    members: TrustedMembers,
    q: { height?: number; chainId?: string; verifier?: Verifier } = {},
    opts?: CallOptions,
  ): Promise<VerifiedFact> {
    const bundle = await this.inclusionProof(txId, q.height === undefined ? {} : { height: q.height }, opts);
    return verifyProofBundle(bundle, members, q.verifier, q.chainId);
  }

  /** A state key's value (or absence), its proof verified here against `members`. */
  async verifiedState(
    key: string,
    members: TrustedMembers,
    q: { chainId?: string; verifier?: Verifier } = {},
    opts?: CallOptions,
  ): Promise<VerifiedFact> {
    return verifyProofBundle(await this.stateProof(key, opts), members, q.verifier, q.chainId);
  }

  /** The log at `to` extends the log at `from`, checked here against `members`. */
  async verifiedConsistency(
    from: number,
    to: number,
    members: TrustedMembers,
    q: { chainId?: string; verifier?: Verifier } = {},
    opts?: CallOptions,
  ): Promise<VerifiedFact> {
    return verifyProofBundle(await this.consistencyProof(from, to, opts), members, q.verifier, q.chainId);
  }

  /**
   * One page of a subject's report, read with a request signed by `signer` (the wallet's pairwise
   * key) and verified here against `members`.
   *
   * @example
   * const { signer, did } = wallet.relationship(chainId, 'bank');
   * const report = await client.verifiedSubjectReport(did, signer, memberSetOf(anchor));
   */
  async verifiedSubjectReport(
    did: string,
    signer: Signer,
    members: MemberSet,
    q: { after?: number; limit?: number; chainId?: string; verifier?: Verifier } = {},
    opts: CallOptions = {},
  ): Promise<VerifiedSubjectReport> {
    const page = {
      ...(q.after === undefined ? {} : { after: q.after }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
    };
    const report = await this.subjectReport(did, page, { ...opts, sign: signedBy(signer) });
    return verifySubjectReport(report, members, q.verifier, q.chainId);
  }

  /**
   * Submits, waits for the commit, and verifies the inclusion proof of the result here: the answer
   * is what the members signed, not what this node claims.
   */
  async submitAndProve(
    tx: SignedTx,
    members: MemberSet,
    q: { chainId?: string; verifier?: Verifier } = {},
    opts?: SubmitOptions,
  ): Promise<SubmitResult & { proof: VerifiedFact }> {
    const r = await this.submitAndWait(tx, opts);
    return { ...r, proof: await this.verifiedInclusion(r.txId, members, q, opts) };
  }

  // -------------------------------------------------------------------------------------------
  // Events, GPC, operations and reference

  /**
   * The commit of one transaction as an event stream: one `committed` event (at once if it already
   * committed), or a `timeout` when the node stops waiting; then the stream ends.
   */
  async *txEvents(txId: string, opts?: CallOptions): AsyncGenerator<TxEvent> {
    for await (const e of this.#events(`/v1/events/txs/${checkTxId(txId)}`, opts)) {
      if (e.event === 'committed') yield { event: 'committed', ...(JSON.parse(e.data) as CommitResult) };
      else if (e.event === 'timeout')
        yield { event: 'timeout', ...(JSON.parse(e.data) as { txId: string; waitedMs: number }) };
    }
  }

  /** The node's Global Privacy Control support resource (`/.well-known/gpc.json`). */
  async gpc(opts?: CallOptions): Promise<GpcSupport> {
    return this.#json('GET', '/.well-known/gpc.json', undefined, opts);
  }

  /** Readiness: resolves when the node can serve, else `NOT_READY` with the reason. */
  async ready(opts?: CallOptions): Promise<Readiness> {
    return this.#json('GET', '/readyz', undefined, opts);
  }

  /** Prometheus metrics, as the node's text exposition. */
  async metrics(opts?: CallOptions): Promise<string> {
    return (await this.#raw('GET', '/metrics', 'text/plain', opts)).text();
  }

  /** The node's OpenAPI 3.1 document. */
  async openapi(opts?: CallOptions): Promise<OpenApiDocument> {
    return this.#json('GET', '/openapi.json', undefined, opts);
  }

  /** The node's API reference page (self-contained HTML). */
  async docsPage(opts?: CallOptions): Promise<string> {
    return (await this.#raw('GET', '/docs', 'text/html', opts)).text();
  }

  /** A non-JSON answer (text or a stream): headers and auth as `#call`, errors as problem+json. */
  async #raw(method: string, path: string, accept: string, opts: CallOptions = {}, waits = false): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const what = `${method} ${path.split('?')[0]}`;
    const headers: Record<string, string> = { accept: `${accept}, application/problem+json` };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    Object.assign(headers, opts.headers);
    for (const sign of [this.#sign, opts.sign]) {
      if (sign !== undefined)
        Object.assign(headers, await sign({ method, url, headers: { ...headers }, body: undefined }));
    }
    const timeout = this.#timeoutMs + (waits ? WAIT_EXTRA_MS : 0);
    const signals = [AbortSignal.timeout(timeout), ...(opts.signal === undefined ? [] : [opts.signal])];
    let res: Response;
    try {
      res = await this.#fetch(url, { method, headers, signal: AbortSignal.any(signals) });
    } catch (cause) {
      if (opts.signal?.aborted === true)
        throw new CustosApiError('ABORTED', `${what} was aborted`, { request: what, cause });
      if ((cause as { name?: string } | null)?.name === 'TimeoutError')
        throw new CustosApiError('TIMEOUT', `no answer to ${what} within ${timeout} ms`, { request: what, cause });
      throw new CustosApiError('NODE_UNREACHABLE', `cannot reach the node at ${this.baseUrl || 'this origin'}`, {
        request: what,
        cause,
      });
    }
    if (res.ok) return res;
    const text = (await res.text().catch(() => '')).slice(0, 64 * 1024);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const problem = parseProblem(parsed, res.status);
    if (problem !== undefined) {
      throw new CustosApiError(problem.code, problem.detail, { status: res.status, problem, request: what });
    }
    throw new CustosApiError('BAD_RESPONSE', `${what} failed with HTTP ${res.status} and no problem document`, {
      status: res.status,
      request: what,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Demo

  /** The demo customers' wallets (`NOT_FOUND` unless the node runs `custos demo`). */
  async demoWallets(opts?: CallOptions): Promise<DemoWallets> {
    return this.#json('GET', '/v1/demo/wallets', undefined, opts);
  }

  // -------------------------------------------------------------------------------------------

  async #json<T>(method: string, path: string, body: unknown, opts?: CallOptions, waits = false): Promise<T> {
    return (await this.#call<T>(method, path, body, opts, waits || path.includes('wait=true'))).body;
  }

  async #call<T>(
    method: string,
    path: string,
    body: unknown,
    opts: CallOptions = {},
    waits = false,
    timeoutMs?: number,
  ): Promise<{ body: T; headers: Headers }> {
    const url = `${this.baseUrl}${path}`;
    const what = `${method} ${path.split('?')[0]}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (text !== undefined) headers['content-type'] = 'application/json';
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    Object.assign(headers, opts.headers);
    for (const sign of [this.#sign, opts.sign]) {
      if (sign !== undefined) Object.assign(headers, await sign({ method, url, headers: { ...headers }, body: text }));
    }
    const timeout = timeoutMs ?? this.#timeoutMs + (waits ? WAIT_EXTRA_MS : 0);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const onAbort = () => controller.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let res: Response;
    let raw: string;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(text === undefined ? {} : { body: text }),
        signal: controller.signal,
      });
      raw = await res.text();
    } catch (cause) {
      if (timedOut)
        throw new CustosApiError('TIMEOUT', `no answer to ${what} within ${timeout} ms`, { request: what, cause });
      if (opts.signal?.aborted === true)
        throw new CustosApiError('ABORTED', `${what} was aborted`, { request: what, cause });
      throw new CustosApiError('NODE_UNREACHABLE', `cannot reach the node at ${this.baseUrl || 'this origin'}`, {
        request: what,
        cause,
      });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (raw.length > MAX_RESPONSE_CHARS) {
      throw new CustosApiError(
        'BAD_RESPONSE',
        `the answer to ${what} is larger than ${MAX_RESPONSE_CHARS} characters`,
        {
          status: res.status,
          request: what,
        },
      );
    }
    let parsed: unknown;
    try {
      parsed = raw.length === 0 ? undefined : JSON.parse(raw);
    } catch (cause) {
      parsed = undefined;
      if (res.ok) {
        throw new CustosApiError('BAD_RESPONSE', `expected JSON in the answer to ${what}`, {
          status: res.status,
          request: what,
          cause,
        });
      }
    }
    if (!res.ok) {
      const problem = parseProblem(parsed, res.status);
      if (problem !== undefined) {
        throw new CustosApiError(problem.code, problem.detail, { status: res.status, problem, request: what });
      }
      throw new CustosApiError('BAD_RESPONSE', `${what} failed with HTTP ${res.status} and no problem document`, {
        status: res.status,
        request: what,
      });
    }
    return { body: parsed as T, headers: res.headers };
  }
}

function withGpc(opts: SubmitOptions | undefined): CallOptions | undefined {
  if (opts?.gpc !== true) return opts;
  return { ...opts, headers: { ...opts.headers, 'sec-gpc': '1' } };
}

function query(params: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function checkTxId(id: string): string {
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) {
    throw new CustosApiError(
      'BAD_REQUEST',
      `expected a transaction id of 64 lower-case hex characters, got '${String(id).slice(0, 80)}'`,
    );
  }
  return id;
}

function checkHeight(h: number): number {
  if (!Number.isSafeInteger(h) || h < 0) {
    throw new CustosApiError(
      'BAD_REQUEST',
      `expected a block height as a non-negative integer, got ${String(h).slice(0, 40)}`,
    );
  }
  return h;
}
