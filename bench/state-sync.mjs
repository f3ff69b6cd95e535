// Scenario `state-sync`: what a new member's catch-up costs as the state grows. One durable node is
// filled with signed kv.put transactions to fresh keys (through admission, ordering, execution and
// commit, as in ledger-throughput) to each size; at each size it measures:
//   - replay: the node's own commit rate while filling (tx/s), the rate a joiner replaying the
//     history from genesis could reach at best on this machine;
//   - export: the snapshot stream (`custos-snapshot/2`, as GET /v1/snapshot serves it) written to a
//     file: bytes, bytes per state key, seconds; apart, the bytes of a state row and of a transaction
//     still inside the replay window (sent with its inclusion proof; see TTL_MS);
//   - import: `custos snapshot import`'s path (`importSnapshot`) from that file into a fresh store,
//     which verifies the certificate, rebuilds the state root from every row and writes the store:
//     seconds and state keys per second;
// and the node's store on disk per committed transaction (each kv.put adds one state key);
// against the ceiling measured in the same run at each size: the same rows put into an in-memory
// state tree and its root computed (`StateTree` on `MemoryStateNodeStore`), the hashing an import
// cannot avoid. ratio = import keys/s / ceiling keys/s (at the largest size).
//
// Usage: npm run bench -- state-sync [--quick] [--max N] (default sizes 3*10^4, 10^5, 3*10^5;
// --quick: 10^4, 3*10^4). Progress goes to stderr.
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { exportSnapshot, importSnapshot } from '../packages/node/dist/consortium/snapshot.js';
import { CustosNode, exampleProfile, makeGenesis, nativeSigner } from '../packages/node/dist/index.js';
import {
  didFromPublicKey,
  MemoryStateNodeStore,
  randomSecretKey,
  StateTree,
  signTx,
  utf8,
} from '../packages/protocol/dist/index.js';
import { drive } from './_drive.mjs';
import { machine } from './_stats.mjs';

const CHAIN = 'bench';
const ORG = 'org';
/**
 * Transactions live 20 s: before each export the bench waits until they have expired and commits one
 * more, so the snapshot carries the state rows and (almost) no transactions of the replay window,
 * whose size depends on the traffic of the last hour, not on the state (`tx_bytes_per_tx` is
 * measured on the few that remain; a window transaction costs an import about what a replayed one
 * costs).
 */
const TTL_MS = 20_000;
const FILL_CHUNK = 10_000;

const log = (msg) => process.stderr.write(`[state-sync] ${msg}\n`);
const fmt = (n) => Math.round(n).toLocaleString('en');
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function putTxs(from, n, signers) {
  const now = Date.now();
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return signTx(
      {
        chainId: CHAIN,
        type: 'kv.put',
        args: { ns: `n${i % signers.length}`, key: `k${i}`, value: i },
        now,
        ttlMs: TTL_MS,
      },
      signers[i % signers.length],
    );
  });
}

/** Keys/s of building the state tree of `rows` in memory: the hashing an import cannot avoid. */
function treeBuildRate(rows) {
  const t0 = performance.now();
  const tree = new StateTree(new MemoryStateNodeStore());
  const batch = 50_000;
  for (let i = 0; i < rows.length; i += batch) {
    tree.apply(rows.slice(i, i + batch).map(([k, v]) => [utf8(k), utf8(v)]));
  }
  tree.root();
  return rows.length / ((performance.now() - t0) / 1000);
}

