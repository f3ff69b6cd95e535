/**
 * Admission: the checks a transaction passes before ordering (shape, chain, time window, replay,
 * mempool room, then its signature in the worker pool, in small batches so that verification of
 * the next block overlaps execution of this one), the clients waiting for their commit, and the
 * cache of signatures this peer already verified so that the orderer's parse does not verify them
 * twice.
 */
import { publicKeyFromDid } from '@custos/protocol/crypto';
import { fromBase64url } from '@custos/protocol/encoding';
import { ProtocolError } from '@custos/protocol/errors';
import type { CommitResult } from '@custos/protocol/ledger';
import { checkChain, checkTxWindow, type ParsedTx, parseTx, verifyTxSignature } from '@custos/protocol/ledger';
import { nativeVerifier } from '../crypto/native.js';
import type { TextOutcome } from '../crypto/parse-packed.js';
import { INLINE_BATCH_LIMIT, type VerifyItem, type VerifyPool } from '../crypto/verify-pool.js';
import { NodeError } from '../errors.js';
import type { ParseOutcome, PendingTx } from '../ordering/orderer.js';
import type { SqliteStore } from '../store/sqlite.js';

const MAX_VERIFY_BATCH = 1024;
/**
 * The first this many texts of an event-loop turn are admitted on the main thread at once: the
 * worker's round trip delays each 202, which costs a closed-loop client more than the parse it
 * saves (docs/performance.md, "HTTP single route"); past it the main thread is behind, and moving
 * the parse off it is what helps.
 */
const PARSE_OFF_THREAD_MIN = 64;
const MAX_VERIFIED_CACHE = 200_000;

export interface Submission {
  txId: string;
  /** Resolves when the transaction's block has committed. */
  committed: Promise<CommitResult>;
}

interface Waiter {
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
}

/** A submission received as JSON text, waiting for its parse on a worker. */
interface TextSubmission {
  raw: unknown;
  text: string;
  resolve: (s: Submission) => void;
  reject: (e: unknown) => void;
}

export interface AdmissionOptions {
  chainId: string;
  /** Where committed transactions are looked up (replay). */
  store: SqliteStore;
  pool: VerifyPool;
  /** Wall clock for the time window. */
  now: () => number;
  /** Most transactions waiting for a block. */
  maxPending: number;
  /** Whether the node is stopping: verified transactions are then failed instead of ordered. */
  stopping: () => boolean;
  /** Hands verified transactions to the orderer. */
  order: (txs: PendingTx[]) => void;
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

export class Admission {
  private readonly opts: AdmissionOptions;
  /**
   * txId to the signature this node verified for it (admission or the proposer's parse): not
   * verified twice. Keyed by the strings the transaction already holds, so remembering one
   * allocates no new string (a `txId sig` key was a 150-character string per transaction).
   */
  private verified = new Map<string, string>();
  /** The clients waiting on a txId: one waiter, or a list in the rare case of several. */
  private readonly waiters = new Map<string, Waiter | Waiter[]>();
  private readonly pendingIds = new Set<string>();
  private verifyQueue: { parsed: ParsedTx; waiter: Waiter }[] = [];
  private verifyScheduled = false;
  private verifying = 0;
  private textQueue: TextSubmission[] = [];
  private textScheduled = false;
  /** Texts admitted on this thread in the current event-loop turn. */
  private textsThisTurn = 0;
  private turnScheduled = false;

  constructor(opts: AdmissionOptions) {
    this.opts = opts;
  }

  /**
   * Admits a transaction: checks shape, chain, time window, replay and room, then queues its
   * signature for verification. Throws (synchronously) for anything rejected before ordering.
   */
  submit(raw: unknown): Submission {
    const parsed = parseTx(raw);
    this.check(parsed);
    const { waiter, committed } = this.admit(parsed);
    this.verifyQueue.push({ parsed, waiter });
    if (!this.verifyScheduled) {
      this.verifyScheduled = true;
      setImmediate(() => this.flushVerify());
    }
    return { txId: parsed.txId, committed };
  }

