/**
 * Issue 11, the modules' part of the trust model, through the HTTP API and the SDK against a real
 * node with real vaults: an erasure request is fulfilled only by erasing (#9).
 */
import { didFromPublicKey, type JsonValue, type Signer, signTx } from '@custos/protocol';
import { CustosApiError, CustosClient, signedBy } from '@custos/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiNode, startApiNode } from './fixtures/api-node.js';
import { userSigner } from './helpers.js';

let api: ApiNode;
let bank: CustosClient;
let anon: CustosClient;

beforeAll(async () => {
  api = await startApiNode({ listen: true });
  bank = new CustosClient({ baseUrl: api.url!, sign: signedBy(api.fx.orgs.bank!) });
  anon = new CustosClient({ baseUrl: api.url! });
});

afterAll(async () => {
  await api?.close();
});

const customerTx = (s: Signer, type: string, args: { [k: string]: JsonValue }) =>
  signTx({ chainId: 'test', type, args }, s);

async function register(subject: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await bank.registerRecord('bank', {
      subject,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { email: `c${i}@example.org` },
    });
    expect(r.code).toBe('OK');
    ids.push(r.recordId);
  }
  return ids;
}

async function openErase(s: Signer, args: { [k: string]: JsonValue } = {}): Promise<string> {
  const r = await anon.submitAndWait(
    customerTx(s, 'request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR', ...args }),
  );
  expect(r.code).toBe('OK');
  return r.txId;
}

describe('erasure requests', () => {
  it('trust #9: an erasure is fulfilled only once every live record of the subject is erased', async () => {
    const alice = userSigner();
    const did = didFromPublicKey(alice.publicKey);
    const [a, b, c] = await register(did, 3);
    // A request with no records named (the default), and one naming only the first record.
    const all = await openErase(alice);
    const named = await openErase(alice, { records: [a!] });
    expect((await bank.fulfilRequest('bank', all)).code).toBe('CONFLICT');
    // Erasing only the named record does not fulfil either: the others are still live.
    expect((await bank.erase('bank', { records: [a!], reason: 'request' })).results[0]!.code).toBe('OK');
    expect((await bank.fulfilRequest('bank', named)).code).toBe('CONFLICT');
    expect((await bank.erase('bank', { records: [b!], reason: 'request' })).results[0]!.code).toBe('OK');
    expect((await bank.fulfilRequest('bank', all)).code).toBe('CONFLICT');
    // The last record is kept under a legal exception, recorded as a code on the request.
    const bad = await bank
      .fulfilRequest('bank', all, { exceptions: [{ record: c!, code: 'because-we-want' as never }] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CustosApiError);
    expect((bad as CustosApiError).code).toBe('BAD_REQUEST');
    // A CCPA code on a GDPR request, or an exception for an erased record, is refused.
    expect((await bank.fulfilRequest('bank', all, { exceptions: [{ record: c!, code: 'ccpa-105-d-1' }] })).code).toBe(
      'INVALID_ARGS',
    );
    expect((await bank.fulfilRequest('bank', all, { exceptions: [{ record: a!, code: 'gdpr-17-3-e' }] })).code).toBe(
      'NOT_FOUND',
    );
    expect((await bank.fulfilRequest('bank', all, { exceptions: [{ record: c!, code: 'gdpr-17-3-e' }] })).code).toBe(
      'OK',
    );
    const req = (await bank.orgRequests('bank')).requests.find((r) => r.id === all)!;
    expect(req).toMatchObject({ status: 'fulfilled', exceptions: [{ record: c, code: 'gdpr-17-3-e' }] });
    // Once everything is erased, the other request is fulfilled with no exception.
    expect((await bank.erase('bank', { subject: did, reason: 'request' })).results[0]!.code).toBe('OK');
    expect((await bank.fulfilRequest('bank', named)).code).toBe('OK');
  });

  it('trust #9: a subject with more than 64 records is erased in full before the request is fulfilled', async () => {
    const bob = userSigner();
    const did = didFromPublicKey(bob.publicKey);
    await register(did, 70);
    const req = await openErase(bob);
    expect((await bank.fulfilRequest('bank', req)).code).toBe('CONFLICT');
    const erased = await bank.erase('bank', { subject: did, reason: 'request' });
    expect(erased.results.every((r) => r.code === 'OK')).toBe(true);
    expect((await bank.fulfilRequest('bank', req)).code).toBe('OK');
    const page = await bank.orgRecords('bank', { limit: 500 });
    expect(page.records.filter((r) => r.subject === did && r.erasedAt === null)).toEqual([]);
  });
});
