/**
 * GPP and GPC through the API and the SDK (in process: the SDK's fetch is the server's `inject`):
 * the org's banner records a GPP string (its opt-outs apply at once; an opt-in waits for the
 * customer), the customer's wallet signs the rest (`gppRecordTx`), the org reads the string for its
 * ad stack (equal to the IAB reference string recorded), and every GPC opt-out lands in the
 * evidence log with its request id and route, never the address or the user agent.
 */
import { didFromPublicKey } from '@custos/protocol/crypto';
import { signTx } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import { CustosApiError, CustosClient, gppRecordTx, signedBy } from '@custos/sdk';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';

/** IAB reference strings (the iabgpp-es library's test suite). */
const USNAT_OPTED_OUT = 'DBABLA~CVVVkkkkkpFY.YA';
const TCF_USP = 'DBACNYA~CPSG_8APSG_8ANwAAAENAwCgAAAAAAAAAAAAAAAAAAAA.IAAA.YAAAAAAAAAAA~1YNN';

let api: ApiNode;
let bank: CustosClient;
let anon: CustosClient;

function headersOf(h: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(h).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

/** A fetch that hands each request to the server in process. */
function injectFetch(app: ApiNode['app']): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: url.pathname + url.search,
      headers: headersOf(init?.headers),
      ...(init?.body === undefined || init.body === null ? {} : { payload: init.body as string }),
    });
    return new Response(res.statusCode === 204 ? null : res.body, {
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
    });
  }) as typeof fetch;
}

beforeAll(async () => {
  api = await startApiNode({});
  const f = injectFetch(api.app);
  bank = new CustosClient({ baseUrl: 'http://localhost', fetch: f, sign: signedBy(api.fx.orgs.bank!) });
  anon = new CustosClient({ baseUrl: 'http://localhost', fetch: f });
});

afterAll(async () => {
  await api?.close();
});

describe('GPP through the API', () => {
  it('the banner records a string: the opt-outs apply, the org reads the same string back', async () => {
    const wallet = Wallet.create({ signerFactory: nativeSigner });
    const did = didFromPublicKey(wallet.relationship('test', 'bank').signer.publicKey);
    const r = await bank.recordGpp('bank', did, USNAT_OPTED_OUT);
    expect(r).toMatchObject({ code: 'OK', sections: ['usnat'], needsCustomer: false });
    expect(r.choices).toMatchObject({ sale: 'out', share: 'out', targeted: 'out', sensitive: 'out' });
    const out = await bank.emittedGpp('bank', did);
    expect(out).toMatchObject({ gpp: USNAT_OPTED_OUT, basedOn: r.txId });
    expect(out.choices).toMatchObject({ sale: true, share: true, targeted: true, sensitive: true });
  });

  it('a TCF consent waits for the customer, whose wallet signs it; the string comes back equal', async () => {
    const wallet = Wallet.create({ signerFactory: nativeSigner });
    const did = didFromPublicKey(wallet.relationship('test', 'bank').signer.publicKey);
    // The reference string consents to nothing: the org's record is all there is to it.
    expect((await bank.recordGpp('bank', did, TCF_USP)).needsCustomer).toBe(false);
    // A banner string with consent to TCF purposes 2 and 4.
    const { GppModel } = await import('@iabgpp/cmpapi');
    const m = new GppModel(TCF_USP);
    m.setFieldValue(
      'tcfeuv2',
      'PurposeConsents',
      (m.getFieldValue('tcfeuv2', 'PurposeConsents') as boolean[]).map((_, i) => i === 1 || i === 3),
    );
    const consented = m.encode();
    const byOrg = await bank.recordGpp('bank', did, consented);
    expect(byOrg).toMatchObject({ code: 'OK', needsCustomer: true });
    expect((await bank.emittedGpp('bank', did)).choices.consented).toEqual([]);
    // The customer's browser signs the same string with the wallet.
    const tx = gppRecordTx(wallet, 'test', 'bank', consented);
    expect((await anon.submitAndWait(tx)).code).toBe('OK');
    const out = await bank.emittedGpp('bank', did);
    expect(out.choices.consented).toEqual(['dpv:Advertising', 'dpv:PersonalisedAdvertising']);
    expect(out.gpp).toBe(consented);
  });

  it('refuses a bad string with what was expected, and an unsigned caller', async () => {
    const did = didFromPublicKey(nativeSigner(new Uint8Array(32).fill(7)).publicKey);
    const err = await bank.recordGpp('bank', did, 'DBABLA~zzz').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CustosApiError);
    expect((err as CustosApiError).code).toBe('BAD_REQUEST');
    expect((err as Error).message).toMatch(/GPP string/);
    const denied = await anon.emittedGpp('bank', did).catch((e: unknown) => e);
    expect((denied as CustosApiError).code).toBe('UNAUTHENTICATED');
  });
});

