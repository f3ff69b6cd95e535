// The growth scenario's bulk fill (`--fill bulk`, bench/growth.mjs): the same signed data.register
// transactions as the transaction fill, executed and committed by the node's own BlockCommitter
// (peer/commit.ts: the executor, the history log, the state tree, one SQLite transaction per block)
// on the node's store while the node is closed, in blocks of BULK_BLOCK_TXS transactions instead
// of the chain's 2,000, and without admission: the bench signed them with the org's key itself, so
// their signatures are valid and are not verified again (`sigOk: true`, as for a transaction this
// node admitted). What it writes is what the registrations write through the node (the records,
// the subjects' item lists and counts, the subject index, the transactions and their log leaves),
// under real block headers whose state root is the tree's root of those keys, certified by the
// org's key. What it leaves out is the per-transaction cost of admission and of small blocks,
// which the fill does not measure: a step measures the cost of a transaction AT its number of keys,
// in its own window of kv.put through admission and commit, on the node reopened after the fill.
// Named with a leading underscore so that `npm run bench -- all` does not take it for a scenario.
import { memberSetOf } from '../packages/node/dist/index.js';
import { BlockCommitter } from '../packages/node/dist/peer/commit.js';
import { SqliteStore } from '../packages/node/dist/store/sqlite.js';
import { didFromPublicKey, parseTx } from '../packages/protocol/dist/index.js';

/** Registrations per bulk block: 100,000 state keys, so the top of the tree is rewritten once per 25,000 transactions. */
export const BULK_BLOCK_TXS = 25_000;
/** SQLite page cache of the fill's connection, in KiB (256 MiB). */
const FILL_CACHE_KIB = 262_144;

/**
 * Executes and commits `count` registrations on the closed node's store at `dbPath`, in blocks of
 * `blockTxs`; `makeTxs(n)` signs the next `n`. Returns the seconds spent signing and committing,
 * and how many transactions did not commit with OK (none, if the fill wrote what it counts).
 */
export async function bulkRegister({ dbPath, genesis, org, count, makeTxs, blockTxs = BULK_BLOCK_TXS, log }) {
  // NORMAL: the fill syncs once, when the store closes, not at every block (a crash of the bench
  // loses the fill, not the point of it).
  const store = new SqliteStore(dbPath, { synchronous: 'NORMAL' });
  // A larger page cache than the node's 64 MB while filling: a big block's inserts land all over
  // the state and tree tables. The node reopens with its own.
  store.db.pragma(`cache_size = -${FILL_CACHE_KIB}`);
  let signSeconds = 0;
  let commitSeconds = 0;
  let failed = 0;
  try {
    const chain = new BlockCommitter(store, genesis, memberSetOf(genesis), [org]);
    const proposer = didFromPublicKey(org.publicKey);
    const started = performance.now();
    let lastLog = started;
    for (let done = 0; done < count; ) {
      const n = Math.min(blockTxs, count - done);
      const t0 = performance.now();
      const txs = makeTxs(n);
      const t1 = performance.now();
      const pending = txs.map((tx) => ({ parsed: parseTx(tx), sigOk: true }));
      const results = chain.commit(pending, Date.now(), proposer);
      commitSeconds += (performance.now() - t1) / 1000;
      signSeconds += (t1 - t0) / 1000;
      for (const r of results) if (r.code !== 'OK') failed++;
      done += n;
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log?.(`  bulk fill ${done.toLocaleString('en')}/${count.toLocaleString('en')} registrations`);
      }
    }
  } finally {
    await store.closeDurably();
  }
  return { signSeconds, commitSeconds, failed };
}
