/**
 * The customer as the source of their data (issue 17, ADR 0018), through the HTTP API with real
 * vaults: each org publishes an HPKE key (rotated, old keys still open), the customer seals one new
 * value to each org that holds the category, each under its own pseudonym, commits the digest on the
 * ledger and delivers the envelope to the org's inbox; the org's node opens it into its vault and
 * acknowledges. Tampered, replayed, misdirected and oversized envelopes are refused. A flagged
 * record is corrected or explained with a code. And an org that got no update cannot tell, from
 * anything it can read, that another org did.
 */
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { envelopeDigest, MAX_ENVELOPE_BYTES, type RectifyEnvelope } from '@custos/protocol/hpke';
import { signRequest } from '@custos/protocol/http';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Rectification, signTx } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import {
  CustosClient,
  correctionTargets,
  fetchHistory,
  flagRecord,
  sealCorrection,
  sendCorrections,
  signedBy,
  trustFromGenesis,
  verifyHistory,
} from '@custos/sdk';
import { waitUntil } from '@custos/test-utils';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, addMonths } from '../src/modules/common.js';
import type { DataRecord } from '../src/modules/data.js';
import { OrgService } from '../src/orgs/org-service.js';
import { rectifyServiceOf } from '../src/orgs/rectify-service.js';

const OLD = { street: '1 Old Lane', city: 'York' };
const NEW = { street: `2 New Road ${Math.random().toString(36).slice(2)}`, city: 'Leeds' };

let api: ApiNode;
let client: CustosClient;
let wallet: Wallet;
const records: Record<string, string> = {};
const pseudonym = (org: string) => wallet.relationship('test', org).did;

function headers(method: string, url: string, signer: Signer, body?: string): Record<string, string> {
  const h = signRequest({ method, url: `http://localhost${url}`, ...(body === undefined ? {} : { body }) }, signer);
  return { ...h, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
}

/** A request as org `org` (signed by its member key), or with no credentials (`as` undefined). */
async function call(method: 'GET' | 'POST', url: string, as?: string, payload?: unknown) {
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  const auth = as === undefined ? {} : headers(method, url, api.fx.orgs[as]!, body);
  const res = await api.app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body }),
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...auth },
  });
  return { status: res.statusCode, text: res.body, body: res.json() as Record<string, unknown> & { code?: string } };
}

/** The SDK's fetch, answered by the server in this process (no port, no socket). */
const injectFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  const res = await api.app.inject({
    method: (init?.method ?? 'GET') as 'GET',
    url: url.pathname + url.search,
    headers: (() => {
      const out: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => {
        out[k] = v;
      });
      return out;
    })(),
    ...(typeof init?.body === 'string' ? { payload: init.body } : {}),
  });
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, String(v));
  return new Response(res.statusCode === 204 ? null : res.body, { status: res.statusCode, headers: h });
};

function state<T>(key: string): T {
  return JSON.parse(api.node.store.getState(key)!) as T;
}

async function register(org: string, category: string, value: JsonValue) {
  const r = await call('POST', `/v1/orgs/${org}/records`, org, {
    subject: pseudonym(org),
    category,
    purposes: { 'dpv:ServiceProvision': 'contract' },
    source: 'subject',
    retentionDays: 365,
    value,
  });
  expect(r.body.code).toBe('OK');
  return r.body.recordId as string;
}

async function storedValue(org: string, record: string) {
  const r = await call('POST', `/v1/orgs/${org}/records/${record}/access`, org, {
    purpose: 'dpv:ServiceProvision',
    basis: 'contract',
  });
  expect(r.body.code).toBe('OK');
  return r.body.value;
}

beforeAll(async () => {
  api = await startApiNode();
  client = new CustosClient({ baseUrl: 'http://localhost', fetch: injectFetch });
  wallet = Wallet.create();
  for (const org of ['bank', 'insurer', 'retailer']) wallet.addRelationship('test', org);
  records.bank = await register('bank', 'pd:PhysicalAddress', OLD);
  records.insurer = await register('insurer', 'pd:PhysicalAddress', OLD);
  records.retailer = await register('retailer', 'pd:PhysicalAddress', OLD);
  records.bankEmail = await register('bank', 'pd:EmailAddress', { email: 'old@example.org' });
});

