/**
 * Scenario `state-proofs`: verification rate of state proofs (inclusion and non-inclusion) and of
 * RFC 9162 inclusion proofs, against the ceiling they are bound by: the one-core SHA-256 rate on
 * 65-byte inputs (every proof hash is a 65-byte preimage). Also the state map's update rate.
 *
 * ratio = verify_per_s * hashes_per_proof / hash_per_s, the minimum over sizes and proof kinds.
 * hashes_per_proof counts every SHA-256 call a verification makes, H(key) and H(value) included,
 * checked against a hash function that counts its calls. hash_per_s is measured interleaved with
 * the verifications, in chunks of a few milliseconds, so that on a shared machine both meet the
 * same load; rates are medians over chunks. The top-level ceiling is the one measured alongside
 * the largest size.
 *
 * Usage: node bench/state-proofs.mjs (after `npx tsc -b packages/protocol`). Progress goes to
 * stderr; the last line of stdout is the result as one JSON object.
 */
import crypto, { createHash } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  MemoryLogStore,
  MemoryStateNodeStore,
  MerkleLog,
  StateTree,
  setSha256,
  utf8,
  verifyInclusion,
  verifyStateProof,
} from '../packages/protocol/dist/index.js';

const DEFAULTS = {
  sizes: [10_000, 1_000_000],
  /** Distinct proofs of each kind made per size (the pool the timed chunks cycle through). */
  proofs: 10_000,
  /** Proofs of each kind whose hash count is checked against a counting hash, per size. */
  checkedProofs: 1_000,
  /** Interleaved rounds per size; each: `ceilingChunk` hashes, then `chunk` proofs of each kind. */
  rounds: 250,
  chunk: 200,
  ceilingChunk: 3_000,
  updateBatches: 20,
  updateBatchSize: 1_000,
  buildBatchSize: 50_000,
  seed: 9162,
  log: (msg) => process.stderr.write(`[state-proofs] ${msg}\n`),
};

/** Small deterministic PRNG (mulberry32), so every run proves the same keys. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Buffer viewed as a plain Uint8Array, without copying (Buffer#slice would return a view). */
const asBytes = (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

const HASHES = {
  'crypto.hash': typeof crypto.hash === 'function' ? (d) => asBytes(crypto.hash('sha256', d, 'buffer')) : null,
  createHash: (d) => asBytes(createHash('sha256').update(d).digest()),
};

/** SHA-256 calls per second of `fn` on 65-byte inputs over about `ms` milliseconds. */
function hashRate(fn, ms) {
  const input = new Uint8Array(65);
  input[0] = 1;
  let n = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 10_000; i++) {
      input[1 + (i & 31)] = i;
      sink ^= fn(input)[0];
    }
    n += 10_000;
    now = performance.now();
  }
  if (sink === 256) throw new Error('unreachable');
  return (n * 1000) / (now - start);
}

/** Picks the fastest node:crypto SHA-256 for 65-byte inputs and installs it. */
function installFastestHash(log) {
  let best = null;
  for (const [name, fn] of Object.entries(HASHES)) {
    if (fn === null) continue;
    hashRate(fn, 200);
    const rate = hashRate(fn, 500);
    log(`sha256 via ${name}: ${Math.round(rate).toLocaleString('en')} hashes/s`);
    if (best === null || rate > best.rate) best = { name, fn, rate };
  }
  setSha256(best.fn);
  return best;
}

/** Time in ms for `count` SHA-256 calls of `fn` on 65-byte inputs (one chunk of the ceiling). */
function hashChunk(fn, count) {
  const input = new Uint8Array(65);
  input[0] = 1;
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    input[1 + (i & 31)] = i;
    sink ^= fn(input)[0];
  }
  const ms = performance.now() - start;
  if (sink === 256) throw new Error('unreachable');
  return ms;
}

/**
 * Times the proof kinds and the ceiling together, interleaved in short chunks. In each of
 * `o.rounds` rounds and for each kind: `o.ceilingChunk` hashes of the ceiling, then the next
 * `o.chunk` proofs of the kind's pool, verified once untimed and once timed. On a shared machine
 * the ceiling and the proofs thus meet the same load. The untimed pass brings the chunk into the
 * cache, as a verifier meets a proof right after parsing it: cycling through thousands of stored
 * proofs would measure cache misses, not the verifier. Rates are medians over the chunks, which a
 * chunk slowed down by another process or a garbage collection does not move; state proof
 * latencies are sampled 1 in 100. Returns the ceiling (hashes/s) measured alongside.
 */
