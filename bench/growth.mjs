// Scenario `growth`: how the cost of a transaction grows with the size of the node's state. One
// durable node (SQLite WAL, acknowledged after the fsync, as in ledger-throughput) is grown from
// 10^4 to 10^6 state keys (`--max N` for another size, e.g. 10^7; `--quick` stops at 10^5;
// `--fill bulk|txs` below), in steps 10^4,
// 3*10^4, 10^5, 3*10^5, 10^6, ... At each step it measures, on that node:
//   - a closed-loop window of 5,000 signed kv.put to fresh keys (64 signers): throughput (tx/s),
//     us_per_tx, main-thread CPU per transaction (the serial path, which a busy machine disturbs
//     less than wall time), bytes written per transaction (/proc/self/io), process RSS after it;
//   - a short open-loop window (2 s) of kv.put at half that throughput: p99 commit latency;
//   - the state proof bundle of a random existing key as GET /v1/proofs/state serves it
//     (`stateProof`): its JSON size and the median time to build it, over 300 keys.
// The state is filled between steps with real signed transactions: data.register by the member
// org, one record of a new data subject (a fresh pairwise did:key) each. A registration writes 4
// state keys (the record, the subject's item list and its count, the subject's history count) and
// indexes the subject, so data subjects grow with the keys, a quarter as many. Two fills:
//   - `--fill bulk` (the default): the node closes, the registrations are executed and committed
//     on its store by the node's own BlockCommitter in blocks of 25,000, in a child process
//     (bench/_growth-fill.mjs), and the node opens again; random paths of its tree are then walked
//     (absence proofs) to warm its tree-node cache, which a restart empties. Same transactions,
//     same execution, same rows, tree and log, under real certified headers; what it skips is
//     admission (signature check, replay probe, worker pool) and the chain's 2,000-transaction
//     blocks. The fill may skip them because the scenario measures what a transaction costs AT N
//     keys, in each step's own window through admission and commit, not how fast the state gets
//     there; and it must, for 10^7 keys: about 2.5 million registrations through admission take
//     well over an hour on two cores.
//   - `--fill txs`: through the node's admission, ordering, execution and commit, as a client
//     submits them (the fill's own rate is then `fill_tx_s`).
// The subjects do not sign: a path they sign (consent.grant) needs one Ed25519 key per subject,
// which costs the bench about 0.5 ms to import and the node a miss of its parsed-key cache per
// subject, and fills at under 1,000 tx/s on two cores. The measured kv.put windows add their keys
// too (a step's `keys` counts state keys before its window; each step adds about 10,000).
// Transactions are signed in chunks of 10,000 (bulk: 25,000), never all at once. Progress goes to
// stderr.
//
// Against: the ceiling of this machine's raw Ed25519 verify rate on all cores, measured in the same
// run, at the start (3 s) and again for 1 s before each step's window (each step's `ceiling` and
// `ratio`: on a shared machine the load changes between steps); and the target that a transaction
// at the largest step costs at most 1.5 times what it costs at 10^4 keys (`cost_ratio` = us_per_tx
// largest / us_per_tx first). `ceiling_adjusted_cost_ratio` is the same with each step's us_per_tx
// scaled by its ceiling (ratio first / ratio largest): what the cost ratio would be had the machine
// been as fast at both steps. `main_thread_cost_ratio` is the same for main-thread CPU per tx.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CustosNode,
  exampleProfile,
  makeGenesis,
  memberSetOf,
  nativeSigner,
  nativeVerifier,
  stateProof,
} from '../packages/node/dist/index.js';
import { didFromPublicKey, randomSecretKey, signTx, verifyProofBundle } from '../packages/protocol/dist/index.js';
import { rawVerifyRate } from './_ceiling.mjs';
import { mainThreadCpuMs, mainThreadUsPerTx } from './_cpu.mjs';
import { drive } from './_drive.mjs';
import { BULK_BLOCK_TXS, bulkRegister, registerTxs } from './_growth-fill.mjs';
import { bytesPerTx, ioCounters, latencySummary, machine } from './_stats.mjs';

const CHAIN = 'bench';
const ORG = 'org';
const TTL_MS = 3_000_000;
/** Closed-loop kv.put measured per step, the kv.put warm-up before it, the open-loop window. */
const WINDOW = 5_000;
const WARMUP = 1_000;
const OPEN_SECONDS = 2;
/** Transactions signed and driven at once while filling. */
const FILL_CHUNK = 10_000;
/** State keys one data.register of a new subject writes (checked against the store at the end). */
const KEYS_PER_SUBJECT = 4;
/** State proofs timed per step (the median is reported). */
const PROOFS = 300;
/**
 * Random paths walked after a bulk fill reopens the node (a fifth of the keys, at most this many),
 * so that its tree-node cache holds the top of the tree as the fill's own blocks would have left it.
 */
