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

interface Job {
  count: number;
  resolve: (results: Uint8Array) => void;
  reject: (error: Error) => void;
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
      return items.map((it) => nativeVerifier.verify(it.publicKey, it.message, it.signature));
    }
    const chunks = Math.min(this.threads, Math.ceil(items.length / INLINE_BATCH_LIMIT));
    const size = Math.ceil(items.length / chunks);
    const parts: Promise<Uint8Array>[] = [];
    for (let start = 0; start < items.length; start += size) {
      parts.push(this.run(items, start, Math.min(start + size, items.length)));
    }
    const out: boolean[] = [];
    for (const results of await Promise.all(parts)) for (const r of results) out.push(r === 1);
    return out;
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

  private run(items: readonly VerifyItem[], start: number, end: number): Promise<Uint8Array> {
    const slot = this.leastLoaded();
    const buffer = packBatch(items, start, end);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { count: end - start, resolve, reject });
      slot.pending += end - start;
      slot.worker.ref();
      slot.worker.postMessage({ id, buffer }, [buffer]);
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
    worker.on('message', (msg: { id: number; results: Uint8Array }) => {
      const job = slot.jobs.get(msg.id);
      if (job === undefined) return;
      slot.jobs.delete(msg.id);
      slot.pending -= job.count;
      if (slot.jobs.size === 0) worker.unref();
      job.resolve(msg.results);
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