  /**
   * `submit` for a transaction that arrived as JSON text (`raw` is `text` parsed). The first
   * `PARSE_OFF_THREAD_MIN` of an event-loop turn are admitted here at once, as `submit` does; the
   * rest of a busy turn are parsed, canonicalised, hashed and signature-checked together on the
   * worker pool, so the main thread, which is then behind, does not. Resolves once admitted;
   * rejects with what `submit` would throw. A bad signature, as with `submit`, fails only `committed`.
   */
  submitText(raw: unknown, text: string): Promise<Submission> {
    if (this.textsThisTurn < PARSE_OFF_THREAD_MIN) {
      this.textsThisTurn++;
      if (!this.turnScheduled) {
        this.turnScheduled = true;
        setImmediate(() => {
          this.turnScheduled = false;
          this.textsThisTurn = 0;
        });
      }
      try {
        return Promise.resolve(this.submit(raw));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise((resolve, reject) => {
      this.textQueue.push({ raw, text, resolve, reject });
      if (!this.textScheduled) {
        this.textScheduled = true;
        setImmediate(() => this.flushText());
      }
    });
  }

  /** The orderer's parse: admission's checks, the signature skipped when this node already verified it. */
  parsePending(raw: unknown): PendingTx {
    const parsed = parseTx(raw);
    checkChain(parsed.tx.body, this.opts.chainId);
    if (this.verified.get(parsed.txId) === parsed.tx.sig) return { parsed, sigOk: true };
    const sigOk = verifyTxSignature(parsed, nativeVerifier);
    if (sigOk) this.remember(parsed);
    return { parsed, sigOk };
  }

  /**
   * `parsePending` for many transactions at once (a block, a watch event): shape and chain here,
   * the signatures this node has not verified yet in ONE batch on the worker pool, so that the
   * event loop keeps executing and serving meanwhile. One outcome per item, in order.
   */
  async parsePendingBatch(raws: readonly unknown[]): Promise<ParseOutcome[]> {
    const out: ParseOutcome[] = new Array(raws.length);
    const todo: number[] = [];
    const items: VerifyItem[] = [];
    for (let i = 0; i < raws.length; i++) {
      let parsed: ParsedTx;
      try {
        parsed = parseTx(raws[i]);
        checkChain(parsed.tx.body, this.opts.chainId);
      } catch (error) {
        out[i] = { error };
        continue;
      }
      out[i] = { parsed, sigOk: true };
      if (this.verified.get(parsed.txId) === parsed.tx.sig) continue;
      const item = safeVerifyItemOf(parsed);
      if (item === undefined) {
        out[i] = { parsed, sigOk: false };
        continue;
      }
      todo.push(i);
      items.push(item);
    }
    if (items.length === 0) return out;
    const ok = await this.opts.pool.verifyBatch(items);
    for (let j = 0; j < todo.length; j++) {
      const i = todo[j]!;
      const p = (out[i] as PendingTx).parsed;
      if (ok[j]) this.remember(p);
      else out[i] = { parsed: p, sigOk: false };
    }
    return out;
  }

  /** Resolves the clients waiting on the transactions of a committed block. */
  committed(results: CommitResult[]): void {
    for (const r of results) {
      this.pendingIds.delete(r.txId);
      const w = this.waiters.get(r.txId);
      if (w === undefined) continue;
      this.waiters.delete(r.txId);
      if (Array.isArray(w)) for (const one of w) one.resolve(r);
      else w.resolve(r);
    }
  }

  /** Fails the clients waiting on `txId` (it is no longer pending). */
  fail(txId: string, err: unknown): void {
    this.pendingIds.delete(txId);
    const w = this.waiters.get(txId);
    this.waiters.delete(txId);
    if (Array.isArray(w)) for (const one of w) one.reject(err);
    else w?.reject(err);
  }

  /** Fails every client still waiting for a commit. */
  failAll(err: () => unknown): void {
    for (const txId of [...this.waiters.keys()]) this.fail(txId, err());
  }

  /** Resolves once no signature batch is being verified. */
  async drained(): Promise<void> {
    while (this.verifying > 0) await new Promise((r) => setTimeout(r, 5));
  }

  /** Transactions admitted and not yet committed. */
  pendingCount(): number {
    return this.pendingIds.size;
  }

  /** Chain, time window, replay and room: what admission checks once a transaction is parsed. */
  private check(parsed: ParsedTx): void {
    checkChain(parsed.tx.body, this.opts.chainId);
    checkTxWindow(parsed.tx.body, this.opts.now());
    if (this.pendingIds.has(parsed.txId))
      throw new NodeError('DUPLICATE_TX', `transaction ${parsed.txId} is already pending`);
    if (this.opts.store.isCommitted(parsed.txId, parsed.tx.body.expiresAt)) {
      throw new ProtocolError('TX_REPLAYED', `transaction ${parsed.txId} is already committed`);
    }
    if (this.pendingIds.size >= this.opts.maxPending) {
      throw new NodeError('MEMPOOL_FULL', `more than ${this.opts.maxPending} transactions are pending; retry later`);
    }
  }

  /** Marks a checked transaction pending and gives the promise its submitter waits on. */
  private admit(parsed: ParsedTx): { waiter: Waiter; committed: Promise<CommitResult> } {
    this.pendingIds.add(parsed.txId);
    let waiter!: Waiter;
    const committed = new Promise<CommitResult>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    // Callers that do not wait for the commit must not crash the process when it fails.
    committed.catch(() => {});
    return { waiter, committed };
  }

  private flushText(): void {
    this.textScheduled = false;
    const batch =
      this.textQueue.length <= MAX_VERIFY_BATCH ? this.textQueue : this.textQueue.slice(0, MAX_VERIFY_BATCH);
    this.textQueue = this.textQueue.length <= MAX_VERIFY_BATCH ? [] : this.textQueue.slice(MAX_VERIFY_BATCH);
    if (this.textQueue.length > 0) {
      this.textScheduled = true;
      setImmediate(() => this.flushText());
    }
    if (batch.length < INLINE_BATCH_LIMIT) {
      for (const t of batch) {
        try {
          t.resolve(this.submit(t.raw));
        } catch (e) {
          t.reject(e);
        }
      }
      return;
    }
    this.verifying++;
    this.opts.pool
      .parseBatch(batch.map((t) => t.text))
      .then(
        ({ outcomes, verdicts }) => {
          const admitted = this.admitParsed(batch, outcomes);
          return verdicts.then(
            (ok) => this.ordered(admitted.map(({ index, ...rest }) => ({ ...rest, ok: ok[index] === true }))),
            (e) => {
              for (const a of admitted) {
                this.pendingIds.delete(a.parsed.txId);
                a.waiter.reject(e);
              }
            },
          );
        },
        (e) => {
          for (const t of batch) t.reject(e);
        },
      )
      .finally(() => {
        this.verifying--;
      });
  }

  /**
   * Admits what the workers parsed: admission's checks here, each submitter answered at once; the
   * admitted ones (with their place in the batch) wait for their signatures' verdicts.
   */
  private admitParsed(
    batch: TextSubmission[],
    outcomes: TextOutcome[],
  ): { index: number; parsed: ParsedTx; waiter: Waiter }[] {
    const admitted: { index: number; parsed: ParsedTx; waiter: Waiter }[] = [];
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i] as TextSubmission;
      const o = outcomes[i] as TextOutcome;
      if ('error' in o) {
        t.reject(o.error);
        continue;
      }
      // The workers parsed the same text as `raw`: its canonical bytes and id are `raw`'s.
      const parsed: ParsedTx = { tx: t.raw as ParsedTx['tx'], bodyBytes: o.bodyBytes, txId: o.txId };
      try {
        if (this.opts.stopping()) throw new NodeError('NODE_STOPPED', 'node is stopping');
        this.check(parsed);
      } catch (e) {
        t.reject(e);
        continue;
      }
      const { waiter, committed } = this.admit(parsed);
      t.resolve({ txId: parsed.txId, committed });
      admitted.push({ index: i, parsed, waiter });
    }
    return admitted;
  }