afterAll(async () => {
  await api?.close();
});

describe('HPKE keys of orgs', () => {
  it('publishes a key on the ledger, public; only a member key of the org rotates it', async () => {
    expect((await call('POST', '/v1/orgs/bank/hpke/rotate')).status).toBe(401);
    for (const org of ['bank', 'insurer', 'retailer']) {
      const r = await call('POST', `/v1/orgs/${org}/hpke/rotate`, org, {});
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ code: 'OK', kid: expect.stringMatching(/^[0-9a-f]{16}$/) });
    }
    const entry = await client.stateEntry('hpkekey/bank');
    expect(entry.value).toMatchObject({ org: 'bank', previous: null });
    const mine = await call('GET', '/v1/orgs/bank/hpke', 'bank');
    expect(mine.body).toMatchObject({
      published: { org: 'bank' },
      held: [{ kid: (entry.value as { kid: string }).kid }],
    });
    // The private key is wrapped by the org's KMS in the node's file, never in clear.
    const row = api.node.store.db.prepare('SELECT wrapped, public_key FROM hpke_keys WHERE org = ?').get('bank') as {
      wrapped: Buffer;
    };
    expect(row.wrapped.length).toBeGreaterThan(32);
  });

  it('refuses a key that is not an X25519 public key, and a key signed by a customer', async () => {
    const zero = signTx({ chainId: 'test', type: 'hpke.setKey', args: { key: 'A'.repeat(43) } }, api.fx.orgs.bank!);
    expect((await client.submitAndWait(zero)).code).toBe('INVALID_ARGS');
    const short = signTx({ chainId: 'test', type: 'hpke.setKey', args: { key: 'AAAA' } }, api.fx.orgs.bank!);
    expect((await client.submitAndWait(short)).code).toBe('INVALID_ARGS');
    const byCustomer = signTx(
      { chainId: 'test', type: 'hpke.setKey', args: { key: 'B'.repeat(43) } },
      wallet.relationship('test', 'bank').signer,
    );
    expect((await client.submitAndWait(byCustomer)).code).toBe('UNAUTHORIZED');
  });
});

