/**
 * Forgetting a subject on the ledger (docs/adr/0019-forget-on-the-ledger.md): once an erasure is
 * complete (every record erased, copies included, no request open), the subject's state entries go
 * and its transactions' bodies are pruned; a tombstone keyed by the pseudonym's hash stays, proofs
 * issued before still verify with the same roots, and no file of the node holds the pseudonym.
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer, sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx, verifyProofBundle } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDataMap, publishArgs } from '../src/connectors/datamap.js';
import { nativeVerifier } from '../src/crypto/native.js';
import { FORGET_AFTER_MS } from '../src/modules/forget.js';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';
import { auditStore } from '../src/peer/audit.js';
import { consistencyProof, inclusionProof } from '../src/proofs.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';
import { pseudonymForms, scanFiles } from './forget-helpers.js';

const DAY = 86_400_000;
let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let alice: Signer;
let aliceDid: string;
let clock: number;
const now = () => clock;

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(signTx({ chainId: 'test', type, args, now: clock }, signer));
}

/** Moves the clock past the grace period and cuts a block: the queued subject is forgotten at its end. */
async function afterGrace() {
  clock += FORGET_AFTER_MS + 60_000;
  return ok(fx.orgs.retailer!, 'kv.put', { ns: 'tick', key: 'k', value: clock });
}

function openNode() {
  return CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
    now,
    orderer: new SoloOrderer({ maxTxs: 100, maxWaitMs: 2, now }),
  });
}

async function ok(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  const r = await send(signer, type, args);
  expect(r.code, `${type}`).toBe('OK');
  return r;
}

beforeEach(async () => {
  tmp = tempDir();
  fx = fixture();
  clock = Date.now();
  node = await openNode();
  alice = userSigner();
  aliceDid = didFromPublicKey(alice.publicKey);
});

afterEach(async () => {
  await node.close();
  tmp.cleanup();
});

const NOTICE = 'ab'.repeat(32);

