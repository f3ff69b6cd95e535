/**
 * Read access to the ledger (trust #5): every route of the OpenAPI document (so a new route is
 * covered by itself) is called anonymously, and none answers a customer's pseudonym, a data
 * category, a purpose or a transaction body of another party; a member reads its own org's events
 * and state in full and other orgs' as the consortium's read policy says; a subject reads its own
 * events only.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import { type SignedTx, verifyProofBundle } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, tempDir, tx, userSigner } from '@custos/test-utils/node';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPolicyOf, txVisibility } from '../src/api/read-access.js';
import { consortiumRoutes } from '../src/api/routes-consortium.js';
import { createServer, listen } from '../src/api/server.js';
import { parseGenesis } from '../src/genesis.js';
import { CustosNode } from '../src/node.js';
import { tokenStoreOf } from '../src/orgs/tokens.js';
import { OVERDUE_SQL, overdueRequests } from '../src/store/read-queries.js';
import { RECENT_TXS_SQL } from '../src/store/snapshot-store.js';

const DAY = 86_400_000;

let api: ApiNode;
let base: string;
let alice: Signer;
let aliceDid: string;
let bob: Signer;
let bobDid: string;
let aliceGrant: SignedTx & { txId: string; height: number };
let bobGrant: SignedTx & { txId: string; height: number };
let recordId: string;
let bankToken: string;

function grant(signer: Signer, org: string, purpose: string, category: string): SignedTx {
  return tx(signer, 'consent.grant', {
    org,
    purposes: [purpose],
    categories: [category],
    expiresAt: Date.now() + 30 * DAY,
    jurisdiction: 'GDPR',
    notice: 'ab'.repeat(32),
  });
}

interface Answer {
  status: number;
  body: string;
}

/** A request over a real socket; an event stream is read until it ends or shows `until`. */
function send(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; until?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path,
        method,
        agent: false,
        headers: {
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...opts.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        const done = () => resolve({ status: res.statusCode ?? 0, body });
        res.on('data', (c: string) => {
          body += c;
          if (opts.until !== undefined && body.includes(opts.until)) {
            done();
            req.destroy();
          }
        });
        res.on('end', done);
      },
    );
    req.on('error', (e) => ((e as { code?: string }).code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(opts.body);
  });
}

function signed(method: string, path: string, signer: Signer): Record<string, string> {
  return { ...signRequest({ method, url: `${base}${path}` }, signer) };
}

beforeAll(async () => {
  api = await startApiNode({ orgIds: ['bank', 'insurer'], server: { rateLimit: false }, listen: true });
  base = api.url!;
  alice = userSigner();
  aliceDid = didFromPublicKey(alice.publicKey);
  bob = userSigner();
  bobDid = didFromPublicKey(bob.publicKey);
  const a = grant(alice, 'bank', 'dpv:Marketing', 'pd:EmailAddress');
  const ra = await api.node.submitAndWait(a);
  expect(ra.code).toBe('OK');
  aliceGrant = { ...a, txId: ra.txId, height: ra.height };
  const b = grant(bob, 'insurer', 'dpv:ServiceProvision', 'pd:TelephoneNumber');
  const rb = await api.node.submitAndWait(b);
  expect(rb.code).toBe('OK');
  bobGrant = { ...b, txId: rb.txId, height: rb.height };
  const reg = await api.orgs.register('bank', {
    subject: aliceDid,
    category: 'pd:EmailAddress',
    purposes: { 'dpv:Marketing': 'consent' } as never,
    source: 'subject',
    retentionDays: 30,
    value: 'ada@example.org',
  });
  expect(reg.code).toBe('OK');
  recordId = reg.recordId;
  bankToken = tokenStoreOf(api.node).create('bank', { scopes: ['read'], createdBy: 'test' }).token;
});

afterAll(async () => {
  await api?.close();
});

/** What no stranger may see: the customers' pseudonyms, their consents' terms, the signed bodies. */
function secrets(): string[] {
  return [aliceDid, bobDid, aliceGrant.sig, bobGrant.sig, 'pd:TelephoneNumber', 'dpv:ServiceProvision'];
}

