/**
 * A worker_threads pool for batch Ed25519 verification with node:crypto (`nativeVerifier`). A batch
 * is split into one chunk per worker; each chunk travels as ONE transferred ArrayBuffer and comes
 * back as one byte per item, so nothing is structured-cloned item by item.
 *
 * Packed chunk layout (little-endian): u32 count, then count x (u32 publicKey length, u32 signature
 * length, u32 message length), then each item's publicKey, signature and message bytes in order.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { nativeVerifier } from './native.js';
import { type PackedError, packTexts, type TextOutcome, unpackParsed } from './parse-packed.js';

export interface VerifyItem {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

export interface VerifyPoolOptions {
  /** Worker threads; defaults to `os.availableParallelism()`. */
  threads?: number;
}

/** Batches smaller than this are verified on the calling thread: messaging would cost more than it saves. */
export const INLINE_BATCH_LIMIT = 16;

// Compiled, the worker sits next to this module; run from source (tests), it is the built one in dist/.
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/crypto/verify-worker.js', import.meta.url)
  : new URL('./verify-worker.js', import.meta.url);
const COUNT_BYTES = 4;
const LENGTH_BYTES = 12;

/** Packs `items[start..end)` into one ArrayBuffer (layout in the file comment). */
export function packBatch(items: readonly VerifyItem[], start = 0, end = items.length): ArrayBuffer {
  const count = end - start;
  let size = COUNT_BYTES + LENGTH_BYTES * count;
  for (let i = start; i < end; i++) {
    const it = items[i] as VerifyItem;
    size += it.publicKey.length + it.signature.length + it.message.length;
  }
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  view.setUint32(0, count, true);
  let offset = COUNT_BYTES + LENGTH_BYTES * count;
  for (let i = start; i < end; i++) {
    const it = items[i] as VerifyItem;
    const at = COUNT_BYTES + LENGTH_BYTES * (i - start);
    view.setUint32(at, it.publicKey.length, true);
    view.setUint32(at + 4, it.signature.length, true);
    view.setUint32(at + 8, it.message.length, true);
    for (const part of [it.publicKey, it.signature, it.message]) {
      bytes.set(part, offset);
      offset += part.length;
    }
  }
  return buffer;
}

/** Verifies a packed chunk: one byte per item, 1 for a valid signature. Runs in the worker. */
export function verifyPacked(buffer: ArrayBuffer): Uint8Array<ArrayBuffer> {
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  const results = new Uint8Array(count);
  let offset = COUNT_BYTES + LENGTH_BYTES * count;
  for (let i = 0; i < count; i++) {
    const at = COUNT_BYTES + LENGTH_BYTES * i;
    const publicKey = new Uint8Array(buffer, offset, view.getUint32(at, true));
    offset += publicKey.length;
    const signature = new Uint8Array(buffer, offset, view.getUint32(at + 4, true));
    offset += signature.length;
    const message = new Uint8Array(buffer, offset, view.getUint32(at + 8, true));
    offset += message.length;
    results[i] = nativeVerifier.verify(publicKey, message, signature) ? 1 : 0;
  }
  return results;
}

/**
 * One worker thread's CPU accounts since it started: its thread's whole CPU time, and the parts of
 * it spent verifying signatures and parsing texts (thread CPU on Linux, wall time elsewhere).
 */
export interface WorkerStats {
  /** The kernel's thread id (`/proc/self/task/<id>`), undefined off Linux. */
  threadId: number | undefined;
  /** The thread's CPU milliseconds so far, undefined off Linux. */
  cpuMs: number | undefined;
  verifyMs: number;
  verified: number;
  parseMs: number;
  parsed: number;
}

/** What the pool's CPU went to: each worker's accounts, and the signatures verified on the calling thread. */
export interface PoolStats {
  workers: WorkerStats[];
  /** Items of batches under `INLINE_BATCH_LIMIT`, verified on the calling thread. */
  verifiedInline: number;
}

