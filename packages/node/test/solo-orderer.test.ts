import { describe, expect, it } from 'vitest';
import { SoloOrderer } from '../src/ordering/solo.js';
import { pendingTxs, runOrdererSuite } from './conformance/orderer.js';

runOrdererSuite('solo', (maxTxs) => new SoloOrderer({ maxTxs, maxWaitMs: 5 }));

describe('solo orderer cutting rules', () => {
  it('cuts at maxTxs without waiting for the timer', async () => {
    const o = new SoloOrderer({ maxTxs: 10, maxWaitMs: 60_000 });
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
    const o = new SoloOrderer({ maxTxs: 1000, maxWaitMs: 20 });
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
});
