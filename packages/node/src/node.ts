/**
 * A Custos peer: admission (shape, chain, window, replay, signature in a worker pool), ordering,
 * deterministic execution, and the atomic commit of each block with its log and state roots and
 * its checkpoint signed by the member keys this peer holds. In a consortium (etcd orderer and a
 * checkpoint exchange) a block is final once a quorum of members signed the same checkpoint; a peer
 * whose checkpoint loses to another records the evidence and stops (docs/architecture.md, "A consortium").
 *
 * `CustosNode` wires the parts in src/peer/ together: admission, commit, finality, catch-up from
 * certified blocks, and the block clock.
 */
import { EventEmitter } from 'node:events';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { ProtocolError } from '@custos/protocol/errors';
import type { BlockHeader, CommitResult, MemberSet, QuorumCertificate } from '@custos/protocol/ledger';
import { type ContractRuntime, loadContractRuntime } from './contracts/runtime.js';
import { installNativeCrypto } from './crypto/native.js';
import { VerifyPool } from './crypto/verify-pool.js';
import { NodeError } from './errors.js';
import { type Genesis, genesisText, memberSetOf } from './genesis.js';
import type { OrderedBatch, Orderer, ParseOutcome, PendingTx } from './ordering/orderer.js';
import { SoloOrderer } from './ordering/solo.js';
import { Admission, type Submission } from './peer/admission.js';
import { applyCertifiedBlock, type CertifiedAnchor, type CertifiedBlock, certifiesHeader } from './peer/certified.js';
import { BlockClock, type ClockAlarm, type ClockStatus, DEFAULT_MAX_CLOCK_SKEW_MS } from './peer/clock.js';
import { BlockCommitter, commitGenesis } from './peer/commit.js';
import type { CheckpointExchange } from './peer/exchange.js';
import { type FinalityStatus, FinalityTracker } from './peer/finality.js';
import type { LedgerLog, LedgerTree } from './store/authenticated.js';
import { SqliteStore, type StoreOptions } from './store/sqlite.js';

export type { CommitResult } from '@custos/protocol/ledger';
export { parsePendingTx, type Submission } from './peer/admission.js';
export type { CertifiedAnchor, CertifiedBlock } from './peer/certified.js';
export {
  type ClockAlarm,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  MAX_CLOCK_SKEW_MS,
  MIN_CLOCK_SKEW_MS,
} from './peer/clock.js';
export type { FinalityStatus } from './peer/finality.js';

export interface NodeOptions {
  /** The contract runtime this peer runs calls with; default: the process's (`loadContractRuntime`). */
  contracts?: ContractRuntime;
  /** SQLite file of this peer. */
  dbPath: string;
  /** Required the first time (creates the chain); must match the stored genesis afterwards. */
  genesis?: Genesis;
  /** Member keys this peer signs checkpoints with. */
  signers?: Signer[];
  /**
   * The orderer, or a factory given the node's hooks (parse, lastHeight, onExpired, onError): with a
   * factory the node can build a fresh orderer after catching up (`catchUp`). Default: solo.
   */
  orderer?: Orderer | ((hooks: OrdererHooks) => Orderer);
  /** Exchanges checkpoint signatures with the other members' peers (quorum finality). */
  exchange?: CheckpointExchange;
  /**
   * Fetches and applies certified blocks from other peers (`applyCertifiedBlock`). Run before
   * ordering starts, and again when the orderer no longer holds the next block.
   */
  catchUp?: (node: CustosNode) => Promise<unknown>;
  /**
   * The header's `proposer` field. Every peer of a consortium must use the same value, so that
   * all compute identical headers (and hashes). Default: the first signer's did:key, else `solo`.
   */
  proposer?: string;
  /** Worker threads for signature verification; default: all cores. */
  verifyThreads?: number;
  /** Most transactions waiting for a block. Default 100,000. */
  maxPending?: number;
  synchronous?: 'FULL' | 'NORMAL';
  /** How the store syncs its write-ahead log (default `fs.fsync`); tests pass one they control. */
  syncWal?: StoreOptions['syncWal'];
  /** Wall clock for admission checks and the block-time check (never used by execution). */
  now?: () => number;
  /**
   * How far ahead of this peer's clock a block may be dated (ms). A block dated later, or before
   * its parent, is refused before it is executed or signed, and raises the clock alarm. Default
   * 30 s (`DEFAULT_MAX_CLOCK_SKEW_MS`); in a consortium, `maxClockSkewMs` in consortium.json.
   */
  maxClockSkewMs?: number;
}

