import { describe, expect, it } from 'vitest';
import { SoloOrderer } from '../src/ordering/solo.js';
import { pendingTxs, runOrdererSuite } from './conformance/orderer.js';

runOrdererSuite('solo', (maxTxs) => new SoloOrderer({ maxTxs, maxWaitMs: 5 }));

describe('solo orderer cutting rules', () => {
  it('cuts at maxTxs without waiting for the timer', async () => {
    const o = new SoloOrderer({ maxTxs: 10, maxWaitMs: 60_000, quietMs: 60_000 });
    const sizes: number[] = [];
    await o.start((b) => {
      sizes.push(b.txs.length);
    }, 0);
    o.submit(pendingTxs(25));
    await new Promise((r) => setTimeout(r, 50));
    // Two full blocks were cut at once; the remaining 5 wait for the (long) timer.
    expect(sizes).toEqual([10, 10]);
    expect(o.pending()).toBe(5);
    await o.stop();
  });

  it('cuts a partial block after maxWaitMs', async () => {
    const o = new SoloOrderer({ maxTxs: 1000, maxWaitMs: 20, quietMs: 20 });
    const sizes: number[] = [];
    await o.start((b) => {
      sizes.push(b.txs.length);
    }, 0);
    o.submit(pendingTxs(3));
    expect(sizes).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    expect(sizes).toEqual([3]);
    await o.stop();
  });

  it('cuts a lone transaction once nothing more arrives, long before maxWaitMs', async () => {
    const o = new SoloOrderer({ maxTxs: 1000, maxWaitMs: 60_000, quietMs: 5 });
    const sizes: number[] = [];
    await o.start((b) => {
      sizes.push(b.txs.length);
    }, 0);
    o.submit(pendingTxs(1));
    await new Promise((r) => setTimeout(r, 200));
    expect(sizes).toEqual([1]);
    await o.stop();
  });

  it('keeps the block open while transactions keep arriving, up to maxWaitMs', async () => {
    const o = new SoloOrderer({ maxTxs: 1000, maxWaitMs: 250, quietMs: 80 });
    const sizes: number[] = [];
    await o.start((b) => {
      sizes.push(b.txs.length);
    }, 0);
    const txs = pendingTxs(60);
    // One transaction every 5 ms for 300 ms: never quiet for 80 ms, so only maxWaitMs cuts.
    for (let i = 0; i < 60; i++) {
      o.submit([txs[i] as (typeof txs)[number]]);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
    // The first block waited the whole 250 ms: more than the 80 ms quiet time's worth of arrivals.
    expect(sizes[0]).toBeGreaterThan(20);
    await o.stop();
  });

  it('does not take the pool for quiet while admitted transactions are still on their way', async () => {
    let incoming = 5;
    const o = new SoloOrderer({ maxTxs: 1000, maxWaitMs: 60_000, quietMs: 5, incoming: () => incoming });
    const sizes: number[] = [];
    await o.start((b) => {
      sizes.push(b.txs.length);
    }, 0);
    const txs = pendingTxs(6);
    o.submit(txs.slice(0, 1));
    await new Promise((r) => setTimeout(r, 100));
    expect(sizes).toEqual([]);
    incoming = 0;
    o.submit(txs.slice(1));
    await new Promise((r) => setTimeout(r, 100));
    expect(sizes).toEqual([6]);
    await o.stop();
  });
});