export async function run({ quick = false, max } = {}) {
  const sizes = max !== undefined ? [max] : quick ? [10_000, 30_000] : [30_000, 100_000, 300_000];
  if (!sizes.every((s) => Number.isSafeInteger(s) && s >= 1_000)) throw new RangeError('expected max >= 1000');
  const org = nativeSigner(randomSecretKey());
  const signers = Array.from({ length: 64 }, () => nativeSigner(randomSecretKey()));
  const genesis = makeGenesis({
    chainId: CHAIN,
    members: [{ id: ORG, name: 'Bench org', keys: [didFromPublicKey(org.publicKey)], profile: exampleProfile(ORG) }],
    params: { blockMaxTxs: 2000, blockMaxMs: 10 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-'));
  const steps = [];
  try {
    const node = await CustosNode.open({
      dbPath: join(dir, 'node.db'),
      genesis,
      signers: [org],
      maxPending: 1_000_000,
    });
    let keys = 0;
    try {
      for (const [s, size] of sizes.entries()) {
        // Fill to `size` kv.put keys.
        let fillSeconds = 0;
        let filled = 0;
        let failed = 0;
        while (keys < size) {
          const n = Math.min(FILL_CHUNK, size - keys);
          const r = await drive(node, putTxs(keys, n, signers));
          fillSeconds += r.seconds;
          failed += r.failed;
          filled += n;
          keys += n;
        }
        const replayTxPerS = filled / fillSeconds;
        // Let the fill's transactions expire, then commit one more: the base block of the export.
        await new Promise((r) => setTimeout(r, TTL_MS + 1_000));
        await drive(node, putTxs(keys, 1, signers));
        keys += 1;
        // The node's store on disk (the database file once the write-ahead log is copied back).
        node.store.db.pragma('wal_checkpoint(TRUNCATE)');
        const storeBytes = statSync(join(dir, 'node.db')).size;
        const txCount = node.store.db.prepare('SELECT COUNT(*) AS n FROM txs').get().n;
        log(`${fmt(keys)} keys; filled at ${fmt(replayTxPerS)} tx/s (${failed} failed)`);

        // Export to a file.
        const file = join(dir, `snapshot-${s}.ndjson`);
        const e0 = performance.now();
        const snap = await exportSnapshot(node, { waitMs: 60_000 });
        // The stream yields one line per chunk: tally the state rows' and the transactions' bytes.
        const tally = { row: 0, tx: 0 };
        await pipeline(
          snap.stream,
          async function* (lines) {
            for await (const line of lines) {
              const text = String(line);
              if (text.startsWith('{"row"')) tally.row += Buffer.byteLength(text);
              else if (text.startsWith('{"tx"')) tally.tx += Buffer.byteLength(text);
              yield line;
            }
          },
          createWriteStream(file),
        );
        const exportSeconds = (performance.now() - e0) / 1000;
        const bytes = statSync(file).size;

        // Import into a fresh store, as `custos snapshot import` does.
        const i0 = performance.now();
        const imported = await importSnapshot({
          source: createReadStream(file),
          dbPath: join(dir, `joiner-${s}.db`),
          genesis,
        });
        const importSeconds = (performance.now() - i0) / 1000;
        // importSnapshot refuses rows that do not rebuild the certified state root.
        if (imported.height !== snap.height)
          throw new Error(`imported height ${imported.height}, exported ${snap.height}`);
        const rows = node.store.db.prepare('SELECT key, value FROM state ORDER BY key').raw().all();
        const ceiling = treeBuildRate(rows);
        rmSync(file, { force: true });
        for (const f of [`joiner-${s}.db`, `joiner-${s}.db-wal`, `joiner-${s}.db-shm`])
          rmSync(join(dir, f), { force: true });
        const step = {
          state_keys: imported.rows,
          txs_in_snapshot: imported.txs,
          replay_tx_per_s: Math.round(replayTxPerS),
          store_bytes: storeBytes,
          store_bytes_per_tx: round(storeBytes / txCount),
          snapshot_bytes: bytes,
          bytes_per_key: round(bytes / imported.rows),
          row_bytes_per_key: round(tally.row / imported.rows),
          // Null unless the window held enough transactions to say (a longer TTL_MS).
          tx_bytes_per_tx: imported.txs < 100 ? null : round(tally.tx / imported.txs),
          export_s: round(exportSeconds, 2),
          import_s: round(importSeconds, 2),
          import_keys_per_s: Math.round(imported.rows / importSeconds),
          ceiling_keys_per_s: Math.round(ceiling),
          ratio: round(imported.rows / importSeconds / ceiling, 3),
        };
        log(JSON.stringify(step));
        steps.push(step);
      }
    } finally {
      await node.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const last = steps[steps.length - 1];
  return {
    scenario: 'state-sync',
    machine: machine(),
    metric: 'state keys imported per second from a snapshot',
    throughput: last.import_keys_per_s,
    ceiling: last.ceiling_keys_per_s,
    ratio: last.ratio,
    steps,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
