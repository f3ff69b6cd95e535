/**
 * Procedure and automated decisions as the ledger enforces them: the CCPA's confirmation of receipt
 * within 10 business days and its 15 business days for an opt-out (regulations 7021(a), 7026(f)), and
 * GDPR Art. 22: purposes served by automated decisions declared on the record, on the bases Art.
 * 22(2) allows, with explicit consent at each use, and a request for a person to review them.
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DataRecord, recordKey } from '../src/modules/data.js';
import { type DataRequest, isAckOverdue, requestKey } from '../src/modules/request.js';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';

const DAY = 86_400_000;
/** The next Monday, 10:00 UTC, after now (block times never go back before the genesis). */
const MONDAY = (() => {
  const d = new Date(Date.now() + DAY);
  const t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 10);
  return t + ((8 - new Date(t).getUTCDay()) % 7) * DAY;
})();
let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let clock: number;
let alice: Signer;
let aliceDid: string;

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(signTx({ chainId: 'test', type, args, now: clock }, signer));
}

async function open(kind: string, jurisdiction: 'GDPR' | 'CCPA', extra: { [k: string]: JsonValue } = {}) {
  const r = await send(alice, 'request.open', { org: 'bank', kind, jurisdiction, ...extra });
  expect(r.code).toBe('OK');
  return request(r.txId);
}

function request(id: string): DataRequest {
  return JSON.parse(node.store.getState(requestKey('bank', id))!) as DataRequest;
}

async function register(purposes: { [k: string]: JsonValue }, extra: { [k: string]: JsonValue } = {}) {
  return send(fx.orgs.bank!, 'data.register', {
    subject: aliceDid,
    category: 'pd:Income',
    purposes,
    source: 'subject',
    commitment: 'cd'.repeat(32),
    vaultRef: '0f'.repeat(16),
    retentionDays: 30,
    ...extra,
  });
}

beforeEach(async () => {
  tmp = tempDir();
  fx = fixture();
  clock = MONDAY;
  const now = () => clock;
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
    now,
    orderer: new SoloOrderer({ maxTxs: 100, maxWaitMs: 2, now }),
  });
  alice = userSigner();
  aliceDid = didFromPublicKey(alice.publicKey);
});

afterEach(async () => {
  await node.close();
  tmp.cleanup();
});

describe('confirmation of receipt and the opt-out deadline (CCPA regulations 7021, 7026)', () => {
  it('asks a CCPA request to know, delete or correct to be confirmed within 10 business days, once', async () => {
    const r = await open('access', 'CCPA');
    expect(new Date(MONDAY).getUTCDay()).toBe(1);
    // Ten business days from a Monday skip two weekends: the Monday two weeks later, same time.
    expect(r.ackDeadline).toBe(MONDAY + 14 * DAY);
    expect(r.acknowledgedAt).toBeUndefined();
    clock = MONDAY + 15 * DAY;
    expect(isAckOverdue(request(r.id), clock)).toBe(true);
    // Only the org the request went to confirms it.
    expect((await send(fx.orgs.insurer!, 'request.acknowledge', { request: r.id })).code).toBe('NOT_FOUND');
    expect((await send(alice, 'request.acknowledge', { request: r.id })).code).toBe('UNAUTHORIZED');
    expect((await send(fx.orgs.bank!, 'request.acknowledge', { request: r.id })).code).toBe('OK');
    const acked = request(r.id);
    expect(acked.acknowledgedAt).toBe(clock);
    expect(isAckOverdue(acked, clock)).toBe(false);
    expect((await send(fx.orgs.bank!, 'request.acknowledge', { request: r.id })).code).toBe('CONFLICT');
  });

  it('sets no confirmation deadline where the law has none: GDPR requests, CCPA opt-outs', async () => {
    expect((await open('erase', 'GDPR')).ackDeadline).toBeUndefined();
    expect((await open('optout', 'CCPA')).ackDeadline).toBeUndefined();
  });

  it('gives a CCPA opt-out 15 business days and no extension', async () => {
    clock = MONDAY + 4 * DAY; // a Friday
    const r = await open('optout', 'CCPA');
    // Fifteen business days from a Friday: three weekends later, the Friday three weeks on.
    expect(r.deadline).toBe(clock + 21 * DAY);
    const extend = await send(fx.orgs.bank!, 'request.extend', { request: r.id, reason: 'complexity' });
    expect(extend.code).toBe('CONFLICT');
    expect(request(r.id).deadline).toBe(r.deadline);
    // Other CCPA requests keep their 45 days.
    expect((await open('erase', 'CCPA')).deadline - clock).toBe(45 * DAY);
  });
});

