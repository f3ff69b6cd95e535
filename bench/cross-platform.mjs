// Scenario `cross-platform`: atomic transactions over a Custos ledger and an EVM chain (issue 15,
// docs/interop.md) on loopback: a kv.put on the decision chain D (three members with EVM keys) and
// an ERC-20 leg on a Hardhat chain (its own process), each timed from the body's prepare on D to the
// contract's outcome proven back on D. The ceiling is the Custos-only figure of the same run:
// transactions over two Custos chains, measured the same way. The EVM chain runs in two modes, one
// after the other, each on a fresh chain: automine (a block per EVM transaction: the headline
// `ratio`, and the one-at-a-time latency, the latency target) and a block period
// (`--evm-block-ms <ms>`, default 250; 0 runs automine only), as Besu/QBFT, Quorum or rollups cut
// blocks, many transactions to a block: `block_period`, with its own sweep, peak and ratio.
// - Throughput (the target) is each side's capacity: the most it sustains. For each N of a
//   sweep (20, 50, 100, 200, 400; the same N for both sides; `--quick`: 5 and 10), N transactions are
//   kept in flight over max(150, 6N) (when one outcome is in, the next transaction starts: its
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
// Also the transactions D committed per cross-chain transaction, by type (`d_tx_per_tx`), the
// cores this process and the Hardhat process used at each N of the Custos+EVM side (`cores`, and
// `cpu_ms_per_tx`), and the EVM blocks per cross-chain transaction (`evm_blocks`).
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custosOnly } from './_cross-platform-custos.mjs';
import { custosEvm } from './_cross-platform-evm.mjs';
import { latencySummary, machine } from './_stats.mjs';

/** The numbers kept in flight with automine (the Custos-only side runs every N of both sweeps). */
const SWEEP = [20, 50, 100, 200, 400];
/**
 * With a block period: each step that needs an EVM block waits for the next one, so a transaction
 * takes longer and the closed loop needs more in flight to reach its steady state (capacity).
 */
const BLOCK_SWEEP = [50, 100, 200, 400, 800];
const QUICK_SWEEP = [5, 10];
/** The default block period of the second mode (ms). */
export const EVM_BLOCK_MS = 250;

