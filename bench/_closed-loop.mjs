// A closed loop for the cross-chain scenarios: N transactions kept in flight continuously (when one
// transaction's outcome is in, the next is started), as clients of a running deployment keep them,
// while the relayer and the members' duties run as their own loops. Throughput is taken over the
// steady state: between the N-th completion and the N-th before the last, so neither the ramp-up
// (everything started at once) nor the drain (fewer than N left) counts. The main thread's CPU
// over the same window, per transaction, is the figure a busy machine disturbs least.
import { parseCrossChainTx, xtxIdOf } from '../packages/protocol/dist/interop/index.js';
import { mainThreadCpuMs } from './_cpu.mjs';

/**
 * The cross-chain transactions a committed transaction concerns: the id of the body it carries
 * (`args.xtx`), and the `xtxId`s it names (alone, or in `outcomes` and `signatures` lists).
 */
export function xtxTags(tx) {
  const args = tx.body.args ?? {};
  const tags = [];
  if (typeof args.xtxId === 'string') tags.push(args.xtxId);
  for (const list of [args.outcomes, args.signatures]) {
    if (Array.isArray(list)) for (const item of list) if (typeof item?.xtxId === 'string') tags.push(item.xtxId);
  }
  if (args.xtx !== undefined) {
    try {
      tags.push(xtxIdOf(parseCrossChainTx(args.xtx)));
    } catch {
      // Not a body: nothing to tag.
    }
  }
  return tags;
}

/** Every this many blocks, every waiter is checked whatever the blocks held (a safety net). */
const SWEEP_BLOCKS = 64;

/**
 * Resolves `until(pred, tag)` when `pred()` holds, checked now and after each block `node` commits
 * that holds a transaction tagged `tag` (`tagsOf`, by default the cross-chain transactions it
 * concerns), and every `SWEEP_BLOCKS` blocks in any case; without a tag, after each block. A
 * client watches the blocks for its own transactions, as a wallet does, rather than reading the
 * state of every transaction in flight at every block: with hundreds in flight that reading was
 * the harness's largest cost, in the process it measures.
 */
export function blockWaiter(node, tagsOf = xtxTags) {
  const untagged = new Set();
  const byTag = new Map();
  const drop = (w) => {
    if (w.tag === undefined) untagged.delete(w);
    else {
      const set = byTag.get(w.tag);
      set?.delete(w);
      if (set?.size === 0) byTag.delete(w.tag);
    }
  };
  const test = (w) => {
    let done;
    try {
      done = w.pred();
    } catch (e) {
      drop(w);
      w.reject(e);
      return;
    }
    if (done) {
      drop(w);
      w.resolve();
    }
  };
  let blocks = 0;
  const check = (header) => {
    for (const w of untagged) test(w);
    if (byTag.size === 0) return;
    if (++blocks % SWEEP_BLOCKS === 0) {
      for (const set of [...byTag.values()]) for (const w of [...set]) test(w);
      return;
    }
    for (const tx of node.store.getBlock(header.height)?.txs ?? []) {
      if (tx === null) continue;
      for (const tag of tagsOf(tx)) {
        const set = byTag.get(tag);
        if (set !== undefined) for (const w of [...set]) test(w);
      }
    }
  };
  node.on('block', check);
  return {
    until(pred, tag) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, reject, tag };
        if (tag === undefined) untagged.add(w);
        else {
          const set = byTag.get(tag) ?? new Set();
          set.add(w);
          byTag.set(tag, set);
        }
      });
    },
    close() {
      node.off('block', check);
    },
  };
}

/**
 * Runs `one(i)` for i = 0 .. total-1 with `inFlight` at a time, each started as soon as one ends.
 * Resolves with the steady-state throughput (per second), the throughput over the whole run
 * (`overall`), each transaction's latency (ms), the seconds of the steady window and the main
 * thread's CPU ms per transaction over it (null where /proc is not available). Transactions in
 * flight move in waves (a block of the decision chain finishes many at once), so the steady window
 * needs several waves: with 6N transactions it holds 4N completions.
 */
export async function closedLoop({ total, inFlight, one }) {
  if (total < 3 * inFlight) throw new Error(`expected at least ${3 * inFlight} transactions for ${inFlight} in flight`);
  let next = 0;
  const latencies = [];
  const ends = [];
  const start = performance.now();
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
  // Over the whole run, ramp-up and drain included: a lower bound that waves of completions do not move.
  const overall = total / ((ends[total - 1].t - start) / 1000);
  return { throughput: (total - 2 * inFlight) / seconds, overall, latencies, seconds, mainCpuMsPerTx };
}