describe('one update, every org that holds it', () => {
  let outcome: Awaited<ReturnType<typeof sendCorrections>>;

  it('reaches the orgs the customer chose, each under its own pseudonym, applied into each vault', async () => {
    const held = [
      state<DataRecord>(`record/bank/${records.bank}`),
      state<DataRecord>(`record/insurer/${records.insurer}`),
      state<DataRecord>(`record/retailer/${records.retailer}`),
      state<DataRecord>(`record/bank/${records.bankEmail}`),
    ];
    const targets = correctionTargets(held, 'pd:PhysicalAddress');
    expect(targets.map((t) => t.org)).toEqual(['bank', 'insurer', 'retailer']);
    const before = state<DataRecord>(`record/bank/${records.bank}`).commitment;
    // The customer chose bank and insurer, not retailer.
    outcome = await sendCorrections(client, wallet, {
      chainId: 'test',
      targets: targets.filter((t) => t.org !== 'retailer'),
      value: NEW,
      jurisdiction: 'GDPR',
    });
    expect(outcome.map((o) => [o.org, o.sent, (o.applied as { code?: string }).code])).toEqual([
      ['bank', 'OK', 'OK'],
      ['insurer', 'OK', 'OK'],
    ]);
    expect(await storedValue('bank', records.bank!)).toEqual(NEW);
    expect(await storedValue('insurer', records.insurer!)).toEqual(NEW);
    expect(await storedValue('retailer', records.retailer!)).toEqual(OLD);
    expect(state<DataRecord>(`record/bank/${records.bank}`).commitment).not.toBe(before);
    const bankItem = state<Rectification>(`rectify/bank/${outcome[0]!.item}`);
    const insurerItem = state<Rectification>(`rectify/insurer/${outcome[1]!.item}`);
    expect(bankItem).toMatchObject({ status: 'applied', subject: pseudonym('bank'), kind: 'update' });
    expect(insurerItem).toMatchObject({ status: 'applied', subject: pseudonym('insurer') });
    expect(bankItem.subject).not.toBe(insurerItem.subject);
    expect(bankItem.digest).not.toBe(insurerItem.digest);
    // GDPR Art. 12(3): one month from the block time.
    expect(bankItem.deadline).toBe(addMonths(bankItem.openedAt, 1));
    expect(bankItem.commitment).toBe(state<DataRecord>(`record/bank/${records.bank}`).commitment);
    // The value is nowhere on the ledger: not in the state, not in the transactions.
    const sendTx = api.node.store.getTx(outcome[0]!.item!)!;
    expect(JSON.stringify(sendTx)).not.toContain(NEW.street);
    expect(JSON.stringify(bankItem)).not.toContain(NEW.street);
    // The customer's verified history holds the correction and the org's acknowledgement.
    const me = wallet.relationship('test', 'bank');
    const pages = await fetchHistory(client, me.did, { sign: signedBy(me.signer) });
    const history = verifyHistory(pages, trustFromGenesis(api.fx.genesis), me.did);
    expect(history.facts.find((f) => f.key === `rectify/bank/${outcome[0]!.item}`)?.value).toMatchObject({
      status: 'applied',
    });
    expect(history.events.map((e) => e.tx.body.type)).toEqual(
      expect.arrayContaining(['rectify.send', 'rectify.apply']),
    );
    const list = await call('GET', '/v1/orgs/bank/rectifications', 'bank');
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: outcome[0]!.item, status: 'applied', overdue: false }),
    ]);
  });

  it('trust #17: checks each org key with a state proof against the trusted members: a node serving its own key is caught', async () => {
    const trust = trustFromGenesis(api.fx.genesis);
    // A node that swaps the insurer's key in the proof it serves, to read the value itself.
    const lying: typeof fetch = async (input, init) => {
      const res = await injectFetch(input, init);
      if (!String(input).includes('/v1/proofs/state')) return res;
      const bundle = (await res.json()) as { value: { key: string } };
      bundle.value.key = 'C'.repeat(43);
      return new Response(JSON.stringify(bundle), { status: res.status, headers: res.headers });
    };
    const liar = new CustosClient({ baseUrl: 'http://localhost', fetch: lying });
    const target = { org: 'insurer', record: records.insurer! };
    await expect(
      sendCorrections(liar, wallet, { chainId: 'test', targets: [target], value: NEW, jurisdiction: 'GDPR', trust }),
    ).rejects.toMatchObject({ code: 'BAD_PROOF' });
    // The honest node's proof passes, and the correction goes through.
    const [ok] = await sendCorrections(client, wallet, {
      chainId: 'test',
      targets: [target],
      value: NEW,
      jurisdiction: 'GDPR',
      trust,
    });
    expect((ok!.applied as { code: string }).code).toBe('OK');
  });

  it('computes the CCPA deadline, 45 days', async () => {
    const [o] = await sendCorrections(client, wallet, {
      chainId: 'test',
      targets: [{ org: 'retailer', record: records.retailer! }],
      value: OLD,
      jurisdiction: 'CCPA',
    });
    const item = state<Rectification>(`rectify/retailer/${o!.item}`);
    expect(item.deadline).toBe(addDays(item.openedAt, 45));
    expect(item.status).toBe('applied');
  });

  it('trust #17: refuses a tampered, misdirected, replayed or oversized envelope, and nothing changes', async () => {
    const key = (await client.stateEntry('hpkekey/bank')).value as never;
    const target = { org: 'bank', record: records.bank! };
    const env = await sealCorrection(wallet, 'test', key, target, { street: 'x', city: 'y' });
    const send = signTx(
      {
        chainId: 'test',
        type: 'rectify.send',
        args: { org: 'bank', record: records.bank!, digest: envelopeDigest(env), kid: env.kid, jurisdiction: 'GDPR' },
      },
      wallet.relationship('test', 'bank').signer,
    );
    const sent = await client.submitAndWait(send);
    expect(sent.code).toBe('OK');
    const commitment = state<DataRecord>(`record/bank/${records.bank}`).commitment;
    const ct = env.ct.startsWith('A') ? `B${env.ct.slice(1)}` : `A${env.ct.slice(1)}`;
    const tampered: RectifyEnvelope = { ...env, ct };
    const inbox = `/v1/orgs/bank/inbox/${sent.txId}`;
    const bad = await call('POST', inbox, undefined, tampered);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('BAD_CIPHERTEXT');
    // The right envelope for another org's inbox: that org has no such item.
    expect((await call('POST', `/v1/orgs/insurer/inbox/${sent.txId}`, undefined, env)).body.code).toBe('NOT_FOUND');
    const huge = { ...env, ct: 'A'.repeat(MAX_ENVELOPE_BYTES * 2) };
    expect((await call('POST', inbox, undefined, huge)).status).toBeGreaterThanOrEqual(400);
    expect(state<DataRecord>(`record/bank/${records.bank}`).commitment).toBe(commitment);
    expect(await storedValue('bank', records.bank!)).toEqual(NEW);
    // Delivered twice at once, it is applied once: the vault and the ledger keep one commitment.
    const both = await Promise.all([call('POST', inbox, undefined, env), call('POST', inbox, undefined, env)]);
    expect(both.map((r) => r.body.code).sort()).toEqual(['CONFLICT', 'OK']);
    const applied = state<Rectification>(`rectify/bank/${sent.txId}`);
    const rec = state<DataRecord>(`record/bank/${records.bank}`);
    expect(rec.commitment).toBe(applied.commitment);
    expect(api.orgs.vaultOf('bank').verifyCommitment(rec.vaultRef, rec.commitment)).toBe(true);
    expect(await storedValue('bank', records.bank!)).toEqual({ street: 'x', city: 'y' });
    // The committed envelope opens once; sending it again is a conflict.
    expect((await call('POST', inbox, undefined, env)).body.code).toBe('CONFLICT');
    // No error message or log echoes the envelope or the value.
    expect(bad.text).not.toContain(env.ct.slice(0, 20));
  });

  it('opens envelopes sealed to the key just rotated out', async () => {
    const key = (await client.stateEntry('hpkekey/insurer')).value as never;
    const env = await sealCorrection(wallet, 'test', key, { org: 'insurer', record: records.insurer! }, NEW);
    expect((await call('POST', '/v1/orgs/insurer/hpke/rotate', 'insurer', {})).body.code).toBe('OK');
    const sent = await client.submitAndWait(
      signTx(
        {
          chainId: 'test',
          type: 'rectify.send',
          args: {
            org: 'insurer',
            record: records.insurer!,
            digest: envelopeDigest(env),
            kid: env.kid,
            jurisdiction: 'GDPR',
          },
        },
        wallet.relationship('test', 'insurer').signer,
      ),
    );
    expect(sent.code).toBe('OK');
    expect((await client.deliverCorrection('insurer', sent.txId, env)).code).toBe('OK');
  });

  it("refuses a correction of another customer's record, or under an org key", async () => {
    const other = Wallet.create();
    other.addRelationship('test', 'bank');
    const key = (await client.stateEntry('hpkekey/bank')).value as { kid: string };
    const args = { org: 'bank', record: records.bank!, digest: 'ab'.repeat(32), kid: key.kid, jurisdiction: 'GDPR' };
    const stranger = signTx({ chainId: 'test', type: 'rectify.send', args }, other.relationship('test', 'bank').signer);
    expect((await client.submitAndWait(stranger)).code).toBe('NOT_FOUND');
    const asOrg = signTx({ chainId: 'test', type: 'rectify.send', args }, api.fx.orgs.bank!);
    expect((await client.submitAndWait(asOrg)).code).toBe('UNAUTHORIZED');
    const staleKid = signTx(
      { chainId: 'test', type: 'rectify.send', args: { ...args, kid: '0'.repeat(16) } },
      wallet.relationship('test', 'bank').signer,
    );
    expect((await client.submitAndWait(staleKid)).code).toBe('CONFLICT');
  });
});