/** What a node gives an orderer it builds: its admission parse and its delivery hooks. */
export interface OrdererHooks {
  /** Shape, chain and signature of a stored transaction (cached for what this node admitted). */
  parse: (raw: unknown) => PendingTx;
  /** `parse` for many at once, the signatures verified in one batch on the node's worker pool. */
  parseBatch: (raws: readonly unknown[]) => Promise<ParseOutcome[]>;
  lastHeight: () => number;
  /** Fails the waiting clients of transactions that expired unordered with TX_EXPIRED. */
  onExpired: (txIds: string[]) => void;
  /** Stops the node with the orderer's error. */
  onError: (err: unknown) => void;
  /**
   * Why a block dated `time` (after a parent dated `parentTime`) must not be executed here, or
   * undefined when its time is plausible: ahead of this peer's clock by more than the allowed skew,
   * or before its parent.
   */
  checkBlockTime: (time: number, parentTime: number) => string | undefined;
  /** Raises the clock alarm for a block the orderer refused (once per refused block). */
  onRefused: (alarm: ClockAlarm) => void;
  /** Members and quorum threshold now: how many refusals make a block impossible to certify. */
  quorum: () => { members: number; threshold: number };
}

const BEHIND = 'BEHIND_ORDERER_WINDOW';

export class CustosNode extends EventEmitter {
  readonly store: SqliteStore;
  readonly genesis: Genesis;
  readonly chainId: string;
  readonly members: MemberSet;
  private orderer: Orderer | undefined;
  private readonly exchange: CheckpointExchange | undefined;
  private readonly proposer: string;
  private readonly pool: VerifyPool;
  private readonly signers: Signer[];
  private readonly clock: BlockClock;
  private readonly chain: BlockCommitter;
  private readonly admission: Admission;
  private readonly tracker: FinalityTracker;
  private stopped = false;
  private fatal: unknown;

  private constructor(opts: NodeOptions, store: SqliteStore, genesis: Genesis, contracts: ContractRuntime) {
    super();
    this.store = store;
    this.genesis = genesis;
    this.chainId = genesis.chainId;
    this.members = memberSetOf(genesis);
    this.signers = opts.signers ?? [];
    this.chain = new BlockCommitter(store, genesis, this.members, this.signers, contracts);
    this.clock = new BlockClock(opts.now ?? Date.now, opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS, (alarm) =>
      this.emit('clock-alarm', alarm),
    );
    this.exchange = opts.exchange;
    this.proposer = opts.proposer ?? this.signerDids()[0] ?? 'solo';
    this.pool = new VerifyPool(opts.verifyThreads === undefined ? {} : { threads: opts.verifyThreads });
    this.admission = new Admission({
      chainId: this.chainId,
      store,
      pool: this.pool,
      now: this.clock.now,
      maxPending: opts.maxPending ?? 100_000,
      stopping: () => this.stopped,
      order: (txs) => this.orderer?.submit(txs),
    });
    this.tracker = new FinalityTracker({
      store,
      chain: this.chain,
      chainId: this.chainId,
      exchange: this.exchange,
      pool: this.pool,
      emit: (event, value) => this.emit(event, value),
      halt: (err) => this.halt(err),
      fatal: () => this.fatal,
      stopped: () => this.stopped,
    });
  }

