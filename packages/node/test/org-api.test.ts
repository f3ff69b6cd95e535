/**
 * Customer data end to end through the HTTP API, with real vaults: consent-bound access that the
 * vault enforces, GPC, erasure by crypto-shredding, and a canary (a name and an email) that never
 * reaches the ledger, its blocks, the logs or an error message, and after erasure is nowhere at all.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signTx } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vault } from '../src/vault/vault.js';

const CANARY_NAME = `Zyxwv Canary-${randomBytes(6).toString('hex')}`;
const CANARY_EMAIL = `canary.${randomBytes(6).toString('hex')}@example.org`;
const DAY = 86_400_000;

let api: ApiNode;
let tmp: ApiNode['tmp'];
let fx: ApiNode['fx'];
let node: ApiNode['node'];
let orgs: ApiNode['orgs'];
let app: ApiNode['app'];
let alice: Signer;
let aliceDid: string;
const logLines: string[] = [];
const orgLog: string[] = [];
const errorBodies: string[] = [];

/** RFC 9421 signature headers for an injected request (inject sends Host: localhost:80). */
function signedHeaders(method: string, url: string, signer: Signer, body?: string): Record<string, string> {
  const h = signRequest({ method, url: `http://localhost${url}`, ...(body === undefined ? {} : { body }) }, signer);
  return { ...h, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
}

/** POSTs JSON; org routes are signed with the key of the org in the path, as they require. */
async function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
  const org = /^\/v1\/orgs\/([^/]+)\//.exec(url)?.[1];
  const body = JSON.stringify(payload);
  const auth = org === undefined ? {} : signedHeaders('POST', url, fx.orgs[org]!, body);
  const res = await app.inject({
    method: 'POST',
    url,
    payload: body,
    headers: { 'content-type': 'application/json', ...auth, ...headers },
  });
  if (res.statusCode >= 400) errorBodies.push(res.body);
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { code?: string } };
}

/** A GET signed by `signer` (the subject, or a key of the org), as the private routes require. */
function get(url: string, signer: Signer) {
  return app.inject({ method: 'GET', url, headers: signedHeaders('GET', url, signer) });
}

function aliceTx(type: string, args: { [k: string]: JsonValue }): SignedTx {
  return signTx({ chainId: 'test', type, args }, alice);
}

beforeAll(async () => {
  api = await startApiNode({
    server: { logger: true, logStream: { write: (l) => logLines.push(l) } },
    orgLog: (e) => orgLog.push(JSON.stringify(e)),
  });
  ({ tmp, fx, node, orgs, app } = api);
  alice = userSigner();
  aliceDid = didFromPublicKey(alice.publicKey);
});

afterAll(async () => {
  await api?.close();
});

