/**
 * A Custos peer: admission (shape, chain, window, replay, signature in a worker pool), ordering,
 * deterministic execution, and the atomic commit of each block with its log and state roots and
 * its checkpoint signed by the member keys this peer holds. In a consortium (etcd orderer and a
 * checkpoint exchange) a block is final once a quorum of members signed the same checkpoint; a peer
 * whose checkpoint loses to another records the evidence and stops (DESIGN.md section 3).
 */
import { EventEmitter } from 'node:events';
import { didFromPublicKey, publicKeyFromDid, type Signer } from '@custos/protocol/crypto';
import { fromBase64url, toHex } from '@custos/protocol/encoding';
import { ProtocolError } from '@custos/protocol/errors';
import { canonicalize, canonicalize as canonicalJson } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  type Checkpoint,
  type CheckpointSignature,
  checkChain,
  checkpointOf,
  checkTxWindow,
  headerHash,
  type LogEntry,
  logEntryBytes,
  MEMBER_SET_KEY,
  type MemberSet,
  type ParsedTx,
  parseTx,
  type QuorumCertificate,
  type ResultCode,
  signCheckpoint,
  verifyQuorumCertificate,
  verifyTxSignature,
  ZERO_HASH,
} from '@custos/protocol/ledger';
import type { CheckpointExchange } from './consortium/exchange.js';
import { type Evidence, type QuorumEvent, QuorumTracker } from './consortium/quorum.js';
import { installNativeCrypto, nativeVerifier } from './crypto/native.js';
import { VerifyPool } from './crypto/verify-pool.js';
import { NodeError } from './errors.js';
import { Executor } from './exec/executor.js';
import type { ExecContext } from './exec/module.js';
import { type Genesis, genesisText, memberSetOf } from './genesis.js';
import { epochRecord } from './governance/epochs.js';
import { memberSetAt } from './governance/member-set.js';
import { SYSTEM_MODULES } from './modules/index.js';
import { writeMember } from './modules/member.js';
import type { OrderedBatch, Orderer, PendingTx } from './ordering/orderer.js';
import { SoloOrderer } from './ordering/solo.js';
import { LedgerLog, LedgerTree } from './store/authenticated.js';
import { SqliteStore } from './store/sqlite.js';

const MAX_VERIFY_BATCH = 1024;

export interface NodeOptions {
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
  /** Wall clock for admission checks and the block-time check (never used by execution). */
  now?: () => number;
  /**
   * How far ahead of this peer's clock a block may be dated (ms). A block dated later, or before
   * its parent, is refused before it is executed or signed, and raises the clock alarm. Default
   * 30 s (`DEFAULT_MAX_CLOCK_SKEW_MS`); in a consortium, `maxClockSkewMs` in consortium.json.
   */
  maxClockSkewMs?: number;
}

/** Default of `maxClockSkewMs`: how far ahead of a peer's clock a block may be dated. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;
/** Bounds of `maxClockSkewMs`. */
export const MIN_CLOCK_SKEW_MS = 1000;
export const MAX_CLOCK_SKEW_MS = 600_000;

/** A block refused for its time, or a retention sweep refused for an implausible jump (the clock alarm). */
export interface ClockAlarm {
  kind: 'block' | 'retention';
  /** Height of the refused block (or of the final block a refused sweep would have used). */
  height: number;
  /** The time in the block, ms. */
  blockTime: number;
  /** This peer's clock when it refused, ms. */
  localTime: number;
  /** `blockTime - localTime`, ms (negative for a block dated before its parent). */
  skewMs: number;
  reason: string;
}

export interface CommitResult {
  txId: string;
  height: number;
  index: number;
  logIndex: number;
  code: ResultCode;
  /** Why it failed, naming the field and what was expected (when the executor said more than the code). */
  detail?: string;
}

/** How many failure details a node keeps (in memory, newest first out last): diagnostics, not ledger data. */
const MAX_FAILURE_DETAILS = 10_000;

export interface Submission {
  txId: string;
  /** Resolves when the transaction's block has committed. */
  committed: Promise<CommitResult>;
}

