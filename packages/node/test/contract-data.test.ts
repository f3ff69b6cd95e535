/**
 * A contract's data use goes through the same checks as a direct one (issue 14, privacy by
 * construction): a bank-insurer agreement contract calls `data.access` and `data.share` through
 * its manifest grants; lawful basis, consent withdrawal and opt-out refuse it with the same codes
 * as a direct transaction, the refused call books no fee, and every use (refused ones too) is in
 * the customer's history.
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyKey } from '../src/exec/executor.js';
import { CustosNode } from '../src/node.js';

const AGREEMENT = `
exports.use = function (args, call) {
  host.system('data.access', { record: args.record, purpose: args.purpose, basis: 'consent' });
  const fees = host.get('fees/total') || { uses: 0, eur: 0 };
  fees.uses += 1;
  fees.eur += 2;
  host.put('fees/total', fees);
  return fees.uses;
};
exports.share = function (args) {
  return host.system('data.share', { record: args.record, recipient: 'insurer', purpose: 'dpv:Marketing', sale: false });
};
`;
const MANIFEST = {
  name: 'bank-insurer',
  version: '1.0.0',
  namespaces: ['fees'],
  grants: ['data.access', 'data.share'],
  categories: ['pd:EmailAddress'],
  purposes: ['dpv:Marketing'],
  maxGas: 2_000_000,
};

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let alice: Signer;
let aliceDid: string;
let record = '';

const send = (s: Signer, type: string, args: { [k: string]: JsonValue }) => node.submitAndWait(tx(s, type, args));
const use = (purpose = 'dpv:Marketing') =>
  send(fx.orgs.bank!, 'contract.call', { contract: 'bank-insurer', method: 'use', args: { record, purpose } });
const fees = () => JSON.parse(node.store.getState('contract/bank-insurer/fees/total') ?? 'null') as JsonValue;
const history = () =>
  (JSON.parse(node.store.getState(historyKey(aliceDid)) ?? '{"count":0}') as { count: number }).count;

beforeAll(async () => {
  tmp = tempDir();
  fx = fixture();
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
  alice = userSigner();
  aliceDid = didFromPublicKey(alice.publicKey);
  const reg = await send(fx.orgs.bank!, 'data.register', {
    subject: aliceDid,
    category: 'pd:EmailAddress',
    purposes: { 'dpv:Marketing': 'consent' },
    source: 'subject',
    commitment: 'cd'.repeat(32),
    vaultRef: '0f'.repeat(16),
    retentionDays: 30,
  });
  expect(reg.code).toBe('OK');
  record = reg.txId;
  const p = await send(fx.orgs.bank!, 'contract.propose', { code: AGREEMENT, manifest: MANIFEST, reason: 'agreement' });
  expect(p.code).toBe('OK');
  expect((await send(fx.orgs.insurer!, 'gov.vote', { proposal: p.txId, vote: 'yes' })).code).toBe('OK');
});

afterAll(async () => {
  await node?.close();
  tmp.cleanup();
});

describe('data use by a contract', () => {
  it('is refused without consent, books no fee, and is in the customer history', async () => {
    const before = history();
    const r = await use();
    expect(r.code).toBe('NO_LAWFUL_BASIS');
    expect(r.detail).toMatch(/data.access/);
    expect(fees()).toBeNull();
    expect(history()).toBe(before + 1);
  });

  it('runs under a live consent, and stops when the customer withdraws it', async () => {
    const g = await send(alice, 'consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: Date.now() + 365 * 86_400_000,
      jurisdiction: 'GDPR',
      notice: 'ab'.repeat(32),
    });
    expect(g.code).toBe('OK');
    expect((await use()).code).toBe('OK');
    expect(fees()).toEqual({ uses: 1, eur: 2 });
    expect((await send(alice, 'consent.withdraw', { org: 'bank' })).code).toBe('OK');
    expect((await use()).code).toBe('NO_LAWFUL_BASIS');
    expect(fees()).toEqual({ uses: 1, eur: 2 });
  });

  it('is refused for a purpose its manifest does not list', async () => {
    expect((await use('dpv:Personalisation')).code).toBe('CONTRACT_FORBIDDEN');
  });

  it('cannot share a record of a customer who opted out', async () => {
    expect((await send(alice, 'optout.set', { org: 'bank', kinds: ['share'] })).code).toBe('OK');
    const r = await send(fx.orgs.bank!, 'contract.call', {
      contract: 'bank-insurer',
      method: 'share',
      args: { record },
    });
    expect(r.code).toBe('OPTED_OUT');
  });

  it('is done on behalf of the calling org only: another org cannot use the bank record', async () => {
    const r = await send(fx.orgs.retailer!, 'contract.call', {
      contract: 'bank-insurer',
      method: 'use',
      args: { record, purpose: 'dpv:Marketing' },
    });
    expect(r.code).toBe('NOT_FOUND');
  });
});
