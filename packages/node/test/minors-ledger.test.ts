/**
 * Sensitive data and children on the ledger (docs/customer-data.md, "Children" and "GPP and GPC"):
 * the customer's own switch limiting the use of sensitive data (CCPA 1798.121), the age band of a
 * relationship, and the rules every peer applies at execution: no sale or sharing under 16 without a
 * minor's opt-in, a parent's under 13 (CCPA 1798.120(c)), a parent's consent below the member
 * state's age of digital consent (GDPR Art. 8).
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Preferences, signParentalConsent, signTx } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, userSigner } from '@custos/test-utils/node';
import { GppModel } from '@iabgpp/cmpapi';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';
import { emitGppFor } from '../src/orgs/gpp-emit.js';
import { consentEvents } from '../src/orgs/receipts.js';

const DAY = 86_400_000;
const EVIDENCE = { method: 'id-document', digest: 'ee'.repeat(32) };
let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let clock: number;
let kid: Signer;
let kidDid: string;

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(signTx({ chainId: 'test', type, args, now: clock }, signer));
}
const prefs = () => JSON.parse(node.store.getState(`pref/bank/${kidDid}`) ?? 'null') as Preferences;

async function register(category: string, purposes: Record<string, string>, extra: { [k: string]: JsonValue } = {}) {
  const r = await send(fx.orgs.bank!, 'data.register', {
    subject: kidDid,
    category,
    purposes,
    source: 'subject',
    commitment: 'cd'.repeat(32),
    vaultRef: '0f'.repeat(16),
    retentionDays: 30,
    ...extra,
  });
  expect(r.code).toBe('OK');
  return r.txId;
}

const terms = {
  org: 'bank',
  purposes: ['dpv:Marketing'],
  categories: ['pd:EmailAddress'],
  share: true,
  sale: true,
};
const grant = (jurisdiction: string, extra: { [k: string]: JsonValue } = {}) =>
  send(kid, 'consent.grant', { ...terms, expiresAt: clock + DAY, jurisdiction, notice: 'ab'.repeat(32), ...extra });
const share = async (record: string, recipient: string) =>
  (await send(fx.orgs.bank!, 'data.share', { record, recipient, purpose: 'dpv:Marketing', sale: true })).code;

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
  kid = userSigner();
  kidDid = didFromPublicKey(kid.publicKey);
});

afterEach(async () => {
  await node.close();
  tmp.cleanup();
});

describe('the limit on sensitive data, as its own switch', () => {
  it('optout.set sensitive refuses uses on consent and shares, the GPP string says so, optout.clear lifts it', async () => {
    const rec = await register(
      'pd:HealthRecord',
      { 'dpv:ServiceProvision': 'contract', 'dpv:Marketing': 'consent' },
      { condition: 'gdpr-9-2-h' },
    );
    expect((await grant('CCPA', { categories: ['pd:HealthRecord'], explicit: true, sale: false })).code).toBe('OK');
    const access = async (purpose: string, basis: string) =>
      (await send(fx.orgs.bank!, 'data.access', { record: rec, purpose, basis })).code;
    expect(await access('dpv:Marketing', 'consent')).toBe('OK');
    const limit = await send(kid, 'optout.set', { org: 'bank', kinds: ['sensitive'] });
    expect(limit.code).toBe('OK');
    expect(prefs()).toMatchObject({ sale: null, share: null, sensitive: { source: 'user', txId: limit.txId } });
    expect(await access('dpv:Marketing', 'consent')).toBe('OPTED_OUT');
    expect(await access('dpv:ServiceProvision', 'contract')).toBe('OK');
    const sh = await send(fx.orgs.bank!, 'data.share', {
      record: rec,
      recipient: 'insurer',
      purpose: 'dpv:Marketing',
      sale: false,
    });
    expect(sh.code).toBe('OPTED_OUT');
    const gpp = new GppModel(emitGppFor((k) => node.store.getState(k), 'bank', kidDid, clock).gpp);
    expect((gpp.getFieldValue('usnat', 'SensitiveDataProcessing') as number[]).includes(1)).toBe(true);
    // GPC is no limit; a kind Custos does not know is refused with what was expected.
    expect((await send(kid, 'optout.set', { org: 'bank', kinds: ['sensitive'], source: 'gpc' })).code).toBe(
      'INVALID_ARGS',
    );
    expect((await send(kid, 'optout.set', { org: 'bank', kinds: ['health'] })).code).toBe('INVALID_ARGS');
    expect((await send(kid, 'optout.clear', { org: 'bank', kinds: ['sensitive'] })).code).toBe('OK');
    expect(prefs().sensitive).toBeNull();
    expect(await access('dpv:Marketing', 'consent')).toBe('OK');
  });
});

describe('the age band of a relationship', () => {
  it('13-15: no sale or sharing until the customer opts in as a minor (CCPA 1798.120(c))', async () => {
    const rec = await register('pd:EmailAddress', { 'dpv:Marketing': 'consent' });
    expect((await grant('CCPA')).code).toBe('OK');
    expect(await share(rec, 'insurer')).toBe('OK');
    // The org learns the customer is 14: the consent given before no longer allows a sale.
    const set = await send(fx.orgs.bank!, 'age.set', {
      org: 'bank',
      subject: kidDid,
      band: '13-15',
      evidence: EVIDENCE,
    });
    expect(set.code).toBe('OK');
    expect(prefs().age).toMatchObject({ band: '13-15', by: 'org', evidence: EVIDENCE });
    expect(await share(rec, 'retailer')).toBe('OPTED_OUT');
    // An org records a band only with its evidence; the customer cannot override a verified band.
    expect((await send(fx.orgs.bank!, 'age.set', { org: 'bank', subject: kidDid, band: 'adult' })).code).toBe(
      'INVALID_ARGS',
    );
    expect((await send(kid, 'age.set', { org: 'bank', band: 'adult' })).code).toBe('CONFLICT');
    // The minor's own opt-in, given knowing the band.
    const optIn = await grant('CCPA');
    expect(optIn.code).toBe('OK');
    expect(await share(rec, 'retailer')).toBe('OK');
  });

  it('under 13: sale and sharing need the consent of the guardian the wallet registered', async () => {
    const rec = await register('pd:EmailAddress', { 'dpv:Marketing': 'consent' });
    const guardian = userSigner();
    const guardianDid = didFromPublicKey(guardian.publicKey);
    expect((await send(kid, 'age.set', { org: 'bank', band: 'under13', guardian: guardianDid })).code).toBe('OK');
    expect(prefs().age).toMatchObject({ band: 'under13', by: 'customer', guardian: guardianDid });
    expect((await grant('CCPA')).code).toBe('OK');
    expect(await share(rec, 'insurer')).toBe('PARENTAL_CONSENT_REQUIRED');
    const expiresAt = clock + DAY;
    const statement = { ...terms, chainId: 'test', subject: kidDid, expiresAt };
    // Signed by another key, or over other terms: refused.
    const stranger = signParentalConsent(userSigner(), statement);
    expect((await grant('CCPA', { expiresAt, parental: stranger })).code).toBe('UNAUTHORIZED');
    const wrongTerms = signParentalConsent(guardian, { ...statement, sale: false });
    expect((await grant('CCPA', { expiresAt, parental: wrongTerms })).code).toBe('UNAUTHORIZED');
    const parental = signParentalConsent(guardian, statement);
    expect((await grant('CCPA', { expiresAt, parental })).code).toBe('OK');
    expect(await share(rec, 'insurer')).toBe('OK');
  });

  it('the guardian withdraws the consent they signed, and no one else can', async () => {
    const rec = await register('pd:EmailAddress', { 'dpv:Marketing': 'consent' });
    const guardian = userSigner();
    expect(
      (await send(kid, 'age.set', { org: 'bank', band: 'under13', guardian: didFromPublicKey(guardian.publicKey) }))
        .code,
    ).toBe('OK');
    const expiresAt = clock + DAY;
    const parental = signParentalConsent(guardian, { ...terms, chainId: 'test', subject: kidDid, expiresAt });
    const given = await grant('CCPA', { expiresAt, parental });
    expect(given.code).toBe('OK');
    expect(await share(rec, 'insurer')).toBe('OK');
    // A stranger's key, or the guardian naming another child, is refused.
    const byStranger = await send(userSigner(), 'consent.withdraw', { org: 'bank', subject: kidDid });
    expect(byStranger.code).toBe('UNAUTHORIZED');
    const other = didFromPublicKey(userSigner().publicKey);
    expect((await send(guardian, 'consent.withdraw', { org: 'bank', subject: other })).code).toBe('UNAUTHORIZED');
    const withdrawn = await send(guardian, 'consent.withdraw', { org: 'bank', subject: kidDid, consent: given.txId });
    expect(withdrawn.code).toBe('OK');
    const st = JSON.parse(node.store.getState(`consent/bank/${kidDid}`) ?? 'null') as {
      grants: { id: string; withdrawnBy?: string }[];
    };
    expect(st.grants.find((g) => g.id === given.txId)?.withdrawnBy).toBe(withdrawn.txId);
    // The withdrawal's receipt is the child's: it names the consent the guardian ended.
    expect(consentEvents(node, withdrawn.txId)).toMatchObject([
      { event: 'withdrawn', id: given.txId, subject: kidDid, org: 'bank' },
    ]);
    expect(await share(rec, 'insurer')).toBe('NO_LAWFUL_BASIS');
    // The child's own consent, without the guardian's signature, is not the guardian's to end.
    expect((await grant('CCPA')).code).toBe('OK');
    expect((await send(guardian, 'consent.withdraw', { org: 'bank', subject: kidDid })).code).toBe('NOT_FOUND');
  });

  it("GDPR Art. 8: consent below the member state's age needs a parent's, from 13 in Denmark", async () => {
    const rec = await register('pd:EmailAddress', { 'dpv:Marketing': 'consent' });
    const access = async () =>
      (await send(fx.orgs.bank!, 'data.access', { record: rec, purpose: 'dpv:Marketing', basis: 'consent' })).code;
    expect((await send(kid, 'age.set', { org: 'bank', band: '13-15', memberState: 'FR' })).code).toBe('OK');
    expect((await grant('GDPR', { share: false, sale: false })).code).toBe('OK');
    expect(await access()).toBe('PARENTAL_CONSENT_REQUIRED');
    expect((await send(kid, 'age.set', { org: 'bank', band: '13-15', memberState: 'XX' })).code).toBe('INVALID_ARGS');
    expect((await send(kid, 'age.set', { org: 'bank', band: '13-15', memberState: 'DK' })).code).toBe('OK');
    expect(await access()).toBe('OK');
    // Back in France, a consent verified by the org with a parent (a signed form) allows it.
    expect((await send(kid, 'age.set', { org: 'bank', band: '13-15', memberState: 'FR' })).code).toBe('OK');
    expect(await access()).toBe('PARENTAL_CONSENT_REQUIRED');
    const verified = { method: 'signed-form', digest: 'fa'.repeat(32) };
    expect((await grant('GDPR', { share: false, sale: false, parental: verified })).code).toBe('OK');
    expect(await access()).toBe('OK');
  });
});
