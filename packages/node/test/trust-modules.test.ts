/**
 * Issue 11, the modules' part of the trust model, against one real node (SQLite, native crypto):
 * proof of possession for member keys (#4), erasure requests fulfilled only by erasing (#9) and
 * org-owned `kv` namespaces (#10).
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { proveMemberKey } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';
import { OrgService } from '../src/orgs/org-service.js';
import { consentEvents, exportContext } from '../src/orgs/receipts.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;

beforeEach(async () => {
  tmp = tempDir();
  fx = fixture();
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
});

afterEach(async () => {
  await node.close();
  tmp.cleanup();
});

const profile = (url: string) => ({
  controller: { name: 'Bank', contact: 'DPO', email: 'dpo@bank.example', url },
  policyUrl: `${url}/privacy`,
});

describe('org-owned kv namespaces', () => {
  it('trust #10: nobody but the org writes privacy/<org>.*; a squatter cannot put a phishing URL in its receipts', async () => {
    const mallory = userSigner();
    const squat = await node.submitAndWait(
      tx(mallory, 'kv.put', { ns: 'privacy', key: 'bank.profile', value: profile('https://phish.example') }),
    );
    expect(squat.code).toBe('RESERVED_NAMESPACE');
    // Another member org is refused too, and so are keys outside the <org>.<name> form.
    const rival = await node.submitAndWait(
      tx(fx.orgs.insurer!, 'kv.put', { ns: 'privacy', key: 'bank.policy', value: { url: 'https://x.example' } }),
    );
    expect(rival.code).toBe('RESERVED_NAMESPACE');
    for (const key of ['bank', 'bank.', 'nobody.profile', 'Bank.profile']) {
      expect((await node.submitAndWait(tx(mallory, 'kv.put', { ns: 'privacy', key, value: 1 }))).code).toBe(
        'RESERVED_NAMESPACE',
      );
    }
    expect(node.store.getState('kv/privacy/bank.profile')).toBeUndefined();
    expect(() => exportContext(node, 'bank')).toThrow(/has not published/);

    const own = await node.submitAndWait(
      tx(fx.orgs.bank!, 'kv.put', { ns: 'privacy', key: 'bank.profile', value: profile('https://bank.example') }),
    );
    expect(own.code).toBe('OK');
    expect(exportContext(node, 'bank')).toMatchObject({ policyUrl: 'https://bank.example/privacy' });
    // Neither overwrite nor delete by others; any key of the org (a new one too) may update it.
    expect(
      (
        await node.submitAndWait(
          tx(mallory, 'kv.put', { ns: 'privacy', key: 'bank.profile', value: profile('https://phish.example') }),
        )
      ).code,
    ).toBe('RESERVED_NAMESPACE');
    expect((await node.submitAndWait(tx(mallory, 'kv.delete', { ns: 'privacy', key: 'bank.profile' }))).code).toBe(
      'RESERVED_NAMESPACE',
    );
    expect(exportContext(node, 'bank')).toMatchObject({ policyUrl: 'https://bank.example/privacy' });
    // Other namespaces keep first-writer ownership.
    expect((await node.submitAndWait(tx(mallory, 'kv.put', { ns: 'app', key: 'bank.x', value: 1 }))).code).toBe('OK');
  });
});

const did = (s: Signer) => didFromPublicKey(s.publicKey);
const DAY = 86_400_000;

function grant(customer: Signer, org: string) {
  return tx(customer, 'consent.grant', {
    org,
    purposes: ['dpv:Marketing'],
    categories: ['pd:EmailAddress'],
    expiresAt: Date.now() + 30 * DAY,
    jurisdiction: 'GDPR',
    notice: 'ab'.repeat(32),
  });
}

describe('proof of possession for member keys', () => {
  const send = (s: Signer, type: string, args: { [k: string]: JsonValue }) => node.submitAndWait(tx(s, type, args));
  const propose = (s: Signer, action: { [k: string]: JsonValue }) =>
    send(s, 'gov.propose', { action, reason: 'key change' });

  it("trust #4: an org cannot register a customer's key as its own; the customer can still withdraw", async () => {
    const bank = fx.orgs.bank!;
    const alice = userSigner();
    expect((await node.submitAndWait(grant(alice, 'bank'))).code).toBe('OK');
    // The bank knows Alice's pairwise did:key (it is on every event); it cannot sign as her, so it
    // forges the proof with its own key, or sends none.
    const forged = proveMemberKey(bank, { chainId: 'test', member: 'bank', action: 'addKey' }).proof;
    expect((await send(bank, 'member.addKey', { key: did(alice), proof: forged })).code).toBe('KEY_HAS_HISTORY');
    expect((await send(bank, 'member.addKey', { key: did(alice) })).code).toBe('KEY_HAS_HISTORY');
    // Even a key Alice proves (tricked into signing) is refused: it has a history as a data subject.
    const tricked = proveMemberKey(alice, { chainId: 'test', member: 'bank', action: 'addKey' });
    expect((await send(bank, 'member.addKey', tricked)).code).toBe('KEY_HAS_HISTORY');
    // Through governance too: neither as a rotated key nor as a new member's key.
    const rot = { kind: 'rotateKey', member: 'bank', oldKey: did(bank), newKey: did(alice), proof: forged };
    expect((await propose(fx.orgs.insurer!, rot)).code).toBe('KEY_HAS_HISTORY');
    const admit = {
      kind: 'admit',
      id: 'shell',
      name: 'Shell Co',
      keys: [did(alice)],
      endpoint: 'https://peer.shell.example',
      proofs: [forged],
    };
    expect((await propose(bank, admit)).code).toBe('KEY_HAS_HISTORY');
    expect(node.store.getState(`memberkey/${did(alice)}`)).toBeUndefined();
    // Alice is still a customer: she withdraws her consent and opts out.
    expect((await send(alice, 'consent.withdraw', { org: 'bank' })).code).toBe('OK');
    expect((await send(alice, 'optout.set', { org: 'bank', kinds: ['sale', 'share'] })).code).toBe('OK');

    // A fresh key (no history yet: the customer's next pseudonym) without its holder's proof.
    const bob = userSigner();
    expect((await send(bank, 'member.addKey', { key: did(bob), proof: forged })).code).toBe('KEY_NOT_PROVEN');
    expect((await send(bank, 'member.addKey', { key: did(bob) })).code).toBe('KEY_NOT_PROVEN');
    expect((await send(bank, 'member.addKey', { key: did(bob), proof: 'not base64!' })).code).toBe('KEY_NOT_PROVEN');
    expect(node.store.getState(`memberkey/${did(bob)}`)).toBeUndefined();
    expect((await node.submitAndWait(grant(bob, 'bank'))).code).toBe('OK');
  });

  it('trust #4: a rotation with a valid proof works; one signed by another key, or for another statement, is refused', async () => {
    const { bank, insurer, retailer } = fx.orgs as Record<string, Signer>;
    const fresh = userSigner();
    const rotation = (proof: string) => ({
      kind: 'rotateKey',
      member: 'insurer',
      oldKey: did(insurer!),
      newKey: did(fresh),
      proof,
    });
    const byOther = proveMemberKey(userSigner(), { chainId: 'test', member: 'insurer', action: 'rotateKey' }).proof;
    expect((await propose(bank!, rotation(byOther))).code).toBe('KEY_NOT_PROVEN');
    // The proof binds chain, member and action: one made for anything else does not count.
    for (const other of [
      { chainId: 'other-chain', member: 'insurer', action: 'rotateKey' as const },
      { chainId: 'test', member: 'bank', action: 'rotateKey' as const },
      { chainId: 'test', member: 'insurer', action: 'addKey' as const },
    ]) {
      expect((await propose(bank!, rotation(proveMemberKey(fresh, other).proof))).code).toBe('KEY_NOT_PROVEN');
    }
    const good = proveMemberKey(fresh, { chainId: 'test', member: 'insurer', action: 'rotateKey' });
    expect(good.key).toBe(did(fresh));
    const p = await propose(bank!, rotation(good.proof));
    expect(p.code).toBe('OK');
    expect((await send(retailer!, 'gov.vote', { proposal: p.txId, vote: 'yes' })).code).toBe('OK');
    expect(JSON.parse(node.store.getState('member/insurer')!)).toMatchObject({ keys: [did(fresh)] });
    expect((await send(fresh, 'member.update', { name: 'Insurer plc' })).code).toBe('OK');

    // A new member's keys each need their own proof, for 'admit' of that member id.
    const clinic = userSigner();
    const proofs = [proveMemberKey(clinic, { chainId: 'test', member: 'clinic', action: 'admit' }).proof];
    const admit = { kind: 'admit', id: 'clinic', name: 'Clinic', keys: [did(clinic)], endpoint: 'https://c.example' };
    expect((await propose(bank!, admit)).code).toBe('INVALID_ARGS');
    expect((await propose(bank!, { ...admit, proofs: [byOther] })).code).toBe('KEY_NOT_PROVEN');
    expect((await propose(bank!, { ...admit, id: 'clinic2', proofs })).code).toBe('KEY_NOT_PROVEN');
    expect((await propose(bank!, { ...admit, proofs })).code).toBe('OK');
  });
});

describe('consent receipts', () => {
  it('trust #14: a withdrawal receipt names exactly the consents that transaction withdrew, even two in one block', async () => {
    const alice = userSigner();
    const gA = await node.submitAndWait(grant(alice, 'bank'));
    const gB = await node.submitAndWait(grant(alice, 'bank'));
    expect([gA.code, gB.code]).toEqual(['OK', 'OK']);
    // One withdrawal of consent A, one of "everything left" (so only B), submitted together: one block.
    const w1 = node.submit(tx(alice, 'consent.withdraw', { org: 'bank', consent: gA.txId }));
    const w2 = node.submit(tx(alice, 'consent.withdraw', { org: 'bank' }));
    const [r1, r2] = await Promise.all([w1.committed, w2.committed]);
    expect([r1.code, r2.code]).toEqual(['OK', 'OK']);
    expect(r1.height).toBe(r2.height);
    expect(consentEvents(node, r1.txId).map((e) => [e.event, e.id])).toEqual([['withdrawn', gA.txId]]);
    expect(consentEvents(node, r2.txId).map((e) => [e.event, e.id])).toEqual([['withdrawn', gB.txId]]);
  });
});

describe('registration and the vault', () => {
  const input = (subject: string) => ({
    subject,
    category: 'pd:EmailAddress',
    purposes: { 'dpv:ServiceProvision': 'contract' as const },
    source: 'subject' as const,
    retentionDays: 30,
    value: { email: 'orphan@example.org' },
  });
  const openVault = () =>
    new Vault({
      path: join(tmp.dir, 'vault-bank.db'),
      kms: LocalKms.create(join(tmp.dir, `kms-${Math.random()}.json`), 'test passphrase'),
      org: 'bank',
    });

  it('trust #14: a register whose ledger transaction fails leaves no record in the vault', async () => {
    const kmsPath = join(tmp.dir, 'kms.json');
    const kms = LocalKms.create(kmsPath, 'test passphrase');
    const vault = new Vault({ path: join(tmp.dir, 'vault.db'), kms, org: 'bank' });
    const orgs = new OrgService(node, [{ id: 'bank', signer: fx.orgs.bank!, vault }]);
    const alice = did(userSigner());
    // A registration that commits is kept, and no longer pending.
    const ok = await orgs.register('bank', input(alice));
    expect(ok.code).toBe('OK');
    expect(vault.pending()).toEqual([]);
    // The ledger transaction fails: the node stops before admitting it.
    const bob = did(userSigner());
    await node.close();
    await expect(orgs.register('bank', input(bob))).rejects.toMatchObject({ code: 'NODE_STOPPED' });
    expect(vault.records(bob)).toEqual([]);
    expect(vault.pending()).toEqual([]);
    expect(vault.records(alice)).toHaveLength(1);
    orgs.stop();
    vault.close();
  });

  it('trust #14: after a crash between the vault write and the ledger, the orphan value is erased on restart', async () => {
    const vault = openVault();
    const carol = did(userSigner());
    // A crash right after the vault write: the transaction was never submitted.
    const orphan = vault.put(carol, { email: 'carol@example.org' }, { pendingUntil: Date.now() + 600_000 });
    expect(vault.records(carol)).toHaveLength(1);
    const orgs = new OrgService(node, [{ id: 'bank', signer: fx.orgs.bank!, vault }]);
    expect(vault.status(orphan.vaultRef)).toBe('erased');
    expect(vault.records(carol)).toEqual([]);
    expect(vault.pending()).toEqual([]);
    orgs.stop();
    vault.close();
  });
});
