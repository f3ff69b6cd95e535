/**
 * The customer-data rules as the ledger enforces them: consent-bound access, withdrawal and expiry,
 * opt-outs (also by GPC) against sharing and sale, copies linked to their source, erasure reaching
 * recipients (GDPR Art. 19), and legal deadlines for requests computed from block time.
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addMonths } from '../src/modules/common.js';
import { type DataRecord, recordKey } from '../src/modules/data.js';
import { type DataRequest, requestKey } from '../src/modules/request.js';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';

const DAY = 86_400_000;
let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let clock: number;
let alice: Signer;
let aliceDid: string;

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(signTx({ chainId: 'test', type, args, now: clock }, signer));
}

const NOTICE = 'ab'.repeat(32);
const COMMIT = 'cd'.repeat(32);

async function grant(extra: { [k: string]: JsonValue } = {}) {
  return send(alice, 'consent.grant', {
    org: 'bank',
    purposes: ['dpv:Marketing', 'dpv:ServiceProvision'],
    categories: ['pd:EmailAddress'],
    expiresAt: clock + 365 * DAY,
    jurisdiction: 'GDPR',
    notice: NOTICE,
    ...extra,
  });
}

async function register(org = 'bank', extra: { [k: string]: JsonValue } = {}) {
  const r = await send(fx.orgs[org]!, 'data.register', {
    subject: aliceDid,
    category: 'pd:EmailAddress',
    purposes: { 'dpv:Marketing': 'consent', 'dpv:ServiceProvision': 'contract' },
    source: 'subject',
    commitment: COMMIT,
    vaultRef: '0f'.repeat(16),
    retentionDays: 30,
    ...extra,
  });
  expect(r.code).toBe('OK');
  return r.txId;
}

function rec(org: string, id: string): DataRecord {
  return JSON.parse(node.store.getState(recordKey(org, id))!) as DataRecord;
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

describe('access needs a lawful basis that holds at that height', () => {
  it('rejects access without consent, accepts it with consent, rejects it after withdrawal', async () => {
    const record = await register();
    const access = () => send(fx.orgs.bank!, 'data.access', { record, purpose: 'dpv:Marketing', basis: 'consent' });
    expect((await access()).code).toBe('NO_LAWFUL_BASIS');
    expect((await grant()).code).toBe('OK');
    expect((await access()).code).toBe('OK');
    expect((await send(alice, 'consent.withdraw', { org: 'bank' })).code).toBe('OK');
    expect((await access()).code).toBe('NO_LAWFUL_BASIS');
  });

  it('rejects access after the consent expires', async () => {
    const record = await register();
    await grant({ expiresAt: clock + DAY });
    const access = () => send(fx.orgs.bank!, 'data.access', { record, purpose: 'dpv:Marketing', basis: 'consent' });
    expect((await access()).code).toBe('OK');
    clock += DAY + 1;
    expect((await access()).code).toBe('NO_LAWFUL_BASIS');
  });

  it('checks purpose, category, declared basis and the holder', async () => {
    const record = await register();
    await grant({ purposes: ['dpv:Marketing'], categories: ['pd:Name'] });
    const bank = fx.orgs.bank!;
    // Consent for another category does not cover the record's category.
    expect((await send(bank, 'data.access', { record, purpose: 'dpv:Marketing', basis: 'consent' })).code).toBe(
      'NO_LAWFUL_BASIS',
    );
    // A purpose the org never declared for the record.
    expect((await send(bank, 'data.access', { record, purpose: 'dpv:Personalisation', basis: 'consent' })).code).toBe(
      'NO_LAWFUL_BASIS',
    );
    // The declared contract basis holds without consent; claiming another basis does not.
    expect((await send(bank, 'data.access', { record, purpose: 'dpv:ServiceProvision', basis: 'contract' })).code).toBe(
      'OK',
    );
    expect(
      (await send(bank, 'data.access', { record, purpose: 'dpv:ServiceProvision', basis: 'legitimate-interest' })).code,
    ).toBe('NO_LAWFUL_BASIS');
    // Another org cannot use the bank's record, and a customer cannot register data.
    expect(
      (await send(fx.orgs.insurer!, 'data.access', { record, purpose: 'dpv:ServiceProvision', basis: 'contract' }))
        .code,
    ).toBe('NOT_FOUND');
    expect(
      (await send(alice, 'data.access', { record, purpose: 'dpv:ServiceProvision', basis: 'contract' })).code,
    ).toBe('UNAUTHORIZED');
  });

  it('only the customer grants consent: an org key cannot', async () => {
    const r = await send(fx.orgs.bank!, 'consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: clock + DAY,
      jurisdiction: 'GDPR',
      notice: NOTICE,
    });
    expect(r.code).toBe('UNAUTHORIZED');
  });
});

describe('sharing and sale', () => {
  it('needs share permission, and is refused after an opt-out', async () => {
    const record = await register();
    const bank = fx.orgs.bank!;
    const share = (sale: boolean) =>
      send(bank, 'data.share', { record, recipient: 'insurer', purpose: 'dpv:Marketing', sale });
    await grant();
    expect((await share(false)).code).toBe('NO_LAWFUL_BASIS');
    await grant({ share: true });
    expect((await share(true)).code).toBe('NO_LAWFUL_BASIS');
    expect((await send(alice, 'optout.set', { org: 'bank', kinds: ['share'] })).code).toBe('OK');
    expect((await share(false)).code).toBe('OPTED_OUT');
    expect((await send(alice, 'optout.clear', { org: 'bank', kinds: ['share'] })).code).toBe('OK');
    expect((await share(false)).code).toBe('OK');
  });

  it('refuses a sale after a Global Privacy Control opt-out', async () => {
    const record = await register();
    await grant({ share: true, sale: true });
    expect((await send(alice, 'optout.set', { org: 'bank', kinds: ['sale', 'share'], source: 'gpc' })).code).toBe('OK');
    const r = await send(fx.orgs.bank!, 'data.share', {
      record,
      recipient: 'retailer',
      purpose: 'dpv:Marketing',
      sale: true,
    });
    expect(r.code).toBe('OPTED_OUT');
  });

  it('an objection to direct marketing is absolute and at once, for the purposes named, whatever the basis (GDPR Art. 21(3))', async () => {
    const record = await register();
    await grant({ share: true });
    const marketing = { record, purpose: 'dpv:Marketing', basis: 'consent' };
    expect((await send(fx.orgs.bank!, 'data.access', marketing)).code).toBe('OK');
    // Only the customer objects, only to direct-marketing purposes (others go through request.open).
    const object = { org: 'bank', purposes: ['dpv:Marketing'] };
    expect((await send(fx.orgs.bank!, 'objection.set', object)).code).toBe('UNAUTHORIZED');
    expect((await send(alice, 'objection.set', { org: 'bank', purposes: ['dpv:ServiceProvision'] })).code).toBe(
      'INVALID_ARGS',
    );
    expect((await send(alice, 'objection.set', object)).code).toBe('OK');
    // The live consent does not override it; the contract purpose is untouched.
    expect((await send(fx.orgs.bank!, 'data.access', marketing)).code).toBe('OPTED_OUT');
    const share = { record, recipient: 'insurer', purpose: 'dpv:Marketing', sale: false };
    expect((await send(fx.orgs.bank!, 'data.share', share)).code).toBe('OPTED_OUT');
    const service = { record, purpose: 'dpv:ServiceProvision', basis: 'contract' };
    expect((await send(fx.orgs.bank!, 'data.access', service)).code).toBe('OK');
    // An opt-out of sale later keeps the objection.
    expect((await send(alice, 'optout.set', { org: 'bank', kinds: ['sale'] })).code).toBe('OK');
    expect((await send(fx.orgs.bank!, 'data.access', marketing)).code).toBe('OPTED_OUT');
    const prefs = JSON.parse(node.store.getState(`pref/bank/${aliceDid}`)!);
    expect(prefs.objections['dpv:Marketing']).toMatchObject({ at: expect.any(Number) });
    expect(prefs.sale).not.toBeNull();
    // Withdrawn: the consent counts again.
    expect((await send(alice, 'objection.clear', object)).code).toBe('OK');
    expect((await send(fx.orgs.bank!, 'data.access', marketing)).code).toBe('OK');
    expect(JSON.parse(node.store.getState(`pref/bank/${aliceDid}`)!).objections).toBeUndefined();
  });

  it('special categories (GDPR Art. 9): explicit consent for consent purposes, a declared Art. 9(2) condition for any other basis', async () => {
    const health = (purposes: { [k: string]: JsonValue }, extra: { [k: string]: JsonValue } = {}) =>
      send(fx.orgs.bank!, 'data.register', {
        subject: aliceDid,
        category: 'pd:HealthRecord',
        purposes,
        source: 'subject',
        commitment: COMMIT,
        vaultRef: '0f'.repeat(16),
        retentionDays: 30,
        ...extra,
      });
    // A contract is not enough for health data: it needs a condition of Art. 9(2) too.
    expect((await health({ 'dpv:ServiceProvision': 'contract' })).code).toBe('INVALID_ARGS');
    expect((await health({ 'dpv:ServiceProvision': 'contract' }, { condition: 'gdpr-9-2-z' })).code).toBe(
      'INVALID_ARGS',
    );
    const care = await health({ 'dpv:ServiceProvision': 'contract' }, { condition: 'gdpr-9-2-h' });
    expect(care.code).toBe('OK');
    expect(rec('bank', care.txId)).toMatchObject({ condition: 'gdpr-9-2-h' });
    // A condition on an ordinary category is refused: it would claim what is not so.
    const ordinary = await send(fx.orgs.bank!, 'data.register', {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      commitment: COMMIT,
      vaultRef: '0f'.repeat(16),
      retentionDays: 30,
      condition: 'gdpr-9-2-h',
    });
    expect(ordinary.code).toBe('INVALID_ARGS');
    // Consent purposes need no condition, but the consent must be explicit.
    const research = await health({ 'dpv:ResearchAndDevelopment': 'consent' });
    expect(research.code).toBe('OK');
    const consent = {
      org: 'bank',
      purposes: ['dpv:ResearchAndDevelopment'],
      categories: ['pd:HealthRecord'],
      expiresAt: clock + 365 * DAY,
      jurisdiction: 'GDPR',
      notice: NOTICE,
    };
    expect((await send(alice, 'consent.grant', consent)).code).toBe('INVALID_ARGS');
    const use = { record: research.txId, purpose: 'dpv:ResearchAndDevelopment', basis: 'consent' };
    expect((await send(fx.orgs.bank!, 'data.access', use)).code).toBe('NO_LAWFUL_BASIS');
    const explicit = await send(alice, 'consent.grant', { ...consent, explicit: true });
    expect(explicit.code).toBe('OK');
    expect((await send(fx.orgs.bank!, 'data.access', use)).code).toBe('OK');
    const grants = JSON.parse(node.store.getState(`consent/bank/${aliceDid}`)!).grants;
    expect(grants.at(-1)).toMatchObject({ id: explicit.txId, explicit: true });
  });

  it('a copy serves only the purpose it was shared for, on the consent at the source, and follows the source', async () => {
    const record = await register();
    await grant({ share: true });
    const shared = { record, recipient: 'insurer', purpose: 'dpv:Marketing', sale: false };
    expect((await send(fx.orgs.bank!, 'data.share', shared)).code).toBe('OK');
    const claim = (purposes: { [k: string]: JsonValue }) =>
      send(fx.orgs.insurer!, 'data.register', {
        subject: aliceDid,
        category: 'pd:EmailAddress',
        purposes,
        commitment: COMMIT,
        vaultRef: '1f'.repeat(16),
        retentionDays: 30,
        sourceRecord: { org: 'bank', id: record },
      });
    // A purpose besides the share's, or instead of it: refused.
    expect((await claim({ 'dpv:Marketing': 'consent', 'dpv:Advertising': 'consent' })).code).toBe('INVALID_ARGS');
    expect((await claim({ 'dpv:Advertising': 'consent' })).code).toBe('INVALID_ARGS');
    const copy = await claim({ 'dpv:Marketing': 'consent' });
    expect(copy.code).toBe('OK');
    // The insurer holds no consent of Alice's: the bank's, which allowed the share, covers the copy.
    const use = { record: copy.txId, purpose: 'dpv:Marketing', basis: 'consent' };
    expect((await send(fx.orgs.insurer!, 'data.access', use)).code).toBe('OK');
    // A restriction of the source, an objection at the source, a withdrawal there: each reaches the copy.
    const restrict = await send(alice, 'request.open', { org: 'bank', kind: 'restrict', jurisdiction: 'GDPR' });
    expect((await send(fx.orgs.bank!, 'request.fulfil', { request: restrict.txId })).code).toBe('OK');
    expect((await send(fx.orgs.insurer!, 'data.access', use)).code).toBe('RESTRICTED');
    expect((await send(alice, 'request.lift', { org: 'bank', request: restrict.txId })).code).toBe('OK');
    expect((await send(fx.orgs.insurer!, 'data.access', use)).code).toBe('OK');
    expect((await send(alice, 'objection.set', { org: 'bank', purposes: ['dpv:Marketing'] })).code).toBe('OK');
    expect((await send(fx.orgs.insurer!, 'data.access', use)).code).toBe('OPTED_OUT');
    expect((await send(alice, 'objection.clear', { org: 'bank', purposes: ['dpv:Marketing'] })).code).toBe('OK');
    expect((await send(alice, 'consent.withdraw', { org: 'bank' })).code).toBe('OK');
    expect((await send(fx.orgs.insurer!, 'data.access', use)).code).toBe('NO_LAWFUL_BASIS');
    // A consent without share permission does not bring it back.
    expect((await grant()).code).toBe('OK');
    expect((await send(fx.orgs.insurer!, 'data.access', use)).code).toBe('NO_LAWFUL_BASIS');
  });

  it('links the recipient copy to its source and propagates erasure to it (GDPR Art. 19)', async () => {
    const record = await register();
    await grant({ share: true });
    expect(
      (await send(fx.orgs.bank!, 'data.share', { record, recipient: 'insurer', purpose: 'dpv:Marketing', sale: false }))
        .code,
    ).toBe('OK');
    // The retailer, with no share, cannot claim a copy.
    const stolen = await send(fx.orgs.retailer!, 'data.register', {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      commitment: COMMIT,
      vaultRef: '1f'.repeat(16),
      retentionDays: 30,
      sourceRecord: { org: 'bank', id: record },
    });
    expect(stolen.code).toBe('UNAUTHORIZED');
    const copy = await register('insurer', {
      source: undefined as never,
      sourceRecord: { org: 'bank', id: record },
      purposes: { 'dpv:Marketing': 'consent' },
    });
    expect(rec('insurer', copy)).toMatchObject({ source: 'shared:bank', sourceRecord: { org: 'bank', id: record } });
    expect(rec('bank', record).copies).toEqual([{ org: 'insurer', id: copy }]);

    expect((await send(fx.orgs.bank!, 'data.erased', { records: [record], reason: 'request' })).code).toBe('OK');
    expect(rec('bank', record).erasedAt).not.toBeNull();
    expect(rec('insurer', copy).erasureRequestedAt).not.toBeNull();
    expect(
      (await send(fx.orgs.bank!, 'data.access', { record, purpose: 'dpv:ServiceProvision', basis: 'contract' })).code,
    ).toBe('ERASED');
    // The flagged copy can no longer be used or passed on until the insurer erases it too.
    const use = { record: copy, purpose: 'dpv:Marketing', basis: 'consent' };
    expect((await send(fx.orgs.insurer!, 'data.access', use)).code).toBe('ERASED');
    expect(
      (
        await send(fx.orgs.insurer!, 'data.share', {
          record: copy,
          recipient: 'retailer',
          purpose: 'dpv:Marketing',
          sale: false,
        })
      ).code,
    ).toBe('ERASED');
    expect((await send(fx.orgs.insurer!, 'data.erased', { records: [copy], reason: 'request' })).code).toBe('OK');
    expect(rec('insurer', copy)).toMatchObject({ erasureRequestedAt: null });
    expect(rec('insurer', copy).erasedAt).not.toBeNull();
  });
});

describe('requests and their legal deadlines', () => {
  async function open(kind: string, jurisdiction: 'GDPR' | 'CCPA') {
    const r = await send(alice, 'request.open', { org: 'bank', kind, jurisdiction });
    expect(r.code).toBe('OK');
    return JSON.parse(node.store.getState(requestKey('bank', r.txId))!) as DataRequest;
  }

  it('gives GDPR requests one month, extendable once by two', async () => {
    const r = await open('access', 'GDPR');
    const openedAt = r.openedAt;
    expect(r.deadline).toBe(addMonths(openedAt, 1));
    const bank = fx.orgs.bank!;
    // Reasons are codes: free text (which could name the customer) never reaches the ledger.
    const prose = { request: r.id, reason: 'Ada Lovelace asked twice this month' };
    expect((await send(bank, 'request.extend', prose)).code).toBe('INVALID_ARGS');
    expect((await send(bank, 'request.reject', prose)).code).toBe('INVALID_ARGS');
    expect((await send(bank, 'request.extend', { request: r.id, reason: 'complexity' })).code).toBe('OK');
    const extended = JSON.parse(node.store.getState(requestKey('bank', r.id))!) as DataRequest;
    expect(extended.deadline).toBe(addMonths(openedAt, 3));
    expect(extended.originalDeadline).toBe(addMonths(openedAt, 1));
    expect((await send(bank, 'request.extend', { request: r.id, reason: 'complexity' })).code).toBe('CONFLICT');
  });

  it('gives CCPA requests 45 days, extendable once by 45, and reports them overdue after', async () => {
    const r = await open('erase', 'CCPA');
    expect(r.deadline - r.openedAt).toBe(45 * DAY);
    clock += 46 * DAY;
    // Past the deadline it can no longer be extended.
    expect((await send(fx.orgs.bank!, 'request.extend', { request: r.id, reason: 'number-of-requests' })).code).toBe(
      'CONFLICT',
    );
    const { isOverdue } = await import('../src/modules/request.js');
    const now = node.latest().time;
    expect(isOverdue(JSON.parse(node.store.getState(requestKey('bank', r.id))!), now)).toBe(true);
    expect((await send(fx.orgs.bank!, 'request.reject', { request: r.id, reason: 'identity-not-verified' })).code).toBe(
      'OK',
    );
    expect(isOverdue(JSON.parse(node.store.getState(requestKey('bank', r.id))!), node.latest().time)).toBe(false);
  });

  it('restricts processing when a restriction request is fulfilled', async () => {
    const record = await register();
    const r = await send(alice, 'request.open', {
      org: 'bank',
      kind: 'restrict',
      jurisdiction: 'GDPR',
      records: [record],
    });
    expect((await send(fx.orgs.bank!, 'request.fulfil', { request: r.txId })).code).toBe('OK');
    const a = await send(fx.orgs.bank!, 'data.access', { record, purpose: 'dpv:ServiceProvision', basis: 'contract' });
    expect(a.code).toBe('RESTRICTED');
  });

  it('restricts every record of the subject at the org when the request names none; the customer lifts it', async () => {
    const [first, second] = [await register(), await register()];
    const other = await register('insurer');
    const use = (record: string) =>
      send(fx.orgs.bank!, 'data.access', { record, purpose: 'dpv:ServiceProvision', basis: 'contract' });
    const restrict = await send(alice, 'request.open', { org: 'bank', kind: 'restrict', jurisdiction: 'GDPR' });
    // Until the bank answers, nothing is restricted; the answer restricts both of Alice's records there.
    expect((await use(first)).code).toBe('OK');
    expect((await send(fx.orgs.bank!, 'request.fulfil', { request: restrict.txId })).code).toBe('OK');
    expect((await use(first)).code).toBe('RESTRICTED');
    expect((await use(second)).code).toBe('RESTRICTED');
    expect(
      (
        await send(fx.orgs.bank!, 'data.share', {
          record: second,
          recipient: 'insurer',
          purpose: 'dpv:Marketing',
          sale: false,
        })
      ).code,
    ).toBe('RESTRICTED');
    const fulfilled = JSON.parse(node.store.getState(requestKey('bank', restrict.txId))!) as DataRequest;
    expect([...fulfilled.restricted!].sort()).toEqual([first, second].sort());
    // Another org's record is not touched.
    expect(rec('insurer', other).restricted).toBe(false);

    // An objection to the first record alone, also in force.
    const object = await send(alice, 'request.open', {
      org: 'bank',
      kind: 'object',
      jurisdiction: 'GDPR',
      records: [first],
    });
    expect((await send(fx.orgs.bank!, 'request.fulfil', { request: object.txId })).code).toBe('OK');

    // Only the customer who asked can lift it: not the bank, not another customer.
    const lift = { org: 'bank', request: restrict.txId };
    expect((await send(fx.orgs.bank!, 'request.lift', lift)).code).toBe('UNAUTHORIZED');
    expect((await send(userSigner(), 'request.lift', lift)).code).toBe('NOT_FOUND');
    expect((await send(alice, 'request.lift', lift)).code).toBe('OK');
    expect((await send(alice, 'request.lift', lift)).code).toBe('CONFLICT');
    expect(JSON.parse(node.store.getState(requestKey('bank', restrict.txId))!).liftedAt).toBe(node.latest().time);
    // The second record is free again; the first stays restricted by the objection until it is withdrawn.
    expect((await use(second)).code).toBe('OK');
    expect((await use(first)).code).toBe('RESTRICTED');
    expect((await send(alice, 'request.lift', { org: 'bank', request: object.txId })).code).toBe('OK');
    expect((await use(first)).code).toBe('OK');

    // Only restrictions and objections in force can be lifted.
    const access = await send(alice, 'request.open', { org: 'bank', kind: 'access', jurisdiction: 'GDPR' });
    expect((await send(alice, 'request.lift', { org: 'bank', request: access.txId })).code).toBe('INVALID_ARGS');
    const pending = await send(alice, 'request.open', { org: 'bank', kind: 'restrict', jurisdiction: 'GDPR' });
    expect((await send(alice, 'request.lift', { org: 'bank', request: pending.txId })).code).toBe('CONFLICT');
  });

  it('files every event under the subject, failed attempts included', async () => {
    const record = await register();
    await send(fx.orgs.bank!, 'data.access', { record, purpose: 'dpv:Marketing', basis: 'consent' });
    await grant();
    const history = node.store.subjectHistory(aliceDid, -1, 100).map((i) => node.store.getTxByLogIndex(i)!);
    expect(history.map((t) => [t.tx?.body.type, t.code])).toEqual([
      ['data.register', 'OK'],
      ['data.access', 'NO_LAWFUL_BASIS'],
      ['consent.grant', 'OK'],
    ]);
  });
});

describe('the right to know', () => {
  it('reports everything about a subject with proofs the wallet verifies, and detects omissions', async () => {
    const { subjectReport } = await import('../src/subject/report.js');
    const { verifySubjectReport } = await import('@custos/protocol/ledger');
    const { nativeVerifier } = await import('../src/crypto/native.js');
    const record = await register();
    await grant({ share: true });
    await send(fx.orgs.bank!, 'data.access', { record, purpose: 'dpv:Marketing', basis: 'consent' });
    await send(alice, 'request.open', { org: 'bank', kind: 'export', jurisdiction: 'GDPR' });
    await send(alice, 'optout.set', { org: 'insurer', kinds: ['sale'] });

    const report = subjectReport(node, aliceDid);
    const v = verifySubjectReport(report, node.members, nativeVerifier, 'test');
    expect(v.complete).toBe(true);
    expect(v.historyCount).toBe(5);
    expect(v.events.map((e) => e.tx.body.type)).toEqual([
      'data.register',
      'consent.grant',
      'data.access',
      'request.open',
      'optout.set',
    ]);
    const recordFact = v.facts.find((f) => f.key === recordKey('bank', record))!;
    expect(recordFact.value).toMatchObject({ category: 'pd:EmailAddress', purposes: { 'dpv:Marketing': 'consent' } });
    expect(v.facts.find((f) => f.key === `pref/insurer/${aliceDid}`)!.value).toMatchObject({
      sale: { source: 'user' },
    });
    // Nothing personal: the record holds a commitment and a vault reference, never a value.
    expect(JSON.stringify(report)).not.toMatch(/@|alice/i);

    // A peer that hides a record is caught: the subject's item list proves the record exists.
    const hidden = { ...report, facts: report.facts.filter((f) => f.key !== recordKey('bank', record)) };
    expect(verifySubjectReport({ ...hidden, events: [] }, node.members, nativeVerifier).complete).toBe(false);
    // ...and its accesses can no longer be tied to the subject.
    expect(() => verifySubjectReport(hidden, node.members, nativeVerifier)).toThrow(/does not concern/);
    // A peer that lies about a value is caught by the state proof.
    const lied = {
      ...report,
      facts: report.facts.map((f) =>
        f.key === recordKey('bank', record) ? { ...f, value: { ...(f.value as object), purposes: {} } } : f,
      ),
    };
    expect(() => verifySubjectReport(lied, node.members, nativeVerifier)).toThrow(/proof/i);
    // A true event about someone else, slipped into the history, is refused.
    const carol = userSigner();
    await send(carol, 'request.open', { org: 'bank', kind: 'access', jurisdiction: 'GDPR' });
    const carolReport = subjectReport(node, didFromPublicKey(carol.publicKey));
    const fresh = subjectReport(node, aliceDid);
    const mixed = { ...fresh, certificate: carolReport.certificate, events: [...fresh.events, ...carolReport.events] };
    expect(() => verifySubjectReport(mixed, node.members, nativeVerifier)).toThrow(/does not concern/);
    // Another subject's history is not this one's.
    const bob = didFromPublicKey(userSigner().publicKey);
    expect(verifySubjectReport(subjectReport(node, bob), node.members, nativeVerifier)).toMatchObject({
      historyCount: 0,
      complete: true,
      events: [],
    });
  });

  it('pages through a long history', async () => {
    const { subjectReport } = await import('../src/subject/report.js');
    await register();
    for (let i = 0; i < 6; i++)
      await send(alice, 'request.open', { org: 'bank', kind: 'access', jurisdiction: 'CCPA' });
    const first = subjectReport(node, aliceDid, { limit: 4 });
    expect(first.events).toHaveLength(4);
    expect(first.next).not.toBeNull();
    const second = subjectReport(node, aliceDid, { after: first.next!, limit: 4 });
    expect(second.events).toHaveLength(3);
    expect(second.next).toBeNull();
  });
});
