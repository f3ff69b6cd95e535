/**
 * Upgrade with a state migration (issue 14, point 4; docs/contracts.md#upgrades-and-migrations):
 * the activating vote runs the new code's `manifest.migrate` once under gas against the old state;
 * a failed migration leaves the old version in force with its state, recorded with its code.
 */
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Fixture, fixture, tempDir, tx } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractRuntime } from '../src/contracts/runtime.js';
import { codeDigest } from '../src/modules/contract.js';
import { type CallReceipt, type ContractRecord, infoKey, receiptKey } from '../src/modules/contract-state.js';
import { CustosNode } from '../src/node.js';
import { auditChain } from '../src/peer/audit.js';

const V1 = `
exports.add = function (args) {
  const cur = host.get('main/counter') || { n: 0 };
  cur.n += args.n;
  host.put('main/counter', cur);
  return cur.n;
};
`;
const V2 = `
exports.add = function (args) {
  const cur = host.get('main/counter');
  cur.count += args.n;
  cur.history.push(args.n);
  host.put('main/counter', cur);
  return cur.count;
};
exports.migrate = function (args) {
  const old = host.get('main/counter') || { n: 0 };
  host.put('main/counter', { count: old.n, history: [], from: args.fromVersion });
  host.emit({ type: 'migrated', from: args.fromVersion });
  return old.n;
};
`;
const BROKEN = `${V2}\nexports.migrate = function () { host.put('main/counter', { count: -1 }); throw new Error('cannot read the old state'); };`;
const SPIN = `${V2}\nexports.migrate = function () { for (;;) {} };`;

const manifest = (version: string, migrate?: string, maxGas = 2_000_000): { [k: string]: JsonValue } => ({
  name: 'counter',
  version,
  namespaces: ['main'],
  maxGas,
  ...(migrate === undefined ? {} : { migrate }),
});

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let bank: Signer;
const dbPath = () => join(tmp.dir, 'node.db');
let insurer: Signer;

beforeAll(async () => {
  tmp = tempDir();
  fx = fixture(['bank', 'insurer', 'retailer']);
  bank = fx.orgs.bank!;
  insurer = fx.orgs.insurer!;
  node = await CustosNode.open({
    dbPath: dbPath(),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
});

afterAll(async () => {
  await node?.close();
  tmp.cleanup();
});

const send = (s: Signer, type: string, args: { [k: string]: JsonValue }) => node.submitAndWait(tx(s, type, args));
const state = <T>(key: string): T | undefined => {
  const t = node.store.getState(key);
  return t === undefined ? undefined : (JSON.parse(t) as T);
};
const record = () => state<ContractRecord>(infoKey('counter'))!;
const counter = () => state<JsonValue>('contract/counter/main/counter');

/** Proposes `code` and votes it in; returns the deciding vote's txId. */
async function upgrade(code: string, m: { [k: string]: JsonValue }): Promise<string> {
  const p = await send(bank, 'contract.propose', { code, manifest: m, reason: 'upgrade' });
  expect([p.code, p.detail]).toEqual(['OK', undefined]);
  const v = await send(insurer, 'gov.vote', { proposal: p.txId, vote: 'yes' });
  expect(v.code).toBe('OK');
  return v.txId;
}

describe('upgrade with a state migration', () => {
  it('refuses a manifest.migrate that is not a method name', async () => {
    const r = await send(bank, 'contract.propose', { code: V2, manifest: manifest('2.0.0', 'no such'), reason: 'r' });
    expect(r.code).toBe('INVALID_ARGS');
    expect(r.detail).toMatch(/manifest.migrate/);
  });

  it('a failing migration leaves v1 in force with its state, recorded with its code', async () => {
    await upgrade(V1, manifest('1.0.0'));
    expect((await send(bank, 'contract.call', { contract: 'counter', method: 'add', args: { n: 3 } })).code).toBe('OK');
    expect(counter()).toEqual({ n: 3 });
    for (const [code, expected, gas] of [
      [BROKEN, 'CONTRACT_ERROR', 2_000_000],
      [SPIN, 'OUT_OF_GAS', 300_000],
    ] as const) {
      const vote = await upgrade(code, manifest('2.0.0', 'migrate', gas));
      expect(record()).toMatchObject({
        status: 'active',
        version: '1.0.0',
        digest: codeDigest(V1),
        pending: null,
        migration: { decidedBy: vote, digest: codeDigest(code), code: expected },
      });
      expect(state<CallReceipt>(receiptKey(vote))).toMatchObject({ method: 'migrate', code: expected });
      if (expected === 'OUT_OF_GAS') expect(state<CallReceipt>(receiptKey(vote))!.gasUsed).toBe(300_000);
      expect(counter()).toEqual({ n: 3 });
      const r = await send(bank, 'contract.call', { contract: 'counter', method: 'add', args: { n: 1 } });
      expect(r.code).toBe('OK');
      expect(counter()).toEqual({ n: 4 });
      await send(bank, 'contract.call', { contract: 'counter', method: 'add', args: { n: -1 } });
    }
  });

  it('migrates v1 {n} to v2 {count, history} at the activating vote', async () => {
    const vote = await upgrade(V2, manifest('2.0.0', 'migrate'));
    expect(record()).toMatchObject({
      status: 'active',
      version: '2.0.0',
      digest: codeDigest(V2),
      migration: { decidedBy: vote, code: 'OK' },
    });
    expect(counter()).toEqual({ count: 3, history: [], from: '1.0.0' });
    const rc = state<CallReceipt>(receiptKey(vote))!;
    expect(rc).toMatchObject({
      method: 'migrate',
      code: 'OK',
      returnValue: 3,
      events: [{ type: 'migrated', from: '1.0.0' }],
    });
    expect(rc.gasUsed).toBeGreaterThan(0);
    const r = await send(bank, 'contract.call', { contract: 'counter', method: 'add', args: { n: 2 } });
    expect(r.code).toBe('OK');
    expect(counter()).toEqual({ count: 5, history: [2], from: '1.0.0' });
  });

  it('replays the migrations to the same state roots in the audit, on a runtime of its own', async () => {
    const report = auditChain(dbPath(), { contracts: await ContractRuntime.create() });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