describe('customer data through the API', () => {
  let record: string;

  it('registers a value: the vault keeps it, the ledger gets a commitment', async () => {
    const r = await post('/v1/orgs/bank/records', {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent', 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { name: CANARY_NAME, email: CANARY_EMAIL },
    });
    expect(r.status).toBe(201);
    expect(r.body.code).toBe('OK');
    record = r.body.recordId as string;
  });

  it('refuses access without consent, and the vault refuses to decrypt', async () => {
    const r = await post(`/v1/orgs/bank/records/${record}/access`, { purpose: 'dpv:Marketing', basis: 'consent' });
    expect(r.body.code).toBe('NO_LAWFUL_BASIS');
    expect(r.body.value).toBeUndefined();
    // Even handed the txId of the refused access, the vault does not decrypt.
    const rec = orgs.record('bank', record)!;
    const vault = (orgs as unknown as { orgs: Map<string, { vault: Vault }> }).orgs.get('bank')!.vault;
    expect(() =>
      vault.read(rec.vaultRef, { accessTxId: r.body.txId as string }, (ref, tx) => orgs.isValidAccess('bank', ref, tx)),
    ).toThrow(expect.objectContaining({ code: 'ACCESS_DENIED' }));
  });

  it('decrypts for an access under a live consent, and refuses again after withdrawal', async () => {
    const g = await post(
      '/v1/txs?wait=true',
      aliceTx('consent.grant', {
        org: 'bank',
        purposes: ['dpv:Marketing'],
        categories: ['pd:EmailAddress'],
        expiresAt: Date.now() + 30 * DAY,
        jurisdiction: 'GDPR',
        notice: 'ab'.repeat(32),
        share: true,
      }),
    );
    expect(g.body.code).toBe('OK');
    const ok = await post(`/v1/orgs/bank/records/${record}/access`, { purpose: 'dpv:Marketing', basis: 'consent' });
    expect(ok.body).toMatchObject({ code: 'OK', value: { name: CANARY_NAME, email: CANARY_EMAIL } });
    const w = await post('/v1/txs?wait=true', aliceTx('consent.withdraw', { org: 'bank' }));
    expect(w.body.code).toBe('OK');
    const after = await post(`/v1/orgs/bank/records/${record}/access`, { purpose: 'dpv:Marketing', basis: 'consent' });
    expect(after.body.code).toBe('NO_LAWFUL_BASIS');
    expect(after.body.value).toBeUndefined();
  });

  it('honours Global Privacy Control: serves gpc.json, records a GPC opt-out only with Sec-GPC: 1', async () => {
    const gpc = await app.inject({ method: 'GET', url: '/.well-known/gpc.json' });
    expect(gpc.json()).toMatchObject({ gpc: true });
    const optout = aliceTx('optout.set', { org: 'bank', kinds: ['sale', 'share'], source: 'gpc' });
    expect((await post('/v1/txs?wait=true', optout)).status).toBe(400);
    expect((await post('/v1/txs?wait=true', optout, { 'sec-gpc': 'yes' })).status).toBe(400);
    const ok = await post('/v1/txs?wait=true', optout, { 'sec-gpc': '1' });
    expect(ok.body.code).toBe('OK');
    await post(
      '/v1/txs?wait=true',
      aliceTx('consent.grant', {
        org: 'bank',
        purposes: ['dpv:Marketing'],
        categories: ['pd:EmailAddress'],
        expiresAt: Date.now() + 30 * DAY,
        jurisdiction: 'CCPA',
        notice: 'ab'.repeat(32),
        share: true,
        sale: true,
      }),
    );
    const share = await post(`/v1/orgs/bank/records/${record}/share`, {
      recipient: 'insurer',
      purpose: 'dpv:Marketing',
      sale: true,
    });
    expect(share.body.code).toBe('OPTED_OUT');
  });

  it('lists requests by deadline and serves the verifiable report', async () => {
    const r = await post(
      '/v1/txs?wait=true',
      aliceTx('request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR', records: [record] }),
    );
    expect(r.body.code).toBe('OK');
    const q = await get('/v1/orgs/bank/requests', fx.orgs.bank!);
    expect(q.json().requests[0]).toMatchObject({ kind: 'erase', status: 'open', overdue: false });
    const rep = await get(`/v1/subjects/${aliceDid}/report`, alice);
    const { verifySubjectReport } = await import('@custos/protocol/ledger');
    expect(verifySubjectReport(rep.json(), node.members).complete).toBe(true);
  });

  it('erases by crypto-shredding; afterwards the canary is nowhere on disk, in logs or in errors', async () => {
    const e = await post('/v1/orgs/bank/erase', { subject: aliceDid, reason: 'request' });
    expect((e.body.results as { code: string }[]).every((r) => r.code === 'OK')).toBe(true);
    const id = (orgs.requests('bank')[0] as { id: string }).id;
    expect((await post(`/v1/orgs/bank/requests/${id}/fulfil`, {})).body.code).toBe('OK');
    const after = await post(`/v1/orgs/bank/records/${record}/access`, {
      purpose: 'dpv:ServiceProvision',
      basis: 'contract',
    });
    expect(after.body.code).toBe('ERASED');
    // Bad input does not echo values either.
    await post('/v1/orgs/bank/records', {
      subject: aliceDid,
      category: 'bad',
      purposes: {},
      source: 'subject',
      retentionDays: 1,
      value: CANARY_EMAIL,
    });

    const needles = [CANARY_NAME, CANARY_EMAIL, CANARY_EMAIL.split('@')[0]!];
    const haystacks: [string, Buffer][] = readdirSync(tmp.dir).map((f) => [f, readFileSync(join(tmp.dir, f))]);
    haystacks.push(['http log', Buffer.from(logLines.join('\n'))], ['org log', Buffer.from(orgLog.join('\n'))]);
    haystacks.push(['error responses', Buffer.from(errorBodies.join('\n'))]);
    const blocks = Array.from({ length: node.latest().height + 1 }, (_, h) => JSON.stringify(node.store.getBlock(h)));
    haystacks.push(['blocks', Buffer.from(blocks.join('\n'))]);
    expect(logLines.length).toBeGreaterThan(5);
    for (const [where, bytes] of haystacks) {
      for (const n of needles) {
        expect(bytes.includes(Buffer.from(n)), `${n} found in ${where}`).toBe(false);
        expect(bytes.includes(Buffer.from(n, 'utf16le')), `${n} found in ${where} (UTF-16)`).toBe(false);
      }
    }
    expect(orgLog.some((l) => l.includes('data.erased'))).toBe(true);
  });
});