describe('trust #5: read access', () => {
  it('trust #5: no route of the OpenAPI document answers a stranger with a pseudonym, category, purpose or body', async () => {
    const doc = JSON.parse((await send('GET', '/openapi.json')).body) as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string; required?: boolean }[] }>>;
    };
    const head = api.node.latest();
    const values: Record<string, string> = {
      height: String(aliceGrant.height),
      txId: aliceGrant.txId,
      did: aliceDid,
      org: 'bank',
      id: recordId,
      key: `consent/bank/${aliceDid}`,
      from: '0',
      to: String(head.height),
      prefix: 'consent/',
    };
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const query = new URLSearchParams();
        for (const p of op.parameters ?? []) {
          if (p.in === 'query' && (p.required === true || p.name === 'prefix'))
            query.set(p.name, values[p.name] ?? '1');
        }
        const url = path.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(values[n] ?? 'x'));
        const full = `${url}${query.size > 0 ? `?${query}` : ''}`;
        const m = method.toUpperCase();
        const isStream = path.includes('/events');
        const res = await send(m, full, {
          ...(m === 'POST' ? { body: '{}' } : {}),
          ...(isStream ? { until: `id: ${head.height}\n` } : {}),
          headers: isStream ? { 'last-event-id': '0' } : {},
        });
        for (const s of secrets()) expect(res.body, `${m} ${full} (${res.status})`).not.toContain(s);
        const isDocs = path === '/openapi.json' || path === '/docs' || path === '/' || path.includes('*');
        if (!isDocs) {
          for (const s of ['pd:EmailAddress', 'dpv:Marketing']) expect(res.body, `${m} ${full}`).not.toContain(s);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(40);
    // The document says who may call each operation: public, optional credentials, or required.
    const security = (path: string) => (doc.paths[path]?.get as { security?: unknown } | undefined)?.security;
    expect(security('/v1/chain')).toEqual([]);
    const signature = { httpSignature: [], signatureInput: [] };
    expect(security('/v1/txs/{txId}')).toEqual([{}, signature, { orgToken: [] }]);
    expect(security('/v1/snapshot')).toEqual([signature, { orgToken: [] }]);
    expect(security('/v1/orgs/{org}/tokens')).toEqual([signature]);
    // The explicit probes an attacker would try first.
    for (const p of [
      '/v1/state',
      '/v1/state?prefix=',
      '/v1/state?prefix=consent/bank/',
      '/v1/state?prefix=subjitem/',
      `/v1/state/entry?key=${encodeURIComponent(`consent/bank/${aliceDid}`)}`,
      `/v1/state/entry?key=${encodeURIComponent(`record/bank/${recordId}`)}`,
      `/v1/proofs/state?key=${encodeURIComponent(`consent/bank/${aliceDid}`)}`,
      `/v1/blocks/${aliceGrant.height}/txs`,
      `/v1/blocks/${bobGrant.height}`,
      '/v1/blocks/latest',
      `/v1/txs/${aliceGrant.txId}`,
      `/v1/proofs/inclusion/${aliceGrant.txId}`,
      '/v1/requests/overdue',
      '/v1/snapshot',
    ]) {
      const res = await send('GET', p);
      for (const s of [...secrets(), 'pd:EmailAddress', 'dpv:Marketing']) expect(res.body, p).not.toContain(s);
    }
  });

  it('trust #5: a stranger still gets headers, checkpoints, the member set and proofs for a txId it knows', async () => {
    const block = JSON.parse((await send('GET', `/v1/blocks/${aliceGrant.height}`)).body);
    expect(block.header.height).toBe(aliceGrant.height);
    expect(block.txs).toEqual([]);
    expect(block.withheld).toBe(block.header.txCount);
    expect((await send('GET', '/v1/checkpoint')).status).toBe(200);
    expect(JSON.parse((await send('GET', '/v1/chain')).body).members.length).toBe(3);
    const t = JSON.parse((await send('GET', `/v1/txs/${aliceGrant.txId}`)).body);
    expect(t).toMatchObject({ txId: aliceGrant.txId, height: aliceGrant.height, code: 'OK' });
    expect(t.tx).toBeUndefined();
    const proof = JSON.parse((await send('GET', `/v1/proofs/inclusion/${aliceGrant.txId}`)).body);
    expect(proof.tx).toBeUndefined();
    expect(() => verifyProofBundle(proof, api.node.members)).not.toThrow();
    // Public namespaces stay public.
    const members = JSON.parse((await send('GET', '/v1/state?prefix=member/')).body);
    expect(members.entries.length).toBe(3);
    const stranger = await send('GET', '/v1/state?prefix=consent/');
    expect(stranger.status).toBe(401);
    expect(JSON.parse(stranger.body).detail).toMatch(/public state/);
  });

  it("trust #5: a member reads its own org's events and state in full, not another org's", async () => {
    const bearer = { authorization: `Bearer ${bankToken}` };
    const own = JSON.parse((await send('GET', `/v1/txs/${aliceGrant.txId}`, { headers: bearer })).body);
    expect(own.tx).toEqual({ body: aliceGrant.body, sig: aliceGrant.sig });
    const other = JSON.parse((await send('GET', `/v1/txs/${bobGrant.txId}`, { headers: bearer })).body);
    expect(other.tx).toBeUndefined();
    const block = JSON.parse((await send('GET', `/v1/blocks/${bobGrant.height}`, { headers: bearer })).body);
    expect(JSON.stringify(block)).not.toContain(bobDid);
    expect(block.withheld).toBeGreaterThanOrEqual(1);
    const ownBlock = JSON.parse((await send('GET', `/v1/blocks/${aliceGrant.height}`, { headers: bearer })).body);
    expect(ownBlock.txIds).toContain(aliceGrant.txId);
    const state = JSON.parse((await send('GET', '/v1/state?prefix=consent/bank/', { headers: bearer })).body);
    expect(state.entries.map((e: { key: string }) => e.key)).toContain(`consent/bank/${aliceDid}`);
    expect((await send('GET', '/v1/state?prefix=consent/insurer/', { headers: bearer })).status).toBe(403);
    expect((await send('GET', '/v1/state?prefix=consent/', { headers: bearer })).status).toBe(403);
    // The insurer's own key reads the insurer's.
    const path = `/v1/txs/${bobGrant.txId}`;
    const ins = JSON.parse((await send('GET', path, { headers: signed('GET', path, api.fx.orgs.insurer!) })).body);
    expect(ins.tx.body.signer).toBe(bobDid);
    // A token without `read` is refused, not read as a stranger.
    const w = tokenStoreOf(api.node).create('bank', { scopes: ['write'], createdBy: 'test' }).token;
    expect((await send('GET', path, { headers: { authorization: `Bearer ${w}` } })).status).toBe(403);
  });

  it('trust #5: a subject reads its own events and entries only', async () => {
    const mine = `/v1/txs/${aliceGrant.txId}`;
    const own = JSON.parse((await send('GET', mine, { headers: signed('GET', mine, alice) })).body);
    expect(own.tx.body.signer).toBe(aliceDid);
    const theirs = `/v1/txs/${bobGrant.txId}`;
    const other = JSON.parse((await send('GET', theirs, { headers: signed('GET', theirs, alice) })).body);
    expect(other.tx).toBeUndefined();
    // The record the bank registered about her is one of her events and entries.
    const rec = `/v1/state/entry?key=${encodeURIComponent(`record/bank/${recordId}`)}`;
    const r = await send('GET', rec, { headers: signed('GET', rec, alice) });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).value.subject).toBe(aliceDid);
    expect((await send('GET', rec, { headers: signed('GET', rec, bob) })).status).toBe(403);
    const regTx = `/v1/txs/${recordId}`;
    expect(JSON.parse((await send('GET', regTx, { headers: signed('GET', regTx, alice) })).body).tx.body.type).toBe(
      'data.register',
    );
    const bobs = `/v1/state/entry?key=${encodeURIComponent(`consent/insurer/${bobDid}`)}`;
    expect((await send('GET', bobs, { headers: signed('GET', bobs, alice) })).status).toBe(403);
    // A bad signature is refused, never read as a stranger's request.
    const broken = signed('GET', mine, alice);
    broken.Signature = broken.Signature!.replace(/[A-Za-z](?=[^:]*=*:$)/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await send('GET', mine, { headers: broken })).status).toBe(401);
  });

  it("trust #5: with readPolicy 'commitments' a member sees other orgs' events as id, position and code", async () => {
    const tmp = tempDir();
    const genesis = parseGenesis({ ...api.fx.genesis, readPolicy: { otherOrgs: 'commitments' } });
    expect(readPolicyOf(genesis)).toEqual({ otherOrgs: 'commitments' });
    expect(readPolicyOf(api.fx.genesis)).toEqual({ otherOrgs: 'none' });
    expect(() => parseGenesis({ ...api.fx.genesis, readPolicy: { otherOrgs: 'all' } })).toThrow(/readPolicy/);
    const node = await CustosNode.open({
      dbPath: join(tmp.dir, 'node.db'),
      genesis,
      signers: Object.values(api.fx.orgs),
      verifyThreads: 1,
    });
    const app = createServer(node, { rateLimit: false });
    try {
      const r = await node.submitAndWait(grant(bob, 'insurer', 'dpv:ServiceProvision', 'pd:TelephoneNumber'));
      const t = node.store.getTx(r.txId)!;
      expect(txVisibility(node, { kind: 'member', org: 'bank' }, t, readPolicyOf(genesis))).toBe('commitment');
      expect(txVisibility(node, { kind: 'member', org: 'insurer' }, t, readPolicyOf(genesis))).toBe('full');
      expect(txVisibility(node, { kind: 'anonymous' }, t, readPolicyOf(genesis))).toBe('hidden');
      const url = `/v1/blocks/${r.height}`;
      const headers = { ...signRequest({ method: 'GET', url: `http://localhost${url}` }, api.fx.orgs.bank!) };
      const block = (await app.inject({ method: 'GET', url, headers })).json();
      expect(block.commitments).toEqual([{ index: r.index, txId: r.txId, code: 'OK' }]);
      expect(JSON.stringify(block)).not.toContain(bobDid);
    } finally {
      await app.close();
      await node.close();
      tmp.cleanup();
    }
  });
});