// `onlyEvm` (`--only-evm`, for profiling): the Custos+EVM side alone; `n` (`--n N`): one N only.
export async function run({ quick = false, evmBlockMs = EVM_BLOCK_MS, onlyEvm = false, n } = {}) {
  if (!Number.isSafeInteger(evmBlockMs) || evmBlockMs < 0 || evmBlockMs > 60_000) {
    throw new Error(`--evm-block-ms: expected an integer from 0 (automine only) to 60000, got ${evmBlockMs}`);
  }
  const count = quick ? 5 : 30;
  const minTotal = quick ? 30 : 150;
  const points = (ns) => ns.map((k) => ({ inFlight: k, total: Math.max(minTotal, 6 * k) }));
  const sweep = points(n === undefined ? (quick ? QUICK_SWEEP : SWEEP) : [n]);
  const blockSweep = evmBlockMs === 0 || n !== undefined ? [] : points(quick ? QUICK_SWEEP : BLOCK_SWEEP);
  const ceilingSweep = points([...new Set([...sweep, ...blockSweep].map((p) => p.inFlight))].sort((a, b) => a - b));
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
        overall_tx_per_s: round(p.overall),
        main_cpu_ms_per_tx: p.mainCpuMsPerTx,
        cores: p.cores,
        latency_ms: short(p.latencies),
      }));
    }
    const ceiling = await custosOnly(dir, count, ceilingSweep);
    const evm = await custosEvm(dir, count, sweep);
    const blocks = evmBlockMs === 0 ? undefined : await custosEvm(dir, 0, blockSweep, { blockMs: evmBlockMs });
    const best = (points) => points.reduce((m, p) => (p.throughput > m.throughput ? p : m));
    const [evmPeak, ceilPeak] = [best(evm.points), best(ceiling.points)];
    const ceilAt = (n) => ceiling.points.find((c) => c.inFlight === n);
    const point = (p, c) => ({
      in_flight: p.inFlight,
      transactions: p.total,
      tx_per_s: round(p.throughput),
      // The same over the whole point, ramp-up and drain included (a lower bound).
      overall_tx_per_s: round(p.overall),
      latency_ms: short(p.latencies),
      // Median ms of each part: prepared on both sides, vote on D, the threshold's signatures,
      // the contract's decide and its outcome proven on D.
      stages_p50_ms: Object.fromEntries(
        Object.entries(p.stages).map(([k, xs]) => [k, Math.round(latencySummary(xs).p50)]),
      ),
      d_tx_per_tx: p.dTx,
      // EVM blocks of the point per cross-chain transaction (with a block period, empty ones too),
      // those holding transactions, and the EVM transactions in each of these.
      evm_blocks: p.evmBlocks,
      // Cores used over the point by this process (D, the duties, the relayer, the client) and
      // Hardhat, and their CPU ms per cross-chain transaction (less noisy on a shared machine).
      cores: p.cores,
      cpu_ms_per_tx: p.cpuMsPerTx,
      // Main-thread CPU ms of this process per transaction over the steady state, both sides.
      main_cpu_ms_per_tx: p.mainCpuMsPerTx,
      custos_only: {
        tx_per_s: round(c.throughput),
        overall_tx_per_s: round(c.overall),
        latency_ms: short(c.latencies),
        main_cpu_ms_per_tx: c.mainCpuMsPerTx,
      },
      of_custos_only: ratio(p.throughput, c.throughput),
    });
    const sweepOut = evm.points.map((p) => point(p, ceilAt(p.inFlight)));
    const at20 = sweepOut.find((p) => p.in_flight === 20);
    const total = (ps) => ps.reduce((s, p) => s + p.total, 0);
    let blockPeriod;
    if (blocks !== undefined) {
      const peak = best(blocks.points);
      blockPeriod = {
        mode: `a block every ${evmBlockMs} ms`,
        evm_block_ms: evmBlockMs,
        throughput: round(peak.throughput),
        // Peak sustained Custos+EVM with a block period over the same Custos-only peak as `ratio`.
        ratio: ratio(peak.throughput, ceilPeak.throughput),
        peak: {
          custos_evm: { in_flight: peak.inFlight, tx_per_s: round(peak.throughput) },
          custos_only: { in_flight: ceilPeak.inFlight, tx_per_s: round(ceilPeak.throughput) },
        },
        sweep: blocks.points.map((p) => point(p, ceilAt(p.inFlight))),
      };
    }
    return {
      scenario: 'cross-platform',
      // The headline (`throughput`, `ratio`, `peak`, `sweep`) is the EVM chain on automine;
      // `block_period` has the same with a block period, next to the same Custos-only figures.
      mode: 'automine',
      succeeded: count + total(sweep) + total(blockSweep),
      failed: 0,
      throughput: round(evmPeak.throughput),
      unit: 'tx/s',
      latency_ms: latencySummary(evm.latencies),
      ceiling: { name: 'Custos-only cross-chain, two chains, peak sustained', value: round(ceilPeak.throughput) },
      // Peak sustained Custos+EVM (automine) over peak sustained Custos-only (the target: 0.5).
      ratio: ratio(evmPeak.throughput, ceilPeak.throughput),
      peak: {
        custos_evm: { in_flight: evmPeak.inFlight, tx_per_s: round(evmPeak.throughput) },
        custos_only: { in_flight: ceilPeak.inFlight, tx_per_s: round(ceilPeak.throughput) },
      },
      sweep: sweepOut,
      ...(blockPeriod === undefined ? {} : { block_period: blockPeriod }),
      // The Custos-only side at every N of both sweeps.
      custos_only_sweep: ceiling.points.map((c) => ({ in_flight: c.inFlight, tx_per_s: round(c.throughput) })),
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
  const arg = (flag) => {
    const at = process.argv.indexOf(flag);
    return at < 0 ? undefined : Number(process.argv[at + 1]);
  };
  const n = arg('--n');
  if (n !== undefined && !(Number.isSafeInteger(n) && n > 0)) throw new Error('--n: expected a positive integer');
  const evmBlockMs = arg('--evm-block-ms') ?? EVM_BLOCK_MS;
  const onlyEvm = process.argv.includes('--only-evm');
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick'), evmBlockMs, onlyEvm, n })));
}
