// The Custos-only side of the `cross-platform` scenario (its ceiling) and the helpers both sides
// share: a chain of the given members in this process, a transaction submitted and checked, the
// transactions a chain committed by type.
import { join } from 'node:path';
import { CustosNode, exampleProfile, makeGenesis, memberSetOf, nativeSigner } from '../packages/node/dist/index.js';
import { nodeEndpoint } from '../packages/node/dist/interop/endpoint.js';
import { Relayer } from '../packages/node/dist/interop/relayer.js';
import { didFromPublicKey, randomSecretKey, signRegistration, signTx } from '../packages/protocol/dist/index.js';
import { buildXtx, xtxPrepareTx } from '../packages/sdk/dist/index.js';
import { blockWaiter, closedLoop } from './_closed-loop.mjs';

const PARAMS = { blockMaxTxs: 2000, blockMaxMs: 5 };
/** The pause of the relayer's and the duties' loops between passes (the least `evm.json` takes). */
export const LOOP_MS = 100;
/**
 * Blocks of D before a transaction's deadline: far enough that none lapses with 800 in flight
 * (D commits a block every few milliseconds under load, and a transaction's latency grows with N),
 * within the ledger's bound of 10,000.
 */
export const D_DEADLINE_BLOCKS = 9000;

export async function openChain(dir, chainId, orgIds) {
  const orgs = Object.fromEntries(orgIds.map((o) => [o, nativeSigner(randomSecretKey())]));
  const genesis = makeGenesis({
    chainId,
    members: orgIds.map((id) => ({
      id,
      name: `${id} of ${chainId}`,
      keys: [didFromPublicKey(orgs[id].publicKey)],
      profile: exampleProfile(id),
    })),
    params: PARAMS,
  });
  const node = await CustosNode.open({ dbPath: join(dir, `${chainId}.db`), genesis, signers: Object.values(orgs) });
  return { chainId, node, genesis, orgs };
}

export async function ok(node, tx, what) {
  const r = await node.submitAndWait(tx);
  if (r.code !== 'OK') throw new Error(`${what}: ${r.code}`);
}

export const state = (node, key) => JSON.parse(node.store.getState(key) ?? 'null');

/** The transactions `node` committed after height `from`, counted by type. */
export function txTypes(node, from) {
  const out = {};
  for (let h = from + 1; h <= node.latest().height; h++) {
    for (const tx of node.store.getBlock(h)?.txs ?? []) {
      if (tx !== null) out[tx.body.type] = (out[tx.body.type] ?? 0) + 1;
    }
  }
  return out;
}

/** `types` per transaction: the total and each type, to one decimal. */
export function perTx(types, count) {
  const round = (x) => Math.round((x / count) * 10) / 10;
  const total = Object.values(types).reduce((s, n) => s + n, 0);
  return { total: round(total), ...Object.fromEntries(Object.entries(types).map(([k, n]) => [k, round(n)])) };
}

/**
 * Custos-only over two chains A and B, each transaction a kv.put on both: `count` one at a time
 * (relayer passes back to back), then for each `{ inFlight, total }` of `sweep` a closed loop with
 * the relayer as its own loop. Resolves with the one-at-a-time latencies and one point per sweep.
 */
export async function custosOnly(dir, count, sweep) {
  const a = await openChain(dir, 'ceil-a', ['org']);
  const b = await openChain(dir, 'ceil-b', ['org']);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ]) {
    const remote = { chainId: y.chainId, members: memberSetOf(y.genesis) };
    const args = { chain: remote, cosignatures: [signRegistration(x.chainId, remote, x.orgs.org)] };
    await ok(x.node, signTx({ chainId: x.chainId, type: 'interop.register', args }, x.orgs.org), 'register');
  }
  const relayer = new Relayer({
    chains: [nodeEndpoint(a.node), nodeEndpoint(b.node)],
    signer: nativeSigner(randomSecretKey()),
  });
  const client = nativeSigner(randomSecretKey());
  const xtxOf = (ns, i) =>
    buildXtx({
      decisionChain: a.chainId,
      deadlineHeight: a.node.latest().height + D_DEADLINE_BLOCKS,
      ops: [a, b].map((c) => ({
        chainId: c.chainId,
        type: 'kv.put',
        args: { ns, key: `k${i}`, value: i },
        signer: a.orgs.org,
      })),
    });
  const committed = (c, xtxId) => state(c.node, `xtx/${xtxId}`)?.status === 'committed';
  const latencies = [];
  for (let i = 0; i < count; i++) {
    const { xtx, xtxId } = xtxOf('x', i);
    const t0 = performance.now();
    await ok(a.node, xtxPrepareTx(xtx, a.chainId, client), 'prepare');
    while (!committed(a, xtxId) || !committed(b, xtxId)) await relayer.step();
    latencies.push(performance.now() - t0);
  }
  const stop = new AbortController();
  const loop = relayer.run({ intervalMs: LOOP_MS, signal: stop.signal });
  const [wa, wb] = [blockWaiter(a.node), blockWaiter(b.node)];
  const points = [];
  try {
    for (const { inFlight, total } of sweep) {
      const steady = await closedLoop({
        total,
        inFlight,
        one: async (i) => {
          const { xtx, xtxId } = xtxOf(`z${inFlight}`, i);
          await ok(a.node, xtxPrepareTx(xtx, a.chainId, client), 'prepare');
          await wa.until(() => committed(a, xtxId), xtxId);
          await wb.until(() => committed(b, xtxId), xtxId);
        },
      });
      points.push({ inFlight, total, ...steady });
      console.error(`custos-only: ${inFlight} in flight, ${steady.throughput.toFixed(1)} tx/s`);
    }
  } finally {
    stop.abort();
    await loop;
    wa.close();
    wb.close();
    await a.node.close();
    await b.node.close();
  }
  return { latencies, points };
}