describe('trust #6: the snapshot and overdue routes', () => {
  it('trust #6: the snapshot is for members only, and at most the cap stream at once', async () => {
    const anon = await send('GET', '/v1/snapshot');
    expect(anon.status).toBe(401);
    expect(anon.body).not.toContain(aliceDid);
    const stranger = await send('GET', '/v1/snapshot', { headers: signed('GET', '/v1/snapshot', alice) });
    expect(stranger.status).toBe(403);
    // A dashboard's read token does not get every org's state; a peer's replica token does.
    const readOnly = await send('GET', '/v1/snapshot', { headers: { authorization: `Bearer ${bankToken}` } });
    expect(readOnly.status).toBe(403);
    expect(JSON.parse(readOnly.body).detail).toMatch(/'replica' scope/);
    const replica = tokenStoreOf(api.node).create('bank', { scopes: ['replica'], createdBy: 'test' }).token;
    const ok = await send('GET', '/v1/snapshot', { headers: { authorization: `Bearer ${replica}` } });
    expect(ok.status).toBe(200);
    expect(ok.body.trim().split('\n').at(-1)).toMatch(/^\{"end":/);

    // Enough state that a snapshot cannot sit in socket buffers: a reader that does not read holds its slot.
    const big = 'x'.repeat(3900);
    const txs = Array.from({ length: 1000 }, (_, i) =>
      tx(api.fx.orgs.bank!, 'kv.put', { ns: 'snapshotfill', key: `k${i}`, value: big }),
    );
    const subs = txs.map((t) => api.node.submit(t));
    await Promise.all(subs.map((s) => s.committed));
    const slow = Fastify();
    slow.decorate('custos', api.node);
    slow.register(consortiumRoutes, { maxSnapshotExports: 1 });
    const slowBase = await listen(slow, { port: 0 });
    try {
      const path = '/v1/snapshot';
      const held = await new Promise<{ status: number; destroy: () => void }>((resolve, reject) => {
        const u = new URL(slowBase);
        const req = httpRequest(
          {
            host: u.hostname,
            port: u.port,
            path,
            agent: false,
            headers: { ...signRequest({ method: 'GET', url: `${slowBase}${path}` }, api.fx.orgs.bank!) },
          },
          (res) => {
            res.pause();
            resolve({ status: res.statusCode ?? 0, destroy: () => req.destroy() });
          },
        );
        req.on('error', (e) => ((e as { code?: string }).code === 'ECONNRESET' ? undefined : reject(e)));
        req.end();
      });
      expect(held.status).toBe(200);
      const headers = { ...signRequest({ method: 'GET', url: `${slowBase}${path}` }, api.fx.orgs.insurer!) };
      const over = await fetch(`${slowBase}${path}`, { headers });
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBe('5');
      expect(await over.json()).toMatchObject({
        code: 'RATE_LIMITED',
        detail: expect.stringMatching(/at most 1 snapshot/),
      });
      // When the slow reader goes, its slot frees.
      held.destroy();
      let again = 0;
      for (let i = 0; i < 200 && again !== 200; i++) {
        await new Promise((r) => setTimeout(r, 25));
        const h = { ...signRequest({ method: 'GET', url: `${slowBase}${path}` }, api.fx.orgs.insurer!) };
        const r = await fetch(`${slowBase}${path}`, { headers: h });
        again = r.status;
        await r.arrayBuffer();
      }
      expect(again).toBe(200);
    } finally {
      await slow.close();
    }
  });

  it('trust #6: overdue requests and the replay window are read through indexes, never a scan', async () => {
    const db = api.node.store.db;
    const plan = (sql: string, ...args: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail);
    const overdue = plan(OVERDUE_SQL, {
      lo: 'request/',
      hi: 'request0',
      now: 1,
      afterDeadline: -1,
      afterKey: '',
      limit: 10,
    });
    expect(overdue.join('\n')).toMatch(/USING INDEX state_open_requests/);
    expect(overdue.join('\n')).not.toMatch(/SCAN state\b(?! USING INDEX)/);
    const recent = plan(RECENT_TXS_SQL, { from: 10, time: 1 });
    expect(recent.join('\n')).toMatch(/txs_by_expiry/);
    expect(recent.join('\n')).not.toMatch(/SCAN txs\b(?! USING)/);

    // Open requests to two orgs, then read them as if their deadlines had passed.
    for (const [who, org] of [
      [alice, 'bank'],
      [bob, 'insurer'],
      [userSigner(), 'bank'],
    ] as const) {
      expect(
        (await api.node.submitAndWait(tx(who, 'request.open', { org, kind: 'access', jurisdiction: 'GDPR' }))).code,
      ).toBe('OK');
    }
    const later = Date.now() + 400 * DAY;
    const bank = overdueRequests(db, { now: later, org: 'bank', limit: 10 });
    expect(bank.length).toBe(2);
    expect(bank.every((r) => r.key.startsWith('request/bank/'))).toBe(true);
    const first = overdueRequests(db, { now: later, limit: 1 });
    const rest = overdueRequests(db, { now: later, after: [first[0]!.deadline, first[0]!.key], limit: 10 });
    expect([...first, ...rest].map((r) => r.key).sort()).toEqual(
      overdueRequests(db, { now: later, limit: 10 })
        .map((r) => r.key)
        .sort(),
    );
    expect(overdueRequests(db, { now: 0, limit: 10 })).toEqual([]);

    // The route: members only; a member's answer holds its own org's requests.
    expect((await send('GET', '/v1/requests/overdue')).status).toBe(401);
    const asBank = await send('GET', '/v1/requests/overdue', { headers: { authorization: `Bearer ${bankToken}` } });
    expect(asBank.status).toBe(200);
    expect(JSON.parse(asBank.body)).toMatchObject({ overdue: [], next: null });
  });
});
