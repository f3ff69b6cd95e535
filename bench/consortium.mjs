// Scenario `consortium`: three members on this machine as a real deployment runs them: each peer in
// its own OS process (bench/_consortium-peer.mjs opens the node as `custos node start` does), one
// etcd member, and this process as the members' clients. Clients do what a real one does: POST
// signed transactions to their own member's peer in batches (/v1/txs/batch?wait=true, answered at
// commit), round-robin over the three peers, then wait for the block's quorum certificate on that
// peer (GET /v1/blocks/:height/certificate?wait=true). A watch on etcd's `blocks/` sees when each
// transaction is in an ordered block.
//
// Latencies, from the moment its batch is sent: ordering (the transaction is in a block in etcd),
// commit (the submitting peer committed it), finality (the submitting peer holds a quorum
// certificate for its block). Two phases: a closed loop (a window of transactions in flight) for the
// throughput to finality, then an open loop at half that rate for latencies without queueing.
//
// Measured in the same run, before anything else starts: the raw Ed25519 verify rate on all cores.
// Ceiling = raw verify rate / peers on the machine (every peer verifies every signature). Also the
// single-node embedded throughput, for reference.
//
// CUSTOS_BENCH_CPU_PROF=<dir> runs each peer with `node --cpu-prof --cpu-prof-dir=<dir>`.
// `etcd_per_tx` is what etcd did per finalized transaction in the closed loop, from its own /metrics:
// requests by method, watch messages sent, bytes received and sent, WAL fsyncs.
// CUSTOS_BENCH_RATE=<tx/s> runs the open loop at that rate instead of half the closed loop's
// throughput (to compare latencies of two builds at the same load).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Etcd3 } from 'etcd3';
import { CustosNode, exampleProfile, makeGenesis, nativeSigner } from '../packages/node/dist/index.js';
import { didFromPublicKey, randomSecretKey, signTx } from '../packages/protocol/dist/index.js';
import { rawVerifyRate } from './_ceiling.mjs';
import { Cluster } from './_consortium-cluster.mjs';
import { drive } from './_drive.mjs';
import { cpuSeconds, latencySummary, machine } from './_stats.mjs';

const PEERS = 3;
const ORGS = ['bank', 'insurer', 'retailer'];
const PREFIX = '/bench/c';
/** Transactions per HTTP batch in the closed loop. */
const BATCH = 250;
/** Transactions in flight (sent, not yet final) in the closed loop. */
const WINDOW = 4000;

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

async function singleNode(dir, count, signers) {
  const org = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId: 'bench',
    members: [
      { id: 'org', name: 'Bench org', keys: [didFromPublicKey(org.publicKey)], profile: exampleProfile('org') },
    ],
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

/** Per-transaction times (performance.now()) of one phase, filled by the etcd watch and the clients. */
class Phase {
  constructor(txs) {
    this.txs = txs;
    this.bySig = new Map(txs.map((t, i) => [t.sig, i]));
    this.sentAt = new Float64Array(txs.length);
    this.orderedAt = new Float64Array(txs.length);
    this.committedAt = new Float64Array(txs.length);
    this.finalAt = new Float64Array(txs.length);
    this.failed = 0;
    this.errors = new Map();
    /** Heights of the blocks in etcd that hold this phase's transactions. */
    this.blocks = new Set();
  }

  fail(why, count = 1) {
    this.failed += count;
    this.errors.set(why, (this.errors.get(why) ?? 0) + count);
  }

  summary(start, end) {
    const lat = (at) => {
      const out = [];
      for (let i = 0; i < this.txs.length; i++) if (at[i] > 0 && this.sentAt[i] > 0) out.push(at[i] - this.sentAt[i]);
      return latencySummary(out);
    };
    const succeeded = this.txs.length - this.failed;
    return {
      succeeded,
      failed: this.failed,
      ...(this.errors.size === 0 ? {} : { errors: Object.fromEntries(this.errors) }),
      seconds: Math.round((end - start) / 10) / 100,
      blocks: this.blocks.size,
      txs_per_block: this.blocks.size === 0 ? null : Math.round(succeeded / this.blocks.size),
      throughput: Math.round(succeeded / ((end - start) / 1000)),
      ordering_latency_ms: lat(this.orderedAt),
      commit_latency_ms: lat(this.committedAt),
      finality_latency_ms: lat(this.finalAt),
    };
  }
}

/** Records when each transaction of the current phase first appears in a block in etcd. */
async function watchBlocks(etcdUrl, current) {
  const client = new Etcd3({ hosts: [etcdUrl] });
  const watcher = await client.namespace(`${PREFIX}/`).watch().prefix('blocks/').create();
  watcher.on('put', (kv) => {
    const at = performance.now();
    const phase = current();
    if (phase === undefined) return;
    for (const t of JSON.parse(kv.value.toString('utf8')).txs) {
      const i = phase.bySig.get(t.sig);
      if (i === undefined) continue;
      phase.blocks.add(kv.key.toString());
      if (phase.orderedAt[i] === 0) phase.orderedAt[i] = at;
    }
  });
  let stopping;
  return () => {
    stopping ??= watcher
      .cancel()
      .catch(() => {})
      .then(() => client.close());
    return stopping;
  };
}

async function postJson(url, body, signal) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
  const json = await r.json();
  if (!r.ok) throw new Error(`${r.status} ${json.code ?? ''} ${json.detail ?? ''}`.trim());
  return json;
}

