/**
 * `gpp.record` on the ledger: a GPP string's choices applied by the executor with the mapping of
 * `@custos/protocol/gpp`, by the customer (everything) or by the org (only what restricts it), the
 * TCF purpose consents as one consent grant, the sensitive-data limit enforced at access and share,
 * and the emitted string equal to the recorded one for the same choices (the round trip).
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type ConsentGrant, type Preferences, signTx } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, userSigner } from '@custos/test-utils/node';
import { GppModel } from '@iabgpp/cmpapi';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';
import { emitGppFor } from '../src/orgs/gpp-emit.js';

const DAY = 86_400_000;
/** IAB reference strings, from the test suite of the IAB's iabgpp-es library. */
const USNAT_OPTED_OUT = 'DBABLA~CVVVkkkkkpFY.YA';
const USNAT_NO_OPT_OUT = 'DBABLA~BVQqAAAAAgA.QA';
const TCF = 'DBABMA~CPSG_8APSG_8AAAAAAENAAFgAAAAAAAAAAAAAOwAQAOgAAAA.IAOgBgAAgAAA.YAAAAAAAAAAA';

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let clock: number;
let alice: Signer;
let aliceDid: string;

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(signTx({ chainId: 'test', type, args, now: clock }, signer));
}

const prefs = (org = 'bank') => JSON.parse(node.store.getState(`pref/${org}/${aliceDid}`) ?? 'null') as Preferences;
const grants = () =>
  (JSON.parse(node.store.getState(`consent/bank/${aliceDid}`) ?? '{"grants":[]}') as { grants: ConsentGrant[] }).grants;
const emitted = (did = aliceDid) => emitGppFor((k) => node.store.getState(k), 'bank', did, clock).gpp;

/** The IAB TCF string with consent to the TCF purposes `ids` (1-based). */
function tcfWith(ids: number[]): string {
  const m = new GppModel(TCF);
  const c = (m.getFieldValue('tcfeuv2', 'PurposeConsents') as boolean[]).map((_, i) => ids.includes(i + 1));
  m.setFieldValue('tcfeuv2', 'PurposeConsents', c);
  return m.encode();
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

describe('gpp.record by the customer', () => {
  it('applies every US choice of the string, as source gpp, and keeps the string', async () => {
    const r = await send(alice, 'gpp.record', { org: 'bank', gpp: USNAT_OPTED_OUT });
    expect(r.code).toBe('OK');
    const p = prefs();
    expect(p.sale).toMatchObject({ source: 'gpp', txId: r.txId });
    expect(p.share).toMatchObject({ source: 'gpp' });
    expect(p.sensitive).toMatchObject({ source: 'gpp' });
    expect(p.objections?.['dpv:PersonalisedAdvertising']).toMatchObject({ txId: r.txId });
    expect(p.gpp).toMatchObject({ gpp: USNAT_OPTED_OUT, sections: ['usnat'], by: 'customer' });
    // Opting back in through the banner clears them all.
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: USNAT_NO_OPT_OUT })).code).toBe('OK');
    expect(prefs()).toMatchObject({ sale: null, share: null });
    expect(prefs().objections).toBeUndefined();
    // That string says nothing of sensitive data (its SensitiveDataProcessing is all 0): the limit stays.
    expect(prefs().sensitive).toMatchObject({ source: 'gpp' });
  });

  it('turns TCF purpose consents into one grant, replaced when the choices change', async () => {
    const s = tcfWith([2, 3]);
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: s })).code).toBe('INVALID_ARGS');
    const consent = { categories: ['pd:BrowsingBehavior'], expiresAt: clock + 365 * DAY };
    const r = await send(alice, 'gpp.record', { org: 'bank', gpp: s, consent });
    expect(r.code).toBe('OK');
    expect(grants()).toEqual([
      expect.objectContaining({
        id: r.txId,
        purposes: ['dpv:Advertising', 'dpv:PersonalisedAdvertising'],
        withdrawnAt: null,
      }),
    ]);
    expect(prefs().gpp?.grant).toBe(r.txId);
    // The same choices again: the grant stays.
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: s })).code).toBe('OK');
    expect(grants()).toHaveLength(1);
    // Fewer purposes: the old grant ends, a new one covers what is left.
    const r2 = await send(alice, 'gpp.record', { org: 'bank', gpp: tcfWith([2]), consent });
    expect(r2.code).toBe('OK');
    expect(grants()[0]).toMatchObject({ withdrawnBy: r2.txId });
    expect(grants()[1]).toMatchObject({ id: r2.txId, purposes: ['dpv:Advertising'] });
    // A TCF consent is not explicit: no special categories.
    const special = { categories: ['pd:HealthRecord'], expiresAt: clock + DAY };
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: tcfWith([5]), consent: special })).code).toBe(
      'INVALID_ARGS',
    );
  });

  it('refuses a bad string, and a subject named by a customer', async () => {
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: 'DBABLA~zzz' })).code).toBe('INVALID_ARGS');
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: 'x'.repeat(9000) })).code).toBe('INVALID_ARGS');
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: USNAT_OPTED_OUT, subject: aliceDid })).code).toBe(
      'INVALID_ARGS',
    );
    expect((await send(alice, 'gpp.record', { org: 'nobody', gpp: USNAT_OPTED_OUT })).code).toBe('NOT_FOUND');
  });
});

