// Scenario `cross-chain`: atomic cross-chain transactions (DESIGN.md section 7) between 2 and then 3
// chains in one process, each a durable embedded node with its own members and solo orderer. The
// client submits xtx.prepare to every participant; one in-process relayer scans the chains and
// carries votes to the decision chain and its decision back. Measured per transaction: from the
// first prepare to the last finalize, in ms and in blocks of the decision chain; and committed
// cross-chain transactions per second, with `in_flight` transactions outstanding; then the latency
// of transactions sent one at a time. The ceiling is the single-chain throughput of the same kind
// of node on the same machine, measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosNode, exampleProfile, makeGenesis, memberSetOf, nativeSigner } from '../packages/node/dist/index.js';
import { nodeEndpoint } from '../packages/node/dist/interop/endpoint.js';
import { Relayer } from '../packages/node/dist/interop/relayer.js';
import { didFromPublicKey, randomSecretKey, signRegistration, signTx } from '../packages/protocol/dist/index.js';
import { buildXtx, xtxPrepareTx } from '../packages/sdk/dist/index.js';
import { drive } from './_drive.mjs';
import { latencySummary, machine } from './_stats.mjs';

const PARAMS = { blockMaxTxs: 2000, blockMaxMs: 5 };

async function openChain(dir, chainId) {
  const org = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId,
    members: [
      { id: 'org', name: `${chainId} org`, keys: [didFromPublicKey(org.publicKey)], profile: exampleProfile('org') },
    ],
    params: PARAMS,
  });
  const node = await CustosNode.open({
    dbPath: join(dir, `${chainId}.db`),
    genesis,
    signers: [org],
    maxPending: 1_000_000,
  });
  return { chainId, node, genesis, org };
}

async function connect(chains) {
  for (const a of chains) {
    for (const b of chains) {
      if (a === b) continue;
      const remote = { chainId: b.chainId, members: memberSetOf(b.genesis) };
      const tx = signTx(
        {
          chainId: a.chainId,
          type: 'interop.register',
          args: { chain: remote, cosignatures: [signRegistration(a.chainId, remote, a.org)] },
        },
        a.org,
      );
      const r = await a.node.submitAndWait(tx);
      if (r.code !== 'OK') throw new Error(`interop.register on ${a.chainId}: ${r.code}`);
    }
  }
}

/** Single-chain ceiling: signed kv.put transactions through one node like the ones below. */
async function singleChain(dir, count, signers) {
  const c = await openChain(dir, 'single');
  const now = Date.now();
  const make = (n, off) =>
    Array.from({ length: n }, (_, i) =>
      signTx(
        { chainId: 'single', type: 'kv.put', args: { ns: 'n', key: `k${off + i}`, value: i }, now, ttlMs: 3_000_000 },
        signers[i % signers.length],
      ),
    );
  await drive(c.node, make(2000, 0));
  const r = await drive(c.node, make(count, 10_000_000));
  await c.node.close();
  return (r.sent - r.failed) / r.seconds;
}