describe('incorrect data', () => {
  it('the customer flags a record with a reason code; the org explains with a code, or corrects it', async () => {
    const flag = await flagRecord(client, wallet, {
      chainId: 'test',
      org: 'bank',
      record: records.bankEmail!,
      reason: 'inaccurate',
      jurisdiction: 'CCPA',
    });
    expect(flag.code).toBe('OK');
    const free = signTx(
      {
        chainId: 'test',
        type: 'rectify.flag',
        args: { org: 'bank', record: records.bankEmail!, reason: 'my name is Ada', jurisdiction: 'GDPR' },
      },
      wallet.relationship('test', 'bank').signer,
    );
    expect((await client.submitAndWait(free)).code).toBe('INVALID_ARGS');
    const item = state<Rectification>(`rectify/bank/${flag.txId}`);
    expect(item).toMatchObject({ kind: 'flag', reason: 'inaccurate', status: 'pending' });
    expect(item.deadline).toBe(addDays(item.openedAt, 45));
    // The deadline is extended once, for a code (CCPA 1798.130: to 90 days), and the customer reads why.
    const extend = (reason: string) =>
      call('POST', `/v1/orgs/bank/rectifications/${flag.txId}/extend`, 'bank', { reason });
    expect((await extend('busy')).status).toBe(400);
    expect((await extend('complexity')).body.code).toBe('OK');
    expect(state<Rectification>(`rectify/bank/${flag.txId}`)).toMatchObject({
      deadline: addDays(item.openedAt, 90),
      originalDeadline: item.deadline,
      extensionReason: 'complexity',
    });
    expect((await extend('number-of-requests')).body.code).toBe('CONFLICT');
    // A flag carries no value: the inbox refuses anything for it.
    const explained = await call('POST', `/v1/orgs/bank/rectifications/${flag.txId}/explain`, 'bank', {
      reason: 'accurate-verified',
    });
    expect(explained.body.code).toBe('OK');
    expect(state<Rectification>(`rectify/bank/${flag.txId}`)).toMatchObject({
      status: 'explained',
      answer: 'accurate-verified',
    });
    expect(
      (await call('POST', `/v1/orgs/bank/rectifications/${flag.txId}/explain`, 'bank', { reason: 'excessive' })).body
        .code,
    ).toBe('CONFLICT');
    expect(
      (await call('POST', `/v1/orgs/bank/rectifications/${flag.txId}/explain`, 'bank', { reason: 'because' })).status,
    ).toBe(400);

    const again = await flagRecord(client, wallet, {
      chainId: 'test',
      org: 'bank',
      record: records.bankEmail!,
      reason: 'outdated',
      jurisdiction: 'GDPR',
    });
    const corrected = await call('POST', `/v1/orgs/bank/rectifications/${again.txId}/correct`, 'bank', {
      value: { email: 'new@example.org' },
    });
    expect(corrected.body.code).toBe('OK');
    expect(await storedValue('bank', records.bankEmail!)).toEqual({ email: 'new@example.org' });
    expect(state<Rectification>(`rectify/bank/${again.txId}`).status).toBe('applied');
  });
});

