// Scenario `api-load`: the HTTP API under load from autocannon on the same machine, against the
// node's in-process throughput measured in the same run (DESIGN.md section 10: the API keeps at
// least 0.6 of it). A real node listens on loopback in a child process, so the load generator
// (this process) and the server do not share an event loop. Phases: in-process ceiling (drive),
// batches of 500 signed transactions (POST /v1/txs/batch?wait=true: committed tx/s), single
// transactions (POST /v1/txs: 202s, then committed tx/s), and reads (GET /v1/blocks/latest,
// GET /v1/txs/:txId: req/s). Every write carries distinct pre-signed transactions, serialised before
// the load starts (setupRequest picks the next body). The machine is shared, so in-process, HTTP
// batch and HTTP single rounds alternate and each side's best round is compared (`rounds` in the
// result lists them all). Each single round also reports the server main thread's CPU per request
// (`main_thread_us_per_tx`, from /proc), the figure a busy machine disturbs least.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import {
  CustosNode,
  createServer,
  exampleProfile,
  listen,
  makeGenesis,
  nativeSigner,
} from '../packages/node/dist/index.js';
import { didFromPublicKey, randomSecretKey, signTx } from '../packages/protocol/dist/index.js';
import { mainThreadCpuMs, mainThreadUsPerTx } from './_cpu.mjs';
import { drive } from './_drive.mjs';
import { latencySummary, machine } from './_stats.mjs';

const BATCH = 500;
const SELF = fileURLToPath(import.meta.url);

function makeTxs(count, signers, tag) {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) =>
    signTx(
      {
        chainId: 'bench',
        type: 'kv.put',
        args: { ns: `n${i % signers.length}`, key: `${tag}${i}`, value: i },
        now,
        ttlMs: 3_000_000,
      },
      signers[i % signers.length],
    ),
  );
}

function genesisFor(org) {
  return makeGenesis({
    chainId: 'bench',
    time: Date.now() - 1000,
    members: [
      { id: 'org', name: 'Bench org', keys: [didFromPublicKey(org.publicKey)], profile: exampleProfile('org') },
    ],
    params: { blockMaxTxs: 2000, blockMaxMs: 10 },
  });
}

async function openNode(dir, org) {
  return CustosNode.open({
    dbPath: join(dir, 'node.db'),
    genesis: genesisFor(org),
    signers: [org],
    maxPending: 1_000_000,
  });
}

// ---- server role (child process) --------------------------------------------------------------

async function serve() {
  const dir = mkdtempSync(join(tmpdir(), 'custos-api-load-'));
  const node = await openNode(dir, nativeSigner(randomSecretKey()));
  const app = createServer(node, { rateLimit: false });
  const url = await listen(app, { host: '127.0.0.1', port: 0 });
  process.on('message', async (m) => {
    if (m.cmd === 'facts') {
      const head = node.latest();
      process.send({
        facts: { height: head.height, logSize: head.logSize, pending: node.pendingCount(), cpuMs: mainThreadCpuMs() },
      });
    } else if (m.cmd === 'stop') {
      await app.close();
      await node.close();
      rmSync(dir, { recursive: true, force: true });
      process.send({ stopped: true }, () => process.exit(0));
    }
  });
  process.send({ url });
}

// ---- load generator role ----------------------------------------------------------------------

/**
 * `--server-cpu-prof=<dir>` runs the server under `node --cpu-prof`: its main thread's profile
 * (and one per worker) lands in `<dir>` when the run ends (docs/performance.md, "HTTP single route").
 */
function serverExecArgv() {
  const flag = process.argv.find((a) => a.startsWith('--server-cpu-prof='));
  if (flag === undefined) return process.execArgv;
  return [...process.execArgv, '--cpu-prof', '--cpu-prof-dir', flag.slice('--server-cpu-prof='.length)];
}

