/**
 * `CustosClient`: a typed client over a Custos node's HTTP API (docs/api.md), one method per route,
 * for Node and the browser (it only needs `fetch`). Answers are typed; every failure is a
 * `CustosApiError` with the node's stable problem `code` (RFC 9457) or a client code.
 *
 * The class only binds things together: HTTP, authentication and errors live in `transport/`, each
 * route group in `actions/` (a function taking the transport first), and the calls that fetch a
 * proof and verify it against a trusted member set in `verified/`.
 *
 * @example
 * const client = new CustosClient({ baseUrl: 'http://127.0.0.1:7070' });
 * const { chainId } = await client.chain();
 * const r = await client.submitAndWait(tx); // r.code: 'OK', 'NO_LAWFUL_BASIS', ...
 */
import type { Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import type { MemberSet, SignedTx, TrustedMembers } from '@custos/protocol/ledger';
import {
  block,
  blocks,
  blockTxs,
  certificate,
  chain,
  checkpoint,
  finality,
  latestBlock,
  memberEpochs,
  replicaBlock,
  snapshot,
} from './actions/chain.js';
import { contract, contractCode, contractList, contractReceipt, contracts } from './actions/contracts.js';
import { demoWallets, gpc, receipts, subjectEvents, subjectReport } from './actions/customers.js';
import { blockEvents, txEvents } from './actions/events.js';
import { contractPause, type GovAction, govProposals, govPropose, govVote } from './actions/gov.js';
import { docsPage, health, metrics, openapi, ready } from './actions/operations.js';
import { consistencyProof, inclusionProof, stateProof } from './actions/proofs.js';
import {
  accessRecord,
  type ErasureReason,
  erase,
  localOrgs,
  orgRecords,
  rectifyRecord,
  registerRecord,
  shareRecord,
} from './actions/records.js';
import { orgRetention, orgRisk, overdueRequests, type RiskQuery } from './actions/requests.js';
import { state, stateEntry } from './actions/state.js';
import { createToken, orgTokens, revokeToken, type TokenScope } from './actions/tokens.js';
import { type SubmitOptions, submit, submitAndWait, submitBatch, tx } from './actions/txs.js';
import { submitAndFinalize, waitForCommit, waitForFinality } from './actions/waits.js';
import type { LawfulBasis, PageQuery, ReceiptFormat, RegisterRecordInput } from './api-types.js';
import { ObligationCalls } from './obligation-calls.js';
import { type CallOptions, Transport, type TransportOptions } from './transport/http.js';
import { verifiedMemberSets } from './verified/member-sets.js';
import {
  type InclusionQuery,
  type ReportQuery,
  submitAndProve,
  type VerifyOptions,
  verifiedConsistency,
  verifiedInclusion,
  verifiedState,
  verifiedSubjectReport,
} from './verified/proofs.js';

/** Where the node is, how to reach it and how to authenticate (see `TransportOptions`). */
export type CustosClientOptions = TransportOptions;

export class CustosClient extends ObligationCalls {
  readonly baseUrl: string;
  readonly #t: Transport;

  constructor(opts: CustosClientOptions = {}) {
    super();
    this.#t = new Transport(opts);
    this.baseUrl = this.#t.baseUrl;
  }

  protected readonly transport = (): Transport => this.#t;

  /** The same client with another org API token (undefined: none). */
  withToken(token: string | undefined): CustosClient {
    return new CustosClient(this.#t.optionsWithToken(token));
  }

  // Chain

  /** The chain's id, head and genesis (`GET /v1/chain`). Trust the genesis once, then pin it. */
  chain(opts?: CallOptions) {
    return chain(this.#t, opts);
  }

  /** A page of block headers, newest first (below `before` when given). */
  blocks(q: { before?: number; limit?: number } = {}, opts?: CallOptions) {
    return blocks(this.#t, q, opts);
  }

  /** A block with its transactions and result codes; `'latest'` for the head. */
  block(height: number | 'latest', opts?: CallOptions) {
    return block(this.#t, height, opts);
  }

  /** The latest committed block (`GET /v1/blocks/latest`). */
  latestBlock(opts?: CallOptions) {
    return latestBlock(this.#t, opts);
  }

  /** One page of a block's transactions in block order, with result codes (`after`: the previous `next`). */
  blockTxs(height: number, q: PageQuery = {}, opts?: CallOptions) {
    return blockTxs(this.#t, height, q, opts);
  }

  /** The quorum certificate of the latest block (`NOT_FOUND` on a node that holds no member key). */
  checkpoint(opts?: CallOptions) {
    return checkpoint(this.#t, opts);
  }

  /**
   * A block's quorum certificate; with `wait`, the node answers once the block is final (a quorum of
   * members signed it or a later block), or `TIMEOUT` after 30 s.
   */
  certificate(height: number, q: { wait?: boolean } = {}, opts?: CallOptions) {
    return certificate(this.#t, height, q, opts);
  }

  /** The latest committed height and the latest height a quorum of members signed. */
  finality(opts?: CallOptions) {
    return finality(this.#t, opts);
  }

  /** One page of the chain's certified member-set updates, from epoch `from` (default 1). Public. */
  memberEpochs(q: { from?: number } = {}, opts?: CallOptions) {
    return memberEpochs(this.#t, q, opts);
  }

  /**
   * A whole block, every transaction in full, as a peer needs it to re-execute: for the consortium's
   * peers only (sign with a member key, or a token with the `replica` scope).
   */
  replicaBlock(height: number, opts?: CallOptions) {
    return replicaBlock(this.#t, height, opts);
  }

  /**
   * The state at the node's head, once final, as NDJSON (`custos-snapshot/2`), read as a stream:
   * a snapshot can be larger than anything worth buffering. Verify it before trusting a row. For
   * the consortium's peers only: sign with a member key, or use a token with the `replica` scope.
   */
  snapshot(q: { height?: number } = {}, opts?: CallOptions) {
    return snapshot(this.#t, q, opts);
  }

  /**
   * A committed transaction: where it landed and its result code, and its signed body when this
   * client's credentials may read it (an org token or key for the org's own, the subject's
   * signature for its own: pass `opts.sign`).
   */
  tx(txId: string, opts?: CallOptions) {
    return tx(this.#t, txId, opts);
  }

  /** One page of state entries under `prefix` (not proven; use `stateProof` for a proof). */
  state(q: { prefix?: string; after?: string; limit?: number } = {}, opts?: CallOptions) {
    return state(this.#t, q, opts);
  }

  /** One state entry (`NOT_FOUND` if absent). */
  stateEntry(key: string, opts?: CallOptions) {
    return stateEntry(this.#t, key, opts);
  }

  // Contracts (transaction bodies: `contractTx`)

  /** `GET /v1/contracts`: every contract with its pending proposal, votes, risk summaries, gas and pause state. */
  contractList(opts?: CallOptions) {
    return contractList(this.#t, opts);
  }

  /** `GET /v1/contracts/:name`: one contract with its risk reports in full and (members) its recent calls. */
  contract(name: string, opts?: CallOptions) {
    return contract(this.#t, name, opts);
  }

  /** The org's emergency pause vote on a contract (a third of the members pause it at once). */
  contractPause(org: string, name: string, opts?: CallOptions) {
    return contractPause(this.#t, org, name, opts);
  }
  // From the state: every `contract-info/` record by id; code, manifest and risk report by digest; a call's receipt (members).
  readonly contracts = (opts?: CallOptions) => contracts(this.#t, opts);
  readonly contractCode = (digest: string, opts?: CallOptions) => contractCode(this.#t, digest, opts);
  readonly contractReceipt = (txId: string, opts?: CallOptions) => contractReceipt(this.#t, txId, opts);

  // Transactions, and waiting for their commit and finality

  /** Submits without waiting: the node checked the shape and window; the signature is checked next. */
  submit(signed: SignedTx, opts?: SubmitOptions) {
    return submit(this.#t, signed, opts);
  }

  /** Submits and waits for the block: resolves with the result code (`OK`, `NO_LAWFUL_BASIS`...). */
  readonly submitAndWait = (signed: SignedTx, opts?: SubmitOptions) => submitAndWait(this.#t, signed, opts);

  /** Submits up to 2,000 transactions; each item fails or succeeds alone. */
  submitBatch(txs: SignedTx[], opts: SubmitOptions & { wait?: boolean } = {}) {
    return submitBatch(this.#t, txs, opts);
  }

  /**
   * Submits and waits for the commit, then for finality (a quorum certificate over its block).
   *
   * @example
   * const r = await client.submitAndFinalize(tx); // r.code, r.height, r.certificate.final === true
   */
  readonly submitAndFinalize = (signed: SignedTx, opts?: SubmitOptions) => submitAndFinalize(this.#t, signed, opts);

  /** Resolves once the block at `height` is final on this node (`TIMEOUT` after the node's 30 s). */
  readonly waitForFinality = (height: number, opts?: CallOptions) => waitForFinality(this.#t, height, opts);

  /**
   * Waits for a transaction submitted earlier to commit, over its event stream. `TIMEOUT` when the
   * node gave up (past the longest transaction lifetime).
   */
  readonly waitForCommit = (txId: string, opts?: CallOptions) => waitForCommit(this.#t, txId, opts);

  // Proofs (verify with the protocol's `verifyProofBundle` and a member set you trust, or use `verified*`)

  /** Inclusion of a transaction in the history log, against the latest (or a given) checkpoint. */
  inclusionProof(txId: string, q: { height?: number } = {}, opts?: CallOptions) {
    return inclusionProof(this.#t, txId, q, opts);
  }

  /** The log at height `to` extends the log at height `from` (append-only). */
  consistencyProof(from: number, to: number, opts?: CallOptions) {
    return consistencyProof(this.#t, from, to, opts);
  }

  /** The value of a state key (or its absence) at the latest checkpoint. */
  stateProof(key: string, opts?: CallOptions) {
    return stateProof(this.#t, key, opts);
  }

  /**
   * The chain's member sets up to the current one, each update verified here against the set before
   * it, starting from what you trust (the genesis member set, or a chain of epochs verified before,
   * which never goes back). Pass the result to the `verified*` methods so that a certificate by keys
   * removed since is refused even if a bundle leaves the updates out.
   */
  verifiedMemberSets(trusted: TrustedMembers, q: VerifyOptions = {}, opts?: CallOptions) {
    return verifiedMemberSets(this.#t, trusted, q, opts);
  }

  /**
   * A transaction's inclusion proof, verified here against `members` (never against what the node
   * says the members are): the fact it proves, or a `ProtocolError` from the protocol's verifier.
   */
  verifiedInclusion(txId: string, members: TrustedMembers, q: InclusionQuery = {}, opts?: CallOptions) {
    return verifiedInclusion(this.#t, txId, members, q, opts);
  }

  /** A state key's value (or absence), its proof verified here against `members`. */
  verifiedState(key: string, members: TrustedMembers, q: VerifyOptions = {}, opts?: CallOptions) {
    return verifiedState(this.#t, key, members, q, opts);
  }

  /** The log at `to` extends the log at `from`, checked here against `members`. */
  verifiedConsistency(from: number, to: number, members: TrustedMembers, q: VerifyOptions = {}, opts?: CallOptions) {
    return verifiedConsistency(this.#t, from, to, members, q, opts);
  }

  /**
   * One page of a subject's report, read with a request signed by `signer` (the wallet's pairwise
   * key) and verified here against `members`.
   *
   * @example
   * const { signer, did } = wallet.relationship(chainId, 'bank');
   * const report = await client.verifiedSubjectReport(did, signer, memberSetOf(anchor));
   */
  verifiedSubjectReport(did: string, signer: Signer, members: MemberSet, q: ReportQuery = {}, opts: CallOptions = {}) {
    return verifiedSubjectReport(this.#t, did, signer, members, q, opts);
  }

  /**
   * Submits, waits for the commit, and verifies the inclusion proof of the result here: the answer
   * is what the members signed, not what this node claims.
   */
  submitAndProve(signed: SignedTx, members: MemberSet, q: VerifyOptions = {}, opts?: SubmitOptions) {
    return submitAndProve(this.#t, signed, members, q, opts);
  }

  // Customers

  /**
   * One page of the right-to-know report of a pairwise pseudonym: state and history with proofs.
   * Verify it (`verifyHistory`) before showing a word of it.
   */
  subjectReport(did: string, q: { after?: number; limit?: number } = {}, opts?: CallOptions) {
    return subjectReport(this.#t, did, q, opts);
  }

  /** A subject's new history events as they commit (sign with the subject's key, as its report). */
  subjectEvents(did: string, q: { after?: number } = {}, opts?: CallOptions) {
    return subjectEvents(this.#t, did, q, opts);
  }

  /** The receipts of a consent event (a grant or a withdrawal), signed by the org. */
  receipts<F extends ReceiptFormat = 'vc'>(txId: string, format?: F, opts?: CallOptions) {
    return receipts(this.#t, txId, format, opts);
  }

  /** The node's Global Privacy Control support resource (`/.well-known/gpc.json`). */
  gpc(opts?: CallOptions) {
    return gpc(this.#t, opts);
  }

  /** The demo customers' wallets (`NOT_FOUND` unless the node runs `custos demo`). */
  demoWallets(opts?: CallOptions) {
    return demoWallets(this.#t, opts);
  }

  // Orgs (served by a node holding the org's keys and vault; authenticated with an org token)

  /** The orgs whose keys and vaults this node holds. */
  localOrgs(opts?: CallOptions) {
    return localOrgs(this.#t, opts);
  }

  /** One page of the org's records (default 200, at most 500), each flagged when past retention. */
  orgRecords(org: string, q: PageQuery = {}, opts?: CallOptions) {
    return orgRecords(this.#t, org, q, opts);
  }

  /** Stores a value in the org's vault and registers it (the ledger gets a commitment). */
  registerRecord(org: string, input: RegisterRecordInput, opts?: CallOptions) {
    return registerRecord(this.#t, org, input, opts);
  }

  /** Uses a record for a purpose: the value comes back only if the ledger accepted the access. */
  accessRecord(org: string, record: string, purpose: string, basis: LawfulBasis, opts?: CallOptions) {
    return accessRecord(this.#t, org, record, purpose, basis, opts);
  }

  /** Shares (or sells) a record with another member. */
  shareRecord(
    org: string,
    record: string,
    share: { recipient: string; purpose: string; sale: boolean },
    opts?: CallOptions,
  ) {
    return shareRecord(this.#t, org, record, share, opts);
  }
  /** Rectification: the vault gets the new value, the ledger its new commitment. */
  rectifyRecord(org: string, record: string, value: JsonValue, opts?: CallOptions) {
    return rectifyRecord(this.#t, org, record, value, opts);
  }
  /** Crypto-shreds records (or everything on a subject), then records the erasure. */
  erase(
    org: string,
    what: ({ records: string[] } | { subject: string }) & { reason: ErasureReason },
    opts?: CallOptions,
  ) {
    return erase(this.#t, org, what, opts);
  }
  /** One page of the org's records past retention and not yet erased. */
  orgRetention(org: string, q: PageQuery = {}, opts?: CallOptions) {
    return orgRetention(this.#t, org, q, opts);
  }

  /** The org's privacy risk in money (docs/risk.md), with assumption overrides by id. */
  orgRisk(org: string, q: RiskQuery = {}, opts?: CallOptions) {
    return orgRisk(this.#t, org, q, opts);
  }

  /** One page of the overdue requests on the chain, as of the latest block. */
  overdueRequests(q: PageQuery = {}, opts?: CallOptions) {
    return overdueRequests(this.#t, q, opts);
  }

  /** Issues an org API token (sign the call with a member key of the org). The answer is the only time the token is shown. */
  createToken(org: string, t: { scopes: TokenScope[]; ttlDays?: number; label?: string }, opts?: CallOptions) {
    return createToken(this.#t, org, t, opts);
  }
  /** One page of the org's API tokens, never their secrets (signed with a member key). */
  orgTokens(org: string, q: PageQuery = {}, opts?: CallOptions) {
    return orgTokens(this.#t, org, q, opts);
  }
  /** Revokes an org API token at once (signed with a member key). */
  revokeToken(org: string, id: string, opts?: CallOptions) {
    return revokeToken(this.#t, org, id, opts);
  }

  // Governance

  /** The current members, the rules in force and the governance proposals, newest first (public). */
  govProposals(opts?: CallOptions) {
    return govProposals(this.#t, opts);
  }
  /** Proposes a governance change signed with the org's key (the proposer votes yes); the proposal id is `txId`. */
  govPropose(org: string, p: { action: GovAction; reason: string }, opts?: CallOptions) {
    return govPropose(this.#t, org, p, opts);
  }
  /** Votes on a governance proposal with the org's key; the deciding vote executes the change. */
  govVote(org: string, proposal: string, vote: 'yes' | 'no', opts?: CallOptions) {
    return govVote(this.#t, org, proposal, vote, opts);
  }

  // Event streams (server-sent events; end them with `opts.signal`)

  /**
   * Committed blocks as they come (`GET /v1/events/blocks`), after `after` when given.
   *
   * @example
   * for await (const b of client.blockEvents({ signal })) console.log(b.height);
   */
  blockEvents(q: { after?: number } = {}, opts?: CallOptions) {
    return blockEvents(this.#t, q, opts);
  }

  /**
   * The commit of one transaction as an event stream: one `committed` event (at once if it already
   * committed), or a `timeout` when the node stops waiting; then the stream ends.
   */
  txEvents(txId: string, opts?: CallOptions) {
    return txEvents(this.#t, txId, opts);
  }

  // Operations and reference

  /** `GET /healthz`. */
  health(opts?: CallOptions) {
    return health(this.#t, opts);
  }

  /** Readiness: resolves when the node can serve, else `NOT_READY` with the reason. */
  ready(opts?: CallOptions) {
    return ready(this.#t, opts);
  }

  /** Prometheus metrics, as the node's text exposition. */
  metrics(opts?: CallOptions) {
    return metrics(this.#t, opts);
  }

  /** The node's OpenAPI 3.1 document. */
  openapi(opts?: CallOptions) {
    return openapi(this.#t, opts);
  }

  /** The node's API reference page (self-contained HTML). */
  docsPage(opts?: CallOptions) {
    return docsPage(this.#t, opts);
  }
}