describe('no cross-org linkage', () => {
  it('trust #17: an org that got no update cannot tell, from anything it can read, that another org did', async () => {
    // Everything retailer can read, before and after the customer updates their address at bank.
    const reads = async () => {
      const head = api.node.latest().height;
      const paths = [
        '/v1/orgs/retailer/rectifications',
        '/v1/orgs/retailer/records',
        '/v1/state?prefix=rectify/',
        `/v1/state?prefix=${encodeURIComponent('rectify/bank/')}`,
        `/v1/state/entry?key=${encodeURIComponent(`record/bank/${records.bank}`)}`,
        `/v1/subjects/${encodeURIComponent(pseudonym('retailer'))}/events`,
      ];
      const out: Record<string, string> = {};
      for (const p of paths) out[p] = (await call('GET', p, 'retailer')).text;
      return { head, out };
    };
    const before = await reads();
    const [o] = await sendCorrections(client, wallet, {
      chainId: 'test',
      targets: [{ org: 'bank', record: records.bank! }],
      value: { street: '3 Third Street', city: 'Hull' },
      jurisdiction: 'GDPR',
    });
    expect((o!.applied as { code: string }).code).toBe('OK');
    const after = await reads();
    // What retailer reads of its own customers and of the state is unchanged.
    // (The chain's height moves for everyone: blocks are public.)
    const noHeight = (t: string | undefined) => t?.replace(/"height":\d+/g, '"height":-');
    for (const p of Object.keys(before.out)) expect(noHeight(after.out[p]), p).toBe(noHeight(before.out[p]));
    const bankItem = state<Rectification>(`rectify/bank/${o!.item}`);
    const secrets = [pseudonym('bank'), bankItem.digest!, bankItem.kid!, o!.item!, 'rectify.', records.bank!];
    const probes = [
      ...Object.keys(after.out),
      `/v1/txs/${o!.item}`,
      `/v1/txs/${bankItem.closedBy}`,
      `/v1/state/entry?key=${encodeURIComponent(`rectify/bank/${o!.item}`)}`,
    ];
    for (let h = before.head + 1; h <= after.head; h++) probes.push(`/v1/blocks/${h}`, `/v1/blocks/${h}/txs`);
    for (const p of probes) {
      const r = await call('GET', p, 'retailer');
      for (const s of secrets.slice(0, 3)) expect(r.text, p).not.toContain(s);
      if (!p.startsWith('/v1/txs/')) for (const s of secrets.slice(3)) expect(r.text, p).not.toContain(s);
      // The transactions themselves: id, position and result code at most, never the body.
      if (p.startsWith('/v1/txs/')) expect((r.body as { tx?: unknown }).tx, p).toBeUndefined();
    }
    // The pseudonyms share nothing a member could join on.
    expect(pseudonym('bank')).not.toBe(pseudonym('retailer'));
    // Bank, which got it, sees its item.
    const mine = await call('GET', `/v1/state/entry?key=${encodeURIComponent(`rectify/bank/${o!.item}`)}`, 'bank');
    expect(mine.status).toBe(200);
    expect(didFromPublicKey(wallet.relationship('test', 'bank').signer.publicKey)).toBe(pseudonym('bank'));
  });
});