function startServer() {
  const child = fork(SELF, [], {
    env: { ...process.env, CUSTOS_API_LOAD_ROLE: 'server' },
    execArgv: serverExecArgv(),
    stdio: 'inherit',
  });
  const waiters = [];
  child.on('message', (m) => waiters.shift()?.(m));
  const ask = (msg) =>
    new Promise((resolve) => {
      waiters.push(resolve);
      if (msg !== undefined) child.send(msg);
    });
  return {
    child,
    ready: ask(),
    facts: async () => (await ask({ cmd: 'facts' })).facts,
    stop: () => ask({ cmd: 'stop' }),
  };
}

/**
 * Runs autocannon, collecting every response's latency (ms) and status, and `lastAt`, when the last
 * response arrived (performance.now()): autocannon resolves only at its next 1-second sample tick
 * after it, so timing a fixed `amount` by its resolution adds up to a second to the run.
 * `onAll` is called when `expect` responses have arrived.
 */
async function load(opts, { expect, onAll } = {}) {
  const latencies = [];
  const statuses = {};
  let lastAt = performance.now();
  const instance = autocannon({ ...opts, timeout: 60 });
  instance.on('response', (_client, status, _bytes, ms) => {
    latencies.push(ms);
    statuses[status] = (statuses[status] ?? 0) + 1;
    lastAt = performance.now();
    if (latencies.length === expect) onAll?.();
  });
  const result = await instance;
  return { result, latencies, statuses, lastAt };
}