/** What a worker sends back: a verify chunk's `results`, a parse chunk's `answers` and `errors`, or its `stats`. */
interface Reply {
  id: number;
  results?: Uint8Array;
  answers?: ArrayBuffer;
  errors?: PackedError[];
  stats?: WorkerStats;
}

interface Job {
  count: number;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  /** A parse job's first reply (its answers); `resolve` then gets the verdicts. */
  parsed?: (reply: Reply) => void;
}

/** The pool's parse of a batch of texts: the outcomes now, the signatures' verdicts later. */
export interface ParsedBatch {
  outcomes: TextOutcome[];
  /** One per text, in order: true if it parsed and its signature verifies. */
  verdicts: Promise<boolean[]>;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** Items sent to this worker and not answered yet; new chunks go to the least loaded worker. */
  pending: number;
  error?: Error;
}

/**
 * Verifies batches of Ed25519 signatures on worker threads. Results keep the order of the items.
 * A worker that dies rejects its pending batches with an Error and is replaced when the next batch
 * needs it (so a worker that cannot start fails batches rather than respawning in a loop).
 *
 * @example
 * const pool = new VerifyPool({ threads: 4 });
 * const ok = await pool.verifyBatch(items); // [true, false, ...]
 * await pool.close();
 */
export class VerifyPool {
  readonly threads: number;
  private readonly slots: (Slot | undefined)[];
  private nextId = 0;
  private closed = false;
  private verifiedInline = 0;

