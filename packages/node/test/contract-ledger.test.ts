/**
 * Contracts on the ledger (issue 14, part 2): proposed with code and manifest, approved by member
 * votes, called inside block execution with deterministic gas, paused at once by a third of the
 * members, resumed, upgraded and removed by vote; every call leaves its receipt, failed ones too.
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RiskReport } from '../src/contracts/risk-check.js';
import { ContractRuntime } from '../src/contracts/runtime.js';
import { proposalKey } from '../src/governance/state.js';
import { codeDigest } from '../src/modules/contract.js';
import { type CallReceipt, type ContractRecord, codeKey, infoKey, receiptKey } from '../src/modules/contract-state.js';
import { CustosNode } from '../src/node.js';
import { auditChain } from '../src/peer/audit.js';

const COUNTER = `
exports.add = function (args, call) {
  const cur = host.get('main/total') || { n: 0 };
  cur.n += args.n;
  host.put('main/total', cur);
  host.emit({ type: 'added', n: args.n });
  return cur.n;
};
exports.who = function (args, call) { return call.caller; };
exports.spin = function () { for (;;) {} };
exports.boom = function () { host.put('main/total', { n: -1 }); throw new Error('refused by the contract'); };
`;
const COUNTER_V2 = `${COUNTER}\nexports.version = function () { return 2; };`;

const manifest = (version = '1.0.0'): { [k: string]: JsonValue } => ({
  name: 'counter',
  version,
  namespaces: ['main'],
  grants: [],
  categories: [],
  purposes: [],
  maxGas: 2_000_000,
});

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let dbPath: string;
let bank: Signer;
let insurer: Signer;
let retailer: Signer;

beforeAll(async () => {
  tmp = tempDir();
  fx = fixture(['bank', 'insurer', 'retailer']);
  bank = fx.orgs.bank!;
  insurer = fx.orgs.insurer!;
  retailer = fx.orgs.retailer!;
  dbPath = join(tmp.dir, 'node.db');
  node = await CustosNode.open({ dbPath, genesis: fx.genesis, signers: Object.values(fx.orgs), verifyThreads: 1 });
});

afterAll(async () => {
  await node?.close();
  tmp.cleanup();
});

const send = (s: Signer, type: string, args: { [k: string]: JsonValue }) => node.submitAndWait(tx(s, type, args));
const call = (method: string, args: JsonValue = {}, gas?: number) =>
  send(retailer, 'contract.call', { contract: 'counter', method, args, ...(gas === undefined ? {} : { gas }) });
const state = <T>(key: string): T | undefined => {
  const t = node.store.getState(key);
  return t === undefined ? undefined : (JSON.parse(t) as T);
};
const record = () => state<ContractRecord>(infoKey('counter'))!;
const receipt = (txId: string) => state<CallReceipt>(receiptKey(txId))!;

describe('contract lifecycle on a running peer', () => {
  let proposal = '';

  it('stores proposed code by digest and opens a gov proposal; calls are refused until activation', async () => {
    const tests = [{ method: 'add', args: { n: 1 }, caller: 'bank' }];
    const r = await send(bank, 'contract.propose', { code: COUNTER, manifest: manifest(), tests, reason: 'counter' });
    expect([r.code, r.detail]).toEqual(['OK', undefined]);
    proposal = r.txId;
    const digest = codeDigest(COUNTER);
    const stored = state<{ code: string; risk: RiskReport }>(codeKey(digest))!;
    expect(stored.code).toBe(COUNTER);
    // The risk check ran before any vote and its report is on the ledger: the dry run of the
    // declared test passed, the endless loop of `spin` is flagged.
    expect(stored.risk.codeDigest).toBe(digest);
    expect(stored.risk.dryRun).toEqual([expect.objectContaining({ method: 'add', code: 'OK', writes: 1, events: 1 })]);
    expect(stored.risk.findings.map((f) => f.rule)).toContain('unbounded-loop');
    expect(stored.risk.passed).toBe(false);
    expect(record()).toMatchObject({ status: 'proposed', digest: null, pending: { digest, proposal } });
    expect(state<{ status: string; action: JsonValue }>(proposalKey(proposal))).toMatchObject({
      status: 'open',
      action: { kind: 'contract.activate', contract: 'counter', digest, at: 0 },
    });
    const early = await call('add', { n: 1 });
    expect(early.code).toBe('CONTRACT_NOT_ACTIVE');
  });

  it('refuses bad input with what was expected', async () => {
    const bad = await send(bank, 'contract.propose', { code: COUNTER, manifest: { name: 'X' }, reason: 'r' });
    expect(bad.code).toBe('INVALID_ARGS');
    expect(bad.detail).toMatch(/manifest/);
    const outsider = await send(fx.orgs.bank!, 'contract.propose', { code: '', manifest: manifest(), reason: 'r' });
    expect(outsider.code).toBe('INVALID_ARGS');
    expect(outsider.detail).toMatch(/args.code/);
  });

  it('activates on the majority vote, from the next height', async () => {
    const v = await send(insurer, 'gov.vote', { proposal, vote: 'yes' });
    expect(v.code).toBe('OK');
    expect(record()).toMatchObject({ status: 'active', digest: codeDigest(COUNTER), version: '1.0.0', pending: null });
    expect(record().activeFrom).toBe(v.height + 1);
    const r = await call('add', { n: 5 });
    expect(r.code).toBe('OK');
    expect(state(`contract/counter/main/total`)).toEqual({ n: 5 });
    const rc = receipt(r.txId);
    expect(rc).toMatchObject({ contract: 'counter', method: 'add', code: 'OK', returnValue: 5 });
    expect(rc.events).toEqual([{ type: 'added', n: 5 }]);
    expect(rc.gasUsed).toBeGreaterThan(10_000);
    // The contract sees the calling member's id; the receipt keeps the key that signed.
    const who = await call('who');
    expect(receipt(who.txId)).toMatchObject({
      code: 'OK',
      returnValue: 'retailer',
      caller: didFromPublicKey(retailer.publicKey),
    });
  });

  it('records a call that runs out of gas or throws, with its gas, and keeps none of its writes', async () => {
    const oog = await call('spin', {}, 200_000);
    expect(oog.code).toBe('OUT_OF_GAS');
    expect(receipt(oog.txId)).toMatchObject({ code: 'OUT_OF_GAS', gasUsed: 200_000, gasLimit: 200_000 });
    const boom = await call('boom');
    expect(boom.code).toBe('CONTRACT_ERROR');
    expect(boom.detail).toMatch(/refused by the contract/);
    expect(receipt(boom.txId).code).toBe('CONTRACT_ERROR');
    expect(state(`contract/counter/main/total`)).toEqual({ n: 5 });
    expect(record().calls).toBe(4);
    // A key that is no member's is refused before anything runs: no receipt, no call counted.
    const stranger = await send(userSigner(), 'contract.call', { contract: 'counter', method: 'spin' });
    expect(stranger.code).toBe('UNAUTHORIZED');
    expect(state(receiptKey(stranger.txId))).toBeUndefined();
    expect(record().calls).toBe(4);
    // Same call, same state: same gas.
    const a = await call('add', { n: 1 });
    const b = await call('add', { n: 1 });
    expect(receipt(a.txId).gasUsed).toBe(receipt(b.txId).gasUsed);
  });

  it('pauses at once on one member of three, refuses calls, and resumes by majority vote', async () => {
    expect((await send(insurer, 'contract.pause', { contract: 'counter' })).code).toBe('OK');
    expect(record()).toMatchObject({ status: 'paused', pauseVotes: ['insurer'] });
    expect((await call('add', { n: 1 })).code).toBe('CONTRACT_PAUSED');
    const outsider = await send(fx.orgs.retailer!, 'contract.pause', { contract: 'counter' });
    expect(outsider.code).toBe('CONFLICT');
    const p = await send(bank, 'gov.propose', {
      action: { kind: 'contract.resume', contract: 'counter' },
      reason: 'fixed',
    });
    expect(p.code).toBe('OK');
    expect(record().status).toBe('paused');
    await send(retailer, 'gov.vote', { proposal: p.txId, vote: 'yes' });
    expect(record()).toMatchObject({ status: 'active', pauseVotes: [] });
    expect((await call('add', { n: 1 })).code).toBe('OK');
  });

  it('upgrades by vote and keeps the state; removes by vote', async () => {
    const p = await send(retailer, 'contract.propose', { code: COUNTER_V2, manifest: manifest('1.1.0'), reason: 'v2' });
    expect(p.code).toBe('OK');
    expect((await call('version')).code).toBe('CONTRACT_ERROR');
    await send(bank, 'gov.vote', { proposal: p.txId, vote: 'yes' });
    expect(record()).toMatchObject({ status: 'active', version: '1.1.0', digest: codeDigest(COUNTER_V2) });
    const v = await call('version');
    expect(v.code).toBe('OK');
    expect(receipt(v.txId).returnValue).toBe(2);
    expect(state(`contract/counter/main/total`)).toEqual({ n: 8 });

    const rm = await send(bank, 'gov.propose', {
      action: { kind: 'contract.remove', contract: 'counter' },
      reason: 'done',
    });
    await send(insurer, 'gov.vote', { proposal: rm.txId, vote: 'yes' });
    expect(record().status).toBe('removed');
    expect((await call('add', { n: 1 })).code).toBe('CONTRACT_NOT_ACTIVE');
    const again = await send(bank, 'contract.propose', { code: COUNTER, manifest: manifest('2.0.0'), reason: 'again' });
    expect(again.code).toBe('CONFLICT');
  });

  it('replays to the same state roots in the audit, on a runtime of its own', async () => {
    const report = auditChain(dbPath, { contracts: await ContractRuntime.create() });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