/** The bank's data map: one system holding emails by pseudonym, where corrections are run. */
const MAP = parseDataMap(
  JSON.stringify({
    custosDataMap: 1,
    org: 'bank',
    version: 1,
    systems: [
      {
        id: 'crm',
        kind: 'postgres',
        tables: [
          {
            name: 'customers',
            identity: { field: 'custos_subject', kind: 'pseudonym' },
            erasure: 'delete',
            fields: [{ name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:Marketing'], retentionDays: 30 }],
          },
        ],
      },
    ],
  }),
);

/** Alice at the bank: a consent, a preference, two records (one shared with the insurer, copied there), uses. */
async function history(vault: Vault) {
  const bank = fx.orgs.bank!;
  const insurer = fx.orgs.insurer!;
  await ok(alice, 'consent.grant', {
    org: 'bank',
    purposes: ['dpv:Marketing'],
    categories: ['pd:EmailAddress'],
    expiresAt: clock + 365 * DAY,
    jurisdiction: 'GDPR',
    notice: NOTICE,
    share: true,
  });
  await ok(alice, 'optout.set', { org: 'bank', kinds: ['sale'] });
  const ids: string[] = [];
  for (const value of ['ada@example.org', 'ada@work.example']) {
    const { vaultRef, commitment } = vault.put(aliceDid, { email: value });
    const r = await ok(bank, 'data.register', {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      source: 'subject',
      commitment,
      vaultRef,
      retentionDays: 30,
    });
    ids.push(r.txId);
  }
  const [first, second] = ids as [string, string];
  // Alice flags the first as wrong; the bank corrects it and runs the correction in its CRM.
  await ok(bank, 'datamap.publish', publishArgs(MAP));
  const flag = await ok(alice, 'rectify.flag', {
    org: 'bank',
    record: first,
    reason: 'inaccurate',
    jurisdiction: 'GDPR',
  });
  await ok(bank, 'rectify.apply', { item: flag.txId, commitment: 'fe'.repeat(32), systems: ['crm'] });
  await ok(bank, 'rectify.step', { item: flag.txId, system: 'crm', outcome: 'done', rows: 1, digest: 'fd'.repeat(32) });
  expect(node.store.listState('rectstep/bank/', undefined, 10)).toHaveLength(1);
  await ok(bank, 'data.access', { record: first, purpose: 'dpv:Marketing', basis: 'consent' });
  // A refused use stays in the history too (its body names the record, the result code says why).
  expect((await send(bank, 'data.access', { record: first, purpose: 'dpv:Sales', basis: 'consent' })).code).toBe(
    'NO_LAWFUL_BASIS',
  );
  // A failed transaction naming the pseudonym only in its arguments.
  expect((await send(bank, 'data.register', { subject: aliceDid, category: 'pd:Nope' })).code).toBe('INVALID_ARGS');
  await ok(bank, 'data.share', { record: second, recipient: 'insurer', purpose: 'dpv:Marketing', sale: false });
  const copy = await ok(insurer, 'data.register', {
    subject: aliceDid,
    category: 'pd:EmailAddress',
    purposes: { 'dpv:Marketing': 'consent' },
    commitment: 'ee'.repeat(32),
    vaultRef: '1f'.repeat(16),
    retentionDays: 30,
    sourceRecord: { org: 'bank', id: second },
  });
  return { first, second, copy: copy.txId };
}

/** The bank's erasure step in its CRM, which its data map says holds emails. */
function eraseInCrm(request: string) {
  return ok(fx.orgs.bank!, 'request.step', {
    request,
    system: 'crm',
    step: 'erase',
    outcome: 'done',
    rows: 1,
    digest: 'fc'.repeat(32),
  });
}

describe('forgetting a subject after erasure', () => {
  it('deletes the state, prunes the bodies, keeps the proofs, and leaves the pseudonym in no file', async () => {
    const kms = LocalKms.create(join(tmp.dir, 'kms.json'), 'a long test passphrase');
    const vault = new Vault({ path: join(tmp.dir, 'vault.db'), kms, org: 'bank' });
    const { copy } = await history(vault);
    const request = await ok(alice, 'request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' });
    const bank = fx.orgs.bank!;

    // Proofs issued before the erasure, at this height.
    const before = node.latest().height;
    await node.waitFinal(before);
    const inc = inclusionProof(node, request.txId, before);
    const cons = consistencyProof(node, 1, before);
    expect(inc.tx).toBeDefined();

    // The bank shreds and records the erasure; the copy at the insurer is flagged.
    const { vaultRefs } = vault.eraseSubject(aliceDid);
    expect(vaultRefs).toHaveLength(2);
    const records = node.store
      .listState('record/bank/', undefined, 10)
      .map((r) => JSON.parse(r.value) as { id: string; subject: string })
      .filter((r) => r.subject === aliceDid)
      .map((r) => r.id);
    await ok(bank, 'data.erased', { records, reason: 'request' });
    await eraseInCrm(request.txId);
    await ok(bank, 'request.fulfil', { request: request.txId });
    // Not forgotten yet: the insurer's copy is still live (flagged).
    expect(node.store.getState(`history/${aliceDid}`)).toBeDefined();
    expect(node.store.getState(`subjitems/${aliceDid}`)).toBeDefined();

    const last = await ok(fx.orgs.insurer!, 'data.erased', { records: [copy], reason: 'request' });
    // Complete: queued, and still there during the grace period (the customer sees the erasure done).
    expect(node.store.getState(`subjitems/${aliceDid}`)).toBeDefined();
    expect(node.store.getTx(last.txId)?.tx).not.toBeNull();
    clock += FORGET_AFTER_MS - 60_000;
    await ok(fx.orgs.retailer!, 'kv.put', { ns: 'tick', key: 'k', value: 0 });
    expect(node.store.getState(`history/${aliceDid}`)).toBeDefined();
    clock -= FORGET_AFTER_MS - 60_000;
    const tick = await afterGrace();
    // Forgotten at the end of that block: no state key or value names the pseudonym; the tombstone is its hash.
    const state = node.store.listState('', undefined, 100_000);
    expect(state.filter((r) => r.key.includes(aliceDid) || r.value.includes(aliceDid))).toEqual([]);
    // Her correction and its steps in the bank's systems go too (they name the item, not her).
    expect(node.store.listState('rectify/', undefined, 10)).toEqual([]);
    expect(node.store.listState('rectstep/', undefined, 10)).toEqual([]);
    const tomb = `forgotten/${toHex(sha256(utf8(aliceDid)))}`;
    expect(JSON.parse(node.store.getState(tomb)!)).toMatchObject({ height: tick.height });
    // Bodies pruned; id, position and code kept.
    const pruned = node.store.getTx(request.txId)!;
    expect(pruned).toMatchObject({ tx: null, prunedAt: tick.height, code: 'OK', txId: request.txId });
    expect(node.store.getTx(last.txId)?.tx).toBeNull();
    expect(node.store.subjectHistory(aliceDid, -1, 100)).toEqual([]);
    // A replay from genesis cannot pass the pruned bodies, and says so.
    expect(auditStore(node.store).problems.join('\n')).toMatch(/pruned after an erasure/);

    // Proofs issued before still verify, and new ones give the same roots.
    await node.waitFinal(node.latest().height);
    const members = node.members;
    expect(verifyProofBundle(inc, members, nativeVerifier)).toMatchObject({ kind: 'inclusion' });
    expect(verifyProofBundle(cons, members, nativeVerifier)).toMatchObject({ kind: 'consistency' });
    const again = inclusionProof(node, request.txId, before);
    expect(again.tx).toBeUndefined();
    expect(again.certificate.checkpoint).toEqual(inc.certificate.checkpoint);
    expect(again.path).toEqual(inc.path);
    expect(verifyProofBundle(again, members, nativeVerifier)).toMatchObject({ entry: { txId: request.txId } });
    const later = consistencyProof(node, before, node.latest().height);
    expect(verifyProofBundle(later, members, nativeVerifier)).toMatchObject({ fromHeight: before });

    // No file of the node (database, WAL, vault, KMS) holds the pseudonym in any encoding: while it
    // runs (the WAL was truncated after the pruning block) and once closed.
    const forms = pseudonymForms(aliceDid, alice.publicKey);
    expect(scanFiles(tmp.dir, forms)).toEqual([]);
    vault.close();
    await node.close();
    expect(scanFiles(tmp.dir, forms)).toEqual([]);
    node = await openNode();

    // An org cannot start the subject's history again on its own; the customer's new consent can.
    const register = () =>
      send(bank, 'data.register', {
        subject: aliceDid,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:Marketing': 'consent' },
        source: 'subject',
        commitment: 'cd'.repeat(32),
        vaultRef: '2f'.repeat(16),
        retentionDays: 30,
      });
    expect((await register()).code).toBe('ERASED');
    await ok(alice, 'consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: clock + DAY,
      jurisdiction: 'GDPR',
      notice: NOTICE,
    });
    expect((await register()).code).toBe('OK');
  });

  it('leaves the subject in place while an erasure is incomplete or absent', async () => {
    const kms = LocalKms.create(join(tmp.dir, 'kms.json'), 'a long test passphrase');
    const vault = new Vault({ path: join(tmp.dir, 'vault.db'), kms, org: 'bank' });
    const { first, second, copy } = await history(vault);
    const bank = fx.orgs.bank!;
    // Erased records without an erasure request: nothing is forgotten.
    await ok(bank, 'data.erased', { records: [first, second], reason: 'retention' });
    expect(node.store.getState(`subjitems/${aliceDid}`)).toBeDefined();
    // A request open elsewhere holds it too.
    const access = await ok(alice, 'request.open', { org: 'insurer', kind: 'access', jurisdiction: 'GDPR' });
    const erase = await ok(alice, 'request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' });
    vault.close();
    // The copy is live: the erasure at the bank is fulfilled, the subject stays.
    await eraseInCrm(erase.txId);
    await ok(bank, 'request.fulfil', { request: erase.txId });
    expect(node.store.getTx(erase.txId)?.tx).not.toBeNull();
    expect(node.store.getState(`history/${aliceDid}`)).toBeDefined();
    await ok(fx.orgs.insurer!, 'data.erased', { records: [copy], reason: 'request' });
    expect(node.store.listState('forgetdue/', undefined, 10)).toEqual([]);
    await ok(fx.orgs.insurer!, 'request.reject', { request: access.txId, reason: 'no-data-held' });
    expect(node.store.listState('forgetdue/', undefined, 10)).toHaveLength(1);
    // Complete now, but a new consent and record during the grace period keep the subject.
    await ok(alice, 'consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: clock + 365 * DAY,
      jurisdiction: 'GDPR',
      notice: NOTICE,
    });
    await ok(bank, 'data.register', {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      source: 'subject',
      commitment: 'cd'.repeat(32),
      vaultRef: '2f'.repeat(16),
      retentionDays: 30,
    });
    await afterGrace();
    expect(node.store.getState(`history/${aliceDid}`)).toBeDefined();
    expect(node.store.listState('forgetdue/', undefined, 10)).toEqual([]);
    // An auditor's replay from genesis runs the queue as the peer did: same roots, same state.
    expect(auditStore(node.store)).toMatchObject({ ok: true, problems: [] });
  });
});