  /** Opens (or, given a genesis, creates) a peer's store and starts ordering. */
  static async open(opts: NodeOptions): Promise<CustosNode> {
    installNativeCrypto();
    // Contract calls run inside block execution, synchronously: the runtime is loaded before the
    // first block, while the store opens (compiling the WebAssembly takes about 0.1 s, once per process).
    const contracts = opts.contracts === undefined ? loadContractRuntime() : Promise.resolve(opts.contracts);
    // A failure surfaces where it is awaited below; not as an unhandled rejection if opening fails first.
    contracts.catch(() => {});
    let node: CustosNode | undefined;
    const store = new SqliteStore(opts.dbPath, {
      ...(opts.synchronous === undefined ? {} : { synchronous: opts.synchronous }),
      ...(opts.syncWal === undefined ? {} : { syncWal: opts.syncWal }),
    });
    try {
      const storedText = store.getMeta('genesis');
      let genesis: Genesis;
      if (storedText === undefined) {
        if (!opts.genesis) throw new NodeError('NOT_INITIALIZED', 'no chain in this store and no genesis given');
        genesis = opts.genesis;
        commitGenesis(store, genesis, opts.signers ?? []);
      } else {
        genesis = JSON.parse(storedText) as Genesis;
        if (opts.genesis && genesisText(opts.genesis) !== storedText) {
          throw new NodeError('BAD_GENESIS', 'the store holds another chain than the genesis given');
        }
      }
      const evidence = store.getMeta('divergence');
      if (evidence !== undefined) {
        throw new NodeError(
          'DIVERGED',
          "this peer diverged from the quorum earlier (evidence under 'divergence' in its store's meta table): after checking its clock, disk and software, run `custos node recover` to rebuild its store from its certified blocks, then start it again to catch up from the other peers",
          { details: { evidence: JSON.parse(evidence) as unknown } },
        );
      }
      const created = new CustosNode(opts, store, genesis, await contracts);
      node = created;
      created.tracker.resume();
      await created.startOrdering(opts);
      await created.tracker.start();
      // A divergence (or an orderer failure) found while opening fails the open, as one found by
      // catch-up does: the caller never holds a stopped node it was not told about.
      if (created.fatal !== undefined) throw created.fatal;
      return created;
    } catch (e) {
      if (node) await node.close().catch(() => {});
      else store.close();
      throw e;
    }
  }

  /** Catches up (if asked), then starts the orderer; a factory-built one is rebuilt after a catch-up. */
  private async startOrdering(opts: NodeOptions): Promise<void> {
    const hooks: OrdererHooks = {
      parse: (raw) => this.parsePending(raw),
      parseBatch: (raws) => this.admission.parsePendingBatch(raws),
      lastHeight: () => this.chain.head.height,
      onExpired: (ids) => this.expire(ids),
      onError: (err) => this.halt(err),
      checkBlockTime: (time, parentTime) => this.checkBlockTime(time, parentTime),
      onRefused: (alarm) => this.raiseClockAlarm(alarm),
      quorum: () => {
        const m = this.chain.membersNow();
        return { members: m.members.length, threshold: m.threshold };
      },
    };
    for (let attempt = 0; ; attempt++) {
      if (opts.catchUp) await opts.catchUp(this);
      const o = opts.orderer;
      const orderer =
        typeof o === 'function'
          ? o(hooks)
          : (o ??
            new SoloOrderer({ maxTxs: this.genesis.params.blockMaxTxs, maxWaitMs: this.genesis.params.blockMaxMs }));
      this.orderer = orderer;
      try {
        await orderer.start((b) => this.deliver(b), this.chain.head.time);
        return;
      } catch (e) {
        const behind = (e as NodeError).details?.reason === BEHIND;
        if (!behind || !opts.catchUp || typeof o !== 'function' || attempt >= 4) {
          if (!behind) throw e;
          throw new NodeError(
            'BEHIND_ORDERER_WINDOW',
            `the orderer no longer holds block ${this.chain.head.height + 1}; catch this peer up from the other peers`,
            { cause: e },
          );
        }
      }
    }
  }

  /** The orderer's parse: admission's checks, the signature skipped when this node already verified it. */
  parsePending(raw: unknown): PendingTx {
    return this.admission.parsePending(raw);
  }

  /** Fails the clients waiting on transactions that expired before any block took them (TX_EXPIRED). */
  expire(txIds: string[]): void {
    for (const id of txIds) {
      this.admission.fail(id, new ProtocolError('TX_EXPIRED', `transaction ${id} expired before a block included it`));
    }
  }

