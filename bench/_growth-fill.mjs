// The growth scenario's fill (bench/growth.mjs): the data.register transactions it grows the state
// with, and the bulk fill (`--fill bulk`). The bulk fill runs the same signed registrations through
// the node's own BlockCommitter (peer/commit.ts: the executor, the history log, the state tree, one
// SQLite transaction per block) on the node's store while the node is closed, in blocks of
// BULK_BLOCK_TXS transactions instead of the chain's 2,000, and without admission: the bench signed
// them with the org's key itself, so their signatures are valid and are not verified again
// (`sigOk: true`, as for a transaction this node admitted). What it writes is what the
// registrations write through the node (the records, the subjects' item lists and counts, the
// subject index, the transactions and their log leaves), under real block headers whose state root
// is the tree's root of those keys, certified by the org's key. What it leaves out is the cost of
// admission and of small blocks, which the scenario does not measure: a step measures what a
// transaction costs AT its number of keys, in its own window of kv.put through admission and commit.
// It runs in a child process, so that the memory it used is not counted in the node's RSS.
// Named with a leading underscore so that `npm run bench -- all` does not take it for a scenario.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { memberSetOf, nativeSigner } from '../packages/node/dist/index.js';
import { BlockCommitter } from '../packages/node/dist/peer/commit.js';
import { SqliteStore } from '../packages/node/dist/store/sqlite.js';
import { didFromPublicKey, ed25519KeyWeakness, parseTx, signTx, txIdOf } from '../packages/protocol/dist/index.js';

/** Registrations per bulk block: 100,000 state keys, so the top of the tree is rewritten once per 25,000 transactions. */
export const BULK_BLOCK_TXS = 25_000;
/** SQLite page cache of the fill's connection, in KiB (256 MiB; the node's is 64 MiB). */
const FILL_CACHE_KIB = 262_144;
/** Subjects kept to prove (a uniform sample of all registered). */
const SAMPLE = 1_000;
const TTL_MS = 3_000_000;

/**
 * A new data subject's pairwise did:key. The subject never signs here, and the node checks only
 * that the key is well formed (not a weak encoding), so 32 random bytes do: making real key pairs
 * with node:crypto and exporting their public half, 10^5 times, deadlocked Node 20 (a garbage
 * collection during the export ran a key-generation job's destructor, which waits on the mutex the
 * export holds).
 */
function newSubject() {
  for (;;) {
    const key = randomBytes(32);
    if (ed25519KeyWeakness(key) === null) return didFromPublicKey(key);
  }
}

/**
 * `n` data.register transactions by the org on `chainId`, each a record of a new subject. Keeps a
 * uniform sample of the subjects (reservoir over the `seen` registered before), with their
 * record's txId, to prove their keys later.
 */
export function registerTxs(chainId, n, org, sample, seen) {
  const now = Date.now();
  return Array.from({ length: n }, (_, j) => {
    const subject = newSubject();
    const tx = signTx(
      {
        chainId,
        type: 'data.register',
        args: {
          subject,
          category: 'pd:EmailAddress',
          purposes: { 'dpv:ServiceProvision': 'contract' },
          source: 'subject',
          commitment: randomBytes(32).toString('hex'),
          vaultRef: randomBytes(16).toString('hex'),
          retentionDays: 365,
        },
        now,
        ttlMs: TTL_MS,
      },
      org,
    );
    const k = seen + j;
    const slot = k < SAMPLE ? k : Math.floor(Math.random() * (k + 1));
    if (slot < SAMPLE) sample[slot] = { subject, txId: txIdOf(tx.body) };
    return tx;
  });
}

/**
 * Commits `count` registrations on the closed node's store at `dbPath` (in a child process), the
 * subjects numbered from `seen`, and updates `sample`. Returns the seconds the child spent signing
 * and committing, and how many transactions did not commit with OK (none, if the fill wrote what
 * it counts).
 */
export function bulkRegister({ dbPath, genesis, orgSecret, count, seen, sample }) {
  return new Promise((resolve, reject) => {
    // A larger young generation: a block's transactions and tree nodes live until it commits, and
    // with the default one the collector copies them several times (a fifth of the fill's time).
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--max-semi-space-size=64'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result;
    child.on('message', (m) => {
      result = m;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 || result === undefined) return reject(new Error(`bulk fill exited with code ${code}`));
      for (const [slot, entry] of result.sample) sample[slot] = entry;
      resolve(result);
    });
    child.send({ dbPath, genesis, orgSecret: Buffer.from(orgSecret).toString('hex'), count, seen });
  });
}

/** The child's side: executes and commits the registrations in blocks of BULK_BLOCK_TXS. */
async function fillInChild({ dbPath, genesis, orgSecret, count, seen }) {
  const org = nativeSigner(Buffer.from(orgSecret, 'hex'));
  // NORMAL: the fill syncs once, when the store closes, not at every block (a crash of the bench
  // loses the fill, not the point of it).
  const store = new SqliteStore(dbPath, { synchronous: 'NORMAL' });
  // A larger page cache than the node's while filling: a big block's inserts land all over the
  // state and tree tables.
  store.db.pragma(`cache_size = -${FILL_CACHE_KIB}`);
  const sample = [];
  let signSeconds = 0;
  let commitSeconds = 0;
  let failed = 0;
  try {
    const chain = new BlockCommitter(store, genesis, memberSetOf(genesis), [org]);
    const proposer = didFromPublicKey(org.publicKey);
    let lastLog = performance.now();
    for (let done = 0; done < count; ) {
      const n = Math.min(BULK_BLOCK_TXS, count - done);
      const t0 = performance.now();
      const txs = registerTxs(genesis.chainId, n, org, sample, seen + done);
      const t1 = performance.now();
      const pending = txs.map((tx) => ({ parsed: parseTx(tx), sigOk: true }));
      const results = chain.commit(pending, Date.now(), proposer);
      commitSeconds += (performance.now() - t1) / 1000;
      signSeconds += (t1 - t0) / 1000;
      for (const r of results) if (r.code !== 'OK') failed++;
      done += n;
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        process.stderr.write(`[growth]   bulk fill ${done.toLocaleString('en')}/${count.toLocaleString('en')}\n`);
      }
    }
  } finally {
    await store.closeDurably();
  }
  const kept = [];
  sample.forEach((entry, slot) => {
    kept.push([slot, entry]);
  });
  return { signSeconds, commitSeconds, failed, sample: kept };
}

if (process.send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.once('message', (job) => {
    fillInChild(job).then(
      (result) => process.send(result, () => process.exit(0)),
      (err) => {
        process.stderr.write(`[growth] bulk fill failed: ${err?.stack ?? err}\n`);
        process.exit(1);
      },
    );
  });
}