const MAX_WARM_PATHS = 200_000;
const TARGET_COST_RATIO = 1.5;
/** How the state is filled between steps (see the header). */
const FILLS = ['bulk', 'txs'];

const log = (msg) => process.stderr.write(`[growth] ${msg}\n`);
const fmt = (n) => Math.round(n).toLocaleString('en');
const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The steps up to `max`: 10^4, 3*10^4, 10^5, 3*10^5, ... below max, then max itself. */
export function stepsUpTo(max) {
  const steps = [];
  for (let d = 10_000; d < max; d *= 10) for (const m of [1, 3]) if (d * m < max) steps.push(d * m);
  steps.push(max);
  return steps;
}

/** The state keys a sampled subject's registration wrote. */
const subjectKeys = ({ subject, txId }) => [
  `record/${ORG}/${txId}`,
  `subjitem/${subject}/0`,
  `subjitems/${subject}`,
  `history/${subject}`,
];

/**
 * Walks random paths of the reopened node's state tree (absence proofs of keys no one writes): its
 * node cache starts empty after a restart, and the 1,000-transaction warm-up would bring back only
 * the top three levels of it.
 */
function warmTreeCache(node, keys) {
  const paths = Math.min(MAX_WARM_PATHS, Math.ceil(keys / 5));
  for (let i = 0; i < paths; i++) node.treeView.prove(`warm/${i}`);
}

const kvNs = (i, signers) => `n${i % signers.length}`;

/** kv.put to fresh keys [from, from + n), spread over the bench's signers. */
function putTxs(from, n, signers) {
  const now = Date.now();
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return signTx(
      { chainId: CHAIN, type: 'kv.put', args: { ns: kvNs(i, signers), key: `k${i}`, value: i }, now, ttlMs: TTL_MS },
      signers[i % signers.length],
    );
  });
}

function median(xs) {
  const s = Float64Array.from(xs).sort();
  return s.length === 0 ? null : s[Math.floor(s.length / 2)];
}

/** A count from the node's store, or null if its schema has no such table (it is not the bench's). */
function countRows(node, sql) {
  try {
    return node.store.db.prepare(sql).get().n;
  } catch {
    return null;
  }
}