  /** Stops the node for good with `err` (orderer failure, divergence): waiting clients get NODE_STOPPED. */
  halt(err: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = err;
    this.stopped = true;
    const stopped = () => new NodeError('NODE_STOPPED', 'node stopped on a fatal error', { cause: err });
    this.admission.failAll(stopped);
    this.tracker.rejectWaiters(stopped);
    this.orderer?.stop().catch(() => {});
    this.emit('fatal', err);
  }

  /** The latest committed header. */
  latest(): BlockHeader {
    return this.chain.head;
  }

  /** Did:keys this peer signs checkpoints with. */
  signerDids(): string[] {
    return this.signers.map((s) => didFromPublicKey(s.publicKey));
  }

  /**
   * Admits a transaction: checks shape, chain, time window, replay and signature, then queues it for
   * ordering. Throws (synchronously) a ProtocolError/NodeError for anything rejected before ordering.
   */
  submit(raw: unknown): Submission {
    if (this.stopped || this.fatal !== undefined) throw new NodeError('NODE_STOPPED', 'node is stopping');
    return this.admission.submit(raw);
  }

  /**
   * `submit` for a transaction received as JSON text (`raw` is `text` parsed, as the HTTP route
   * has both): its parse, canonical bytes, txId and signature are worked out on the verify pool,
   * batched with the others of the same event-loop turn. Rejects with what `submit` would throw.
   */
  submitText(raw: unknown, text: string): Promise<Submission> {
    // Not `async`: the admission's own promise, without one more wrapped around it per request.
    if (this.stopped || this.fatal !== undefined)
      return Promise.reject(new NodeError('NODE_STOPPED', 'node is stopping'));
    return this.admission.submitText(raw, text);
  }

  /**
   * Why a committed transaction failed, in words (the field and what was expected), if this node
   * executed it recently; the result code on the ledger is the durable answer.
   */
  failureDetail(txId: string): string | undefined {
    return this.chain.failureDetail(txId);
  }

  /** The transaction types this node executes. */
  txTypes(): string[] {
    return this.chain.txTypes();
  }

  /** Submits and waits for the commit. */
  async submitAndWait(raw: unknown): Promise<CommitResult> {
    return this.submit(raw).committed;
  }

  /**
   * Why a block dated `time` must not be executed on this peer (undefined if its time is plausible):
   * more than `maxClockSkewMs` ahead of this peer's clock, or before its parent's time.
   */
  checkBlockTime(time: number, parentTime: number): string | undefined {
    return this.clock.check(time, parentTime);
  }

  /** Records the clock alarm: a metric, an event for the operator log, and /readyz until it clears. */
  raiseClockAlarm(alarm: ClockAlarm): void {
    this.clock.raise(alarm);
  }

  /** Clears the clock alarm of `kind` (a block committed, or a retention sweep accepted). */
  clearClockAlarm(kind: ClockAlarm['kind']): void {
    this.clock.clear(kind);
  }

  /** The clock alarm in force, if any, and how many were raised since the node opened. */
  clockStatus(): ClockStatus {
    return this.clock.status();
  }

  /** Executes and commits one ordered batch. Any failure here stops the node (it never half-commits). */
  private async deliver(batch: OrderedBatch): Promise<void> {
    if (this.fatal !== undefined) return;
    const head = this.chain.head;
    // Checked before anything runs: a refused block leaves the state untouched and is never signed.
    const refusal = this.clock.check(batch.time, head.time);
    if (refusal !== undefined) {
      const height = head.height + 1;
      const localTime = this.clock.now();
      this.clock.raise({
        kind: 'block',
        height,
        blockTime: batch.time,
        localTime,
        skewMs: batch.time - localTime,
        reason: refusal,
      });
      const err = new NodeError('BLOCK_TIME_IMPLAUSIBLE', `block ${height} refused: ${refusal}`, {
        details: { height, blockTime: batch.time, localTime },
      });
      // A solo node's orderer dated it: its transactions fail now. An etcd feed checks first and
      // keeps the block for a re-dated replacement; its submitters keep waiting for that.
      if (this.exchange === undefined) for (const t of batch.txs) this.admission.fail(t.parsed.txId, err);
      throw err;
    }
    const failed = (e: unknown, what = 'block commit failed') => {
      for (const t of batch.txs) {
        this.admission.fail(t.parsed.txId, new NodeError('INTERNAL', `${what}; node stopped`, { cause: e }));
      }
      this.halt(e);
    };
    let results: CommitResult[];
    try {
      results = this.chain.commit(batch.txs, batch.time, batch.proposer ?? this.proposer);
      this.clock.clear('block');
    } catch (e) {
      failed(e);
      return;
    }
    // Acknowledged, announced and signed only once on disk; the next block executes meanwhile.
    const header = this.chain.head;
    const members = this.chain.headMembers;
    this.store.durable().then(
      () => {
        this.admission.committed(results);
        this.emit('block', header);
        if (!this.stopped) this.tracker.afterCommit(header, members);
      },
      (e) => failed(e, `block ${header.height} could not be made durable (fsync of the write-ahead log failed)`),
    );
  }

