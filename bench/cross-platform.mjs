// Scenario `cross-platform`: atomic transactions over a Custos ledger and an EVM chain (issue 15,
// docs/interop.md) on loopback: a kv.put on the decision chain D (three members with EVM keys) and
// an ERC-20 leg on a Hardhat chain (automine, its own process), each timed from the body's prepare
// on D to the contract's outcome proven back on D. The ceiling is the Custos-only figure of the same
// run: transactions over two Custos chains, measured the same way.
// - Throughput (the target) is each side's capacity: the most it sustains. For each N of a
//   sweep (20, 50, 100, 200, 400; the same N for both sides; `--quick`: 5 and 10), N transactions are
//   kept in flight over max(150, 3N) (when one outcome is in, the next transaction starts: its
//   prepare on D and the holder's lock on the contract, sent together), while each member's duties
//   (`EvmDuties`, as the member's peer runs them) and the relayer (`Relayer.run`) run as their own
//   loops, waking on D's blocks. Each N gives the throughput over the steady state
//   (_closed-loop.mjs), latency and the median time of each stage. `ratio` is the peak Custos+EVM
//   throughput over the peak Custos-only throughput, each at its best N (`peak`, reported with its
//   N). At N = 20 both sides are bound by latency, not capacity (the EVM path takes six steps
//   between loops, the Custos-only path one relayer pass), so that point is only kept (`at_20`).
// - One at a time (the latency target): passes run in this process until the outcome is proven:
//   the three members' attesters side by side, their signers side by side, then one relayer. Also
//   the EVM gas of each transaction (approve, prepare, decide, from their receipts).
// Also the transactions D committed per cross-chain transaction, by type (`d_tx_per_tx`), and the
// cores this process and the Hardhat process used at each N of the Custos+EVM side (`cores`).
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custosOnly } from './_cross-platform-custos.mjs';
import { custosEvm } from './_cross-platform-evm.mjs';
import { latencySummary, machine } from './_stats.mjs';

/** The numbers kept in flight, both sides. */
const SWEEP = [20, 50, 100, 200, 400];
const QUICK_SWEEP = [5, 10];

// `onlyEvm` (`--only-evm`, for profiling): the Custos+EVM side alone; `n` (`--n N`): one N only.
export async function run({ quick = false, onlyEvm = false, n } = {}) {
  const count = quick ? 5 : 30;
  const minTotal = quick ? 30 : 150;
  const ns = n === undefined ? (quick ? QUICK_SWEEP : SWEEP) : [n];
  const sweep = ns.map((n) => ({ inFlight: n, total: Math.max(minTotal, 3 * n) }));
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-xplat-'));
  const loadBefore = os.loadavg()[0];
  const round = (x) => Math.round(x * 10) / 10;
  const ratio = (x, y) => Math.round((x / y) * 100) / 100;
  const short = (xs) => {
    const s = latencySummary(xs);
    return { p50: Math.round(s.p50), p95: Math.round(s.p95), p99: Math.round(s.p99) };
  };
  try {
    if (onlyEvm) {
      const evm = await custosEvm(dir, count, sweep);
      return evm.points.map((p) => ({
        in_flight: p.inFlight,
        tx_per_s: round(p.throughput),
        main_cpu_ms_per_tx: p.mainCpuMsPerTx,
        cores: p.cores,
        latency_ms: short(p.latencies),
      }));
    }
    const ceiling = await custosOnly(dir, count, sweep);
    const evm = await custosEvm(dir, count, sweep);
    const best = (points) => points.reduce((m, p) => (p.throughput > m.throughput ? p : m));
    const [evmPeak, ceilPeak] = [best(evm.points), best(ceiling.points)];
    const point = (p, c) => ({
      in_flight: p.inFlight,
      transactions: p.total,
      tx_per_s: round(p.throughput),
      latency_ms: short(p.latencies),
      // Median ms of each part: prepared on both sides, vote on D, the threshold's signatures,
      // the contract's decide and its outcome proven on D.
      stages_p50_ms: Object.fromEntries(
        Object.entries(p.stages).map(([k, xs]) => [k, Math.round(latencySummary(xs).p50)]),
      ),
      d_tx_per_tx: p.dTx,
      // Cores used over the point by this process (D, the duties, the relayer, the client) and Hardhat.
      cores: p.cores,
      // Main-thread CPU ms of this process per transaction over the steady state, both sides.
      main_cpu_ms_per_tx: p.mainCpuMsPerTx,
      custos_only: {
        tx_per_s: round(c.throughput),
        latency_ms: short(c.latencies),
        main_cpu_ms_per_tx: c.mainCpuMsPerTx,
      },
      of_custos_only: ratio(p.throughput, c.throughput),
    });
    const sweepOut = evm.points.map((p, k) => point(p, ceiling.points[k]));
    const at20 = sweepOut.find((p) => p.in_flight === 20);
    return {
      scenario: 'cross-platform',
      succeeded: count + sweep.reduce((s, p) => s + p.total, 0),
      failed: 0,
      throughput: round(evmPeak.throughput),
      unit: 'tx/s',
      latency_ms: latencySummary(evm.latencies),
      ceiling: { name: 'Custos-only cross-chain, two chains, peak sustained', value: round(ceilPeak.throughput) },
      // Peak sustained Custos+EVM over peak sustained Custos-only (the target: 0.5).
      ratio: ratio(evmPeak.throughput, ceilPeak.throughput),
      peak: {
        custos_evm: { in_flight: evmPeak.inFlight, tx_per_s: round(evmPeak.throughput) },
        custos_only: { in_flight: ceilPeak.inFlight, tx_per_s: round(ceilPeak.throughput) },
      },
      sweep: sweepOut,
      ...(at20 === undefined ? {} : { at_20: at20 }),
      one_at_a_time: {
        transactions: count,
        latency_ms: latencySummary(evm.latencies),
        custos_only_latency_ms: latencySummary(ceiling.latencies),
        d_tx_per_tx: evm.dTxOne,
      },
      evm_gas_per_tx: evm.gas,
      load_average: { before: round(loadBefore), after: round(os.loadavg()[0]) },
      machine: machine(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--n');
  const n = at < 0 ? undefined : Number(process.argv[at + 1]);
  if (n !== undefined && !(Number.isSafeInteger(n) && n > 0)) throw new Error('--n: expected a positive integer');
  const onlyEvm = process.argv.includes('--only-evm');
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick'), onlyEvm, n })));
}