  /** Hands the verified transactions of a batch to the orderer and fails the forged ones. */
  private ordered(batch: { parsed: ParsedTx; waiter: Waiter; ok: boolean }[]): void {
    const accepted: PendingTx[] = [];
    for (const { parsed, waiter, ok } of batch) {
      if (ok) {
        accepted.push({ parsed, sigOk: true });
        this.remember(parsed);
        this.wait(parsed.txId, waiter);
      } else {
        this.pendingIds.delete(parsed.txId);
        waiter.reject(new ProtocolError('BAD_SIGNATURE', 'transaction signature does not verify against body.signer'));
      }
    }
    if (accepted.length === 0) return;
    if (this.opts.stopping()) {
      for (const t of accepted) this.fail(t.parsed.txId, new NodeError('NODE_STOPPED', 'node is stopping'));
    } else {
      this.opts.order(accepted);
    }
  }

  private wait(txId: string, waiter: Waiter): void {
    const w = this.waiters.get(txId);
    if (w === undefined) this.waiters.set(txId, waiter);
    else if (Array.isArray(w)) w.push(waiter);
    else this.waiters.set(txId, [w, waiter]);
  }

  private remember(p: ParsedTx): void {
    if (this.verified.size >= MAX_VERIFIED_CACHE) this.verified = new Map();
    this.verified.set(p.txId, p.tx.sig);
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
      .then(() => this.opts.pool.verifyBatch(batch.map(({ parsed }) => verifyItemOf(parsed))))
      .then((ok) => this.ordered(batch.map(({ parsed, waiter }, i) => ({ parsed, waiter, ok: ok[i] === true }))))
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
}

/** What the worker pool verifies for a transaction: its signer's key, its body bytes, its signature. */
export function verifyItemOf(p: ParsedTx): VerifyItem {
  return {
    publicKey: publicKeyFromDidCached(p.tx.body.signer),
    message: p.bodyBytes,
    signature: fromBase64url(p.tx.sig, 64),
  };
}

/** `verifyItemOf`, or undefined when the signer or signature cannot be decoded (then it does not verify). */
function safeVerifyItemOf(p: ParsedTx): VerifyItem | undefined {
  try {
    return verifyItemOf(p);
  } catch {
    return undefined;
  }
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