/**
 * Sends `phase`'s transactions in batches, batch k to peer k mod n, each with `?wait=true`, then
 * waits for the certificate of every height its transactions landed in on that peer. Closed loop
 * (`window` transactions sent and not final) or open loop (`rate` tx/s). Resolves when every
 * transaction is final or failed, with the start and end times.
 */
function runPhase(peers, phase, { batch, window, rate, signal }) {
  const n = phase.txs.length;
  const bodies = [];
  for (let s = 0; s < n; s += batch) bodies.push({ start: s, end: Math.min(n, s + batch) });
  for (const b of bodies) b.body = JSON.stringify(phase.txs.slice(b.start, b.end));
  const finalWaits = new Map();
  const waitFinal = (peer, height) => {
    const key = `${peer.id} ${height}`;
    let w = finalWaits.get(key);
    if (w === undefined) {
      w = fetch(`${peer.url}/v1/blocks/${height}/certificate?wait=true`, { signal })
        .then((r) => r.json())
        .then((c) => {
          if (c.final !== true) throw new Error(`block ${height} not final on ${peer.id}`);
          return performance.now();
        });
      finalWaits.set(key, w);
    }
    return w;
  };
  return new Promise((resolveAll, rejectAll) => {
    let next = 0;
    let done = 0;
    let inFlight = 0;
    const start = performance.now();
    const finish = (count) => {
      done += count;
      inFlight -= count;
      if (done === n) resolveAll({ start, end: performance.now() });
      else if (rate === undefined) pump();
    };
    const send = (k) => {
      const b = bodies[k];
      const peer = peers[k % peers.length];
      const size = b.end - b.start;
      inFlight += size;
      const t0 = performance.now();
      for (let i = b.start; i < b.end; i++) phase.sentAt[i] = t0;
      postJson(`${peer.url}/v1/txs/batch?wait=true`, b.body, signal).then(
        ({ results }) => {
          const t = performance.now();
          const byHeight = new Map();
          results.forEach((r, j) => {
            const i = b.start + j;
            if (r.error !== undefined || r.code !== 'OK') {
              phase.fail(r.error?.code ?? r.code);
              finish(1);
              return;
            }
            phase.committedAt[i] = t;
            const list = byHeight.get(r.height) ?? [];
            list.push(i);
            byHeight.set(r.height, list);
          });
          for (const [height, list] of byHeight) {
            waitFinal(peer, height).then(
              (ft) => {
                for (const i of list) phase.finalAt[i] = ft;
                finish(list.length);
              },
              (e) => {
                if (signal.aborted) return rejectAll(e);
                phase.fail('NOT_FINAL', list.length);
                finish(list.length);
              },
            );
          }
        },
        (e) => {
          if (signal.aborted) return rejectAll(e);
          phase.fail(String(e.message).slice(0, 60), size);
          finish(size);
        },
      );
    };
    const pump = () => {
      while (next < bodies.length && inFlight + (bodies[next].end - bodies[next].start) <= window) send(next++);
    };
    if (rate === undefined) {
      pump();
      return;
    }
    const tick = () => {
      const due = Math.min(n, ((performance.now() - start) / 1000) * rate);
      while (next < bodies.length && bodies[next].start < due) send(next++);
      if (next < bodies.length) setTimeout(tick, 5);
    };
    tick();
  });
}