async function crossChain(dir, n, count, window, owner, tag = 'load') {
  const chains = [];
  for (let i = 0; i < n; i++) chains.push(await openChain(dir, `${tag}-${n}-${i}`));
  await connect(chains);
  const d = chains[0];
  const pending = new Map();
  const latencies = [];
  const blocks = [];
  let failed = 0;
  let done = 0;
  let resolveAll;
  const finished = new Promise((r) => {
    resolveAll = r;
  });
  const complete = (id, ok) => {
    const p = pending.get(id);
    if (p === undefined) return;
    pending.delete(id);
    if (ok) {
      latencies.push(performance.now() - p.t0);
      blocks.push(d.node.latest().height - p.h0);
    } else failed++;
    done++;
    if (done === count) resolveAll();
    else startNext();
  };
  const relayer = new Relayer({
    chains: chains.map((c) => nodeEndpoint(c.node)),
    signer: nativeSigner(randomSecretKey()),
    concurrency: 1024,
    onAction: (a) => {
      const p = pending.get(a.xtxId);
      if (p === undefined) return;
      if (a.step === 'decide' || a.step === 'timeout') {
        if (a.code !== 'OK' && a.code !== 'CONFLICT') complete(a.xtxId, false);
      } else if (a.step === 'finalize' && a.code === 'OK') {
        if (++p.finalized === n) {
          const rec = JSON.parse(d.node.store.getState(`xtx/${a.xtxId}`) ?? 'null');
          complete(a.xtxId, rec?.status === 'committed');
        }
      }
    },
  });
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const acted = await relayer.step();
      if (acted.length === 0) await new Promise((r) => setTimeout(r, 1));
    }
  })();

  let next = 0;
  const plans = [];
  for (let i = 0; i < count; i++) {
    plans.push(() =>
      buildXtx({
        decisionChain: d.chainId,
        deadlineHeight: d.node.latest().height + 1000,
        ops: chains.map((c) => ({
          chainId: c.chainId,
          type: 'kv.put',
          args: { ns: 'x', key: `k${i}`, value: i },
          signer: owner,
        })),
      }),
    );
  }
  const client = nativeSigner(randomSecretKey());
  const startNext = () => {
    if (next >= count) return;
    const { xtx, xtxId } = plans[next++]();
    pending.set(xtxId, { t0: performance.now(), h0: d.node.latest().height, finalized: 0 });
    for (const c of chains) {
      c.node.submitAndWait(xtxPrepareTx(xtx, c.chainId, client)).then(
        (r) => {
          if (r.code !== 'OK') complete(xtxId, false);
        },
        () => complete(xtxId, false),
      );
    }
  };
  const start = performance.now();
  for (let i = 0; i < Math.min(window, count); i++) startNext();
  await finished;
  const seconds = (performance.now() - start) / 1000;
  stopped = true;
  await loop;
  for (const c of chains) await c.node.close();
  return {
    chains: n,
    succeeded: count - failed,
    failed,
    seconds,
    throughput: (count - failed) / seconds,
    latency_ms: latencySummary(latencies),
    latency_blocks: latencySummary(blocks),
    ledger_tx_per_xtx: 2 * n + 1,
  };
}

export async function run({ quick = false } = {}) {
  const count = quick ? 600 : 3000;
  const window = 256;
  const owner = nativeSigner(randomSecretKey());
  const signers = Array.from({ length: 64 }, () => nativeSigner(randomSecretKey()));
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-xtx-'));
  try {
    console.error('single-chain ceiling...');
    const ceiling = await singleChain(dir, quick ? 20_000 : 60_000, signers);
    console.error(`single chain: ${Math.round(ceiling)} tx/s`);
    const runs = [];
    const alone = [];
    for (const n of [2, 3]) {
      console.error(`${n} chains: ${count} cross-chain transactions, ${window} in flight...`);
      const r = await crossChain(dir, n, count, window, owner);
      console.error(
        `${n} chains: ${Math.round(r.throughput)} xtx/s, p50 ${r.latency_ms.p50} ms / ${r.latency_blocks.p50} blocks, p99 ${r.latency_ms.p99} ms / ${r.latency_blocks.p99} blocks`,
      );
      runs.push(r);
      // One at a time: the protocol's own latency, without queueing behind other transactions.
      const a = await crossChain(dir, n, quick ? 20 : 50, 1, owner, 'alone');
      console.error(`${n} chains, one at a time: p50 ${a.latency_ms.p50} ms / ${a.latency_blocks.p50} blocks`);
      alone.push({ latency_ms: a.latency_ms, latency_blocks: a.latency_blocks });
    }
    const [two, three] = runs;
    const ratio = (x) => Math.round((x / ceiling) * 10000) / 10000;
    return {
      scenario: 'cross-chain',
      succeeded: two.succeeded,
      failed: two.failed,
      send_rate: Math.round(two.succeeded / two.seconds),
      throughput: Math.round(two.throughput),
      unit: 'xtx/s',
      latency_ms: two.latency_ms,
      ceiling: { name: 'single_chain_tx_per_s', value: Math.round(ceiling) },
      ratio: ratio(two.throughput),
      machine: machine(),
      chains: 2,
      latency_blocks: two.latency_blocks,
      ledger_tx_per_xtx: two.ledger_tx_per_xtx,
      in_flight: window,
      one_at_a_time: alone[0],
      durability:
        'sqlite WAL, acknowledged after the WAL fsync (shared by the blocks committed meanwhile), on every chain',
      three_chains: {
        chains: 3,
        succeeded: three.succeeded,
        failed: three.failed,
        throughput: Math.round(three.throughput),
        latency_ms: three.latency_ms,
        latency_blocks: three.latency_blocks,
        ratio: ratio(three.throughput),
        ledger_tx_per_xtx: three.ledger_tx_per_xtx,
        one_at_a_time: alone[1],
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
