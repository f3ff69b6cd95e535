/**
 * Determinism of contracts on the ledger (issue 14): a 3-member consortium on a real etcd cluster,
 * each peer in this process with its own contract runtime (its own WebAssembly instance), runs a
 * random sequence of contract calls (successes, throws, out-of-gas) submitted to different peers;
 * every peer ends with the same state root and the same receipts, gas included, for every call.
 */
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, tempDir, tx } from '@custos/test-utils/node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsortiumNode } from '../src/consortium/peer-node.js';
import { ContractRuntime } from '../src/contracts/runtime.js';
import { receiptKey } from '../src/modules/contract-state.js';
import type { CustosNode } from '../src/node.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer', 'retailer'];

const LOYALTY = `
exports.earn = function (args, call) {
  const key = 'points/' + args.customer;
  const cur = host.get(key) || { points: 0, history: [] };
  cur.points += args.points;
  cur.history.push(call.height);
  host.put(key, cur);
  host.emit({ type: 'earned', customer: args.customer, points: args.points });
  return cur.points;
};
exports.redeem = function (args) {
  const key = 'points/' + args.customer;
  const cur = host.get(key);
  if (!cur || cur.points < args.points) throw new Error('not enough points');
  cur.points -= args.points;
  host.put(key, cur);
  return cur.points;
};
exports.burn = function (args) {
  let s = '';
  for (let i = 0; i < args.n; i++) s += String(i % 7);
  host.put('points/burn', s.length);
  return s.length;
};
exports.top = function () { return host.range('points/', null, 10).map((e) => e.key); };
`;
const MANIFEST = {
  name: 'loyalty',
  version: '1.0.0',
  namespaces: ['points'],
  grants: [],
  categories: [],
  purposes: [],
  maxGas: 3_000_000,
};

const callArb = fc.oneof(
  fc.record({
    method: fc.constant('earn'),
    args: fc.record({ customer: fc.constantFrom('c1', 'c2', 'c3'), points: fc.integer({ min: 1, max: 50 }) }),
  }),
  fc.record({
    method: fc.constant('redeem'),
    args: fc.record({ customer: fc.constantFrom('c1', 'c2', 'c4'), points: fc.integer({ min: 1, max: 80 }) }),
  }),
  fc.record({ method: fc.constant('burn'), args: fc.record({ n: fc.integer({ min: 0, max: 200_000 }) }) }),
  fc.record({ method: fc.constant('top'), args: fc.constant({}) }),
);

describe.skipIf(!HAVE_ETCD)('contracts on a 3-member consortium', () => {
  let cluster: EtcdCluster;
  const dirs: { cleanup: () => void }[] = [];
  const nodes: CustosNode[] = [];
  const f = fixture(ORGS, { blockMaxTxs: 200, blockMaxMs: 10 });
  const prefix = `/custos/contracts${Date.now()}`;

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
    for (const org of ORGS) {
      const d = tempDir();
      dirs.push(d);
      nodes.push(
        await openConsortiumNode({
          dbPath: join(d.dir, 'node.db'),
          genesis: f.genesis,
          signers: [f.orgs[org]!],
          verifyThreads: 1,
          config: { peerId: org, etcd: { endpoints: cluster.endpoints, prefix }, peers: [] },
          // Each peer its own runtime: nothing shared between peers but the ledger.
          contracts: await ContractRuntime.create(),
        }),
      );
    }
  }, 60_000);

  afterAll(async () => {
    for (const n of nodes) await n.close().catch(() => {});
    await cluster?.close();
    for (const d of dirs) d.cleanup();
  });

  it('gives identical state roots and gas on every peer for random call sequences', async () => {
    const [a, b, c] = nodes as [CustosNode, CustosNode, CustosNode];
    const send = (n: CustosNode, s: Signer, type: string, args: { [k: string]: JsonValue }) =>
      n.submitAndWait(tx(s, type, args));
    const p = await send(a, f.orgs.bank!, 'contract.propose', { code: LOYALTY, manifest: MANIFEST, reason: 'loyalty' });
    expect(p.code).toBe('OK');
    expect((await send(b, f.orgs.insurer!, 'gov.vote', { proposal: p.txId, vote: 'yes' })).code).toBe('OK');
    // One block later the contract is in force.
    await send(c, f.orgs.retailer!, 'kv.put', { ns: 'c', key: 'tick', value: 1 });

    const calls = fc.sample(fc.array(callArb, { minLength: 20, maxLength: 20 }), { numRuns: 1, seed: 14 })[0]!;
    const gases = [undefined, 400_000, 3_000_000];
    const submitted = calls.map((cl, i) =>
      nodes[i % 3]!.submit(
        tx(f.orgs[ORGS[i % 3]!]!, 'contract.call', {
          contract: 'loyalty',
          method: cl.method,
          args: cl.args as JsonValue,
          ...(gases[i % 3] === undefined ? {} : { gas: gases[i % 3]! }),
        }),
      ),
    );
    const results = await Promise.all(submitted.map((s) => s.committed));
    const codes = new Set(results.map((r) => r.code));
    // The sequence exercises success and at least one failure.
    expect(codes.has('OK')).toBe(true);
    expect([...codes].some((code) => code !== 'OK')).toBe(true);
    const top = Math.max(...results.map((r) => r.height));
    await Promise.all(nodes.map((n) => n.waitFinal(top, 30_000)));
    const roots = nodes.map((n) => n.store.getHeader(top)!.header.stateRoot);
    expect(new Set(roots).size).toBe(1);
    for (const r of results) {
      const receipts = nodes.map((n) => n.store.getState(receiptKey(r.txId)));
      expect(receipts[0]).toBeDefined();
      expect(new Set(receipts).size, r.txId).toBe(1);
      expect((JSON.parse(receipts[0]!) as { code: string }).code).toBe(r.code);
    }
  }, 120_000);
});
