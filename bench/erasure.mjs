/**
 * Scenario `erasure`: time to crypto-shred a subject holding 10, 1,000 and 100,000 records in the
 * vault, i.e. until the subject's wrapped key is durably deleted (from then on nothing can decrypt
 * the records). Target (DESIGN.md section 10): under 10 ms, flat with volume.
 *
 * Every subject of every size is loaded into one vault first (bulk puts, 10,000 per transaction);
 * the subjects are then erased round-robin across sizes, so each size meets the same vault.
 * `erase_ms_p50` is the median time-to-shred per size; `cleanup_ms` the median time of the bulk
 * delete of the by-then useless ciphertexts, which is what deleting rows alone would cost.
 *
 * Ceiling: one durable SQLite delete + commit (fsync) of a single row, in a file beside the vault
 * with the same pragmas (rollback journal in DELETE mode, synchronous FULL, secure_delete), one
 * sample just before each erasure so both meet the same load. ratio = ceiling p50 / erase_ms_p50
 * at the largest size (1 means erasing a subject costs one durable row delete, whatever its volume).
 * latency_ms summarizes time-to-shred over every erasure of the run, all sizes.
 *
 * Usage: node bench/erasure.mjs [--quick] (after `npm run build`); the vault lives in os.tmpdir()
 * (set TMPDIR to measure another disk). Progress goes to stderr; the last line of stdout is the
 * result as one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { LocalKms, Vault } from '../packages/node/dist/index.js';
import { latencySummary, machine } from './_stats.mjs';

const DEFAULTS = {
  sizes: [10, 1_000, 100_000],
  /** Subjects erased per size (the p50 is over these). */
  subjects: { 10: 15, 1000: 15, 100000: 7 },
  batch: 10_000,
  targetMs: 10,
  log: (msg) => process.stderr.write(`[erasure] ${msg}\n`),
};
const QUICK = { sizes: [10, 1_000, 10_000], subjects: { 10: 7, 1000: 7, 10000: 5 } };

const round3 = (x) => Math.round(x * 1000) / 1000;
const p50 = (xs) => latencySummary(xs).p50;

/** A small SQLite file with the vault's durability pragmas, to time single-row durable deletes. */
function ceilingDb(path) {
  const db = new Database(path);
  db.pragma('journal_mode = DELETE');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL) STRICT');
  const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, randomblob(61))');
  db.transaction(() => {
    for (let i = 0; i < 1_000; i++) insert.run(i);
  })();
  const del = db.prepare('DELETE FROM t WHERE id = ?');
  let next = 0;
  return {
    /** ms of one autocommit delete of one row (journal write, fsyncs, journal unlink). */
    sample() {
      const t = performance.now();
      del.run(next++);
      return performance.now() - t;
    },
    close: () => db.close(),
  };
}

const personOf = (s, i) => ({
  name: `Person ${s}-${i}`,
  email: `person.${s}.${i}@example.org`,
  phone: `+41 79 ${String(i).padStart(7, '0')}`,
});

/** Runs the scenario; returns the result object (also printed by the command line). */
export function run(options = {}) {
  const o = { ...DEFAULTS, ...(options.quick ? QUICK : {}), ...options };
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-erasure-'));
  const kms = LocalKms.create(join(dir, 'kms.json'), 'benchmark passphrase');
  const vault = new Vault({ path: join(dir, 'vault.db'), kms, org: 'bench' });
  const ceiling = ceilingDb(join(dir, 'ceiling.db'));
  try {
    // Load: every subject of every size, bulk puts in transactions of `o.batch`.
    const subjects = [];
    let puts = 0;
    const loadStart = performance.now();
    for (const size of o.sizes) {
      for (let s = 0; s < o.subjects[size]; s++) {
        const did = `did:key:zBench${size}x${s}`;
        const refs = [];
        for (let from = 0; from < size; from += o.batch) {
          const values = [];
          for (let i = from; i < Math.min(size, from + o.batch); i++) values.push(personOf(s, i));
          for (const r of vault.putMany(did, values)) refs.push(r.vaultRef);
          puts += values.length;
        }
        subjects.push({ size, did, probe: [refs[0], refs[refs.length - 1]] });
      }
      o.log(`loaded ${o.subjects[size]} subjects of ${size.toLocaleString('en')} records`);
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const stats = vault.stats();
    o.log(
      `${puts.toLocaleString('en')} puts in ${loadSeconds.toFixed(1)} s; vault ${(stats.fileBytes / 1e6).toFixed(1)} MB`,
    );

    // Erase round-robin across sizes, one ceiling sample before each erasure.
    const bySize = new Map(o.sizes.map((size) => [size, subjects.filter((s) => s.size === size)]));
    const order = [];
    for (let r = 0; r < Math.max(...o.sizes.map((size) => o.subjects[size])); r++) {
      for (const size of o.sizes) if (r < bySize.get(size).length) order.push(bySize.get(size)[r]);
    }
    const shred = new Map(o.sizes.map((size) => [size, []]));
    const cleanup = new Map(o.sizes.map((size) => [size, []]));
    const ceilingSamples = [];
    const all = [];
    let succeeded = 0;
    let failed = 0;
    for (const subject of order) {
      ceilingSamples.push(ceiling.sample());
      const result = vault.eraseSubject(subject.did);
      shred.get(subject.size).push(result.shredMs);
      cleanup.get(subject.size).push(result.cleanupMs);
      all.push(result.shredMs);
      const ok =
        result.vaultRefs.length === subject.size && subject.probe.every((ref) => vault.status(ref) === 'erased');
      if (ok) succeeded++;
      else failed++;
    }

    const eraseP50 = {};
    const eraseMax = {};
    const cleanupP50 = {};
    for (const size of o.sizes) {
      eraseP50[size] = p50(shred.get(size));
      eraseMax[size] = latencySummary(shred.get(size)).max;
      cleanupP50[size] = p50(cleanup.get(size));
      o.log(
        `${size.toLocaleString('en')} records: shred p50 ${eraseP50[size]} ms (max ${eraseMax[size]}), cleanup p50 ${cleanupP50[size]} ms`,
      );
    }
    const largest = o.sizes[o.sizes.length - 1];
    const ceilingMs = p50(ceilingSamples);
    o.log(`ceiling: one durable single-row delete + commit, p50 ${ceilingMs} ms`);
    const totalShredMs = all.reduce((a, b) => a + b, 0);
    o.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return {
      scenario: 'erasure',
      succeeded,
      failed,
      send_rate: null,
      throughput: Math.round((succeeded * 1000) / totalShredMs),
      unit: 'subjects shredded/s',
      latency_ms: latencySummary(all),
      ceiling: { name: 'sqlite_durable_single_row_delete_ms_p50', value: ceilingMs },
      ratio: round3(ceilingMs / eraseP50[largest]),
      machine: machine(),
      erase_ms_p50: eraseP50,
      erase_ms_max: eraseMax,
      cleanup_ms: cleanupP50,
      subjects_per_size: Object.fromEntries(o.sizes.map((size) => [size, o.subjects[size]])),
      target_ms: o.targetMs,
      meets_target: o.sizes.every((size) => eraseP50[size] < o.targetMs),
      flatness: round3(eraseP50[largest] / eraseP50[o.sizes[0]]),
      put_per_s: Math.round(puts / loadSeconds),
      vault_bytes: stats.fileBytes,
      records_loaded: puts,
    };
  } finally {
    ceiling.close();
    vault.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(run({ quick: process.argv.includes('--quick') })));
}