/** What a node gives an orderer it builds: its admission parse and its delivery hooks. */
export interface OrdererHooks {
  /** Shape, chain and signature of a stored transaction (cached for what this node admitted). */
  parse: (raw: unknown) => PendingTx;
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

/**
 * A stored signed transaction as an orderer's `parse` needs it: shape (parseTx), chain (when
 * `chainId` is given) and signature (node:crypto), for transactions this peer did not admit itself.
 *
 * @example
 * new EtcdOrderer({ endpoints, prefix, peerId, parse: (raw) => parsePendingTx(raw, 'main') });
 */
export function parsePendingTx(raw: unknown, chainId?: string): PendingTx {
  const parsed = parseTx(raw);
  if (chainId !== undefined) checkChain(parsed.tx.body, chainId);
  return { parsed, sigOk: verifyTxSignature(parsed, nativeVerifier) };
}

/** A block as another peer serves it (GET /v1/blocks/:height): untrusted until applied. */
export interface CertifiedBlock {
  header: unknown;
  txs: unknown;
  qc: unknown;
}

/** Where the node is in finality: the latest committed and the latest final height. */
export interface FinalityStatus {
  head: number;
  final: number;
}

const BEHIND = 'BEHIND_ORDERER_WINDOW';
const MAX_VERIFIED_CACHE = 200_000;

interface FinalWaiter {
  resolve: (qc: QuorumCertificate) => void;
  reject: (e: unknown) => void;
}

interface Waiter {
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
}

export class CustosNode extends EventEmitter {
  readonly store: SqliteStore;
  readonly genesis: Genesis;
  readonly chainId: string;
  readonly members: MemberSet;
  private readonly executor = new Executor(SYSTEM_MODULES);
  /** Why recent transactions failed (txId -> detail), oldest dropped first. */
  private readonly failureDetails = new Map<string, string>();
  private readonly log: LedgerLog;
  private readonly tree: LedgerTree;
  private orderer: Orderer | undefined;
  private readonly exchange: CheckpointExchange | undefined;
  private readonly proposer: string;
  private readonly quorum: QuorumTracker;
  private finalHeight = -1;
  private readonly finalWaiters = new Map<number, FinalWaiter[]>();
  /** `txId sig` of signatures this node verified (admission or the proposer's parse): not verified twice. */
  private verified = new Set<string>();
  /** The member set that certifies the latest committed block. */
  private headMembers: MemberSet | undefined;
  private readonly pool: VerifyPool;
  private readonly signers: Signer[];
  private readonly maxPending: number;
  private readonly now: () => number;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly pendingIds = new Set<string>();
  private verifyQueue: { parsed: ParsedTx; waiter: Waiter }[] = [];
  private verifyScheduled = false;
  private verifying = 0;
  private head: BlockHeader;
  private stopped = false;
  private fatal: unknown;
  private readonly maxClockSkewMs: number;
  /** The clock alarm in force (cleared by the next block committed or sweep accepted). */
  private alarm: ClockAlarm | undefined;
  private alarms = 0;

  private constructor(opts: NodeOptions, store: SqliteStore, genesis: Genesis) {
    super();
    this.store = store;
    this.genesis = genesis;
    this.chainId = genesis.chainId;
    this.members = memberSetOf(genesis);
    this.log = new LedgerLog(store);
    this.tree = LedgerTree.load(store);
    this.signers = opts.signers ?? [];
    this.maxPending = opts.maxPending ?? 100_000;
    this.now = opts.now ?? Date.now;
    this.maxClockSkewMs = checkSkew(opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS);
    this.exchange = opts.exchange;
    this.proposer = opts.proposer ?? this.signerDids()[0] ?? 'solo';
    this.quorum = new QuorumTracker(nativeVerifier, genesis.chainId);
    this.pool = new VerifyPool(opts.verifyThreads === undefined ? {} : { threads: opts.verifyThreads });
    this.head = store.latestHeader() as BlockHeader;
  }

  /** Opens (or, given a genesis, creates) a peer's store and starts ordering. */
  static async open(opts: NodeOptions): Promise<CustosNode> {
    installNativeCrypto();
    let node: CustosNode | undefined;
    const store = new SqliteStore(opts.dbPath, opts.synchronous === undefined ? {} : { synchronous: opts.synchronous });
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
      const created = new CustosNode(opts, store, genesis);
      node = created;
      created.resumeFinality();
      await created.startOrdering(opts);
      if (created.exchange) {
        await created.exchange.start(
          (raw) => created.onSignatures(raw),
          () => created.quorum.unfinal(),
        );
        for (const h of created.quorum.unfinal()) created.publishOwn(h);
      }
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
      lastHeight: () => this.head.height,
      onExpired: (ids) => this.expire(ids),
      onError: (err) => this.halt(err),
      checkBlockTime: (time, parentTime) => this.checkBlockTime(time, parentTime),
      onRefused: (alarm) => this.raiseClockAlarm(alarm),
      quorum: () => {
        const m = this.membersNow();
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
        await orderer.start((b) => this.deliver(b), this.head.time);
        return;
      } catch (e) {
        const behind = (e as NodeError).details?.reason === BEHIND;
        if (!behind || !opts.catchUp || typeof o !== 'function' || attempt >= 4) {
          if (!behind) throw e;
          throw new NodeError(
            'BEHIND_ORDERER_WINDOW',
            `the orderer no longer holds block ${this.head.height + 1}; catch this peer up from the other peers`,
            { cause: e },
          );
        }
      }
    }
  }

