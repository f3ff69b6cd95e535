// Scenario `consortium`: three members on this machine (three peers in this process, one etcd
// member), signed transactions submitted round-robin to the peers, throughput and latency measured
// to FINALITY (a quorum certificate on the submitting peer). Measured in the same run: the raw
// Ed25519 verify rate on all cores, and the single-node embedded throughput. Ceiling = raw verify
// rate / peers on the machine (every peer verifies every signature).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEtcdBinary } from '../packages/node/dist/consortium/launcher.js';
import { openConsortiumNode } from '../packages/node/dist/consortium/peer-node.js';
import { freePorts } from '../packages/node/dist/consortium/processes.js';
import { CustosNode, makeGenesis, nativeSigner } from '../packages/node/dist/index.js';
import { didFromPublicKey, randomSecretKey, signTx } from '../packages/protocol/dist/index.js';
import { rawVerifyRate } from './_ceiling.mjs';
import { drive } from './_drive.mjs';
import { latencySummary, machine } from './_stats.mjs';

const PEERS = 3;

function makeTxs(chainId, count, signers, tag) {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) =>
    signTx(
      {
        chainId,
        type: 'kv.put',
        args: { ns: `n${i % signers.length}`, key: `${tag}${i}`, value: i },
        now,
        ttlMs: 3_000_000,
      },
      signers[i % signers.length],
    ),
  );
}

async function startEtcd(dir) {
  const [client, peer] = await freePorts(2);
  const proc = spawn(
    findEtcdBinary(),
    [
      '--name=b0',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=b0=http://127.0.0.1:${peer}`,
      '--max-txn-ops=4096',
      '--max-request-bytes=10485760',
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${client}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop: () => proc.kill('SIGTERM') };
}

/** Round-robin over the peers; a submission counts once its peer holds a final certificate for its block. */
function roundRobin(nodes) {
  let i = 0;
  return {
    submit(t) {
      const node = nodes[i++ % nodes.length];
      const sub = node.submit(t);
      return {
        txId: sub.txId,
        committed: sub.committed.then(async (r) => {
          await node.waitFinal(r.height, 60_000);
          return r;
        }),
      };
    },
  };
}

async function singleNode(dir, count, signers) {
  const org = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId: 'bench',
    members: [{ id: 'org', name: 'Bench org', keys: [didFromPublicKey(org.publicKey)] }],
    params: { blockMaxTxs: 2000, blockMaxMs: 10 },
  });
  const node = await CustosNode.open({
    dbPath: join(dir, 'single.db'),
    genesis,
    signers: [org],
    maxPending: 1_000_000,
  });
  await drive(node, makeTxs('bench', 2000, signers, 'w'));
  const r = await drive(node, makeTxs('bench', count, signers, 's'));
  await node.close();
  return Math.round((r.sent - r.failed) / r.seconds);
}

export async function run({ quick = false } = {}) {
  const count = quick ? 6000 : 20_000;
  console.error('measuring the raw Ed25519 verify ceiling on all cores...');
  const raw = await rawVerifyRate();
  const ceiling = Math.round(raw / PEERS);
  const signers = Array.from({ length: 64 }, () => nativeSigner(randomSecretKey()));
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-consortium-'));
  const etcd = await startEtcd(dir);
  const nodes = [];
  try {
    console.error(`raw ${raw} verify/s, ceiling per peer ${ceiling}; single-node run...`);
    const single = await singleNode(dir, count, signers);
    console.error(`single node ${single} tx/s; starting ${PEERS} peers on etcd...`);
    const orgs = ['bank', 'insurer', 'retailer'].map((id) => ({ id, signer: nativeSigner(randomSecretKey()) }));
    const genesis = makeGenesis({
      chainId: 'benchc',
      members: orgs.map((o) => ({ id: o.id, name: o.id, keys: [didFromPublicKey(o.signer.publicKey)] })),
      params: { blockMaxTxs: 2000, blockMaxMs: 20 },
    });
    for (const o of orgs) {
      nodes.push(
        await openConsortiumNode({
          dbPath: join(dir, `${o.id}.db`),
          genesis,
          signers: [o.signer],
          maxPending: 1_000_000,
          verifyThreads: 2,
          config: {
            peerId: o.id,
            etcd: { endpoints: [etcd.url], prefix: '/bench/c' },
            peers: [],
            orderer: { maxTxnOps: 4096 },
          },
        }),
      );
    }
    const target = roundRobin(nodes);
    await drive(target, makeTxs('benchc', 1500, signers, 'w'), { window: 3000 });
    const full = await drive(target, makeTxs('benchc', count, signers, 'f'), { window: 6000 });
    const throughput = (full.sent - full.failed) / full.seconds;
    console.error(`consortium: ${Math.round(throughput)} tx/s to finality over ${full.seconds.toFixed(2)} s`);
    const roots = nodes.map((n) => n.store.getHeader(n.latestFinal())?.header.stateRoot);
    return {
      scenario: 'consortium',
      succeeded: full.sent - full.failed,
      failed: full.failed,
      send_rate: Math.round(full.sent / full.seconds),
      throughput: Math.round(throughput),
      unit: 'tx/s',
      latency_ms: latencySummary(full.latencies),
      ceiling: { name: 'ed25519_verify_per_s_all_cores_per_peer', value: ceiling },
      ratio: Math.round((throughput / ceiling) * 1000) / 1000,
      machine: machine(),
      peers: PEERS,
      etcd_members: 1,
      latency_to: 'quorum certificate on the submitting peer',
      raw_verify_per_s: raw,
      single_node_throughput: single,
      ratio_to_single_node: Math.round((throughput / single) * 1000) / 1000,
      final_heights: nodes.map((n) => n.latestFinal()),
      same_state_root: new Set(roots).size === 1,
    };
  } finally {
    for (const n of nodes) await n.close().catch(() => {});
    etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
