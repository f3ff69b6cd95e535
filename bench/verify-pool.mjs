/**
 * Scenario verify-pool: Ed25519 verifications per second of VerifyPool (worker threads) on batches
 * of 256 and 1,024 against nativeVerifier on one thread. Ceiling: the single-thread rate measured
 * in the same run times the CPUs. Needs a build (`npm run build`). Prints one JSON object last.
 *
 *   node bench/verify-pool.mjs [--seconds 3] [--threads 2] [--rounds 1]
 *
 * With --rounds N each measurement is cut into N alternating rounds and the best round is kept:
 * on a machine shared with other work that approximates the uncontended rates.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { nativeSigner, nativeVerifier } from '../packages/node/dist/crypto/native.js';
import { VerifyPool } from '../packages/node/dist/crypto/verify-pool.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
  },
});
const seconds = Number(values.seconds);
const threads = Number(values.threads);
const rounds = Number(values.rounds);
const BATCH_SIZES = [256, 1024];
const MESSAGE_BYTES = 300; // about the size of a canonical transaction body

function makeItems(n) {
  const signers = Array.from({ length: 64 }, (_, i) => nativeSigner(new Uint8Array(32).fill(i + 1)));
  return Array.from({ length: n }, (_, i) => {
    const s = signers[i % signers.length];
    const message = new Uint8Array(MESSAGE_BYTES).fill(i & 0xff);
    message[0] = i >> 8;
    return { publicKey: s.publicKey, message, signature: s.sign(message) };
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function latency(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x) => Math.round(x * 1000) / 1000;
  return {
    min: round(sorted[0]),
    avg: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]),
  };
}

/** Runs `batchFn` on `items` in batches of `size` for `ms`; returns rate, counts and batch latencies. */
async function measure(items, size, ms, batchFn) {
  const batches = [];
  for (let i = 0; i + size <= items.length; i += size) batches.push(items.slice(i, i + size));
  const samples = [];
  let ok = 0;
  let bad = 0;
  const start = performance.now();
  for (let k = 0; performance.now() - start < ms; k++) {
    const t0 = performance.now();
    const results = await batchFn(batches[k % batches.length]);
    samples.push(performance.now() - t0);
    for (const r of results) r ? ok++ : bad++;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { rate: (ok + bad) / elapsed, ok, bad, samples };
}

const single = (batch) => batch.map((it) => nativeVerifier.verify(it.publicKey, it.message, it.signature));
const items = makeItems(8192);
const pool = new VerifyPool({ threads });
const ms = (seconds * 1000) / rounds;
const pooledFn = (b) => pool.verifyBatch(b);
const best = (a, b) => (a === undefined || b.rate > a.rate ? b : a);
const runs = [];
for (const size of BATCH_SIZES) {
  await measure(items, size, 300, single);
  await measure(items, size, 300, pooledFn);
  let one;
  let pooled;
  for (let r = 0; r < rounds; r++) {
    one = best(one, await measure(items, size, ms, single));
    pooled = best(pooled, await measure(items, size, ms, pooledFn));
  }
  runs.push({ size, one, pooled });
}
await pool.close();

const cpus = availableParallelism();
const singleRate = Math.max(...runs.map((r) => r.one.rate));
const main = runs[runs.length - 1];
const ceiling = singleRate * cpus;
for (const r of runs) {
  console.log(
    `batch ${r.size}: 1 thread ${Math.round(r.one.rate)}/s, pool(${threads}) ${Math.round(r.pooled.rate)}/s ` +
      `(x${(r.pooled.rate / r.one.rate).toFixed(2)}), pool batch p50 ${latency(r.pooled.samples).p50} ms`,
  );
}
console.log(
  JSON.stringify({
    scenario: 'verify-pool',
    succeeded: main.pooled.ok,
    failed: main.pooled.bad,
    send_rate: Math.round(main.pooled.rate),
    throughput: Math.round(main.pooled.rate),
    unit: 'verifications/s',
    latency_ms: latency(main.pooled.samples),
    ceiling: { name: `nativeVerifier single-thread rate x ${cpus} cpus`, value: Math.round(ceiling) },
    ratio: Math.round((main.pooled.rate / ceiling) * 1000) / 1000,
    machine: { cpus, node: process.version },
    threads,
    rounds,
    batch_size: main.size,
    message_bytes: MESSAGE_BYTES,
    batches: runs.map((r) => ({
      size: r.size,
      single_thread_per_s: Math.round(r.one.rate),
      pool_per_s: Math.round(r.pooled.rate),
      speedup: Math.round((r.pooled.rate / r.one.rate) * 100) / 100,
      pool_latency_ms: latency(r.pooled.samples),
    })),
  }),
);