  /** The orderer's parse: admission's checks, the signature skipped when this node already verified it. */
  parsePending(raw: unknown): PendingTx {
    const parsed = parseTx(raw);
    checkChain(parsed.tx.body, this.chainId);
    const key = `${parsed.txId} ${parsed.tx.sig}`;
    if (this.verified.has(key)) return { parsed, sigOk: true };
    const sigOk = verifyTxSignature(parsed, nativeVerifier);
    if (sigOk) this.remember(key);
    return { parsed, sigOk };
  }

  private remember(key: string): void {
    if (this.verified.size >= MAX_VERIFIED_CACHE) this.verified = new Set();
    this.verified.add(key);
  }

  /** Fails the clients waiting on transactions that expired before any block took them (TX_EXPIRED). */
  expire(txIds: string[]): void {
    for (const id of txIds) {
      this.failWaiters(id, new ProtocolError('TX_EXPIRED', `transaction ${id} expired before a block included it`));
    }
  }

  /** Stops the node for good with `err` (orderer failure, divergence): waiting clients get NODE_STOPPED. */
  halt(err: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = err;
    this.stopped = true;
    const stopped = () => new NodeError('NODE_STOPPED', 'node stopped on a fatal error', { cause: err });
    for (const txId of [...this.waiters.keys()]) this.failWaiters(txId, stopped());
    this.rejectFinalWaiters(stopped);
    this.orderer?.stop().catch(() => {});
    this.emit('fatal', err);
  }

  private rejectFinalWaiters(err: () => unknown): void {
    for (const [h, list] of this.finalWaiters) {
      this.finalWaiters.delete(h);
      for (const w of list) w.reject(err());
    }
  }

  /** The latest committed header. */
  latest(): BlockHeader {
    return this.head;
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
    const parsed = parseTx(raw);
    checkChain(parsed.tx.body, this.chainId);
    checkTxWindow(parsed.tx.body, this.now());
    if (this.pendingIds.has(parsed.txId))
      throw new NodeError('DUPLICATE_TX', `transaction ${parsed.txId} is already pending`);
    if (this.store.hasCommittedTx(parsed.txId)) {
      throw new ProtocolError('TX_REPLAYED', `transaction ${parsed.txId} is already committed`);
    }
    if (this.pendingIds.size >= this.maxPending) {
      throw new NodeError('MEMPOOL_FULL', `more than ${this.maxPending} transactions are pending; retry later`);
    }
    this.pendingIds.add(parsed.txId);
    let waiter!: Waiter;
    const committed = new Promise<CommitResult>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    // Callers that do not wait for the commit must not crash the process when it fails.
    committed.catch(() => {});
    this.verifyQueue.push({ parsed, waiter });
    if (!this.verifyScheduled) {
      this.verifyScheduled = true;
      setImmediate(() => this.flushVerify());
    }
    return { txId: parsed.txId, committed };
  }

  private rememberFailure(txId: string, detail: string): void {
    this.failureDetails.set(txId, detail);
    if (this.failureDetails.size > MAX_FAILURE_DETAILS) {
      const oldest = this.failureDetails.keys().next().value;
      if (oldest !== undefined) this.failureDetails.delete(oldest);
    }
  }

  /**
   * Why a committed transaction failed, in words (the field and what was expected), if this node
   * executed it recently; the result code on the ledger is the durable answer.
   */
  failureDetail(txId: string): string | undefined {
    return this.failureDetails.get(txId);
  }

  /** The transaction types this node executes. */
  txTypes(): string[] {
    return this.executor.types();
  }

  /** Submits and waits for the commit. */
  async submitAndWait(raw: unknown): Promise<CommitResult> {
    return this.submit(raw).committed;
  }

