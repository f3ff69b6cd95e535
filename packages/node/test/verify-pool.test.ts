/**
 * VerifyPool against the built dist (workers need the compiled verify-worker.js): ordered results
 * for mixed batches, the inline path, large and concurrent batches, worker crashes and close().
 */
import { existsSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../dist/crypto/native.js';
import {
  INLINE_BATCH_LIMIT,
  packBatch,
  type VerifyItem,
  VerifyPool,
  verifyPacked,
} from '../dist/crypto/verify-pool.js';

const signers = Array.from({ length: 8 }, (_, i) => nativeSigner(new Uint8Array(32).fill(i + 1)));

/** `n` items; item i is valid unless `invalid(i)`, in which case one of four ways of breaking it is used. */
function batch(
  n: number,
  invalid: (i: number) => boolean = (i) => i % 3 === 1,
): { items: VerifyItem[]; want: boolean[] } {
  const items: VerifyItem[] = [];
  const want: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const s = signers[i % signers.length] as (typeof signers)[number];
    const message = new TextEncoder().encode(`message ${i} ${'x'.repeat(i % 50)}`);
    const signature = s.sign(message);
    let item: VerifyItem = { publicKey: s.publicKey, message, signature };
    if (invalid(i)) {
      const broken = signature.slice();
      broken[i % 64] = (broken[i % 64] as number) ^ 1;
      const variants: VerifyItem[] = [
        { ...item, signature: broken },
        { ...item, message: new TextEncoder().encode(`other ${i}`) },
        { ...item, publicKey: (signers[(i + 1) % signers.length] as (typeof signers)[number]).publicKey },
        { ...item, signature: signature.subarray(0, 63) },
      ];
      item = variants[i % variants.length] as VerifyItem;
    }
    items.push(item);
    want.push(!invalid(i));
  }
  return { items, want };
}

function slotsOf(pool: VerifyPool): ({ worker: Worker } | undefined)[] {
  return (pool as unknown as { slots: ({ worker: Worker } | undefined)[] }).slots;
}

describe('packBatch / verifyPacked', () => {
  it('round-trip arbitrary items, including views at an offset and wrong lengths', () => {
    const { items, want } = batch(40);
    const backing = new Uint8Array(200).fill(9);
    const first = items[0] as VerifyItem;
    backing.set(first.signature, 5);
    items.push({ ...first, signature: backing.subarray(5, 69) });
    want.push(true);
    items.push({ publicKey: new Uint8Array(0), message: new Uint8Array(0), signature: new Uint8Array(0) });
    want.push(false);
    expect(Array.from(verifyPacked(packBatch(items)), (r) => r === 1)).toEqual(want);
    expect(Array.from(verifyPacked(packBatch(items, 3, 10)), (r) => r === 1)).toEqual(want.slice(3, 10));
  });

  it('packs a chunk into one buffer of exactly the item bytes plus 4 + 12 per item', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            publicKey: fc.uint8Array({ maxLength: 40 }),
            message: fc.uint8Array({ maxLength: 100 }),
            signature: fc.uint8Array({ maxLength: 70 }),
          }),
          { maxLength: 20 },
        ),
        (items) => {
          const size = items.reduce((n, it) => n + it.publicKey.length + it.message.length + it.signature.length, 0);
          expect(packBatch(items).byteLength).toBe(4 + 12 * items.length + size);
          expect(Array.from(verifyPacked(packBatch(items)))).toEqual(items.map(() => 0));
        },
      ),
    );
  });
});