function timeVerifications(kinds, samples, hash, o, totals) {
  const ceilingRates = [];
  for (const k of kinds) {
    k.chunkRates = [];
    k.hashCount = 0;
    k.next = 0;
  }
  for (let r = 0; r < o.rounds; r++) {
    for (const k of kinds) {
      ceilingRates.push((o.ceilingChunk * 1000) / hashChunk(hash.fn, o.ceilingChunk));
      if (k.next + o.chunk > k.items.length) k.next = 0;
      const chunk = k.items.slice(k.next, k.next + o.chunk);
      k.next += o.chunk;
      const { verify } = k;
      for (const item of chunk) {
        k.hashCount += k.hashesOf(item);
        try {
          verify(item);
        } catch {
          // counted in the timed pass
        }
      }
      const start = performance.now();
      for (let j = 0; j < chunk.length; j++) {
        try {
          if (k.sampled && j % 100 === 0) {
            const t = performance.now();
            verify(chunk[j]);
            samples.push(performance.now() - t);
          } else {
            verify(chunk[j]);
          }
          totals.succeeded++;
        } catch {
          totals.failed++;
        }
      }
      k.chunkRates.push((chunk.length * 1000) / (performance.now() - start));
    }
  }
  for (const k of kinds) {
    k.rate = median(k.chunkRates);
    k.hashes = k.hashCount / (o.rounds * o.chunk);
  }
  return median(ceilingRates);
}

function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Checks, on `n` proofs of the kind, that `hashesOf` is exactly the number of SHA-256 calls a
 * verification makes, counted by wrapping the installed hash: the timed runs then use the count
 * without the wrapper in the way.
 */
function checkHashCounts(kind, n, hashFn) {
  let count = 0;
  setSha256((d) => {
    count++;
    return hashFn(d);
  });
  try {
    for (const item of kind.make(n)) {
      const before = count;
      kind.verify(item);
      if (count - before !== kind.hashesOf(item)) {
        throw new Error(`${kind.name}: expected ${kind.hashesOf(item)} hashes, counted ${count - before}`);
      }
    }
  } finally {
    setSha256(hashFn);
  }
}

const keyOf = (i) => utf8(`kv/consent/subject-${i}`);
const valueFor = (i, version) =>
  utf8(`{"grantee":"org-${i % 17}","purpose":"marketing","status":"granted","version":${version}}`);

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round3 = (x) => Math.round(x * 1000) / 1000;