describe('automated decisions (GDPR Art. 22)', () => {
  it('declares them only among the purposes, on a contract, the law or consent', async () => {
    const purposes = { 'dpv:CreditChecking': 'contract', 'dpv:Marketing': 'legitimate-interest' };
    const undeclared = await register(purposes, { automated: ['dpv:FraudPreventionAndDetection'] });
    expect(undeclared).toMatchObject({ code: 'INVALID_ARGS', detail: expect.stringMatching(/declared purposes/) });
    const interest = await register(purposes, { automated: ['dpv:Marketing'] });
    expect(interest).toMatchObject({ code: 'INVALID_ARGS', detail: expect.stringMatching(/Art\. 22\(2\)/) });
    expect((await register(purposes, { automated: ['dpv:CreditChecking', 'dpv:CreditChecking'] })).code).toBe(
      'INVALID_ARGS',
    );
    const ok = await register(purposes, { automated: ['dpv:CreditChecking'] });
    expect(ok.code).toBe('OK');
    const rec = JSON.parse(node.store.getState(recordKey('bank', ok.txId))!) as DataRecord;
    expect(rec.automated).toEqual(['dpv:CreditChecking']);
    const plain = await register(purposes);
    expect((JSON.parse(node.store.getState(recordKey('bank', plain.txId))!) as DataRecord).automated).toBeUndefined();
  });

  it('on consent, needs explicit consent at each use', async () => {
    const reg = await register({ 'dpv:CreditChecking': 'consent' }, { automated: ['dpv:CreditChecking'] });
    expect(reg.code).toBe('OK');
    const consent = (explicit: boolean) =>
      send(alice, 'consent.grant', {
        org: 'bank',
        purposes: ['dpv:CreditChecking'],
        categories: ['pd:Income'],
        expiresAt: clock + 365 * DAY,
        jurisdiction: 'GDPR',
        notice: 'ab'.repeat(32),
        ...(explicit ? { explicit: true } : {}),
      });
    const access = () =>
      send(fx.orgs.bank!, 'data.access', { record: reg.txId, purpose: 'dpv:CreditChecking', basis: 'consent' });
    expect((await consent(false)).code).toBe('OK');
    expect((await access()).code).toBe('NO_LAWFUL_BASIS');
    expect((await consent(true)).code).toBe('OK');
    expect((await access()).code).toBe('OK');
  });

  it('lets the customer ask a person to review them, and records what the person decided', async () => {
    const plain = await register({ 'dpv:ServiceProvision': 'contract' });
    // Nothing automated yet: there is nothing to review.
    const none = await send(alice, 'request.open', { org: 'bank', kind: 'review', jurisdiction: 'GDPR' });
    expect(none).toMatchObject({ code: 'INVALID_ARGS', detail: expect.stringMatching(/automated decision/) });
    const scored = await register({ 'dpv:CreditChecking': 'contract' }, { automated: ['dpv:CreditChecking'] });
    const wrong = await send(alice, 'request.open', {
      org: 'bank',
      kind: 'review',
      jurisdiction: 'GDPR',
      records: [plain.txId],
    });
    expect(wrong.code).toBe('INVALID_ARGS');
    const r = await open('review', 'GDPR', { records: [scored.txId] });
    expect(r).toMatchObject({ kind: 'review', status: 'open', records: [scored.txId] });
    const bank = fx.orgs.bank!;
    expect((await send(bank, 'request.fulfil', { request: r.id })).code).toBe('INVALID_ARGS');
    expect((await send(bank, 'request.fulfil', { request: r.id, outcome: 'ignored' })).code).toBe('INVALID_ARGS');
    expect((await send(bank, 'request.fulfil', { request: r.id, outcome: 'changed' })).code).toBe('OK');
    expect(request(r.id)).toMatchObject({ status: 'fulfilled', reviewOutcome: 'changed' });
    // An outcome belongs to a review only.
    const access = await open('access', 'GDPR');
    expect((await send(bank, 'request.fulfil', { request: access.id, outcome: 'upheld' })).code).toBe('INVALID_ARGS');
    // Naming no record, a review covers every automated one.
    expect((await open('review', 'GDPR')).records).toEqual([]);
  });
});
