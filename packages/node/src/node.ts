/**
 * A Custos peer: admission (shape, chain, window, replay, signature in a worker pool), ordering,
 * deterministic execution, and the atomic commit of each block with its log and state roots and
 * its checkpoint signed by the member keys this peer holds.
 */
import { EventEmitter } from 'node:events';
import {
  type BlockHeader,
  type Checkpoint,
  canonicalize,
  checkChain,
  checkpointOf,
  checkTxWindow,
  didFromPublicKey,
  fromBase64url,
  headerHash,
  type LogEntry,
  logEntryBytes,
  type MemberSet,
  type ParsedTx,
  ProtocolError,
  parseTx,
  publicKeyFromDid,
  type QuorumCertificate,
  type ResultCode,
  type Signer,
  signCheckpoint,
  toHex,
  ZERO_HASH,
} from '@custos/protocol';
import { installNativeCrypto } from './crypto/native.js';
import { VerifyPool } from './crypto/verify-pool.js';
import { NodeError } from './errors.js';
import { Executor } from './exec/executor.js';
import type { ExecContext } from './exec/module.js';
import { type Genesis, genesisText, memberSetOf } from './genesis.js';
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
  orderer?: Orderer;
  /** Worker threads for signature verification; default: all cores. */
  verifyThreads?: number;
  /** Most transactions waiting for a block. Default 100,000. */
  maxPending?: number;
  synchronous?: 'FULL' | 'NORMAL';
  /** Wall clock for admission checks (never used by execution). */
  now?: () => number;
}

export interface CommitResult {
  txId: string;
  height: number;
  index: number;
  logIndex: number;
  code: ResultCode;
}

export interface Submission {
  txId: string;
  /** Resolves when the transaction's block has committed. */
  committed: Promise<CommitResult>;
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
  private readonly log: LedgerLog;
  private readonly tree: LedgerTree;
  private readonly orderer: Orderer;
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
    this.orderer =
      opts.orderer ?? new SoloOrderer({ maxTxs: genesis.params.blockMaxTxs, maxWaitMs: genesis.params.blockMaxMs });
    this.pool = new VerifyPool(opts.verifyThreads === undefined ? {} : { threads: opts.verifyThreads });
    this.head = store.latestHeader() as BlockHeader;
  }

  /** Opens (or, given a genesis, creates) a peer's store and starts ordering. */
  static async open(opts: NodeOptions): Promise<CustosNode> {
    installNativeCrypto();
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
      const node = new CustosNode(opts, store, genesis);
      await node.orderer.start((b) => node.deliver(b), node.head.time);
      return node;
    } catch (e) {
      store.close();
      throw e;
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
    if (this.stopped) throw new NodeError('NODE_STOPPED', 'node is stopping');
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
            this.orderer.submit(accepted);
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

  /** Executes and commits one ordered batch. Any failure here stops the node (it never half-commits). */
  private async deliver(batch: OrderedBatch): Promise<void> {
    if (this.fatal !== undefined) return;
    try {
      const committed = this.commit(batch.txs, batch.time);
      for (const r of committed) {
        this.pendingIds.delete(r.txId);
        const list = this.waiters.get(r.txId);
        if (list) {
          this.waiters.delete(r.txId);
          for (const w of list) w.resolve(r);
        }
      }
      this.emit('block', this.head);
    } catch (e) {
      this.fatal = e;
      this.stopped = true;
      for (const t of batch.txs)
        this.failWaiters(t.parsed.txId, new NodeError('INTERNAL', 'block commit failed; node stopped', { cause: e }));
      this.emit('fatal', e);
    }
  }

  private commit(txs: PendingTx[], time: number): CommitResult[] {
    const prev = this.head;
    const height = prev.height + 1;
    const blockTime = Math.max(time, prev.time);
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
      proposer: this.signerDids()[0] ?? 'solo',
      txCount: txs.length,
    };
    const qc = this.certify(checkpointOf(header));
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
      });
    } catch (e) {
      this.log.rollback();
      this.tree.rollback();
      throw e;
    }
    this.log.commit();
    this.tree.commit();
    this.head = header;
    return entries.map((e) => ({ txId: e.txId, height, index: e.index, logIndex: base + e.index, code: e.code }));
  }

  private certify(cp: Checkpoint): QuorumCertificate | null {
    if (this.signers.length === 0) return null;
    return { checkpoint: cp, signatures: this.signers.map((s) => signCheckpoint(cp, s)) };
  }

  /** Stops ordering and the verify pool; waits for the block in progress to commit, then closes the store. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.orderer.stop();
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
  const qc = signers.length > 0 ? { checkpoint: cp, signatures: signers.map((s) => signCheckpoint(cp, s)) } : null;
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