describe('gpp.record by the org', () => {
  it('trust #18: an org records the opt-outs of a GPP string, never an opt-in or a consent', async () => {
    const bank = fx.orgs.bank!;
    const r = await send(bank, 'gpp.record', { org: 'bank', subject: aliceDid, gpp: USNAT_OPTED_OUT });
    expect(r.code).toBe('OK');
    expect(prefs()).toMatchObject({ sale: { source: 'gpp' }, share: { source: 'gpp' }, gpp: { by: 'org' } });
    // A string without opt-outs, from the org, does not lift the customer's.
    expect((await send(bank, 'gpp.record', { org: 'bank', subject: aliceDid, gpp: USNAT_NO_OPT_OUT })).code).toBe('OK');
    expect(prefs().sale).not.toBeNull();
    expect(prefs().objections?.['dpv:PersonalisedAdvertising']).toBeDefined();
    const consent = { categories: ['pd:BrowsingBehavior'], expiresAt: clock + DAY };
    expect((await send(bank, 'gpp.record', { org: 'bank', subject: aliceDid, gpp: tcfWith([2]), consent })).code).toBe(
      'UNAUTHORIZED',
    );
    // Another org cannot record for the bank.
    expect(
      (await send(fx.orgs.insurer!, 'gpp.record', { org: 'bank', subject: aliceDid, gpp: USNAT_OPTED_OUT })).code,
    ).toBe('UNAUTHORIZED');
  });

  it('ends the GPP grant when the banner says its purposes are no longer consented', async () => {
    const consent = { categories: ['pd:BrowsingBehavior'], expiresAt: clock + 365 * DAY };
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: tcfWith([2, 7]), consent })).code).toBe('OK');
    const r = await send(fx.orgs.bank!, 'gpp.record', { org: 'bank', subject: aliceDid, gpp: tcfWith([2]) });
    expect(r.code).toBe('OK');
    expect(grants()[0]).toMatchObject({ withdrawnBy: r.txId });
  });
});

describe('the limit on sensitive data', () => {
  it('refuses a use on consent or a share, allows one needed for the contract', async () => {
    const bank = fx.orgs.bank!;
    const reg = await send(bank, 'data.register', {
      subject: aliceDid,
      category: 'pd:HealthRecord',
      purposes: { 'dpv:ServiceProvision': 'contract', 'dpv:Marketing': 'consent' },
      condition: 'gdpr-9-2-h',
      source: 'subject',
      commitment: 'cd'.repeat(32),
      vaultRef: '0f'.repeat(16),
      retentionDays: 30,
    });
    expect(reg.code).toBe('OK');
    await send(alice, 'consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:HealthRecord'],
      expiresAt: clock + DAY,
      jurisdiction: 'CCPA',
      notice: 'ab'.repeat(32),
      explicit: true,
      share: true,
    });
    const access = (purpose: string, basis: string) => send(bank, 'data.access', { record: reg.txId, purpose, basis });
    expect((await access('dpv:Marketing', 'consent')).code).toBe('OK');
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: USNAT_OPTED_OUT })).code).toBe('OK');
    expect((await access('dpv:Marketing', 'consent')).code).toBe('OPTED_OUT');
    expect((await access('dpv:ServiceProvision', 'contract')).code).toBe('OK');
    const share = await send(bank, 'data.share', {
      record: reg.txId,
      recipient: 'insurer',
      purpose: 'dpv:Marketing',
      sale: false,
    });
    expect(share.code).toBe('OPTED_OUT');
  });
});

describe('the GPP round trip through the ledger', () => {
  it('an IAB reference string recorded is emitted again equal for the same choices', async () => {
    for (const s of [USNAT_OPTED_OUT, USNAT_NO_OPT_OUT]) {
      const customer = userSigner();
      expect((await send(customer, 'gpp.record', { org: 'bank', gpp: s })).code).toBe('OK');
      expect(emitted(didFromPublicKey(customer.publicKey))).toBe(s);
    }
    const tcf = tcfWith([2, 3, 4, 10]);
    const consent = { categories: ['pd:BrowsingBehavior'], expiresAt: clock + 365 * DAY };
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: tcf, consent })).code).toBe('OK');
    expect(emitted()).toBe(tcf);
  });

  it('the emitted string follows a choice changed on Custos since', async () => {
    expect((await send(alice, 'gpp.record', { org: 'bank', gpp: USNAT_NO_OPT_OUT })).code).toBe('OK');
    expect((await send(alice, 'optout.set', { org: 'bank', kinds: ['sale'] })).code).toBe('OK');
    const out = new GppModel(emitted());
    expect(out.getFieldValue('usnat', 'SaleOptOut')).toBe(1);
    expect(out.getFieldValue('usnat', 'SharingOptOut')).toBe(2);
  });
});
