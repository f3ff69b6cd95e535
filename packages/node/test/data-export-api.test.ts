/**
 * The data itself, provably complete (issue 19 item 4, ADR 0021), through the HTTP API with a real
 * vault: the customer opens an export request; the org fulfils it; its node seals the values of its
 * vault to the customer's pairwise key and commits the envelope's digest and record count with
 * `request.fulfil` (no value, no ciphertext on the ledger); the customer downloads it once, signed by
 * their pseudonym, opens it with their wallet and checks each value against its commitment:
 * "complete: 2 of 2 records", with the automated decision, the transfers and where to complain.
 */
import { signRequest } from '@custos/protocol/http';
import type { JsonValue } from '@custos/protocol/jcs';
import { type DataRequest, signTx } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import {
  CustosClient,
  dataExportToCsv,
  downloadDataExport,
  fetchHistory,
  signedBy,
  trustFromGenesis,
  verifyHistory,
} from '@custos/sdk';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const EMAIL = { email: `ada-${Math.random().toString(36).slice(2)}@example.org` };
const SCORE = { score: 712, band: 'B' };

let api: ApiNode;
let client: CustosClient;
const wallet = Wallet.create();
const me = () => wallet.relationship('test', 'bank');

/** The SDK's fetch, answered by the server in this process (no port, no socket). */
const injectFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((v, k) => {
    headers[k] = v;
  });
  const res = await api.app.inject({
    method: (init?.method ?? 'GET') as 'GET',
    url: url.pathname + url.search,
    headers,
    ...(typeof init?.body === 'string' ? { payload: init.body } : {}),
  });
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, String(v));
  return new Response(res.statusCode === 204 ? null : res.body, { status: res.statusCode, headers: h });
};

/** A POST as the bank, signed by its member key. */
async function asBank(url: string, payload: unknown) {
  const body = JSON.stringify(payload);
  const auth = signRequest({ method: 'POST', url: `http://localhost${url}`, body }, api.fx.orgs.bank!);
  const res = await api.app.inject({
    method: 'POST',
    url,
    payload: body,
    headers: { ...auth, 'content-type': 'application/json' },
  });
  return res.json() as Record<string, unknown> & { code?: string };
}

async function register(category: string, value: JsonValue, extra: Record<string, unknown> = {}) {
  const r = await asBank('/v1/orgs/bank/records', {
    subject: me().did,
    category,
    purposes: { 'dpv:ServiceProvision': 'contract', ...((extra.purposes as object) ?? {}) },
    source: 'subject',
    retentionDays: 365,
    value,
    ...(extra.automated === undefined ? {} : { automated: extra.automated }),
  });
  expect(r.code).toBe('OK');
  return r.recordId as string;
}

async function openRequest(kind: string): Promise<string> {
  const tx = signTx(
    { chainId: 'test', type: 'request.open', args: { org: 'bank', kind, jurisdiction: 'GDPR' } },
    me().signer,
  );
  const r = await client.submitAndWait(tx);
  expect(r.code).toBe('OK');
  return r.txId;
}

async function history() {
  const pages = await fetchHistory(client, me().did, { sign: signedBy(me().signer) });
  return verifyHistory(pages, trustFromGenesis(api.fx.genesis), me().did);
}

beforeAll(async () => {
  api = await startApiNode();
  client = new CustosClient({ baseUrl: 'http://localhost', fetch: injectFetch });
  const profile = {
    controller: {
      name: 'Example Bank',
      contact: 'DPO',
      email: 'dpo@bank.example',
      phone: '+44 1',
      address: { addressCountry: 'GB' },
    },
    transfers: [{ country: 'US', safeguard: 'standard contractual clauses (GDPR Art. 46(2)(c))' }],
  };
  const kv = signTx(
    { chainId: 'test', type: 'kv.put', args: { ns: 'privacy', key: 'bank.profile', value: profile } },
    api.fx.orgs.bank!,
  );
  expect((await client.submitAndWait(kv)).code).toBe('OK');
});

afterAll(async () => {
  await api?.close();
});

describe('the data export of an access or export request', () => {
  it('trust #19: seals the vault values to the customer, commits only the digest, serves it once to the subject only, and checks complete: 2 of 2 records', async () => {
    const email = await register('pd:EmailAddress', EMAIL);
    const score = await register('pd:CreditScore', SCORE, {
      purposes: { 'dpv:CreditChecking': 'contract' },
      automated: ['dpv:CreditChecking'],
    });
    const id = await openRequest('export');
    const f = await asBank(`/v1/orgs/bank/requests/${id}/fulfil`, {});
    expect(f.code).toBe('OK');

    // The ledger holds the digest and the count: no value, no ciphertext.
    const onLedger = JSON.parse(api.node.store.getState(`request/bank/${id}`)!) as DataRequest;
    expect(onLedger.export).toEqual({ digest: expect.stringMatching(/^[0-9a-f]{64}$/), records: 2 });
    const fulfilTx = JSON.stringify(await client.tx(f.txId as string));
    expect(fulfilTx).not.toContain(EMAIL.email);
    expect(fulfilTx).not.toContain('"ct"');

    // Only the subject's own key may fetch it.
    const stranger = Wallet.create().relationship('test', 'bank');
    await expect(client.subjectExport(me().did, id, { sign: signedBy(stranger.signer) })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });

    const got = await downloadDataExport(client, wallet, await history(), 'bank', id);
    expect(got.check.summary).toBe('complete: 2 of 2 records');
    expect(got.data.records.map((r) => r.value)).toEqual(expect.arrayContaining([EMAIL, SCORE]));
    expect(got.data.statements.automated).toEqual([
      { record: score, category: 'pd:CreditScore', purposes: ['dpv:CreditChecking'] },
    ]);
    expect(got.data.statements.transfers).toEqual([
      { country: 'US', safeguard: 'standard contractual clauses (GDPR Art. 46(2)(c))' },
    ]);
    expect(got.data.statements.complaints.join(' ')).toMatch(/dpo@bank\.example.*GDPR Art\. 77/);
    const csv = dataExportToCsv(got.data);
    expect(csv).toContain(
      `${email},pd:EmailAddress,subject,dpv:ServiceProvision=contract,"{""email"":""${EMAIL.email}""}"`,
    );

    // Served once: deleted as it was read.
    await expect(client.subjectExport(me().did, id, { sign: signedBy(me().signer) })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('refuses an export digest on another kind of request, and says what was expected', async () => {
    const id = await openRequest('restrict');
    const tx = signTx(
      {
        chainId: 'test',
        type: 'request.fulfil',
        args: { request: id, export: { digest: 'ab'.repeat(32), records: 1 } },
      },
      api.fx.orgs.bank!,
    );
    const r = await client.submitAndWait(tx);
    expect(r.code).toBe('INVALID_ARGS');
    expect(r.detail).toContain('expected args.export only on an access or export request');
  });
});