export async function run({ quick = false, max, fill = 'bulk' } = {}) {
  const largest = max ?? (quick ? 100_000 : 1_000_000);
  if (!Number.isSafeInteger(largest) || largest < 10_000) throw new RangeError('expected max >= 10000');
  if (!FILLS.includes(fill)) throw new RangeError(`expected fill ${FILLS.join(' or ')}, got ${fill}`);
  const steps = stepsUpTo(largest);
  const started = performance.now();
  log('measuring the raw Ed25519 verify ceiling on all cores...');
  const ceiling = await rawVerifyRate();
  log(`ceiling ${fmt(ceiling)} verify/s; steps ${steps.map(fmt).join(', ')} state keys`);

  const orgSecret = randomSecretKey();
  const org = nativeSigner(orgSecret);
  const signers = Array.from({ length: 64 }, () => nativeSigner(randomSecretKey()));
  const genesis = makeGenesis({
    chainId: CHAIN,
    members: [{ id: ORG, name: 'Bench org', keys: [didFromPublicKey(org.publicKey)], profile: exampleProfile(ORG) }],
    params: { blockMaxTxs: 2000, blockMaxMs: 10 },
  });
  const open = (dir) =>
    CustosNode.open({ dbPath: join(dir, 'node.db'), genesis, signers: [org], maxPending: 1_000_000 });

  // Warm-up on a throwaway node (JIT of both transaction paths), so that the first step, the
  // denominator of cost_ratio, is not measured cold: its own warm-up may add only a few keys.
  const warmDir = mkdtempSync(join(tmpdir(), 'custos-bench-'));
  try {
    const warm = await open(warmDir);
    await drive(warm, putTxs(0, 3000, signers));
    await drive(warm, registerTxs(CHAIN, 2000, org, [], 0));
    await warm.close();
  } finally {
    rmSync(warmDir, { recursive: true, force: true });
  }

  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-'));
  let node;
  try {
    const dbPath = join(dir, 'node.db');
    node = await open(dir);
    const genesisKeys = countRows(node, 'SELECT COUNT(*) AS n FROM state') ?? 0;
    const sample = [];
    let subjects = 0;
    let kvKeys = 0;
    let failed = 0;
    let fillSeconds = 0;
    const keys = () => genesisKeys + subjects * KEYS_PER_SUBJECT + kvKeys;
    const results = [];
    let lastLatency = null;

    const drivePuts = async (n, opts) => {
      const r = await drive(node, putTxs(kvKeys, n, signers), opts);
      kvKeys += n;
      failed += r.failed;
      return r;
    };

    for (const target of steps) {
      // Fill: new subjects' records until the warm-up below brings the state to `target` keys.
      const fillTo = target - WARMUP;
      const fillStart = performance.now();
      let lastLog = fillStart;
      let stepFill = 0;
      let signSeconds = 0;
      let driveSeconds = 0;
      const need = Math.floor(Math.max(0, fillTo - keys()) / KEYS_PER_SUBJECT);
      if (fill === 'bulk' && need > 0) {
        // The node closes (every block it committed is on disk), the fill commits on its store, the
        // node opens again on it, and the paths walked warm the tree cache the restart emptied.
        await node.close();
        node = undefined;
        const r = await bulkRegister({ dbPath, genesis, orgSecret, count: need, seen: subjects, sample });
        node = await open(dir);
        warmTreeCache(node, keys() + need * KEYS_PER_SUBJECT);
        subjects += need;
        stepFill += need;
        failed += r.failed;
        signSeconds += r.signSeconds;
        driveSeconds += r.commitSeconds;
        if (r.failed > 0) log(`  ${r.failed} of ${need} registrations failed`);
      }
      while (fill === 'txs' && keys() + KEYS_PER_SUBJECT <= fillTo) {
        const n = Math.min(FILL_CHUNK, Math.floor((fillTo - keys()) / KEYS_PER_SUBJECT));
        const t0 = performance.now();
        const txs = registerTxs(CHAIN, n, org, sample, subjects);
        signSeconds += (performance.now() - t0) / 1000;
        const r = await drive(node, txs);
        driveSeconds += r.seconds;
        subjects += n;
        stepFill += n;
        failed += r.failed;
        if (r.failed > 0) log(`  ${r.failed} of ${n} registrations failed`);
        if (performance.now() - lastLog > 5000) {
          lastLog = performance.now();
          const s = (lastLog - fillStart) / 1000;
          log(`  fill ${fmt(keys())}/${fmt(target)} keys, ${fmt(subjects)} subjects (${fmt(stepFill / s)} tx/s)`);
        }
      }
      const stepFillSeconds = (performance.now() - fillStart) / 1000;
      fillSeconds += driveSeconds;
      if (stepFill > 0) {
        log(
          `  filled to ${fmt(keys())} keys in ${stepFillSeconds.toFixed(1)} s: signing ${signSeconds.toFixed(1)} s, ` +
            `node ${driveSeconds.toFixed(1)} s (${fmt(stepFill / driveSeconds)} tx/s)`,
        );
      }

      // Measure: the ceiling now, warm-up, closed-loop window, open-loop window at half its
      // throughput, proofs.
      const stepCeiling = await rawVerifyRate({ ms: 1000 });
      await drivePuts(Math.max(0, target - keys()));
      const keysAtWindow = keys();
      const io0 = ioCounters();
      const cpu0 = mainThreadCpuMs();
      const full = await drivePuts(WINDOW);
      const cpu1 = mainThreadCpuMs();
      const io1 = ioCounters();
      const { rss, heapUsed, external } = process.memoryUsage();
      const throughput = (full.sent - full.failed) / full.seconds;
      const halfRate = Math.max(1, Math.round(throughput / 2));
      const half = await drivePuts(Math.max(100, Math.round(halfRate * OPEN_SECONDS)), { rate: halfRate });
      lastLatency = latencySummary(half.latencies);

      // State proofs of random existing keys (a sampled subject's, or a kv key), built as the API does.
      const subjectKeyCount = subjects * KEYS_PER_SUBJECT;
      const proofKeys = Array.from({ length: PROOFS }, () => {
        const pick = Math.floor(Math.random() * (subjectKeyCount + kvKeys));
        if (pick < subjectKeyCount) return subjectKeys(sample[pick % sample.length])[pick % KEYS_PER_SUBJECT];
        const i = pick - subjectKeyCount;
        return `kv/${kvNs(i, signers)}/k${i}`;
      });
      const proofUs = [];
      const proofBytes = [];
      const siblings = [];
      let bundle;
      for (const key of proofKeys) {
        const t = performance.now();
        bundle = stateProof(node, key);
        proofUs.push((performance.now() - t) * 1000);
        proofBytes.push(Buffer.byteLength(JSON.stringify(bundle)));
        siblings.push(bundle.proof.siblings.length);
        if (bundle.value === null) throw new Error(`state proof: key ${key} is absent`);
      }
      // The last one is checked as a verifier would, against the genesis member set.
      verifyProofBundle(bundle, memberSetOf(genesis), nativeVerifier, CHAIN);

      const step = {
        keys: keysAtWindow,
        subjects,
        throughput: Math.round(throughput),
        us_per_tx: Math.round(1e6 / throughput),
        p99_ms: lastLatency.p99,
        main_thread_us_per_tx: mainThreadUsPerTx(cpu0, cpu1, full.sent - full.failed),
        bytes_per_tx: bytesPerTx(io0, io1, full.sent - full.failed),
        rss_mb: mb(rss),
        heap_mb: mb(heapUsed),
        external_mb: mb(external),
        proof_bytes: median(proofBytes),
        proof_siblings: median(siblings),
        proof_us: Math.round(median(proofUs)),
        ceiling: stepCeiling,
        ratio: Math.round((throughput / stepCeiling) * 1000) / 1000,
        // data.register through the node while filling (signing excluded).
        fill_tx_s: stepFill === 0 ? null : Math.round(stepFill / driveSeconds),
        half_load: { send_rate: halfRate, latency_ms: lastLatency },
      };
      results.push(step);
      // Each step in full as it completes: a long run that is stopped still leaves its steps.
      log(`step ${JSON.stringify(step)}`);
      log(
        `${fmt(step.keys)} keys: ${fmt(step.throughput)} tx/s (${step.us_per_tx} us/tx, main thread ` +
          `${step.main_thread_us_per_tx} us/tx), p99 ${step.p99_ms} ms at ` +
          `${fmt(halfRate)} tx/s, ${step.bytes_per_tx?.written ?? '?'} B/tx written, rss ${step.rss_mb} MB, ` +
          `ceiling ${fmt(stepCeiling)} verify/s, ` +
          `proof ${step.proof_bytes} B in ${step.proof_us} us`,
      );
    }

    // Checked against the store: every transaction wrote the keys the bench counts.
    const stateKeys = countRows(node, 'SELECT COUNT(*) AS n FROM state');
    const indexedSubjects = countRows(node, 'SELECT COUNT(DISTINCT subject) AS n FROM subject_index');
    await node.close();
    node = undefined;

    const first = results[0];
    const last = results[results.length - 1];
    const costRatio = Math.round((last.us_per_tx / first.us_per_tx) * 1000) / 1000;
    const adjustedCostRatio = Math.round((first.ratio / last.ratio) * 1000) / 1000;
    const mainThreadCostRatio =
      first.main_thread_us_per_tx && last.main_thread_us_per_tx
        ? Math.round((last.main_thread_us_per_tx / first.main_thread_us_per_tx) * 1000) / 1000
        : null;
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    log(
      `cost ratio ${costRatio} (target <= ${TARGET_COST_RATIO}), ${adjustedCostRatio} adjusted to the ceiling; ` +
        `done in ${seconds} s`,
    );
    return {
      scenario: 'growth',
      succeeded: subjects + kvKeys - failed,
      failed,
      throughput: last.throughput,
      unit: 'tx/s',
      latency_ms: lastLatency,
      ceiling: { name: 'ed25519_verify_per_s_all_cores', value: ceiling },
      ratio: last.ratio,
      machine: machine(),
      durability: 'sqlite WAL, acknowledged after the WAL fsync (shared by the blocks committed meanwhile)',
      fill: {
        mode: fill,
        tx: 'data.register of a new subject by the member org',
        keys_per_tx: KEYS_PER_SUBJECT,
        block_txs: fill === 'bulk' ? BULK_BLOCK_TXS : 'as ordered (blockMaxTxs 2000)',
      },
      window: { tx: 'kv.put to a fresh key', closed_loop_txs: WINDOW, open_loop_s: OPEN_SECONDS, proofs: PROOFS },
      cost_ratio: costRatio,
      ceiling_adjusted_cost_ratio: adjustedCostRatio,
      main_thread_cost_ratio: mainThreadCostRatio,
      target: { cost_ratio_max: TARGET_COST_RATIO, met: costRatio <= TARGET_COST_RATIO },
      rss_growth_mb: Math.round((last.rss_mb - first.rss_mb) * 10) / 10,
      final: {
        keys: keys(),
        state_keys_in_store: stateKeys,
        subjects,
        subjects_in_store: indexedSubjects,
        fill_tx_s: Math.round(subjects / fillSeconds),
      },
      seconds,
      steps: results,
    };
  } finally {
    await node?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--max');
  const max = at < 0 ? undefined : Number(process.argv[at + 1]);
  const fillAt = process.argv.indexOf('--fill');
  const fill = fillAt < 0 ? undefined : process.argv[fillAt + 1];
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick'), max, fill })));
}