function cpuOf(pids) {
  return { peers: pids.peers.map((p) => cpuSeconds(p)), etcd: cpuSeconds(pids.etcd), client: cpuSeconds(pids.client) };
}

/** CPU milliseconds per finalized transaction, by process, between two `cpuOf` readings. */
function cpuPerTx(before, after, txs) {
  const per = (a, b) => (a === null || b === null ? null : Math.round(((b - a) * 1e6) / txs) / 1000);
  return {
    peers: before.peers.map((b, i) => per(b, after.peers[i])),
    etcd: per(before.etcd, after.etcd),
    client: per(before.client, after.client),
  };
}

/** etcd's own counters (its `/metrics` on the client URL): requests by method, watch messages, bytes, WAL fsyncs. */
async function etcdCounters(url) {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const out = { requests: {}, watch_messages: 0, bytes_in: 0, bytes_out: 0, fsyncs: 0 };
  for (const line of text.split('\n')) {
    const [name, value] = line.split(' ');
    const v = Number(value);
    if (name === undefined || !Number.isFinite(v)) continue;
    const handled = /^grpc_server_handled_total\{.*grpc_method="(\w+)".*grpc_type="unary"/.exec(name);
    if (handled !== null && v > 0) out.requests[handled[1]] = (out.requests[handled[1]] ?? 0) + v;
    else if (/^grpc_server_msg_sent_total\{.*grpc_method="Watch"/.test(name)) out.watch_messages += v;
    else if (name === 'etcd_network_client_grpc_received_bytes_total') out.bytes_in = v;
    else if (name === 'etcd_network_client_grpc_sent_bytes_total') out.bytes_out = v;
    else if (name === 'etcd_disk_wal_fsync_duration_seconds_count') out.fsyncs = v;
  }
  return out;
}

/** What etcd did per finalized transaction between two `etcdCounters` readings. */
function etcdPerTx(before, after, txs) {
  const per = (a, b) => Math.round(((b - a) / txs) * 1000) / 1000;
  const requests = {};
  for (const [m, v] of Object.entries(after.requests)) {
    const d = per(before.requests[m] ?? 0, v);
    if (d > 0) requests[m] = d;
  }
  return {
    requests,
    watch_messages: per(before.watch_messages, after.watch_messages),
    bytes_in: Math.round((after.bytes_in - before.bytes_in) / txs),
    bytes_out: Math.round((after.bytes_out - before.bytes_out) / txs),
    fsyncs: per(before.fsyncs, after.fsyncs),
  };
}

async function getJson(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return r.json();
}

export async function run({ quick = false } = {}) {
  const count = quick ? 6000 : 20_000;
  console.error('measuring the raw Ed25519 verify ceiling on all cores...');
  const rawBefore = await rawVerifyRate();
  const signers = Array.from({ length: 64 }, () => nativeSigner(randomSecretKey()));
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-consortium-'));
  const profDir = process.env.CUSTOS_BENCH_CPU_PROF;
  const cluster = new Cluster(dir, profDir ? { cpuProfDir: resolve(profDir) } : {});
  const abort = new AbortController();
  const onSignal = (s) => abort.abort(new Error(`interrupted by ${s}`));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let stopWatch;
  try {
    console.error(`raw ${rawBefore} verify/s; single-node run...`);
    const single = await singleNode(dir, count, signers);
    console.error(`single node ${single} tx/s; starting etcd and ${PEERS} peer processes...`);
    const orgs = ORGS.slice(0, PEERS).map((id) => ({ id, sk: randomSecretKey() }));
    const genesis = makeGenesis({
      chainId: 'benchc',
      members: orgs.map((o) => ({
        id: o.id,
        name: o.id,
        keys: [didFromPublicKey(nativeSigner(o.sk).publicKey)],
        profile: exampleProfile(o.id),
      })),
      params: { blockMaxTxs: 2000, blockMaxMs: 20 },
    });
    await cluster.startEtcd();
    const peers = await cluster.startPeers(
      genesis,
      orgs.map((o) => ({ id: o.id, secretKey: Buffer.from(o.sk).toString('hex') })),
      { prefix: PREFIX },
    );
    let current;
    stopWatch = await watchBlocks(cluster.etcdUrl, () => current);
    const guard = setInterval(() => {
      const gone = cluster.exited();
      if (gone.length > 0) abort.abort(new Error(gone.join('; ')));
    }, 500);
    guard.unref();
    const phase = async (txs, opts) => {
      current = new Phase(txs);
      const { start, end } = await runPhase(peers, current, { signal: abort.signal, ...opts });
      return current.summary(start, end);
    };
    console.error('signing...');
    const warmTxs = makeTxs('benchc', 1500, signers, 'w');
    const fullTxs = makeTxs('benchc', count, signers, 'f');
    const halfTxs = makeTxs('benchc', Math.round(count / 2), signers, 'h');
    await phase(warmTxs, { batch: BATCH, window: WINDOW });
    const pids = { peers: peers.map((p) => p.pid), etcd: cluster.etcd.pid, client: process.pid };
    const etcdBefore = await etcdCounters(cluster.etcdUrl);
    const cpuBefore = cpuOf(pids);
    const full = await phase(fullTxs, { batch: BATCH, window: WINDOW });
    const cpu = cpuPerTx(cpuBefore, cpuOf(pids), full.succeeded);
    const etcdWork = etcdPerTx(etcdBefore, await etcdCounters(cluster.etcdUrl), full.succeeded);
    console.error(`closed loop: ${full.throughput} tx/s to finality over ${full.seconds} s; half load...`);
    const fixedRate = Number(process.env.CUSTOS_BENCH_RATE);
    const halfRate = fixedRate > 0 ? fixedRate : Math.max(50, Math.round(full.throughput / 2));
    const half = await phase(halfTxs, {
      batch: Math.max(10, Math.round(halfRate / 20)),
      window: Infinity,
      rate: halfRate,
    });
    clearInterval(guard);
    const finality = await Promise.all(peers.map((p) => getJson(`${p.url}/v1/finality`)));
    const common = Math.min(...finality.map((f) => f.final));
    const roots = await Promise.all(peers.map((p) => getJson(`${p.url}/v1/blocks/${common}`)));
    await stopWatch();
    await cluster.stop();
    // The machine is shared: the ceiling is measured again once the peers are gone, and the
    // higher of the two counts (the lower ratio).
    const rawAfter = await rawVerifyRate();
    const raw = Math.max(rawBefore, rawAfter);
    const ceiling = Math.round(raw / PEERS);
    return {
      scenario: 'consortium',
      succeeded: full.succeeded,
      failed: full.failed,
      throughput: full.throughput,
      unit: 'tx/s',
      latency_to: 'finality: a quorum certificate on the submitting peer',
      latency_ms: full.finality_latency_ms,
      ordering_latency_ms: full.ordering_latency_ms,
      commit_latency_ms: full.commit_latency_ms,
      finality_latency_ms: full.finality_latency_ms,
      ceiling: { name: 'ed25519_verify_per_s_all_cores_per_peer', value: ceiling },
      ratio: Math.round((full.throughput / ceiling) * 1000) / 1000,
      machine: machine(),
      peers: PEERS,
      peer_processes: true,
      etcd_members: 1,
      client: `POST /v1/txs/batch?wait=true (${BATCH} per batch, ${WINDOW} in flight, round-robin), then GET /v1/blocks/:height/certificate?wait=true`,
      closed_loop: full,
      cpu_ms_per_tx: cpu,
      etcd_per_tx: etcdWork,
      half_load: { rate: halfRate, ...half },
      raw_verify_per_s: raw,
      raw_verify_samples: [rawBefore, rawAfter],
      single_node_throughput: single,
      ratio_to_single_node: Math.round((full.throughput / single) * 1000) / 1000,
      final_heights: finality.map((f) => f.final),
      same_state_root: new Set(roots.map((b) => b.header?.stateRoot ?? JSON.stringify(b))).size === 1,
      cpu_profiled: profDir !== undefined,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopWatch?.().catch(() => {});
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
