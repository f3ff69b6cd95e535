// A closed loop for the cross-chain scenarios: N transactions kept in flight continuously (when one
// transaction's outcome is in, the next is started), as clients of a running deployment keep them,
// while the relayer and the members' duties run as their own loops. Throughput is taken over the
// steady state: between the N-th completion and the N-th before the last, so neither the ramp-up
// (everything started at once) nor the drain (fewer than N left) counts. The main thread's CPU
// over the same window, per transaction, is the figure a busy machine disturbs least.
import { mainThreadCpuMs } from './_cpu.mjs';

/**
 * Resolves `until(pred)` when `pred()` holds, checked now and after each block `node` commits: a
 * waiter per transaction in flight without one listener (or one poll) each.
 */
export function blockWaiter(node) {
  const waiting = new Set();
  const check = () => {
    for (const w of waiting) {
      let done;
      try {
        done = w.pred();
      } catch (e) {
        waiting.delete(w);
        w.reject(e);
        continue;
      }
      if (done) {
        waiting.delete(w);
        w.resolve();
      }
    }
  };
  node.on('block', check);
  return {
    until(pred) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => waiting.add({ pred, resolve, reject }));
    },
    close() {
      node.off('block', check);
    },
  };
}

/**
 * Runs `one(i)` for i = 0 .. total-1 with `inFlight` at a time, each started as soon as one ends.
 * Resolves with the steady-state throughput (per second), each transaction's latency (ms), the
 * seconds of the steady window and the main thread's CPU ms per transaction over it (null where
 * /proc is not available).
 */
export async function closedLoop({ total, inFlight, one }) {
  if (total < 3 * inFlight) throw new Error(`expected at least ${3 * inFlight} transactions for ${inFlight} in flight`);
  let next = 0;
  const latencies = [];
  const ends = [];
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await one(i);
      const t1 = performance.now();
      latencies.push(t1 - t0);
      ends.push({ t: t1, cpu: mainThreadCpuMs() });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const from = ends[inFlight - 1];
  const to = ends[total - inFlight - 1];
  const seconds = (to.t - from.t) / 1000;
  const cpuMs = from.cpu === null || to.cpu === null ? null : to.cpu - from.cpu;
  const mainCpuMsPerTx = cpuMs === null ? null : Math.round((cpuMs / (total - 2 * inFlight)) * 100) / 100;
  return { throughput: (total - 2 * inFlight) / seconds, latencies, seconds, mainCpuMsPerTx };
}
