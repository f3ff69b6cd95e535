/**
 * The register of personal data breaches as the ledger enforces it (GDPR Arts. 33-34): the 72-hour
 * clock for the supervisory authority from the detection, a late notification only with a reason
 * code, one notice per affected customer filed under their pseudonym (and only for a customer the
 * org holds data on), and no closing before the authority was told unless a risk was unlikely.
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subjectItems } from '../src/modules/common.js';
import {
  type Incident,
  type IncidentNotice,
  incidentKey,
  incidentNoticeKey,
  isAuthorityOverdue,
} from '../src/modules/incident.js';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';

const HOUR = 3_600_000;
let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let clock: number;
let alice: Signer;
let aliceDid: string;

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(signTx({ chainId: 'test', type, args, now: clock }, signer));
}

const state = <T>(key: string) => JSON.parse(node.store.getState(key)!) as T;

async function open(extra: { [k: string]: JsonValue } = {}) {
  const r = await send(fx.orgs.bank!, 'incident.open', {
    detectedAt: clock - 2 * HOUR,
    nature: ['confidentiality'],
    categories: ['pd:EmailAddress'],
    risk: 'high',
    ...extra,
  });
  expect(r.code).toBe('OK');
  return state<Incident>(incidentKey('bank', r.txId));
}

beforeEach(async () => {
  tmp = tempDir();
  fx = fixture();
  clock = Date.now();
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

describe('the incident register (GDPR Arts. 33-34)', () => {
  it('opens an incident with the 72-hour clock from its detection, and refuses what does not hold', async () => {
    const base = { nature: ['confidentiality'], categories: ['pd:EmailAddress'], risk: 'high' };
    for (const [args, code] of [
      [{ ...base, detectedAt: clock + HOUR }, 'INVALID_ARGS'],
      [{ ...base, detectedAt: clock - 400 * 24 * HOUR }, 'INVALID_ARGS'],
      [{ ...base, detectedAt: clock, nature: ['leak'] }, 'INVALID_ARGS'],
      [{ ...base, detectedAt: clock, nature: [] }, 'INVALID_ARGS'],
      [{ ...base, detectedAt: clock, categories: ['pd:Gossip'] }, 'INVALID_ARGS'],
      [{ ...base, detectedAt: clock, risk: 'catastrophic' }, 'INVALID_ARGS'],
      [{ ...base, detectedAt: clock, note: 'Ada Lovelace called' }, 'INVALID_ARGS'],
    ] as const) {
      expect((await send(fx.orgs.bank!, 'incident.open', args as never)).code, JSON.stringify(args)).toBe(code);
    }
    // Only a member org registers its incidents: a customer's key cannot.
    expect((await send(alice, 'incident.open', { ...base, detectedAt: clock })).code).toBe('UNAUTHORIZED');
    const i = await open();
    expect(i).toMatchObject({ org: 'bank', risk: 'high', authorityNotifiedAt: null, notified: 0, closedAt: null });
    expect(i.authorityDeadline).toBe(i.detectedAt + 72 * HOUR);
    expect(isAuthorityOverdue(i, clock)).toBe(false);
    expect(isAuthorityOverdue(i, i.authorityDeadline + 1)).toBe(true);
  });

  it('takes the authority notification within 72 hours without a reason, and after them only with one', async () => {
    const digest = 'ab'.repeat(32);
    const early = await open();
    const noReason = await send(fx.orgs.bank!, 'incident.authority', {
      incident: early.id,
      digest,
      delayReason: 'scope-being-established',
    });
    expect(noReason.code).toBe('INVALID_ARGS');
    expect((await send(fx.orgs.bank!, 'incident.authority', { incident: early.id, digest })).code).toBe('OK');
    expect(state<Incident>(incidentKey('bank', early.id))).toMatchObject({
      authorityDigest: digest,
      delayReason: null,
    });
    expect((await send(fx.orgs.bank!, 'incident.authority', { incident: early.id, digest })).code).toBe('CONFLICT');

    const late = await open();
    clock += 73 * HOUR;
    const bare = await send(fx.orgs.bank!, 'incident.authority', { incident: late.id, digest });
    expect(bare).toMatchObject({ code: 'INVALID_ARGS', detail: expect.stringMatching(/72 hours have passed/) });
    const reasoned = { incident: late.id, digest, delayReason: 'phased-notification' };
    expect((await send(fx.orgs.bank!, 'incident.authority', reasoned)).code).toBe('OK');
    expect(state<Incident>(incidentKey('bank', late.id)).delayReason).toBe('phased-notification');
    // Another org cannot touch the bank's incident.
    expect((await send(fx.orgs.insurer!, 'incident.close', { incident: late.id })).code).toBe('NOT_FOUND');
  });

  it('notifies each affected customer once, under their pseudonym, and only a customer it holds data on', async () => {
    const i = await open();
    const notify = () => send(fx.orgs.bank!, 'incident.notify', { incident: i.id, subject: aliceDid });
    expect((await notify()).code).toBe('NOT_FOUND');
    const reg = await send(fx.orgs.bank!, 'data.register', {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      commitment: 'cd'.repeat(32),
      vaultRef: '0f'.repeat(16),
      retentionDays: 30,
    });
    expect(reg.code).toBe('OK');
    const sent = await notify();
    expect(sent.code).toBe('OK');
    const notice = state<IncidentNotice>(incidentNoticeKey('bank', i.id, aliceDid));
    expect(notice).toMatchObject({ incident: i.id, subject: aliceDid, categories: ['pd:EmailAddress'], risk: 'high' });
    // The notice is among the customer's items, so their report proves it.
    expect(
      subjectItems<IncidentNotice>(
        { get: (k) => node.store.getState(k) && JSON.parse(node.store.getState(k)!) },
        aliceDid,
        'incident/bank/',
      ),
    ).toHaveLength(1);
    expect(node.store.subjectHistory(aliceDid, -1, 10)).toHaveLength(2);
    expect((await notify()).code).toBe('CONFLICT');
    expect(state<Incident>(incidentKey('bank', i.id)).notified).toBe(1);
  });

  it('closes only once the authority was told, unless a risk was unlikely; closed, it takes nothing more', async () => {
    const high = await open();
    expect((await send(fx.orgs.bank!, 'incident.close', { incident: high.id })).code).toBe('CONFLICT');
    const minor = await open({ risk: 'unlikely', nature: ['availability'] });
    expect(isAuthorityOverdue(minor, minor.authorityDeadline + 1)).toBe(false);
    expect((await send(fx.orgs.bank!, 'incident.close', { incident: minor.id })).code).toBe('OK');
    expect(state<Incident>(incidentKey('bank', minor.id)).closedAt).toBe(clock);
    const again = await send(fx.orgs.bank!, 'incident.authority', { incident: minor.id, digest: 'ab'.repeat(32) });
    expect(again.code).toBe('CONFLICT');
  });
});