/** Measures one size: state map build, updates, state proofs, and an RFC 9162 log of the same size. */
function measureSize(size, o, hash, samples, totals) {
  const random = prng(o.seed + size);
  const versions = new Uint32Array(size);

  // State map: build, then timed batches of random-key updates.
  const tree = new StateTree(new MemoryStateNodeStore());
  let t = performance.now();
  for (let from = 0; from < size; from += o.buildBatchSize) {
    const batch = [];
    for (let i = from; i < Math.min(size, from + o.buildBatchSize); i++) batch.push([keyOf(i), valueFor(i, 0)]);
    tree.apply(batch);
    if (size >= 200_000) o.log(`  built ${Math.min(size, from + o.buildBatchSize).toLocaleString('en')} keys`);
  }
  const buildSeconds = (performance.now() - t) / 1000;
  o.log(`  state map of ${size.toLocaleString('en')} keys built in ${buildSeconds.toFixed(1)} s`);

  const batches = [];
  for (let b = 0; b < o.updateBatches; b++) {
    const batch = [];
    for (let j = 0; j < o.updateBatchSize; j++) {
      const i = Math.floor(random() * size);
      versions[i] += 1;
      batch.push([keyOf(i), valueFor(i, versions[i])]);
    }
    batches.push(batch);
  }
  t = performance.now();
  for (const batch of batches) tree.apply(batch);
  const updatesPerSecond = (o.updateBatches * o.updateBatchSize * 1000) / (performance.now() - t);
  o.log(`  updates: ${Math.round(updatesPerSecond).toLocaleString('en')}/s in batches of ${o.updateBatchSize}`);

  // RFC 9162 log of the same size.
  const log = new MerkleLog(new MemoryLogStore());
  t = performance.now();
  for (let i = 0; i < size; i++) log.append(utf8(`{"txId":"${i.toString(16).padStart(64, '0')}","code":"OK"}`));
  o.log(`  log of ${size.toLocaleString('en')} leaves built in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Proof kinds: how to make proofs, verify one, and count its hashes (checked below).
  const root = tree.root();
  const logRoot = log.root();
  let absentKeys = 0;
  const stateHashes = (p) => 1 + (p.value === null ? 0 : 1) + (p.proof.leaf === null ? 0 : 1) + p.proof.siblings.length;
  const verifyState = (p) => verifyStateProof(root, p.key, p.value, p.proof);
  const timed = [
    {
      name: 'inclusion',
      make: (n) =>
        Array.from({ length: n }, () => {
          const i = Math.floor(random() * size);
          return { key: keyOf(i), value: valueFor(i, versions[i]), proof: tree.prove(keyOf(i)) };
        }),
      verify: verifyState,
      hashesOf: stateHashes,
      sampled: true,
    },
    {
      name: 'non_inclusion',
      make: (n) =>
        Array.from({ length: n }, () => {
          const key = utf8(`kv/consent/absent-${absentKeys++}`);
          return { key, value: null, proof: tree.prove(key) };
        }),
      verify: verifyState,
      hashesOf: stateHashes,
      sampled: true,
    },
    {
      name: 'rfc9162_inclusion',
      make: (n) =>
        Array.from({ length: n }, () => {
          const i = Math.floor(random() * size);
          return { index: i, leaf: log.leafHash(i), proof: log.inclusionProof(i, size) };
        }),
      verify: (e) => verifyInclusion(e.leaf, e.index, size, e.proof, logRoot),
      hashesOf: (e) => e.proof.length,
      sampled: false,
    },
  ];
  for (const k of timed) {
    checkHashCounts(k, o.checkedProofs, hash.fn);
    k.items = k.make(o.proofs);
  }
  const ceiling = timeVerifications(timed, samples, hash, o, totals);
  o.log(`  ceiling alongside: ${Math.round(ceiling).toLocaleString('en')} SHA-256/s`);
  const kinds = {};
  for (const k of timed) {
    kinds[k.name] = { rate: k.rate, hashes: k.hashes };
    o.log(`  ${k.name}: ${Math.round(k.rate).toLocaleString('en')} proofs/s, ${k.hashes.toFixed(2)} hashes each`);
  }

  return { keys: size, build_s: round3(buildSeconds), updates_per_s: Math.round(updatesPerSecond), ceiling, kinds };
}

/** Per-size result, ratios against the ceiling measured alongside. Headline fields: state inclusion. */
function report(measured) {
  const ceiling = measured.ceiling;
  const kinds = {};
  for (const [name, k] of Object.entries(measured.kinds)) {
    kinds[name] = {
      verify_per_s: Math.round(k.rate),
      hashes_per_proof: round3(k.hashes),
      ratio: round3((k.rate * k.hashes) / ceiling),
    };
  }
  return {
    keys: measured.keys,
    build_s: measured.build_s,
    updates_per_s: measured.updates_per_s,
    hash_per_s: Math.round(ceiling),
    verify_per_s: kinds.inclusion.verify_per_s,
    hashes_per_proof: kinds.inclusion.hashes_per_proof,
    ...kinds,
    ratio: Math.min(...Object.values(kinds).map((k) => k.ratio)),
  };
}

/** Runs the scenario; returns the result object (also printed by the command line). */
export function run(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const started = performance.now();
  const hash = installFastestHash(o.log);

  const measured = [];
  const totals = { succeeded: 0, failed: 0 };
  let samples = [];
  for (const size of o.sizes) {
    o.log(`size ${size.toLocaleString('en')}`);
    samples = []; // latency is reported for the largest size
    measured.push(measureSize(size, o, hash, samples, totals));
  }
  const sizes = {};
  for (const m of measured) sizes[String(m.keys)] = report(m);
  samples.sort((a, b) => a - b);
  const largest = sizes[String(o.sizes[o.sizes.length - 1])];
  const avg = samples.reduce((s, x) => s + x, 0) / Math.max(1, samples.length);
  o.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    scenario: 'state-proofs',
    succeeded: totals.succeeded,
    failed: totals.failed,
    send_rate: null,
    throughput: largest.verify_per_s,
    unit: 'proofs/s',
    latency_ms: {
      min: round3(samples[0] ?? 0),
      avg: round3(avg),
      p50: round3(percentile(samples, 50)),
      p95: round3(percentile(samples, 95)),
      p99: round3(percentile(samples, 99)),
      max: round3(samples[samples.length - 1] ?? 0),
    },
    ceiling: { name: 'sha256_65B_per_s_one_core', value: largest.hash_per_s },
    ratio: Math.min(...Object.values(sizes).map((s) => s.ratio)),
    machine: { cpus: os.cpus().length, node: process.version },
    hash_per_s: largest.hash_per_s,
    hash_impl: hash.name,
    sizes,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(run()));
}