describe('sensitive data and age bands through the API', () => {
  it("the customer's limit and the age band the org verified change what the ad stack is told", async () => {
    const wallet = Wallet.create({ signerFactory: nativeSigner });
    const signer = wallet.relationship('test', 'bank').signer;
    const did = didFromPublicKey(signer.publicKey);
    const limit = signTx({ chainId: 'test', type: 'optout.set', args: { org: 'bank', kinds: ['sensitive'] } }, signer);
    expect((await anon.submitAndWait(limit)).code).toBe('OK');
    expect((await bank.emittedGpp('bank', did)).choices).toMatchObject({ sale: false, sensitive: true });
    const evidence = { method: 'id-document' as const, digest: 'ee'.repeat(32) };
    const r = await bank.recordAge('bank', { subject: did, band: '13-15', memberState: 'FR', evidence });
    expect(r.code).toBe('OK');
    const out = await bank.emittedGpp('bank', did);
    expect(out.age).toEqual({ band: '13-15', by: 'org', memberState: 'FR' });
    // Under 16 and no opt-in as a minor: the ad stack reads sale and sharing as opted out.
    expect(out.choices).toMatchObject({ sale: true, share: true, sensitive: true });
    // Bad input is refused before the ledger, saying what was expected; the band stays.
    const bad = await bank
      .recordAge('bank', { subject: did, band: 'child' as '13-15', evidence })
      .catch((e: unknown) => e);
    expect((bad as CustosApiError).code).toBe('BAD_REQUEST');
    expect((bad as Error).message).toMatch(/band/);
    // The customer cannot undo the band the org verified.
    const adult = signTx({ chainId: 'test', type: 'age.set', args: { org: 'bank', band: 'adult' } }, signer);
    expect((await anon.submitAndWait(adult)).code).toBe('CONFLICT');
    expect((await bank.emittedGpp('bank', did)).age?.band).toBe('13-15');
  });
});

describe('GPC as evidence', () => {
  it('trust #18: GPC evidence holds the request id and route, never the address or the user agent', async () => {
    const wallet = Wallet.create({ signerFactory: nativeSigner });
    const signer = wallet.relationship('test', 'retailer').signer;
    const did = didFromPublicKey(signer.publicKey);
    const tx = signTx(
      { chainId: 'test', type: 'optout.set', args: { org: 'retailer', kinds: ['sale', 'share'], source: 'gpc' } },
      signer,
    );
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/txs?wait=true',
      payload: tx,
      headers: { 'sec-gpc': '1', 'user-agent': 'Canary-Agent/9.9', 'x-forwarded-for': '203.0.113.77' },
    });
    expect(res.statusCode).toBe(200);
    const requestId = res.headers['x-request-id'];
    const retailer = new CustosClient({
      baseUrl: 'http://localhost',
      fetch: injectFetch(api.app),
      sign: signedBy(api.fx.orgs.retailer!),
    });
    const { evidence } = await retailer.gpcEvidence('retailer');
    expect(evidence[0]).toMatchObject({
      org: 'retailer',
      subject: did,
      kinds: ['sale', 'share'],
      requestId,
      route: '/v1/txs',
      txId: res.json().txId,
    });
    const text = JSON.stringify(evidence);
    expect(text).not.toContain('Canary-Agent');
    expect(text).not.toContain('203.0.113.77');
    // The customer reads their own, signed with the pseudonym's key; the bank sees none of the retailer's.
    const mine = new CustosClient({ baseUrl: 'http://localhost', fetch: injectFetch(api.app), sign: signedBy(signer) });
    expect((await mine.subjectGpcEvidence(did)).evidence).toHaveLength(1);
    expect((await bank.gpcEvidence('bank')).evidence).toEqual([]);
    // A refused GPC opt-out (no Sec-GPC: 1) is no evidence.
    const again = signTx(
      { chainId: 'test', type: 'optout.set', args: { org: 'retailer', kinds: ['sale'], source: 'gpc' } },
      signer,
    );
    expect((await api.app.inject({ method: 'POST', url: '/v1/txs', payload: again })).statusCode).toBe(400);
    expect((await retailer.gpcEvidence('retailer')).evidence).toHaveLength(1);
  });
});