/** Polls the server until `logSize` reaches `target`; resolves to the time it did (performance.now()). */
async function committedBy(server, target, deadlineMs = 120_000) {
  const until = performance.now() + deadlineMs;
  for (;;) {
    const f = await server.facts();
    if (f.logSize >= target) return performance.now();
    if (performance.now() > until) throw new Error(`only ${f.logSize} of ${target} transactions committed`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const round = (x) => Math.round(x);

/** Committed tx/s of `txs` through a fresh node in this process (no HTTP), after a warm-up. */
async function inProcess(txs, warm) {
  const dir = mkdtempSync(join(tmpdir(), 'custos-api-load-'));
  try {
    const node = await openNode(dir, nativeSigner(randomSecretKey()));
    await drive(node, warm);
    const cpu0 = mainThreadCpuMs();
    const r = await drive(node, txs);
    const cpuUs = mainThreadUsPerTx(cpu0, mainThreadCpuMs(), r.sent);
    await node.close();
    return { ...r, throughput: (r.sent - r.failed) / r.seconds, main_thread_us_per_tx: cpuUs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const chunk = (txs) =>
  Array.from({ length: Math.ceil(txs.length / BATCH) }, (_, i) => txs.slice(i * BATCH, (i + 1) * BATCH));

function batchRequests(bodies, onResponse) {
  let next = 0;
  return [
    {
      method: 'POST',
      path: '/v1/txs/batch?wait=true',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: bodies[Math.min(next++, bodies.length - 1)] }),
      ...(onResponse === undefined ? {} : { onResponse }),
    },
  ];
}

/** Committed tx/s of `txs` sent as batches of 500 to POST /v1/txs/batch?wait=true over 16 connections. */
async function httpBatches(server, url, txs) {
  const bodies = chunk(txs).map((b) => JSON.stringify(b));
  let itemErrors = 0;
  const before = await server.facts();
  const t0 = performance.now();
  const r = await load({
    url,
    connections: 16,
    amount: bodies.length,
    requests: batchRequests(bodies, (status, body) => {
      itemErrors += status === 200 ? body.split('"error"').length - 1 : BATCH;
    }),
  });
  // Answered at commit (?wait=true): the last answer is the last commit.
  const seconds = (r.lastAt - t0) / 1000;
  const committed = (await server.facts()).logSize - before.logSize;
  return { ...r, itemErrors, committed, seconds, throughput: committed / seconds };
}

/**
 * Committed tx/s of `bodies` (pre-serialised signed transactions, as the batch bodies are, so that
 * the load generator's own JSON.stringify does not take the shared cores) sent one per request to
 * POST /v1/txs over 64 connections: 202s on admission, then the time until the last one commits.
 */
async function httpSingles(server, url, bodies) {
  let next = 0;
  const before = await server.facts();
  let committed;
  const s0 = performance.now();
  const r = await load(
    {
      url,
      connections: 64,
      amount: bodies.length,
      requests: [
        {
          method: 'POST',
          path: '/v1/txs',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: bodies[Math.min(next++, bodies.length - 1)] }),
        },
      ],
    },
    // Polling for the commits starts with the last 202, not a sample tick later.
    { expect: bodies.length, onAll: () => (committed = committedBy(server, before.logSize + bodies.length)) },
  );
  const admittedSeconds = (r.lastAt - s0) / 1000;
  const done = await (committed ?? committedBy(server, before.logSize + bodies.length));
  const seconds = (done - s0) / 1000;
  const after = await server.facts();
  return {
    ...r,
    admitted_per_s: bodies.length / admittedSeconds,
    seconds,
    throughput: bodies.length / seconds,
    // The server's main thread from the first request to the last commit (the polls cost little).
    main_thread_us_per_tx: mainThreadUsPerTx(before.cpuMs, after.cpuMs, bodies.length),
    txs_per_block: (after.logSize - before.logSize) / Math.max(1, after.height - before.height),
  };
}

export async function run({ quick = false } = {}) {
  // The machine is shared (and the load generator shares it too): the in-process and HTTP phases
  // alternate, and each side's best round is compared, so a burst of other work hurts neither alone.
  const rounds = quick ? 2 : 3;
  const count = quick ? 15_000 : 40_000;
  const singles = quick ? 5_000 : 20_000;
  const readSeconds = quick ? 3 : 8;
  const signers = Array.from({ length: 64 }, () => nativeSigner(randomSecretKey()));
  console.error(`signing ${rounds * (2 * count + singles) + 6000} transactions...`);
  const inprocTxs = Array.from({ length: rounds }, (_, r) => makeTxs(count, signers, `i${r}-`));
  const batchTxs = Array.from({ length: rounds }, (_, r) => makeTxs(count, signers, `b${r}-`));
  const singleBodies = Array.from({ length: rounds }, (_, r) =>
    makeTxs(singles, signers, `s${r}-`).map((tx) => JSON.stringify(tx)),
  );
  const warmTxs = makeTxs(6000, signers, 'w');

  const server = startServer();
  const { url } = await server.ready;
  console.error(`node listening on ${url}`);
  try {
    // Warm-up of the server: JIT, sockets, SQLite cache.
    const warm = chunk(warmTxs.slice(3000)).map((b) => JSON.stringify(b));
    await load({ url, connections: 2, amount: warm.length, requests: batchRequests(warm) });

    const inproc = [];
    const batches = [];
    const singleRuns = [];
    for (let r = 0; r < rounds; r++) {
      inproc.push(await inProcess(inprocTxs[r], warmTxs.slice(0, 3000)));
      batches.push(await httpBatches(server, url, batchTxs[r]));
      singleRuns.push(await httpSingles(server, url, singleBodies[r]));
      console.error(
        `round ${r + 1}: in process ${round(inproc[r].throughput)} tx/s, HTTP batches ${round(batches[r].throughput)} tx/s, HTTP singles ${round(singleRuns[r].throughput)} tx/s (${round(singleRuns[r].admitted_per_s)} req/s admitted, ${singleRuns[r].main_thread_us_per_tx} µs of the server's main thread per request)`,
      );
    }
    const best = (list) => list.reduce((a, b) => (b.throughput > a.throughput ? b : a));
    const ceilingRun = best(inproc);
    const batch = best(batches);
    const ceiling = ceilingRun.throughput;
    const batchTps = batch.throughput;
    const single = best(singleRuns);

    // 4. Reads.
    const latestBlock = await load({
      url,
      connections: 16,
      duration: readSeconds,
      requests: [{ method: 'GET', path: '/v1/blocks/latest' }],
    });
    const txIds = await fetchIds(url, 5000);
    let nextRead = 0;
    const txRead = await load({
      url,
      connections: 16,
      duration: readSeconds,
      requests: [
        { method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/txs/${txIds[nextRead++ % txIds.length]}` }) },
      ],
    });
    const reads = (r) => ({
      requests: r.result.requests.total,
      non_2xx: r.result.non2xx,
      errors: r.result.errors,
      throughput: round(r.result.requests.total / r.result.duration),
      unit: 'req/s',
      latency_ms: latencySummary(r.latencies),
    });

    const failed = batch.itemErrors + Math.max(count - batch.committed, 0);
    return {
      scenario: 'api-load',
      succeeded: batch.committed - Math.min(batch.itemErrors, batch.committed),
      failed,
      send_rate: round(count / batch.result.duration),
      throughput: round(batchTps),
      unit: 'tx/s',
      latency_ms: latencySummary(batch.latencies),
      ceiling: { name: 'in_process_tx_per_s', value: round(ceiling) },
      ratio: Math.round((batchTps / ceiling) * 1000) / 1000,
      machine: machine(),
      load_generator: 'autocannon in the parent process; node and server in a child process; loopback',
      method: `best of ${rounds} alternating rounds: ${count} transactions in process, ${count} in HTTP batches, ${singles} as single HTTP requests`,
      rounds: inproc.map((r, i) => ({
        in_process_tx_per_s: round(r.throughput),
        http_batch_tx_per_s: round(batches[i]?.throughput ?? 0),
        http_single_tx_per_s: round(singleRuns[i]?.throughput ?? 0),
        single_ratio: Math.round(((singleRuns[i]?.throughput ?? 0) / r.throughput) * 1000) / 1000,
        in_process_main_thread_us_per_tx: r.main_thread_us_per_tx,
        single_main_thread_us_per_tx: singleRuns[i]?.main_thread_us_per_tx ?? null,
      })),
      batch: {
        route: 'POST /v1/txs/batch?wait=true',
        txs_per_request: BATCH,
        connections: 16,
        requests: batch.result.requests.total,
        statuses: batch.statuses,
        request_latency_ms: latencySummary(batch.latencies),
      },
      single: {
        route: 'POST /v1/txs',
        connections: 64,
        txs_per_round: singles,
        requests: single.result.requests.total,
        statuses: single.statuses,
        admitted_per_s: round(single.admitted_per_s),
        committed_tx_per_s: round(single.throughput),
        ratio_to_in_process: Math.round((single.throughput / ceiling) * 1000) / 1000,
        main_thread_us_per_tx: single.main_thread_us_per_tx,
        txs_per_block: round(single.txs_per_block),
        latency_ms: latencySummary(single.latencies),
      },
      reads: {
        'GET /v1/blocks/latest': { ...reads(latestBlock), txs_in_block: await latestTxCount(url) },
        'GET /v1/txs/:txId': reads(txRead),
      },
      in_process: {
        txs: ceilingRun.sent,
        failed: ceilingRun.failed,
        throughput: round(ceiling),
        main_thread_us_per_tx: ceilingRun.main_thread_us_per_tx,
        latency_ms: latencySummary(ceilingRun.latencies),
      },
    };
  } finally {
    await server.stop();
  }
}

/** Ids of committed transactions, read from the latest blocks. */
async function fetchIds(url, want) {
  const ids = [];
  let before;
  while (ids.length < want) {
    const page = await (await fetch(`${url}/v1/blocks?limit=20${before ? `&before=${before}` : ''}`)).json();
    for (const b of page.blocks) {
      const block = await (await fetch(`${url}/v1/blocks/${b.height}`)).json();
      ids.push(...block.txIds);
    }
    if (page.next === null) break;
    before = page.next;
  }
  return ids.slice(0, want);
}

async function latestTxCount(url) {
  const b = await (await fetch(`${url}/v1/blocks/latest`)).json();
  return b.header.txCount;
}

if (process.env.CUSTOS_API_LOAD_ROLE === 'server') {
  await serve();
} else if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