  constructor(opts: VerifyPoolOptions = {}) {
    const threads = opts.threads ?? availableParallelism();
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new RangeError(`expected threads to be a positive integer, got ${threads}`);
    }
    this.threads = threads;
    this.slots = Array.from({ length: threads }, () => this.spawn());
  }

  /** One boolean per item, in order: true if the signature is valid. */
  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (this.closed) throw new Error('VerifyPool is closed');
    checkItems(items);
    if (items.length < INLINE_BATCH_LIMIT) {
      this.verifiedInline += items.length;
      return items.map((it) => nativeVerifier.verify(it.publicKey, it.message, it.signature));
    }
    const chunks = Math.min(this.threads, Math.ceil(items.length / INLINE_BATCH_LIMIT));
    const size = Math.ceil(items.length / chunks);
    const parts: Promise<Reply>[] = [];
    for (let start = 0; start < items.length; start += size) {
      const end = Math.min(start + size, items.length);
      parts.push(this.run(packBatch(items, start, end), end - start));
    }
    const out: boolean[] = [];
    for (const reply of await Promise.all(parts)) for (const r of reply.results ?? []) out.push(r === 1);
    return out;
  }

  /**
   * Admission's parse of signed transactions received as JSON text, on the workers: for each text,
   * in order, its canonical body bytes and txId, or the error `parseTx` gave it (`parse-packed.ts`);
   * then the signatures' verdicts. Meant for batches of at least `INLINE_BATCH_LIMIT`; smaller ones
   * are better parsed on the calling thread.
   */
  async parseBatch(texts: readonly string[]): Promise<ParsedBatch> {
    if (this.closed) throw new Error('VerifyPool is closed');
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new TypeError('expected an array of JSON texts');
    }
    const chunks = Math.max(1, Math.min(this.threads, Math.ceil(texts.length / INLINE_BATCH_LIMIT)));
    const size = Math.max(1, Math.ceil(texts.length / chunks));
    const parsed: Promise<Reply>[] = [];
    const verdicts: Promise<Reply>[] = [];
    for (let start = 0; start < texts.length; start += size) {
      const end = Math.min(start + size, texts.length);
      let first!: (reply: Reply) => void;
      parsed.push(new Promise((resolve) => (first = resolve)));
      verdicts.push(this.run(packTexts(texts, start, end), end - start, first));
    }
    // A worker that dies before its answers rejects its verdicts: the answers must not wait forever.
    const answered = Promise.all(parsed);
    const outcomes: TextOutcome[] = [];
    for (const reply of await Promise.race([answered, Promise.all(verdicts).then(() => answered)])) {
      for (const o of unpackParsed({ answers: reply.answers as ArrayBuffer, errors: reply.errors ?? [] })) {
        outcomes.push(o);
      }
    }
    return {
      outcomes,
      verdicts: Promise.all(verdicts).then((replies) => {
        const out: boolean[] = [];
        for (const reply of replies) for (const r of reply.results ?? []) out.push(r === 1);
        return out;
      }),
    };
  }

  /**
   * Where the pool's CPU went so far: each live worker's accounts (a worker replaced after a crash
   * starts from zero), and the signatures verified inline. Benchmarks read it before and after a run.
   */
  async stats(): Promise<PoolStats> {
    if (this.closed) throw new Error('VerifyPool is closed');
    const workers = await Promise.all(
      this.slots.map((_, i) => {
        const slot = this.slots[i] ?? this.spawn();
        this.slots[i] = slot;
        const id = this.nextId++;
        return new Promise<Reply>((resolve, reject) => {
          slot.jobs.set(id, { count: 0, resolve, reject });
          slot.worker.ref();
          slot.worker.postMessage({ id, kind: 'stats' });
        });
      }),
    );
    return { workers: workers.map((r) => r.stats as WorkerStats), verifiedInline: this.verifiedInline };
  }

  /** Rejects pending batches and ends every worker thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('VerifyPool is closed');
    const exits: Promise<number>[] = [];
    for (const slot of this.slots) {
      if (slot === undefined) continue;
      failJobs(slot, error);
      exits.push(slot.worker.terminate());
    }
    this.slots.fill(undefined);
    await Promise.all(exits);
  }

  /** Sends a packed chunk to the least loaded worker; `parsed` makes it a parse job (two replies). */
  private run(buffer: ArrayBuffer, count: number, parsed?: (reply: Reply) => void): Promise<Reply> {
    const slot = this.leastLoaded();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, parsed === undefined ? { count, resolve, reject } : { count, resolve, reject, parsed });
      slot.pending += count;
      slot.worker.ref();
      slot.worker.postMessage(parsed === undefined ? { id, buffer } : { id, buffer, kind: 'parse' }, [buffer]);
    });
  }

  private leastLoaded(): Slot {
    let best: Slot | undefined;
    for (let i = 0; i < this.slots.length; i++) {
      let slot = this.slots[i];
      if (slot === undefined) {
        slot = this.spawn();
        this.slots[i] = slot;
      }
      if (best === undefined || slot.pending < best.pending) best = slot;
    }
    return best as Slot;
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, jobs: new Map(), pending: 0 };
    // Idle workers must not keep the process alive; a worker with pending jobs is ref'ed in run().
    worker.unref();
    worker.on('message', (msg: Reply) => {
      const job = slot.jobs.get(msg.id);
      if (job === undefined) return;
      if (msg.answers !== undefined) {
        job.parsed?.(msg);
        return;
      }
      slot.jobs.delete(msg.id);
      slot.pending -= job.count;
      if (slot.jobs.size === 0) worker.unref();
      job.resolve(msg);
    });
    worker.on('error', (error) => {
      slot.error = error;
    });
    worker.on('exit', (code) => {
      failJobs(slot, new Error(`verify worker exited with code ${code}`, { cause: slot.error }));
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = undefined;
    });
    return slot;
  }
}

function failJobs(slot: Slot, error: Error): void {
  for (const job of slot.jobs.values()) job.reject(error);
  slot.jobs.clear();
  slot.pending = 0;
}

function checkItems(items: readonly VerifyItem[]): void {
  if (!Array.isArray(items)) throw new TypeError('expected an array of {publicKey, message, signature}');
  for (let i = 0; i < items.length; i++) {
    const it = items[i] as VerifyItem | undefined;
    if (
      typeof it !== 'object' ||
      it === null ||
      !(it.publicKey instanceof Uint8Array) ||
      !(it.message instanceof Uint8Array) ||
      !(it.signature instanceof Uint8Array)
    ) {
      throw new TypeError(`expected item ${i} as {publicKey, message, signature} of Uint8Array`);
    }
  }
}