  private flushVerify(): void {
    this.verifyScheduled = false;
    // Small batches stream through the pool, so execution of one block overlaps verification of the next.
    const batch =
      this.verifyQueue.length <= MAX_VERIFY_BATCH ? this.verifyQueue : this.verifyQueue.slice(0, MAX_VERIFY_BATCH);
    this.verifyQueue = this.verifyQueue.length <= MAX_VERIFY_BATCH ? [] : this.verifyQueue.slice(MAX_VERIFY_BATCH);
    if (this.verifyQueue.length > 0) {
      this.verifyScheduled = true;
      setImmediate(() => this.flushVerify());
    }
    if (batch.length === 0) return;
    this.verifying++;
    Promise.resolve()
      .then(() =>
        this.pool.verifyBatch(
          batch.map(({ parsed }) => ({
            publicKey: publicKeyOfSigner(parsed),
            message: parsed.bodyBytes,
            signature: signatureOf(parsed),
          })),
        ),
      )
      .then((ok) => {
        const accepted: PendingTx[] = [];
        for (let i = 0; i < batch.length; i++) {
          const { parsed, waiter } = batch[i]!;
          if (ok[i]) {
            accepted.push({ parsed, sigOk: true });
            this.remember(`${parsed.txId} ${parsed.tx.sig}`);
            const list = this.waiters.get(parsed.txId);
            if (list) list.push(waiter);
            else this.waiters.set(parsed.txId, [waiter]);
          } else {
            this.pendingIds.delete(parsed.txId);
            waiter.reject(
              new ProtocolError('BAD_SIGNATURE', 'transaction signature does not verify against body.signer'),
            );
          }
        }
        if (accepted.length > 0) {
          if (this.stopped) {
            for (const t of accepted)
              this.failWaiters(t.parsed.txId, new NodeError('NODE_STOPPED', 'node is stopping'));
          } else {
            this.orderer?.submit(accepted);
          }
        }
      })
      .catch((e) => {
        for (const { parsed, waiter } of batch) {
          this.pendingIds.delete(parsed.txId);
          waiter.reject(e);
        }
      })
      .finally(() => {
        this.verifying--;
      });
  }

  private failWaiters(txId: string, err: unknown): void {
    this.pendingIds.delete(txId);
    const list = this.waiters.get(txId);
    this.waiters.delete(txId);
    for (const w of list ?? []) w.reject(err);
  }

  /**
   * Why a block dated `time` must not be executed on this peer (undefined if its time is plausible):
   * more than `maxClockSkewMs` ahead of this peer's clock, or before its parent's time.
   */
  checkBlockTime(time: number, parentTime: number): string | undefined {
    if (!Number.isSafeInteger(time) || time < 0) return 'its time is not an integer number of milliseconds';
    if (time < parentTime) return `it is dated ${parentTime - time} ms before its parent`;
    const ahead = time - this.now();
    if (ahead > this.maxClockSkewMs) {
      return `it is dated ${ahead} ms ahead of this peer's clock (at most ${this.maxClockSkewMs} ms allowed)`;
    }
    return undefined;
  }

  /** Records the clock alarm: a metric, an event for the operator log, and /readyz until it clears. */
  raiseClockAlarm(alarm: ClockAlarm): void {
    this.alarm = alarm;
    this.alarms++;
    this.emit('clock-alarm', alarm);
  }

  /** Clears the clock alarm of `kind` (a block committed, or a retention sweep accepted). */
  clearClockAlarm(kind: ClockAlarm['kind']): void {
    if (this.alarm?.kind === kind) this.alarm = undefined;
  }

  /** The clock alarm in force, if any, and how many were raised since the node opened. */
  clockStatus(): { alarm: ClockAlarm | undefined; alarms: number; maxClockSkewMs: number } {
    return { alarm: this.alarm, alarms: this.alarms, maxClockSkewMs: this.maxClockSkewMs };
  }

