/**
 * `Relayer.run` as `custos relay` runs it: a pass on each new block of a chain it reads, and a
 * pause instead while the caller asks for one (`pauseMs`: a chain's API that answered
 * RATE_LIMITED is given time), with `onPass` after each pass. Two chains in this process.
 */
import { tempDir } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, connect, openChain, relayer, tick } from './xtx-helpers.js';

let tmp: ReturnType<typeof tempDir>;
let a: Chain;
let b: Chain;

beforeAll(async () => {
  tmp = tempDir();
  a = await openChain(tmp.dir, 'run-a');
  b = await openChain(tmp.dir, 'run-b');
  await connect([a, b]);
});

afterAll(async () => {
  await a?.node.close();
  await b?.node.close();
  tmp?.cleanup();
});

/** Resolves once `done()` holds, checking every 20 ms; rejects after `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`not done within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const HOUR = 3_600_000;

describe('Relayer.run', () => {
  it('passes again on a new block, and not while the caller asks for a pause; stops when aborted', async () => {
    const r = relayer([a, b]);
    const stop = new AbortController();
    let passes = 0;
    let pause = 0;
    const running = r.run({ intervalMs: HOUR, signal: stop.signal, onPass: () => passes++, pauseMs: () => pause });
    try {
      await until(() => passes >= 1, 5_000);
      // A block on a chain it reads starts the next pass, long before the hour's interval.
      const before = passes;
      await tick(a);
      await until(() => passes > before, 5_000);
      // Paused (as after RATE_LIMITED): blocks start no pass.
      pause = HOUR;
      await tick(a);
      await until(() => passes > before + 1, 5_000);
      const paused = passes;
      await tick(a, 3);
      await tick(b, 3);
      await new Promise((res) => setTimeout(res, 300));
      expect(passes).toBe(paused);
    } finally {
      stop.abort();
      // The pause ends with the signal: run resolves without waiting out the hour.
      await running;
    }
    expect(stop.signal.aborted).toBe(true);
  });
});