describe('retention', () => {
  it('reports records past retention and erases them by itself, logging each erasure', async () => {
    const r = await post('/v1/orgs/insurer/records', {
      subject: aliceDid,
      category: 'pd:PhysicalAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 1,
      value: { street: '1 Example Road' },
    });
    const id = r.body.recordId as string;
    const later = node.latest().time + 2 * DAY;
    expect(orgs.pastRetention('insurer', later).map((x) => x.id)).toEqual([id]);
    expect(orgs.pastRetention('insurer').map((x) => x.id)).toEqual([]);
    expect(await orgs.runRetention(later)).toBe(1);
    expect(orgs.record('insurer', id)!.erasedAt).not.toBeNull();
    expect(orgs.pastRetention('insurer', later)).toEqual([]);
    expect(orgLog.some((l) => l.includes(id) && l.includes('retention'))).toBe(true);
  });
});

describe('consent receipts', () => {
  it('issues a verifiable VC per consent event, and its 27560 and Kantara exports', async () => {
    const { verifyConsentReceipt } = await import('@custos/protocol/consent');
    const { nobleVerifier } = await import('@custos/protocol/crypto');
    const grant = await post(
      '/v1/txs?wait=true',
      aliceTx('consent.grant', {
        org: 'retailer',
        purposes: ['dpv:Marketing'],
        categories: ['pd:PurchasesAndSpendingHabit'],
        expiresAt: Date.now() + 30 * DAY,
        jurisdiction: 'CCPA',
        notice: 'ef'.repeat(32),
      }),
    );
    const vc = await get(`/v1/receipts/${grant.body.txId}`, alice);
    const [receipt] = vc.json().receipts;
    const v = verifyConsentReceipt(receipt, nobleVerifier);
    expect(v.verified).toBe(true);
    expect(v.issuer).toBe(didFromPublicKey(fx.orgs.retailer!.publicKey));
    expect(receipt.credentialSubject.id).toBe(aliceDid);
    // Same event, same receipt: rebuilt from the ledger, deterministic.
    expect((await get(`/v1/receipts/${grant.body.txId}`, alice)).json().receipts[0]).toEqual(receipt);

    // Exports need the org's published controller profile.
    const missing = await get(`/v1/receipts/${grant.body.txId}?format=kantara`, alice);
    expect(missing.statusCode).toBe(404);
    const profile = {
      controller: {
        name: 'Retailer Example Ltd',
        contact: 'Data Protection Officer',
        email: 'dpo@retailer.example',
        phone: '+44 20 0000 0000',
        address: { streetAddress: '1 High Street', addressLocality: 'London', addressCountry: 'GB' },
      },
      policyUrl: 'https://retailer.example/privacy',
      consentUrl: 'https://custos.example/portal',
      language: 'en',
      storageLocations: ['loc:GB'],
      retention: 'P2Y',
    };
    const pub = await post(
      '/v1/txs?wait=true',
      signTx(
        { chainId: 'test', type: 'kv.put', args: { ns: 'privacy', key: 'retailer.profile', value: profile } },
        fx.orgs.retailer!,
      ),
    );
    expect(pub.body.code).toBe('OK');
    const kantara = (await get(`/v1/receipts/${grant.body.txId}?format=kantara`, alice)).json().receipts[0];
    expect(kantara).toMatchObject({
      version: 'KI-CR-v1.1.0',
      jurisdiction: expect.any(String),
      policyUrl: profile.policyUrl,
    });
    expect(Number.isInteger(kantara.consentTimestamp)).toBe(true);
    expect(kantara.consentTimestamp).toBeLessThan(Date.now() / 100);
    const iso = (await get(`/v1/receipts/${grant.body.txId}?format=iso27560`, alice)).json().receipts[0];
    expect(JSON.stringify(iso)).toContain('dpv');

    const w = await post('/v1/txs?wait=true', aliceTx('consent.withdraw', { org: 'retailer' }));
    const wr = (await get(`/v1/receipts/${w.body.txId}`, alice)).json().receipts;
    expect(wr).toHaveLength(1);
    expect(verifyConsentReceipt(wr[0], nobleVerifier)).toMatchObject({
      verified: true,
      event: { event: 'withdrawn', id: grant.body.txId },
    });
    // Not a consent event: 404.
    expect((await get(`/v1/receipts/${pub.body.txId}`, alice)).statusCode).toBe(404);
  });
});