  /** Executes and commits one ordered batch. Any failure here stops the node (it never half-commits). */
  private async deliver(batch: OrderedBatch): Promise<void> {
    if (this.fatal !== undefined) return;
    // Checked before anything runs: a refused block leaves the state untouched and is never signed.
    const refusal = this.checkBlockTime(batch.time, this.head.time);
    if (refusal !== undefined) {
      const height = this.head.height + 1;
      const localTime = this.now();
      this.raiseClockAlarm({
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
      if (this.exchange === undefined) for (const t of batch.txs) this.failWaiters(t.parsed.txId, err);
      throw err;
    }
    try {
      const proposer = (batch as OrderedBatch & { proposer?: unknown }).proposer;
      const committed = this.commit(batch.txs, batch.time, typeof proposer === 'string' ? proposer : this.proposer);
      for (const r of committed) {
        this.pendingIds.delete(r.txId);
        const list = this.waiters.get(r.txId);
        if (list) {
          this.waiters.delete(r.txId);
          for (const w of list) w.resolve(r);
        }
      }
      this.clearClockAlarm('block');
      this.emit('block', this.head);
      this.afterCommit();
    } catch (e) {
      for (const t of batch.txs)
        this.failWaiters(t.parsed.txId, new NodeError('INTERNAL', 'block commit failed; node stopped', { cause: e }));
      this.halt(e);
    }
  }

  /**
   * Executes `txs` as the next block and commits it. `expect`, when given, sees the computed header
   * before anything is written and returns the certificate to store (or throws to abandon the block).
   */
  private commit(
    txs: PendingTx[],
    time: number,
    proposer: string,
    expect?: (header: BlockHeader) => QuorumCertificate,
  ): CommitResult[] {
    const prev = this.head;
    const height = prev.height + 1;
    const blockTime = Math.max(time, prev.time);
    // The member set that certifies this block: the one in the state after the previous block.
    const members = this.membersNow();
    const parsed = txs.map((t) => t.parsed);
    const out = this.executor.execute(
      { chainId: this.chainId, height, time: blockTime, txs: parsed, sigOk: txs.map((t) => t.sigOk) },
      this.store,
    );
    const base = prev.logSize;
    const entries: LogEntry[] = parsed.map((p, i) => ({
      txId: p.txId,
      height,
      index: i,
      time: blockTime,
      code: out.results[i]!,
    }));
    const logUpdate = this.log.append(entries.map((e) => logEntryBytes(e)));
    const treeUpdate = this.tree.apply(out.writes);
    const header: BlockHeader = {
      chainId: this.chainId,
      height,
      prevHash: headerHash(prev),
      time: blockTime,
      logSize: base + txs.length,
      logRoot: toHex(logUpdate.root),
      stateRoot: toHex(treeUpdate.root),
      proposer,
      txCount: txs.length,
    };
    let qc: QuorumCertificate | null;
    try {
      qc = expect ? expect(header) : this.certify(checkpointOf(header), members);
    } catch (e) {
      this.log.rollback();
      this.tree.rollback();
      throw e;
    }
    try {
      this.store.commitBlock({
        header,
        hash: headerHash(header),
        txs: parsed.map((p) => ({ txId: p.txId, json: signedTxJson(p), expiresAt: p.tx.body.expiresAt })),
        results: out.results,
        stateWrites: out.writes,
        logNodes: logUpdate.nodes,
        treeWrites: treeUpdate.writes,
        qc,
        subjectIndex: out.subjects.flatMap((list, i) => list.map((subject) => [subject, base + i] as [string, number])),
        meta: epochRecord(out.writes, height, () => this.tree.proveStaged(MEMBER_SET_KEY)),
      });
    } catch (e) {
      this.log.rollback();
      this.tree.rollback();
      throw e;
    }
    this.log.commit();
    this.tree.commit();
    this.head = header;
    this.headMembers = members;
    return entries.map((e) => {
      const detail = out.details[e.index];
      if (detail !== undefined) this.rememberFailure(e.txId, detail);
      return {
        txId: e.txId,
        height,
        index: e.index,
        logIndex: base + e.index,
        code: e.code,
        ...(detail === undefined ? {} : { detail }),
      };
    });
  }

  /** Signs `cp` with the keys this peer holds that are member keys in `members` (a removed or rotated-out key no longer signs). */
  private certify(cp: Checkpoint, members: MemberSet): QuorumCertificate | null {
    const keys = new Set(members.members.flatMap((m) => m.keys));
    const current = this.signers.filter((s) => keys.has(didFromPublicKey(s.publicKey)));
    // A peer left with no current member key still records what it computed, under its old keys:
    // such a certificate counts for nothing, but shows which keys stopped certifying.
    const signers = current.length > 0 ? current : this.signers;
    if (signers.length === 0) return null;
    return { checkpoint: cp, signatures: signers.map((s) => signCheckpoint(cp, s)) };
  }

  /** The member set in the current state (governance), else the genesis one. */
  private membersNow(): MemberSet {
    try {
      return memberSetAt(this.store, this.genesis);
    } catch {
      return this.members;
    }
  }

  /** After a commit: final at once if this peer's own keys make a quorum; else it waits for the other peers. */
  private afterCommit(): void {
    const height = this.head.height;
    const own = this.store.getHeader(height)?.qc?.signatures ?? [];
    this.handle(this.quorum.open(checkpointOf(this.head), this.headMembers ?? this.members, own));
    if (this.exchange) this.publishOwn(height);
  }

  /** Publishes this peer's signatures over its checkpoint at `height`, one entry per member it holds keys of. */
  private publishOwn(height: number): void {
    const row = this.store.getHeader(height);
    if (!this.exchange || !row?.qc) return;
    const members = this.headMembers ?? this.members;
    const byMember = new Map<string, CheckpointSignature[]>();
    for (const s of row.qc.signatures) {
      const m = members.members.find((x) => x.keys.includes(s.signer));
      if (m !== undefined) byMember.set(m.id, [...(byMember.get(m.id) ?? []), s]);
    }
    for (const [memberId, signatures] of byMember) {
      this.exchange.publish(memberId, { checkpoint: row.qc.checkpoint, signatures });
    }
  }

  /** Signatures from the exchange (untrusted; the tracker checks them). */
  private onSignatures(raw: unknown): void {
    if (this.fatal !== undefined || this.stopped) return;
    this.handle(this.quorum.receive(raw, this.head.height));
  }

  private handle(events: QuorumEvent[]): void {
    for (const e of events) {
      if (this.fatal !== undefined) return;
      if (e.kind === 'final') {
        const stored = this.store.getHeader(e.height)?.qc;
        // Keep the commit-time certificate when this peer's own keys already made it a quorum.
        if (!stored || stored.signatures.length < e.qc.signatures.length) this.store.setQc(e.height, e.qc);
        this.markFinal(e.height, e.qc);
      } else if (e.kind === 'conflict') {
        const at = String(e.evidence.height).padStart(16, '0');
        this.recordEvidence(`evidence/${at}/${e.evidence.members.join(',')}`, e.evidence);
        this.emit('conflict', e.evidence);
      } else {
        this.diverged(e.evidence);
      }
    }
  }

  private diverged(evidence: Evidence): void {
    this.recordEvidence('divergence', evidence);
    this.halt(
      new NodeError(
        'DIVERGED',
        `members ${evidence.members.join(', ')} signed another checkpoint at height ${evidence.height} than this peer computed; stopped`,
        { details: { evidence } },
      ),
    );
  }

  private recordEvidence(key: string, evidence: Evidence): void {
    try {
      if (this.store.db.open) this.store.setMeta(key, canonicalJson(evidence as never));
    } catch {
      // The store may be failing too; the fatal error still carries the evidence.
    }
  }

  private markFinal(height: number, qc: QuorumCertificate): void {
    if (height <= this.finalHeight) return;
    this.finalHeight = height;
    this.emit('final', { height, qc });
    for (const [h, list] of this.finalWaiters) {
      if (h > height) continue;
      this.finalWaiters.delete(h);
      for (const w of list) w.resolve(qc);
    }
  }

  /** On open: the latest height whose stored certificate is a quorum; later heights wait for signatures again. */
  private resumeFinality(): void {
    const members = this.membersNow();
    this.headMembers = members;
    const memberOf = new Map<string, string>();
    for (const m of members.members) for (const k of m.keys) memberOf.set(k, m.id);
    const isQuorum = (qc: QuorumCertificate | null | undefined) =>
      qc != null &&
      new Set(qc.signatures.map((s) => memberOf.get(s.signer)).filter((m) => m !== undefined)).size >=
        members.threshold;
    // Heights are looked at within the window a restarted peer can still collect signatures for.
    const lowest = Math.max(0, this.head.height - 1024);
    let h = this.head.height;
    while (h >= lowest && !isQuorum(this.store.getHeader(h)?.qc)) h--;
    this.finalHeight = h >= lowest ? h : -1;
    for (let x = Math.max(this.finalHeight + 1, lowest); x <= this.head.height; x++) {
      const row = this.store.getHeader(x);
      if (row !== null) this.handle(this.quorum.open(checkpointOf(row.header), members, row.qc?.signatures ?? []));
    }
  }

  /** Whether this peer collects the other members' signatures (a consortium peer): its blocks are final only once they arrive. */
  collectsSignatures(): boolean {
    return this.exchange !== undefined;
  }

  /** The latest height known final on this peer (a quorum of members signed its checkpoint); -1 if none. */
  latestFinal(): number {
    return this.finalHeight;
  }

  /** Latest committed and latest final height. */
  finality(): FinalityStatus {
    return { head: this.head.height, final: this.finalHeight };
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
    if (this.finalHeight >= height) {
      const qc = this.store.getHeader(this.finalHeight)?.qc;
      if (qc) return Promise.resolve(qc);
    }
    if (this.fatal !== undefined || this.stopped) {
      return Promise.reject(new NodeError('NODE_STOPPED', 'node is stopped'));
    }
    return new Promise((resolve, reject) => {
      const w: FinalWaiter = {
        resolve: (qc) => {
          clearTimeout(timer);
          resolve(qc);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const list = this.finalWaiters.get(height) ?? [];
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.finalWaiters.delete(height);
        reject(new NodeError('TIMEOUT', `block ${height} was not final within ${timeoutMs} ms`));
      }, timeoutMs);
      const list = this.finalWaiters.get(height);
      if (list) list.push(w);
      else this.finalWaiters.set(height, [w]);
    });
  }

  /**
   * Applies the next block as another peer served it, if it carries a valid quorum certificate over
   * the checkpoint this peer computes for it (catch-up). Throws CATCH_UP_FAILED for a block that is
   * not the next one or not certified (try another peer); stops the node with DIVERGED when a valid
   * certificate names another checkpoint than this peer computes.
   */
  async applyCertifiedBlock(block: CertifiedBlock): Promise<void> {
    if (this.fatal !== undefined || this.stopped) throw new NodeError('NODE_STOPPED', 'node is stopped');
    const bad = (m: string, cause?: unknown) =>
      new NodeError('CATCH_UP_FAILED', m, cause === undefined ? {} : { cause });
    const prev = this.head;
    const header = block.header as BlockHeader;
    if (typeof header !== 'object' || header === null || header.height !== prev.height + 1) {
      throw bad(`expected block ${prev.height + 1}`);
    }
    if (header.chainId !== this.chainId || header.prevHash !== headerHash(prev)) {
      throw bad(`block ${header.height} does not extend this peer's block ${prev.height}`);
    }
    if (typeof header.proposer !== 'string' || !Number.isSafeInteger(header.time) || header.time < prev.time) {
      throw bad(`block ${header.height} has a malformed header`);
    }
    const members = this.membersNow();
    try {
      verifyQuorumCertificate(block.qc, members, nativeVerifier, this.chainId);
    } catch (e) {
      throw bad(`block ${header.height} has no valid quorum certificate`, e);
    }
    const qc = block.qc;
    if (canonicalJson(qc.checkpoint as never) !== canonicalJson(checkpointOf(header) as never)) {
      throw bad(`block ${header.height}: the certificate is over another checkpoint than the header's`);
    }
    if (!Array.isArray(block.txs) || block.txs.length !== header.txCount || block.txs.length > 100_000) {
      throw bad(`block ${header.height}: expected ${header.txCount} transactions`);
    }
    let parsed: ParsedTx[];
    try {
      parsed = block.txs.map((t) => parseTx(t));
    } catch (e) {
      throw bad(`block ${header.height} holds a malformed transaction`, e);
    }
    const ok = await this.pool.verifyBatch(
      parsed.map((p) => ({ publicKey: publicKeyOfSigner(p), message: p.bodyBytes, signature: signatureOf(p) })),
    );
    if (this.head !== prev || this.stopped) throw bad('the peer moved on meanwhile');
    const txs: PendingTx[] = parsed.map((p, i) => ({ parsed: p, sigOk: Boolean(ok[i]) }));
    let divergence: Evidence | undefined;
    try {
      this.commit(txs, header.time, header.proposer, (computed) => {
        if (canonicalJson(computed as never) === canonicalJson(header as never)) return qc;
        const cp = checkpointOf(computed);
        if (canonicalJson(cp as never) !== canonicalJson(qc.checkpoint as never)) {
          divergence = {
            height: header.height,
            members: members.members
              .filter((m) => qc.signatures.some((s) => m.keys.includes(s.signer)))
              .map((m) => m.id),
            ours: { checkpoint: cp, signatures: this.signers.map((s) => signCheckpoint(cp, s)) },
            theirs: { checkpoint: qc.checkpoint, signatures: qc.signatures },
          };
        }
        throw bad(`block ${header.height}: this peer computes another header than the one served`);
      });
    } catch (e) {
      if (divergence !== undefined) {
        this.diverged(divergence);
        throw this.fatal;
      }
      throw e;
    }
    this.quorum.open(qc.checkpoint, members, qc.signatures);
    this.markFinal(header.height, qc);
    this.emit('block', this.head);
  }

  /** Stops ordering and the verify pool; waits for the block in progress to commit, then closes the store. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.orderer?.stop();
    await this.exchange?.stop().catch(() => {});
    this.rejectFinalWaiters(() => new NodeError('NODE_STOPPED', 'node stopped'));
    while (this.verifying > 0) await new Promise((r) => setTimeout(r, 5));
    for (const txId of [...this.waiters.keys()]) this.failWaiters(txId, new NodeError('NODE_STOPPED', 'node stopped'));
    await this.pool.close();
    this.store.close();
  }

  /** Transactions admitted and not yet committed. */
  pendingCount(): number {
    return this.pendingIds.size;
  }

  /** The error that stopped the node, if one did. */
  fatalError(): unknown {
    return this.fatal;
  }

  get logView(): LedgerLog {
    return this.log;
  }

  get treeView(): LedgerTree {
    return this.tree;
  }
}

function checkSkew(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < MIN_CLOCK_SKEW_MS || ms > MAX_CLOCK_SKEW_MS) {
    throw new NodeError(
      'BAD_REQUEST',
      `expected maxClockSkewMs as an integer from ${MIN_CLOCK_SKEW_MS} to ${MAX_CLOCK_SKEW_MS}, got ${String(ms).slice(0, 20)}`,
    );
  }
  return ms;
}

/** Writes the genesis block: members into the state, no transactions. */
function commitGenesis(store: SqliteStore, genesis: Genesis, signers: Signer[]): void {
  const writes = new Map<string, string | null>();
  const ctx = {
    put(key: string, value: unknown) {
      writes.set(key, canonicalize(value));
    },
  } as unknown as Pick<ExecContext, 'put'>;
  for (const m of genesis.members) writeMember(ctx, { id: m.id, name: m.name, keys: m.keys, since: 0 });
  const log = new LedgerLog(store);
  const tree = LedgerTree.load(store);
  const treeUpdate = tree.apply(writes);
  const header: BlockHeader = {
    chainId: genesis.chainId,
    height: 0,
    prevHash: ZERO_HASH,
    time: genesis.time,
    logSize: 0,
    logRoot: toHex(log.root(0)),
    stateRoot: toHex(treeUpdate.root),
    proposer: 'genesis',
    txCount: 0,
  };
  const cp = checkpointOf(header);
  // Only genesis member keys sign the genesis checkpoint (a peer may also hold keys governance adds later).
  const genesisKeys = new Set(genesis.members.flatMap((m) => m.keys));
  const members = signers.filter((s) => genesisKeys.has(didFromPublicKey(s.publicKey)));
  const qc = members.length > 0 ? { checkpoint: cp, signatures: members.map((s) => signCheckpoint(cp, s)) } : null;
  store.db.transaction(() => {
    store.setMeta('genesis', genesisText(genesis));
    store.setMeta('chainId', genesis.chainId);
    store.commitBlock({
      header,
      hash: headerHash(header),
      txs: [],
      results: [],
      stateWrites: writes,
      logNodes: [],
      treeWrites: treeUpdate.writes,
      qc,
    });
  })();
  tree.commit();
}

const utf8Decoder = new TextDecoder();

/** Canonical JSON of `{body, sig}` from the already canonical body bytes ("body" sorts before "sig"). */
function signedTxJson(p: ParsedTx): string {
  return `{"body":${utf8Decoder.decode(p.bodyBytes)},"sig":"${p.tx.sig}"}`;
}

function publicKeyOfSigner(p: ParsedTx): Uint8Array {
  return publicKeyFromDidCached(p.tx.body.signer);
}

const didCache = new Map<string, Uint8Array>();
function publicKeyFromDidCached(did: string): Uint8Array {
  let pk = didCache.get(did);
  if (pk === undefined) {
    pk = publicKeyFromDid(did);
    if (didCache.size > 10_000) didCache.clear();
    didCache.set(did, pk);
  }
  return pk;
}

function signatureOf(p: ParsedTx): Uint8Array {
  return fromBase64url(p.tx.sig, 64);
}
