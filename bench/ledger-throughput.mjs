// Scenario `ledger-throughput`: signed transactions through the whole node path (admission,
// parallel signature verification, solo ordering, execution, durable SQLite commit), against the
// ceiling of this machine's raw Ed25519 verify rate on all cores, measured in the same run.
// Then a second run at half the measured throughput for the commit latency at that load.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosNode, exampleProfile, makeGenesis, nativeSigner } from '../packages/node/dist/index.js';
import { didFromPublicKey, randomSecretKey, signTx } from '../packages/protocol/dist/index.js';
import { rawVerifyRate } from './_ceiling.mjs';
import { cpuAccount, cpuSnapshot, mainThreadCpuMs, mainThreadUsPerTx } from './_cpu.mjs';
import { drive } from './_drive.mjs';
import { bytesPerTx, ioCounters, latencySummary, machine } from './_stats.mjs';

function makeTxs(count, signers) {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) =>
    signTx(
      {
        chainId: 'bench',
        type: 'kv.put',
        args: { ns: `n${i % signers.length}`, key: `k${i}`, value: i },
        now,
        ttlMs: 3_000_000,
      },
      signers[i % signers.length],
    ),
  );
}

async function openNode(dir) {
  const org = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId: 'bench',
    members: [
      { id: 'org', name: 'Bench org', keys: [didFromPublicKey(org.publicKey)], profile: exampleProfile('org') },
    ],
    params: { blockMaxTxs: 2000, blockMaxMs: 10 },
  });
  return CustosNode.open({ dbPath: join(dir, 'node.db'), genesis, signers: [org], maxPending: 1_000_000 });
}

/** Bytes of SQLite pages per stored transaction, by table and index (the dbstat virtual table). */
function storedBytesPerTx(node) {
  const db = node.store.db;
  const txs = db.prepare('SELECT count(*) AS n FROM txs').get().n;
  const out = {};
  let total = 0;
  for (const r of db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all()) {
    total += r.bytes;
    if (r.bytes / txs >= 1) out[r.name] = Math.round(r.bytes / txs);
  }
  out.total = Math.round(total / txs);
  return out;
}

export async function run({ quick = false } = {}) {
  const count = quick ? 20_000 : 60_000;
  console.error('measuring the raw Ed25519 verify ceiling on all cores...');
  const ceiling = await rawVerifyRate();
  console.error(`ceiling ${ceiling} verify/s; signing ${count} transactions...`);
  const signers = Array.from({ length: 64 }, () => nativeSigner(randomSecretKey()));
  const txs = makeTxs(count, signers);

  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-'));
  try {
    let node = await openNode(dir);
    // Warm-up: JIT, worker start, SQLite cache.
    await drive(node, makeTxs(3000, signers));
    const io0 = ioCounters();
    const snap0 = await cpuSnapshot(node.pool);
    const cpu0 = mainThreadCpuMs();
    const full = await drive(node, txs);
    const cpu1 = mainThreadCpuMs();
    const snap1 = await cpuSnapshot(node.pool);
    const io1 = ioCounters();
    const throughput = (full.sent - full.failed) / full.seconds;
    console.error(`saturated: ${Math.round(throughput)} tx/s over ${full.seconds.toFixed(2)} s`);
    const stored = storedBytesPerTx(node);
    await node.close();
    rmSync(dir, { recursive: true, force: true });

    const dir2 = mkdtempSync(join(tmpdir(), 'custos-bench-'));
    node = await openNode(dir2);
    const halfRate = Math.round(throughput / 2);
    await drive(node, makeTxs(2000, signers));
    const halfTxs = makeTxs(Math.min(count, Math.round(halfRate * (quick ? 5 : 10))), signers);
    const half = await drive(node, halfTxs, { rate: halfRate });
    const halfLatency = latencySummary(half.latencies);
    console.error(`half load ${halfRate} tx/s: p99 ${halfLatency.p99} ms`);
    await node.close();
    rmSync(dir2, { recursive: true, force: true });

    return {
      scenario: 'ledger-throughput',
      succeeded: full.sent - full.failed,
      failed: full.failed,
      send_rate: Math.round(full.sent / full.seconds),
      throughput: Math.round(throughput),
      unit: 'tx/s',
      latency_ms: latencySummary(full.latencies),
      ceiling: { name: 'ed25519_verify_per_s_all_cores', value: ceiling },
      ratio: Math.round((throughput / ceiling) * 1000) / 1000,
      machine: machine(),
      durability: 'sqlite WAL, acknowledged after the WAL fsync (shared by the blocks committed meanwhile)',
      // What the node wrote per committed transaction (saturated run), against the size of the
      // signed transaction itself: the storage cost to bring near the transaction's own size.
      bytes_per_tx: bytesPerTx(io0, io1, full.sent - full.failed),
      // Main-thread CPU per committed transaction (saturated run): admission, execution, state
      // tree, storage. Verification runs in the worker pool and is not in this figure.
      main_thread_us_per_tx: mainThreadUsPerTx(cpu0, cpu1, full.sent - full.failed),
      // The whole process's CPU per committed transaction, by thread: what the workers' verification
      // costs, what everything else costs, and the cores left idle (docs/performance.md, "Where a
      // transaction's CPU goes").
      cpu_us_per_tx: cpuAccount(snap0, snap1, full.sent - full.failed, availableParallelism()),
      // Pages each table and index of the store holds at the end of the saturated run, per
      // transaction stored (warm-up included): the layout's size, which the WAL checkpoints that
      // land in a run or not do not disturb.
      stored_bytes_per_tx: stored,
      tx_bytes: Math.round(txs.reduce((n, t) => n + Buffer.byteLength(JSON.stringify(t)), 0) / txs.length),
      half_load: {
        send_rate: halfRate,
        succeeded: half.sent - half.failed,
        failed: half.failed,
        throughput: Math.round((half.sent - half.failed) / half.seconds),
        latency_ms: halfLatency,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