describe('VerifyPool', () => {
  const pool = new VerifyPool({ threads: 2 });
  afterAll(() => pool.close());

  it('defaults to one thread per available CPU and rejects a bad thread count', async () => {
    const { availableParallelism } = await import('node:os');
    const p = new VerifyPool();
    expect(p.threads).toBe(availableParallelism());
    await p.close();
    for (const threads of [0, -1, 1.5, Number.NaN]) expect(() => new VerifyPool({ threads })).toThrow(RangeError);
  });

  it('gives the right booleans, in order, for mixed batches of every size around the inline limit', async () => {
    for (const n of [1, 2, INLINE_BATCH_LIMIT - 1, INLINE_BATCH_LIMIT, INLINE_BATCH_LIMIT + 1, 33, 100, 257]) {
      const { items, want } = batch(n);
      expect(await pool.verifyBatch(items)).toEqual(want);
    }
  });

  it('gives an empty result for an empty batch', async () => {
    expect(await pool.verifyBatch([])).toEqual([]);
  });

  it('handles all-valid and all-invalid batches', async () => {
    const valid = batch(64, () => false);
    expect(await pool.verifyBatch(valid.items)).toEqual(valid.want);
    const invalid = batch(64, () => true);
    expect(await pool.verifyBatch(invalid.items)).toEqual(invalid.want);
  });

  it('verifies a large batch (5,000)', async () => {
    const { items, want } = batch(5000, (i) => i % 97 === 0 || i === 4999);
    const got = await pool.verifyBatch(items);
    expect(got).toHaveLength(5000);
    expect(got).toEqual(want);
  });

  it('keeps concurrent batches apart', async () => {
    const batches = [300, 17, 1000, 5, 64, 2000, 16].map((n, k) => batch(n, (i) => (i + k) % 5 === 0));
    const results = await Promise.all(batches.map((b) => pool.verifyBatch(b.items)));
    results.forEach((r, k) => {
      expect(r).toEqual(batches[k]?.want);
    });
  });

  it('leaves the caller’s items intact (only packed copies are transferred)', async () => {
    const { items } = batch(64);
    const before = items.map((it) => [it.publicKey.length, it.message.length, it.signature.length]);
    await pool.verifyBatch(items);
    expect(items.map((it) => [it.publicKey.length, it.message.length, it.signature.length])).toEqual(before);
  });

  it('rejects items that are not byte arrays', async () => {
    const { items } = batch(20);
    await expect(pool.verifyBatch([...items, { publicKey: 'x' } as unknown as VerifyItem])).rejects.toThrow(TypeError);
    await expect(pool.verifyBatch('items' as unknown as VerifyItem[])).rejects.toThrow(TypeError);
  });

  it('accounts each worker thread’s CPU: the items it verified, the time they took, and the inline ones', async () => {
    const p = new VerifyPool({ threads: 2 });
    try {
      const before = await p.stats();
      expect(before.workers).toHaveLength(2);
      const { items, want } = batch(600);
      expect(await p.verifyBatch(items)).toEqual(want);
      expect(await p.verifyBatch(items.slice(0, 5))).toEqual(want.slice(0, 5));
      const after = await p.stats();
      expect(after.verifiedInline - before.verifiedInline).toBe(5);
      expect(after.workers.reduce((n, w) => n + w.verified, 0)).toBe(600);
      for (const w of after.workers) {
        expect(w.verified).toBeGreaterThan(0);
        expect(w.verifyMs).toBeGreaterThan(0);
        expect(w.parsed).toBe(0);
        if (process.platform === 'linux') {
          // The thread is one of this process's, and verification is part of its CPU time.
          expect(existsSync(`/proc/self/task/${w.threadId}`)).toBe(true);
          expect(w.cpuMs).toBeGreaterThanOrEqual(w.verifyMs);
        }
      }
      expect(new Set(after.workers.map((w) => w.threadId)).size).toBe(2);
    } finally {
      await p.close();
    }
    await expect(p.stats()).rejects.toThrow(/closed/);
  });

  it('rejects the pending batches of a crashed worker with an Error, then replaces the worker', async () => {
    const p = new VerifyPool({ threads: 2 });
    try {
      const { items, want } = batch(4000);
      // A message the worker cannot handle makes it throw and exit: a genuine crash, which it
      // reaches while the first chunk of the batch below is queued behind it.
      slotsOf(p)[0]?.worker.postMessage({ id: -1, buffer: null });
      const pending = p.verifyBatch(items);
      await expect(pending).rejects.toThrow(/verify worker exited with code 1/);
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).cause).toBeInstanceOf(Error);
      const again = await p.verifyBatch(items);
      expect(again).toEqual(want);
      expect(slotsOf(p).filter((s) => s !== undefined)).toHaveLength(2);
    } finally {
      await p.close();
    }
  });

  it('close() rejects pending batches, ends every worker thread, and refuses new batches', async () => {
    const p = new VerifyPool({ threads: 2 });
    const workers = slotsOf(p).map((s) => s?.worker as Worker);
    const exited = workers.map((w) => new Promise<number>((resolve) => w.once('exit', resolve)));
    const { items } = batch(3000);
    const rejected = expect(p.verifyBatch(items)).rejects.toThrow(/closed/);
    await p.close();
    await rejected;
    expect(await Promise.all(exited)).toHaveLength(2);
    for (const w of workers) expect(w.threadId).toBe(-1);
    await expect(p.verifyBatch(items.slice(0, 3))).rejects.toThrow(/closed/);
    await p.close();
  });
});