describe('the crash window: the vault written, rectify.apply not yet committed', () => {
  it('resumes a commit that timed out with the same commitment, never writing the vault twice', async () => {
    // The retailer's node with commits that time out at once (the transaction still commits later).
    const slow = new OrgService(
      api.node,
      [{ id: 'retailer', signer: api.fx.orgs.retailer!, vault: api.orgs.vaultOf('retailer') }],
      undefined,
      { commitWaitMs: 1 },
    );
    const service = rectifyServiceOf(api.node, slow);
    const value = { street: '9 Slow Street', city: 'Bath' };
    const key = (await client.stateEntry('hpkekey/retailer')).value as never;
    const env = await sealCorrection(wallet, 'test', key, { org: 'retailer', record: records.retailer! }, value);
    const args = { org: 'retailer', record: records.retailer!, digest: envelopeDigest(env), kid: env.kid };
    const sent = await client.submitAndWait(
      signTx(
        { chainId: 'test', type: 'rectify.send', args: { ...args, jurisdiction: 'GDPR' } },
        wallet.relationship('test', 'retailer').signer,
      ),
    );
    expect(sent.code).toBe('OK');
    await expect(service.receive('retailer', sent.txId, env)).rejects.toMatchObject({ code: 'TIMEOUT' });
    // Resumed at once (a restart, a second delivery) while that commit is still on its way.
    await service.resume('retailer');
    await waitUntil(() => state<Rectification>(`rectify/retailer/${sent.txId}`).status === 'applied', 10_000, 'apply');
    const rec = state<DataRecord>(`record/retailer/${records.retailer}`);
    expect(rec.commitment).toBe(state<Rectification>(`rectify/retailer/${sent.txId}`).commitment);
    expect(api.orgs.vaultOf('retailer').verifyCommitment(rec.vaultRef, rec.commitment)).toBe(true);
    expect(await storedValue('retailer', records.retailer!)).toEqual(value);
    // Once the ledger holds it, the next pass forgets the journal and the envelope.
    await rectifyServiceOf(api.node, api.orgs).resume('retailer');
    const left = api.node.store.db.prepare('SELECT count(*) AS n FROM rectify_applying').get() as { n: number };
    expect(left.n).toBe(0);
  });
});
