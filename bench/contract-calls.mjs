// Scenario `contract-calls`: signed `contract.call` transactions through the whole node path
// (admission, parallel signature verification, solo ordering, execution in the contract runtime,
// durable SQLite commit), to a loyalty-points contract proposed and voted active through the real
// lifecycle (each call: one host.get, one host.put, one host.emit). Two ceilings are measured in
// the same run: (a) the raw QuickJS call rate, the same method run directly through the contract
// runtime on the same state shape, on ONE thread (the node runs contract calls synchronously in
// block execution on its main thread: a call never uses a second core); (b) the raw Ed25519 verify
// rate on all cores (_ceiling.mjs). The raw call rate is measured before and after the node run
// (the machine is shared) and its mean is the ceiling. ratio = throughput / min(a, b). Closed loop
// with 500 calls in flight (a second or two of calls: the latency of a loaded node, not of a queue).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractRuntime } from '../packages/node/dist/contracts/runtime.js';
import { CustosNode, makeGenesis, nativeSigner } from '../packages/node/dist/index.js';
import { didFromPublicKey, randomSecretKey, signTx, txIdOf } from '../packages/protocol/dist/index.js';
import { rawVerifyRate } from './_ceiling.mjs';
import { mainThreadCpuMs, mainThreadUsPerTx } from './_cpu.mjs';
import { drive } from './_drive.mjs';
import { latencySummary, machine } from './_stats.mjs';

const CONTRACT = 'loyalty';
const CODE = `
exports.earn = function (args, call) {
  const key = 'pts/' + args.account;
  const cur = host.get(key) || { points: 0, visits: 0 };
  cur.points += args.n;
  cur.visits += 1;
  host.put(key, cur);
  host.emit({ type: 'earned', account: args.account, n: args.n });
  return cur.points;
};
exports.balance = function (args) {
  const cur = host.get('pts/' + args.account);
  return cur ? cur.points : 0;
};
`;
const MANIFEST = {
  name: CONTRACT,
  version: '1.0.0',
  namespaces: ['pts'],
  grants: [],
  categories: [],
  purposes: [],
  maxGas: 2_000_000,
};
const ACCOUNTS = 1000;
const KEYS_PER_ORG = 8;

const callArgs = (i) => ({ account: `acct-${i % ACCOUNTS}`, n: 1 + (i % 7) });

function makeCalls(count, signers, offset = 0) {
  const now = Date.now();
  return Array.from({ length: count }, (_, j) => {
    const i = offset + j;
    return signTx(
      {
        chainId: 'bench',
        type: 'contract.call',
        args: { contract: CONTRACT, method: 'earn', args: callArgs(i) },
        now,
        ttlMs: 3_000_000,
      },
      signers[i % signers.length],
    );
  });
}

async function openNode(dir) {
  const orgs = ['a', 'b'].map((id) => ({
    id,
    keys: Array.from({ length: KEYS_PER_ORG }, () => nativeSigner(randomSecretKey())),
  }));
  const genesis = makeGenesis({
    chainId: 'bench',
    members: orgs.map((o) => ({
      id: o.id,
      name: `Bench org ${o.id}`,
      keys: o.keys.map((k) => didFromPublicKey(k.publicKey)),
    })),
    params: { blockMaxTxs: 2000, blockMaxMs: 10 },
  });
  const node = await CustosNode.open({
    dbPath: join(dir, 'node.db'),
    genesis,
    signers: [orgs[0].keys[0]],
    maxPending: 1_000_000,
  });
  return { node, signers: orgs.flatMap((o) => o.keys), a: orgs[0].keys[0], b: orgs[1].keys[0] };
}

/** Proposes the contract (risk check, dry run) and votes it active: the real lifecycle. */
async function activate(node, a, b) {
  const send = async (s, type, args) => {
    const r = await node.submitAndWait(signTx({ chainId: 'bench', type, args, ttlMs: 600_000 }, s));
    if (r.code !== 'OK') throw new Error(`${type}: ${r.code} ${r.detail ?? ''}`);
    return r;
  };
  const tests = [{ method: 'earn', args: { account: 'acct-0', n: 1 }, caller: 'a' }];
  const p = await send(a, 'contract.propose', {
    code: CODE,
    manifest: MANIFEST,
    tests,
    reason: 'contract-calls bench',
  });
  await send(b, 'gov.vote', { proposal: p.txId, vote: 'yes' });
  // Active from the height after the vote: one more block.
  await send(a, 'kv.put', { ns: 'bench', key: 'tick', value: 1 });
}

/**
 * Ceiling (a): the same method through the contract runtime directly, on one thread, on the same
 * state shape (ACCOUNTS accounts, values as the node stores them, writes applied between calls).
 * Returns calls/s and the gas of each call (checked constant per argument shape).
 */