  /** Whether this peer collects the other members' signatures (a consortium peer): its blocks are final only once they arrive. */
  collectsSignatures(): boolean {
    return this.exchange !== undefined;
  }

  /** The latest height known final on this peer (a quorum of members signed its checkpoint); -1 if none. */
  latestFinal(): number {
    return this.tracker.latestFinal();
  }

  /** Latest committed and latest final height. */
  finality(): FinalityStatus {
    return { head: this.chain.head.height, final: this.tracker.latestFinal() };
  }

  /**
   * Resolves with the quorum certificate of the latest final height once it is at or above `height`;
   * rejects with TIMEOUT after `timeoutMs`, or NODE_STOPPED when the node stops.
   *
   * @example
   * const { height } = await node.submitAndWait(tx);
   * const qc = await node.waitFinal(height);
   */
  waitFinal(height: number, timeoutMs = 30_000): Promise<QuorumCertificate> {
    return this.tracker.waitFinal(height, timeoutMs);
  }

  /**
   * Applies the next block as another peer served it, if it carries a valid quorum certificate over
   * the checkpoint this peer computes for it (catch-up). Throws CATCH_UP_FAILED for a block that is
   * not the next one or not certified (try another peer); stops the node with DIVERGED when a valid
   * certificate names another checkpoint than this peer computes. A block whose own certificate is
   * not a quorum is applied if `anchor` (later headers and a quorum over the last) certifies it.
   */
  async applyCertifiedBlock(block: CertifiedBlock, anchor?: CertifiedAnchor): Promise<void> {
    await applyCertifiedBlock(
      {
        chainId: this.chainId,
        signers: this.signers,
        chain: this.chain,
        finality: this.tracker,
        pool: this.pool,
        fatal: () => this.fatal,
        stopped: () => this.stopped,
      },
      block,
      anchor,
    );
    const header = this.chain.head;
    await this.store.durable();
    this.emit('block', header);
  }

  /** Whether `qc` is a quorum of the current member set over `header`'s checkpoint (untrusted input). */
  certifies(header: unknown, qc: unknown): boolean {
    return certifiesHeader(this.chainId, this.chain.membersNow(), header, qc);
  }

  /** Stops ordering and the verify pool; waits for the block in progress to commit, then closes the store. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.orderer?.stop();
    // Blocks already committed are acknowledged once on disk, before anything is torn down.
    await this.store.durable().catch(() => {});
    await this.exchange?.stop().catch(() => {});
    this.tracker.rejectWaiters(() => new NodeError('NODE_STOPPED', 'node stopped'));
    await this.admission.drained();
    this.admission.failAll(() => new NodeError('NODE_STOPPED', 'node stopped'));
    await this.pool.close();
    await this.store.closeDurably();
  }

  /** Transactions admitted and not yet committed. */
  pendingCount(): number {
    return this.admission.pendingCount();
  }

  /** The error that stopped the node, if one did. */
  fatalError(): unknown {
    return this.fatal;
  }

  /**
   * Calls `listener` once with the error that stops the node: at once if it has already stopped.
   * Unlike `on('fatal')`, a stop that happened before the caller listened is not missed.
   */
  onFatal(listener: (err: unknown) => void): void {
    if (this.fatal !== undefined) listener(this.fatal);
    else this.once('fatal', listener);
  }

  get logView(): LedgerLog {
    return this.chain.log;
  }

  get treeView(): LedgerTree {
    return this.chain.tree;
  }
}
