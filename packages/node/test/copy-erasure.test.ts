/**
 * Copy-only erasure (issue 19 point 2; docs/adr/0019-forget-on-the-ledger.md): an org that holds only
 * a copy it received keeps it under the customer's pseudonym towards the org that shared it. A
 * request signed with the pseudonym towards the recipient reaches nothing there; the wallet finds
 * the pseudonym holding the copy (`pseudonymsHeldBy`, what `custos request open` runs) and signs the
 * request with it; the recipient erases and fulfils through the API, and once the source is erased
 * too, the subject's erasure is complete and queued to be forgotten on the ledger.
 */
import type { Signer } from '@custos/protocol/crypto';
import { signTx } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import { CustosClient, pseudonymsHeldBy, signedBy } from '@custos/sdk';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import type { Vault } from '../src/vault/vault.js';

const DAY = 86_400_000;

describe('an erasure request to an org that holds only a copy', () => {
  let api: ApiNode;
  let client: CustosClient;
  const asOrg = (org: string) => ({ sign: signedBy(api.fx.orgs[org]!) });

  beforeAll(async () => {
    api = await startApiNode({ listen: true });
    client = new CustosClient({ baseUrl: api.url! });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('is signed with the pseudonym holding the copy, reaches it, and completes the erasure', async () => {
    const wallet = Wallet.create({ signerFactory: nativeSigner });
    const atBank = wallet.relationship('test', 'bank');
    const atInsurer = wallet.relationship('test', 'insurer');
    // The customer consents at the bank with sharing; the bank registers a value and shares it.
    const grant = await client.submitAndWait(
      signTxAs(atBank, 'consent.grant', {
        org: 'bank',
        purposes: ['dpv:Marketing'],
        categories: ['pd:EmailAddress'],
        expiresAt: Date.now() + 30 * DAY,
        jurisdiction: 'GDPR',
        notice: 'ab'.repeat(32),
        share: true,
      }),
    );
    expect(grant.code).toBe('OK');
    const reg = await client.registerRecord(
      'bank',
      {
        subject: atBank.did,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:Marketing': 'consent' },
        source: 'subject',
        retentionDays: 30,
        value: { email: 'ada@example.org' },
      },
      asOrg('bank'),
    );
    expect(reg.code).toBe('OK');
    const record = reg.recordId as string;
    const shared = await client.shareRecord(
      'bank',
      record,
      { recipient: 'insurer', purpose: 'dpv:Marketing', sale: false },
      asOrg('bank'),
    );
    expect(shared.code).toBe('OK');
    // The insurer keeps the value it received in its vault (no API registers a received copy yet:
    // reached through the service's vault) and registers its copy on the ledger, under the
    // pseudonym towards the bank, the only one it was given.
    const insurerVault = (api.orgs as unknown as { org(id: string): { vault: Vault } }).org('insurer').vault;
    const stored = insurerVault.put(atBank.did, { email: 'ada@example.org' });
    const copy = await client.submitAndWait(
      signOrgTx(api, 'insurer', 'data.register', {
        subject: atBank.did,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:Marketing': 'consent' },
        commitment: stored.commitment,
        vaultRef: stored.vaultRef,
        retentionDays: 30,
        sourceRecord: { org: 'bank', id: record },
      }),
    );
    expect(copy.code).toBe('OK');

    // Signed with the pseudonym towards the insurer, a request reaches nothing: the insurer holds
    // nothing under it (its list is empty, and the copy is untouched).
    const wrong = await client.submitAndWait(
      signTxAs(atInsurer, 'request.open', { org: 'insurer', kind: 'erase', jurisdiction: 'GDPR' }),
    );
    expect(wrong.code).toBe('OK');
    expect(api.orgs.recordsOf('insurer', atInsurer.did)).toEqual([]);

    // The wallet finds the pseudonym under which the insurer holds the copy, reading its own report.
    const held = await pseudonymsHeldBy(client, wallet, 'test', 'insurer');
    expect(held.map((h) => [h.identity.did, h.records])).toEqual([[atBank.did, [copy.txId]]]);
    expect(await pseudonymsHeldBy(client, wallet, 'test', 'retailer')).toEqual([]);
    const right = await client.submitAndWait(
      signTxAs(held[0]!.identity, 'request.open', { org: 'insurer', kind: 'erase', jurisdiction: 'GDPR' }),
    );
    expect(right.code).toBe('OK');
    const queue = await client.orgRequests('insurer', {}, asOrg('insurer'));
    expect(queue.requests.map((r) => r.id)).toContain(right.txId);

    // The insurer cannot answer it while the copy is live; it erases through the API, then fulfils.
    const early = await client.fulfilRequest('insurer', right.txId, {}, asOrg('insurer'));
    expect(early.code).toBe('CONFLICT');
    const erased = await client.erase('insurer', { records: [copy.txId], reason: 'request' }, asOrg('insurer'));
    expect(erased.results.map((r) => r.code)).toEqual(['OK']);
    expect((await client.fulfilRequest('insurer', right.txId, {}, asOrg('insurer'))).code).toBe('OK');
    expect((await client.rejectRequest('insurer', wrong.txId, 'no-data-held', asOrg('insurer'))).code).toBe('OK');

    // The source is still live at the bank: not forgotten yet. The bank's erasure completes it.
    expect(api.node.store.getState(`subjitems/${atBank.did}`)).toBeDefined();
    const atBankErase = await client.submitAndWait(
      signTxAs(atBank, 'request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' }),
    );
    const bankErased = await client.erase('bank', { subject: atBank.did, reason: 'request' }, asOrg('bank'));
    expect(bankErased.results.every((r) => r.code === 'OK')).toBe(true);
    expect((await client.fulfilRequest('bank', atBankErase.txId, {}, asOrg('bank'))).code).toBe('OK');
    // Complete: queued to be forgotten after the grace period (forget.test.ts runs it to the end).
    expect(api.node.store.listState('forgetdue/', undefined, 10)).toHaveLength(1);
  });
});

function signTxAs(who: { signer: Signer }, type: string, args: Record<string, unknown>) {
  return signTx({ chainId: 'test', type, args: args as never }, who.signer);
}

function signOrgTx(api: ApiNode, org: string, type: string, args: Record<string, unknown>) {
  return signTx({ chainId: 'test', type, args: args as never }, api.fx.orgs[org]!);
}