function rawCallRate(runtime, { ms }) {
  const state = new Map();
  const prefix = `contract/${CONTRACT}/`;
  const gas = new Map();
  const one = (i) => {
    const r = runtime.call({
      contract: CONTRACT,
      code: CODE,
      manifest: MANIFEST,
      method: 'earn',
      args: callArgs(i),
      caller: 'did:key:bench',
      height: 10 + i,
      time: 1_700_000_000_000 + i,
      gasLimit: 20_000_000,
      state: { get: (k) => state.get(k), range: () => [] },
    });
    if (!r.ok) throw new Error(`raw call failed: ${r.code} ${r.error}`);
    for (const [k, v] of r.writes) state.set(k, v);
    gas.set(r.gasUsed, (gas.get(r.gasUsed) ?? 0) + 1);
    return r;
  };
  // Warm-up, and the state shape the node run reaches: every account written once.
  for (let i = 0; i < ACCOUNTS; i++) one(i);
  if (![...state.keys()].every((k) => k.startsWith(prefix))) throw new Error('unexpected state keys');
  gas.clear();
  let n = 0;
  const t0 = performance.now();
  const until = t0 + ms;
  while (performance.now() < until) {
    for (let j = 0; j < 50; j++) one(ACCOUNTS + n + j);
    n += 50;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { rate: Math.round(n / seconds), gas };
}

export async function run({ quick = false } = {}) {
  const count = quick ? 6_000 : 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-'));
  try {
    console.error('measuring the raw Ed25519 verify ceiling on all cores...');
    const verifyCeiling = await rawVerifyRate({ ms: quick ? 2000 : 3000 });
    console.error(`verify ceiling ${verifyCeiling}/s; raw QuickJS call rate on one thread...`);
    const runtime = await ContractRuntime.create();
    const rawBefore = rawCallRate(runtime, { ms: quick ? 2000 : 4000 });
    console.error(`raw call rate ${rawBefore.rate} calls/s (gas per call: ${[...rawBefore.gas.keys()].join(', ')})`);

    const { node, signers, a, b } = await openNode(dir);
    await activate(node, a, b);
    // Warm-up: JIT, worker start, SQLite cache, every account written once.
    await drive(node, makeCalls(ACCOUNTS, signers, 0));
    const txs = makeCalls(count, signers, ACCOUNTS);
    const cpu0 = mainThreadCpuMs();
    const full = await drive(node, txs, { window: 500 });
    const cpu1 = mainThreadCpuMs();
    const committed = full.sent - full.failed;
    const throughput = committed / full.seconds;
    console.error(`saturated: ${Math.round(throughput)} calls/s over ${full.seconds.toFixed(2)} s`);
    // Gas per call from the receipts on the ledger (a sample), against the raw run's.
    const receiptGas = new Map();
    for (const t of txs.slice(0, 200)) {
      const text = node.store.getState(`contract-receipt/${txIdOf(t.body)}`);
      if (text === undefined) continue;
      const g = JSON.parse(text).gasUsed;
      receiptGas.set(g, (receiptGas.get(g) ?? 0) + 1);
    }
    await node.close();
    // The raw rate again after the node run: the machine is shared, so the ceiling is the mean of
    // the rate measured just before and just after the run it bounds.
    const rawAfter = rawCallRate(runtime, { ms: quick ? 2000 : 4000 });
    const raw = { rate: Math.round((rawBefore.rate + rawAfter.rate) / 2), gas: rawBefore.gas };
    console.error(`raw call rate after the run ${rawAfter.rate} calls/s`);

    const ceiling = Math.min(raw.rate, verifyCeiling);
    return {
      scenario: 'contract-calls',
      succeeded: committed,
      failed: full.failed,
      send_rate: Math.round(full.sent / full.seconds),
      throughput: Math.round(throughput),
      unit: 'contract calls/s',
      latency_ms: latencySummary(full.latencies),
      gas_per_call: [...raw.gas.keys()].sort((x, y) => x - y),
      gas_per_call_receipts: [...receiptGas.keys()].sort((x, y) => x - y),
      ceilings: {
        quickjs_calls_per_s_one_thread: raw.rate,
        quickjs_calls_per_s_one_thread_before_after: [rawBefore.rate, rawAfter.rate],
        ed25519_verify_per_s_all_cores: verifyCeiling,
      },
      ceiling: {
        name: raw.rate <= verifyCeiling ? 'quickjs_calls_per_s_one_thread' : 'ed25519_verify_per_s_all_cores',
        value: ceiling,
      },
      ratio: Math.round((throughput / ceiling) * 1000) / 1000,
      main_thread_us_per_tx: mainThreadUsPerTx(cpu0, cpu1, committed),
      machine: machine(),
      contract: { method: 'earn', host_calls: ['get', 'put', 'emit'], accounts: ACCOUNTS },
      durability: 'sqlite WAL, acknowledged after the WAL fsync (shared by the blocks committed meanwhile)',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
