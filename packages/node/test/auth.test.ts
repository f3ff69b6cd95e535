/**
 * Authentication of the HTTP API: every private route (enumerated from Fastify's own route list,
 * so a new one cannot escape) refuses a request without credentials, signed by a wrong key,
 * expired, replayed or with a broken signature; the subject report needs the subject's key; org
 * routes need a current member key or an org API token with the right scope; bodies are bound
 * to the signature by Content-Digest; tokens are stored hashed, expire and are revoked; list
 * routes page with cursors.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { utf8 } from '@custos/protocol/encoding';
import { signatureBase, signatureParamsValue, signRequest } from '@custos/protocol/http';
import { proveMemberKey, txIdOf, verifySubjectReport } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, tx, userSigner } from '@custos/test-utils/node';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayCacheOf } from '../src/api/auth/authenticate.js';
import { ReplayCache } from '../src/api/auth/replay-cache.js';
import { createServer, registeredRoutes } from '../src/api/server.js';
import { TOKEN_PATTERN, tokenStoreOf } from '../src/orgs/tokens.js';

const DAY = 86_400_000;
/** Routes anyone may call. Adding one here is a security decision: say why in the comment. */
const PUBLIC_ROUTES = new Set([
  // The web app and its assets, the API reference, operations probes and metrics.
  'GET /',
  'GET /*',
  'GET /docs',
  'GET /openapi.json',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  // Global Privacy Control support resource.
  'GET /.well-known/gpc.json',
  // Submitting signed transactions: the transaction signature is the authentication.
  'POST /v1/txs',
  'POST /v1/txs/batch',
  // Read routes with optional credentials: anonymous callers get only the public part (headers,
  // checkpoints, the member set, public state, position and code of a known txId); read-access.test.ts
  // checks every route of the OpenAPI document for what each kind of reader gets (trust #5).
  'GET /v1/txs/:txId',
  'GET /v1/blocks',
  'GET /v1/blocks/latest',
  'GET /v1/blocks/:height',
  'GET /v1/blocks/:height/txs',
  // Finality of the consortium: certificates are public ledger data.
  'GET /v1/finality',
  'GET /v1/blocks/:height/certificate',
  // Certified member-set updates: what every verifier follows from genesis (headers, certificates, proofs).
  'GET /v1/members/epochs',
  'GET /v1/checkpoint',
  'GET /v1/chain',
  'GET /v1/state',
  'GET /v1/state/entry',
  'GET /v1/proofs/inclusion/:txId',
  'GET /v1/proofs/consistency',
  'GET /v1/proofs/state',
  'GET /v1/events/blocks',
  'GET /v1/events/txs/:txId',
  // Which orgs this node serves.
  'GET /v1/orgs',
  // An org's inbox for the customer's sealed corrections (ADR 0018): it takes only the envelope whose
  // SHA-256 a pending rectify.send of that org holds, once; rectify-api.test.ts refuses the others.
  'POST /v1/orgs/:org/inbox/:id',
  // Linking a customer's account: the answer to a one-time challenge of the org's node, signed by the
  // pseudonym's key, is the proof; agents-api.test.ts refuses forged, replayed, expired and other orgs' answers.
  'POST /v1/orgs/:org/links',
  // The portal's passkeys (ADR 0016): not RFC 9421. A ceremony is authenticated by its WebAuthn
  // answer to a single-use challenge, recovery by the code's authenticator, and the `me` routes by
  // a passkey session (Bearer); passkeys.test.ts refuses each without them.
  'POST /v1/passkeys/register/options',
  'POST /v1/passkeys/register',
  'POST /v1/passkeys/login/options',
  'POST /v1/passkeys/login',
  'POST /v1/passkeys/recover',
  'GET /v1/passkeys/me',
  'PUT /v1/passkeys/me/wallet',
  'PUT /v1/passkeys/me/passkeys/:id/key',
  'DELETE /v1/passkeys/me/passkeys/:id',
  'PUT /v1/passkeys/me/recovery',
  'POST /v1/passkeys/me/device-links',
  // Governance: members, rules and proposals are public ledger data.
  'GET /v1/gov/proposals',
  // Contracts: records, risk reports and votes are public governance; call receipts only for members.
  'GET /v1/contracts',
  'GET /v1/contracts/:name',
  // Demo nodes only (404 elsewhere): demo wallets under a public demo passphrase.
  'GET /v1/demo/wallets',
]);

let api: ApiNode;
let fx: ApiNode['fx'];
let node: ApiNode['node'];
let app: ApiNode['app'];
let alice: Signer;
let aliceDid: string;
let mallory: Signer;
let grantTxId: string;

interface SignOpts {
  now?: number;
  body?: string;
  host?: string;
}

/** Signature headers for an injected request (inject sends Host: localhost:80). */
function sign(method: string, url: string, signer: Signer, o: SignOpts = {}): Record<string, string> {
  const h = signRequest(
    { method, url: `http://${o.host ?? 'localhost'}${url}`, ...(o.body === undefined ? {} : { body: o.body }) },
    signer,
    o.now === undefined ? {} : { now: o.now },
  );
  return { ...h, ...(o.body === undefined ? {} : { 'content-type': 'application/json' }) };
}

async function call(
  method: string,
  url: string,
  opts: { signer?: Signer; body?: unknown; headers?: Record<string, string>; now?: number } = {},
): Promise<LightMyRequestResponse> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(opts.signer === undefined
      ? {}
      : sign(method, url, opts.signer, {
          ...(body === undefined ? {} : { body }),
          ...(opts.now === undefined ? {} : { now: opts.now }),
        })),
    ...opts.headers,
  };
  return app.inject({ method: method as 'GET', url, headers, ...(body === undefined ? {} : { payload: body }) });
}

function problemOf(res: LightMyRequestResponse): { code: string; status: number; detail: string } {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  return res.json();
}

/** The routes Fastify has, from its printed route tree: `METHOD /path`. */
function routeList(server: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of server.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*)$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const [, segment, methods] = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(m[2]!)!;
    stack.length = depth;
    stack[depth] = segment!;
    const path = stack.join('').replace(/^\/?/, '/');
    for (const method of methods?.split(', ') ?? []) out.push(`${method} ${path}`);
  }
  return out;
}

beforeAll(async () => {
  api = await startApiNode({ orgIds: ['bank', 'insurer'], server: { rateLimit: false } });
  ({ fx, node, app } = api);
  alice = userSigner();
  aliceDid = didFromPublicKey(alice.publicKey);
  mallory = userSigner();
  const g = await node.submitAndWait(
    tx(alice, 'consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: Date.now() + 30 * DAY,
      jurisdiction: 'GDPR',
      notice: 'ab'.repeat(32),
    }),
  );
  expect(g.code).toBe('OK');
  grantTxId = g.txId;
});

afterAll(async () => {
  await api?.close();
});

describe('every private route', () => {
  /** A concrete URL for a route pattern, and the key that may call it. */
  function concrete(path: string): { url: string; owner: Signer } {
    const url = path
      .replace(':did', aliceDid)
      .replace(':org', 'bank')
      .replace(':txId', grantTxId)
      .replace(':name', 'tally')
      .replace(/tokens\/:id$/, 'tokens/0123456789abcdef')
      .replace(':id', 'ab'.repeat(32));
    const owner = path.includes(':did') || path.startsWith('/v1/receipts') ? alice : fx.orgs.bank!;
    return { url, owner };
  }

  it('is found in the route list, and everything else there is a declared public route', () => {
    const routes = routeList(app);
    expect(routes).toContain('GET /v1/chain');
    // The printed tree and the server's own registry of routes agree.
    for (const r of registeredRoutes(app)) expect(routes).toContain(`${r.method} ${r.url}`);
    const priv = routes.filter((r) => !PUBLIC_ROUTES.has(r.replace(/^HEAD /, 'GET ')));
    for (const r of [
      'GET /v1/subjects/:did/report',
      'GET /v1/subjects/:did/events',
      'GET /v1/receipts/:txId',
      'GET /v1/orgs/:org/records',
      'POST /v1/orgs/:org/records',
      'POST /v1/orgs/:org/records/:id/access',
      'POST /v1/orgs/:org/erase',
      'GET /v1/orgs/:org/requests',
      'POST /v1/orgs/:org/requests/:id/fulfil',
      'GET /v1/orgs/:org/retention',
      'POST /v1/orgs/:org/tokens',
      'GET /v1/orgs/:org/tokens',
      'DELETE /v1/orgs/:org/tokens/:id',
      'POST /v1/orgs/:org/gov/propose',
      'POST /v1/orgs/:org/gov/vote',
      'POST /v1/orgs/:org/contracts/:name/pause',
      // Members only (trust #5, #6): every org's state, whole blocks, overdue requests.
      'GET /v1/snapshot',
      'GET /v1/replica/blocks/:height',
      'GET /v1/requests/overdue',
    ]) {
      expect(priv).toContain(r);
    }
    expect(priv.length).toBeGreaterThanOrEqual(20);
  });

  it('refuses no signature, a wrong key, a replay, an expired or a broken signature', async () => {
    const routes = routeList(app).filter((r) => !PUBLIC_ROUTES.has(r.replace(/^HEAD /, 'GET ')));
    expect(routes.filter((r) => r.startsWith('HEAD ')).length).toBeGreaterThanOrEqual(7);
    for (const route of routes) {
      const [method, path] = route.split(' ') as [string, string];
      const { url, owner } = concrete(path);
      const body = method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : '{}';
      const send = (headers: Record<string, string>) =>
        app.inject({
          method: method as 'GET',
          url,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          ...(body === undefined ? {} : { payload: body }),
        });
      const expectProblem = (res: LightMyRequestResponse, status: number, code: string, what: string) => {
        expect(res.statusCode, `${route} ${what}: ${res.body}`).toBe(status);
        if (method !== 'HEAD') expect(problemOf(res).code, `${route} ${what}`).toBe(code);
      };
      const signOpts = body === undefined ? {} : { body };

      const none = await send({});
      expectProblem(none, 401, 'UNAUTHENTICATED', 'unsigned');
      expect(none.headers['www-authenticate'], route).toMatch(/^Signature realm="custos"/);

      // A refused key leaves no nonce behind (trust #14), so the same request is refused the same way.
      const wrong = sign(method, url, mallory, signOpts);
      expectProblem(await send(wrong), 403, 'FORBIDDEN', 'wrong key');
      expectProblem(await send(wrong), 403, 'FORBIDDEN', 'wrong key again');
      // (An owner's GET of an event stream would open the stream: its HEAD checks the same guard.)
      if (!(method === 'GET' && path.endsWith('/events'))) {
        const own = sign(method, url, owner, signOpts);
        await send(own);
        expectProblem(await send(own), 401, 'REPLAYED_REQUEST', 'replayed');
      }

      const expired = sign(method, url, owner, { ...signOpts, now: Date.now() - 120_000 });
      expectProblem(await send(expired), 401, 'SIGNATURE_EXPIRED', 'expired');
      const future = sign(method, url, owner, { ...signOpts, now: Date.now() + 60_000 });
      expectProblem(await send(future), 401, 'SIGNATURE_EXPIRED', 'created in the future');

      const broken = sign(method, url, owner, signOpts);
      broken.Signature = broken.Signature!.replace(/[A-Za-z](?=[^:]*=*:$)/, (c) => (c === 'A' ? 'B' : 'A'));
      expectProblem(await send(broken), 401, 'UNAUTHENTICATED', 'broken signature');

      const otherNode = sign(method, url, owner, { ...signOpts, host: 'other-node.example' });
      expectProblem(await send(otherNode), 401, 'UNAUTHENTICATED', 'signed for another node');

      const bogusToken = await send({ authorization: `Bearer custos_0123456789abcdef_${'A'.repeat(43)}` });
      expect(bogusToken.statusCode, `${route} bogus token`).toBe(401);
    }
  });
});

describe('subject report', () => {
  const url = () => `/v1/subjects/${aliceDid}/report`;

  it("is served to the subject's key, verifiable, and to no one else", async () => {
    const ok = await call('GET', url(), { signer: alice });
    expect(ok.statusCode).toBe(200);
    expect(verifySubjectReport(ok.json(), node.members).complete).toBe(true);
    const bank = await call('GET', url(), { signer: fx.orgs.bank! });
    expect(bank.statusCode).toBe(403);
    expect(problemOf(bank).detail).toMatch(/subject's own key/);
  });

  it('binds the query and path: a signature for one page does not open another', async () => {
    const headers = sign('GET', `${url()}?limit=1`, alice);
    const other = await app.inject({ method: 'GET', url: `${url()}?limit=2`, headers });
    expect(other.statusCode).toBe(401);
    expect(problemOf(other).detail).toMatch(/does not verify/);
    const bob = didFromPublicKey(userSigner().publicKey);
    const elsewhere = await app.inject({ method: 'GET', url: `/v1/subjects/${bob}/report?limit=1`, headers });
    expect(elsewhere.statusCode).toBe(401);
  });

  it('refuses a signature window longer than 60 s, and an unsupported algorithm', async () => {
    const created = Math.floor(Date.now() / 1000);
    const params = { created, expires: created + 61, nonce: 'n'.repeat(22), alg: 'ed25519', keyid: aliceDid };
    const components = ['@method', '@authority', '@path', '@query'];
    const base = signatureBase(components, params, { method: 'GET', url: `http://localhost${url()}`, headers: {} });
    const sig = Buffer.from(alice.sign(utf8(base))).toString('base64');
    const res = await app.inject({
      method: 'GET',
      url: url(),
      headers: { 'signature-input': `sig=${signatureParamsValue(components, params)}`, signature: `sig=:${sig}:` },
    });
    expect(res.statusCode).toBe(401);
    expect(problemOf(res)).toMatchObject({ code: 'UNAUTHENTICATED', detail: expect.stringMatching(/at most 60 s/) });
    const hmac = sign('GET', url(), alice);
    hmac['Signature-Input'] = hmac['Signature-Input']!.replace('alg="ed25519"', 'alg="hmac-sha256"');
    expect((await app.inject({ method: 'GET', url: url(), headers: hmac })).statusCode).toBe(401);
  });
});

describe('org routes', () => {
  it('accept a current member key of the org, and refuse other orgs and customers', async () => {
    expect((await call('GET', '/v1/orgs/bank/records', { signer: fx.orgs.bank! })).statusCode).toBe(200);
    const insurer = await call('GET', '/v1/orgs/bank/records', { signer: fx.orgs.insurer! });
    expect(insurer.statusCode).toBe(403);
    expect((await call('GET', '/v1/orgs/bank/records', { signer: alice })).statusCode).toBe(403);
  });

  it('follow key rotation on the ledger: an added key works at once, a revoked one stops', async () => {
    const next = userSigner();
    const nextDid = didFromPublicKey(next.publicKey);
    const proven = proveMemberKey(next, { chainId: 'test', member: 'bank', action: 'addKey' });
    expect((await node.submitAndWait(tx(fx.orgs.bank!, 'member.addKey', proven))).code).toBe('OK');
    expect(proven.key).toBe(nextDid);
    expect((await call('GET', '/v1/orgs/bank/records', { signer: next })).statusCode).toBe(200);
    const revoke = tx(next, 'member.revokeKey', { key: didFromPublicKey(fx.orgs.bank!.publicKey) });
    expect((await node.submitAndWait(revoke)).code).toBe('OK');
    expect((await call('GET', '/v1/orgs/bank/records', { signer: fx.orgs.bank! })).statusCode).toBe(403);
    // Restore the fixture key for the tests after this one.
    const back = tx(next, 'member.addKey', {
      ...proveMemberKey(fx.orgs.bank!, { chainId: 'test', member: 'bank', action: 'addKey' }),
    });
    expect((await node.submitAndWait(back)).code).toBe('OK');
  });

  it('bind the body to the signature with Content-Digest', async () => {
    const url = '/v1/orgs/bank/records';
    const value = {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 30,
      value: 'ada@example.org',
    };
    const body = JSON.stringify(value);
    const headers = sign('POST', url, fx.orgs.bank!, { body });
    const swapped = JSON.stringify({ ...value, subject: didFromPublicKey(mallory.publicKey) });
    const tampered = await app.inject({ method: 'POST', url, headers, payload: swapped });
    expect(tampered.statusCode).toBe(401);
    expect(problemOf(tampered).detail).toMatch(/Content-Digest/);
    expect(tampered.body).not.toContain('ada@example.org');

    // A signature that does not cover the digest of a body is refused before the body is read.
    const noDigest = sign('GET', url, fx.orgs.bank!);
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { ...noDigest, 'content-type': 'application/json' },
      payload: body,
    });
    expect(res.statusCode).toBe(401);

    const ok = await app.inject({
      method: 'POST',
      url,
      headers: sign('POST', url, fx.orgs.bank!, { body }),
      payload: body,
    });
    expect(ok.statusCode).toBe(201);
  });
});

describe('org API tokens', () => {
  let readToken: string;
  let writeToken: string;
  let readId: string;

  it('are issued with a member key, shown once, stored hashed', async () => {
    const r = await call('POST', '/v1/orgs/bank/tokens', {
      signer: fx.orgs.bank!,
      body: { scopes: ['read'], label: 'dashboard' },
    });
    expect(r.statusCode).toBe(201);
    expect(r.headers['cache-control']).toBe('no-store');
    const doc = r.json();
    expect(doc.token).toMatch(TOKEN_PATTERN);
    expect(doc).toMatchObject({ org: 'bank', scopes: ['read'], label: 'dashboard', revokedAt: null });
    expect(doc.createdBy).toBe(didFromPublicKey(fx.orgs.bank!.publicKey));
    expect(doc.expiresAt - doc.createdAt).toBe(90 * DAY);
    readToken = doc.token;
    readId = doc.id;
    const w = await call('POST', '/v1/orgs/bank/tokens', {
      signer: fx.orgs.bank!,
      body: { scopes: ['read', 'write'], ttlDays: 1 },
    });
    writeToken = w.json().token;
    node.store.db.pragma('wal_checkpoint(FULL)');
    // The secret is base64url and may itself contain '_': take it whole from the pattern.
    const secret = TOKEN_PATTERN.exec(readToken)![2]!;
    const onDisk = readFileSync(join(api.tmp.dir, 'node.db'));
    expect(onDisk.includes(Buffer.from(secret))).toBe(false);
    const list = await call('GET', '/v1/orgs/bank/tokens', { signer: fx.orgs.bank! });
    expect(JSON.stringify(list.json())).not.toContain(secret);
    expect(list.json().tokens.map((t: { id: string }) => t.id)).toContain(readId);
  });

  it('authorize their org with their scopes only', async () => {
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    expect((await call('GET', '/v1/orgs/bank/records', { headers: bearer(readToken) })).statusCode).toBe(200);
    expect((await call('GET', '/v1/orgs/bank/requests', { headers: bearer(readToken) })).statusCode).toBe(200);
    const write = await call('POST', '/v1/orgs/bank/erase', {
      headers: bearer(readToken),
      body: { records: ['ab'.repeat(32)], reason: 'other' },
    });
    expect(write.statusCode).toBe(403);
    expect(problemOf(write).detail).toMatch(/'write' scope/);
    const w = await call('POST', '/v1/orgs/bank/erase', {
      headers: bearer(writeToken),
      body: { records: ['ab'.repeat(32)], reason: 'other' },
    });
    expect(w.statusCode).toBe(200);
    expect((await call('GET', '/v1/orgs/insurer/records', { headers: bearer(writeToken) })).statusCode).toBe(403);
    // Tokens cannot manage tokens; nor read the subject's own report.
    expect((await call('GET', '/v1/orgs/bank/tokens', { headers: bearer(writeToken) })).statusCode).toBe(401);
    expect(
      (await call('POST', '/v1/orgs/bank/tokens', { headers: bearer(writeToken), body: { scopes: ['read'] } }))
        .statusCode,
    ).toBe(401);
    expect((await call('GET', `/v1/subjects/${aliceDid}/report`, { headers: bearer(writeToken) })).statusCode).toBe(
      401,
    );
    // Receipts of a consent given to bank: bank's token may read them, another org's may not.
    expect((await call('GET', `/v1/receipts/${grantTxId}`, { headers: bearer(readToken) })).statusCode).toBe(200);
    const ins = await call('POST', '/v1/orgs/insurer/tokens', { signer: fx.orgs.insurer!, body: { scopes: ['read'] } });
    expect((await call('GET', `/v1/receipts/${grantTxId}`, { headers: bearer(ins.json().token) })).statusCode).toBe(
      403,
    );
    expect((await call('GET', `/v1/receipts/${grantTxId}`, { signer: alice })).statusCode).toBe(200);
    expect((await call('GET', `/v1/receipts/${grantTxId}`, { signer: fx.orgs.bank! })).statusCode).toBe(200);
  });

  it('trust #11: a write token is refused for propose and vote; a governance token or the org key may', async () => {
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const action = { kind: 'params', threshold: 2, blockMaxTxs: 500, blockMaxMs: 50 };
    const before = node.latest().height;
    const propose = await call('POST', '/v1/orgs/bank/gov/propose', {
      headers: bearer(writeToken),
      body: { action, reason: 'a token for a dashboard must not govern' },
    });
    expect(propose.statusCode).toBe(403);
    expect(problemOf(propose).detail).toMatch(/'governance' scope/);
    const vote = await call('POST', '/v1/orgs/bank/gov/vote', {
      headers: bearer(writeToken),
      body: { proposal: 'ab'.repeat(32), vote: 'yes' },
    });
    expect(vote.statusCode).toBe(403);
    expect(problemOf(vote).detail).toMatch(/'governance' scope/);
    // Nothing reached the ledger: no proposal exists.
    expect(node.store.listState('gov/proposal/', undefined, 10)).toEqual([]);
    expect(node.latest().height).toBe(before);
    // A token with the governance scope may vote (here on an unknown proposal: a result code, not a refusal).
    const gov = await call('POST', '/v1/orgs/bank/tokens', { signer: fx.orgs.bank!, body: { scopes: ['governance'] } });
    expect(gov.statusCode).toBe(201);
    const byGov = await call('POST', '/v1/orgs/bank/gov/vote', {
      headers: bearer(gov.json().token),
      body: { proposal: 'ab'.repeat(32), vote: 'yes' },
    });
    expect(byGov.statusCode, byGov.body).toBe(200);
    expect(byGov.json().code).not.toBe('OK');
    // ...but a governance-only token cannot write records.
    const erase = await call('POST', '/v1/orgs/bank/erase', {
      headers: bearer(gov.json().token),
      body: { records: ['ab'.repeat(32)], reason: 'other' },
    });
    expect(erase.statusCode).toBe(403);
  });

  it('refuse malformed, unknown, tampered and expired tokens', async () => {
    for (const t of [
      'nope',
      `custos_${'0'.repeat(16)}_${'A'.repeat(43)}`,
      `${readToken.slice(0, -1)}${readToken.endsWith('A') ? 'B' : 'A'}`,
    ]) {
      const r = await call('GET', '/v1/orgs/bank/records', { headers: { authorization: `Bearer ${t}` } });
      expect(r.statusCode).toBe(401);
      expect(problemOf(r).code).toBe('UNAUTHENTICATED');
    }
    const old = tokenStoreOf(node).create(
      'bank',
      { scopes: ['read'], ttlDays: 1, createdBy: 'test' },
      Date.now() - 2 * DAY,
    );
    const r = await call('GET', '/v1/orgs/bank/records', { headers: { authorization: `Bearer ${old.token}` } });
    expect(r.statusCode).toBe(401);
    expect(problemOf(r).detail).toMatch(/expired/);
  });

  it('are revoked at once with DELETE, which a token cannot do', async () => {
    const byToken = await call('DELETE', `/v1/orgs/bank/tokens/${readId}`, {
      headers: { authorization: `Bearer ${writeToken}` },
    });
    expect(byToken.statusCode).toBe(401);
    const del = await call('DELETE', `/v1/orgs/bank/tokens/${readId}`, { signer: fx.orgs.bank! });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ id: readId, revokedAt: expect.any(Number) });
    const after = await call('GET', '/v1/orgs/bank/records', { headers: { authorization: `Bearer ${readToken}` } });
    expect(after.statusCode).toBe(401);
    expect(problemOf(after).detail).toMatch(/revoked/);
    expect((await call('DELETE', `/v1/orgs/insurer/tokens/${readId}`, { signer: fx.orgs.insurer! })).statusCode).toBe(
      404,
    );
    expect(
      (await call('POST', '/v1/orgs/retailer/tokens', { signer: fx.orgs.retailer!, body: { scopes: ['read'] } }))
        .statusCode,
    ).toBe(404);
  });
});

describe('cursor pages', () => {
  it('page the requests queue and the token list without gaps or repeats', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await node.submitAndWait(
        tx(userSigner(), 'request.open', { org: 'bank', kind: 'access', jurisdiction: i % 2 ? 'GDPR' : 'CCPA' }),
      );
      expect(r.code).toBe('OK');
    }
    const collect = async (path: string, field: string, limit: number) => {
      const seen: { id: string }[] = [];
      let after: string | null = null;
      for (let i = 0; i < 20; i++) {
        const q: string = `?limit=${limit}${after === null ? '' : `&after=${after}`}`;
        const res = await call('GET', `${path}${q}`, { signer: fx.orgs.bank! });
        expect(res.statusCode, res.body).toBe(200);
        const doc = res.json();
        seen.push(...(doc[field] as { id: string }[]));
        after = doc.next;
        if (after === null) return seen;
      }
      throw new Error('no last page');
    };
    const all = (await call('GET', '/v1/orgs/bank/requests', { signer: fx.orgs.bank! })).json().requests as {
      id: string;
      deadline: number;
    }[];
    expect(all.length).toBe(5);
    const paged = await collect('/v1/orgs/bank/requests', 'requests', 2);
    expect(paged.map((r) => r.id)).toEqual(all.map((r) => r.id));
    expect([...all].sort((a, b) => a.deadline - b.deadline).map((r) => r.deadline)).toEqual(all.map((r) => r.deadline));

    const tokens = await collect('/v1/orgs/bank/tokens', 'tokens', 1);
    expect(new Set(tokens.map((t) => t.id)).size).toBe(tokens.length);
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    const records = await collect('/v1/orgs/bank/records', 'records', 1);
    expect(records.length).toBeGreaterThanOrEqual(1);
  });

  it('answer the retention and overdue lists as pages, and check the limit', async () => {
    const ret = await call('GET', '/v1/orgs/bank/retention?limit=10', { signer: fx.orgs.bank! });
    expect(ret.json()).toMatchObject({ pastRetention: [], next: null });
    const overdue = await call('GET', '/v1/requests/overdue?limit=10', { signer: fx.orgs.bank! });
    expect(overdue.json()).toMatchObject({ overdue: [], next: null });
    expect((await call('GET', '/v1/requests/overdue?limit=0', { signer: fx.orgs.bank! })).statusCode).toBe(400);
    expect((await call('GET', '/v1/requests/overdue?after=zzz', { signer: fx.orgs.bank! })).statusCode).toBe(400);
  });
});

/** A GET over a fresh connection with exactly these headers (Host included, when given). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('trust #14: signatures bound to this node, a replay cache no stranger can fill', () => {
  it('trust #14: a request signed for one node and replayed to a second node is refused', async () => {
    const a = await startApiNode({ listen: true, server: { rateLimit: false } });
    const b = await startApiNode({ listen: true, server: { rateLimit: false } });
    try {
      const path = `/v1/subjects/${aliceDid}/report`;
      const authorityA = new URL(a.url!).host;
      const headers = sign('GET', path, alice, { host: authorityA });
      // To node A, as signed: accepted.
      expect((await rawGet(a.url!, path, headers)).status).toBe(200);
      // The same request to node B, Host unchanged (what an attacker replays): refused.
      const replay = await rawGet(b.url!, path, {
        ...sign('GET', path, alice, { host: authorityA }),
        host: authorityA,
      });
      expect(replay.status).toBe(401);
      expect(JSON.parse(replay.body)).toMatchObject({
        code: 'UNAUTHENTICATED',
        detail: expect.stringMatching(/another node/),
      });
      // Node B accepts what is signed for its own authority.
      const authorityB = new URL(b.url!).host;
      expect((await rawGet(b.url!, path, sign('GET', path, alice, { host: authorityB }))).status).toBe(200);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('trust #14: behind a proxy, the configured public name is the only authority accepted', async () => {
    const proxied = createServer(node, { rateLimit: false, authorities: ['custos.bank.example'] });
    try {
      await proxied.ready();
      const url = `/v1/subjects/${aliceDid}/report`;
      const send = (host: string) =>
        proxied.inject({ method: 'GET', url, headers: { ...sign('GET', url, alice, { host }), host } });
      expect((await send('custos.bank.example')).statusCode).toBe(200);
      const elsewhere = await send('localhost');
      expect(elsewhere.statusCode).toBe(401);
      expect(problemOf(elsewhere).detail).toMatch(/another node: expected @authority custos\.bank\.example/);
      expect(() => createServer(node, { authorities: ['not a host/name'] })).toThrow(/expected an authority/);
    } finally {
      await proxied.close();
    }
  });

  it('trust #14: a refused key records no nonce, and one client cannot fill the cache for others', async () => {
    const cache = replayCacheOf(node);
    const before = cache.size;
    for (let i = 0; i < 20; i++) {
      const r = await call('GET', '/v1/orgs/bank/records', { signer: userSigner() });
      expect(r.statusCode).toBe(403);
    }
    expect(cache.size).toBe(before);
    const c = new ReplayCache(100, 2);
    expect(c.check('k1', 'n1', 1000, 0, 'attacker')).toBe('fresh');
    expect(c.check('k2', 'n2', 1000, 0, 'attacker')).toBe('fresh');
    expect(c.check('k3', 'n3', 1000, 0, 'attacker')).toBe('client-full');
    expect(c.check('k4', 'n4', 1000, 0, 'customer')).toBe('fresh');
    // Once its signatures expire, the client has room again.
    expect(c.check('k3', 'n3', 2000, 1000, 'attacker')).toBe('fresh');
  });

  it('trust #14: the GPC check sees the routed path, so /v1/%74xs does not bypass it', async () => {
    const optout = tx(alice, 'optout.set', { org: 'bank', kinds: ['sale'], source: 'gpc' });
    for (const url of ['/v1/%74xs', '/v1/%74xs?wait=true', '/v1/txs/%62atch']) {
      const body = url.includes('atch') ? [optout] : optout;
      const res = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      expect(res.statusCode, url).toBe(400);
      expect(problemOf(res).detail).toMatch(/Sec-GPC: 1/);
    }
    expect(node.store.getTx(txIdOf(optout.body))).toBeNull();
  });
});

describe('replay cache', () => {
  it('remembers a nonce until its signature expires, and fails closed when full', () => {
    const c = new ReplayCache(3);
    expect(c.check('k', 'n1', 1000, 0)).toBe('fresh');
    expect(c.check('k', 'n1', 1000, 500)).toBe('replayed');
    expect(c.check('other', 'n1', 1000, 500)).toBe('fresh');
    expect(c.check('k', 'n2', 2000, 500)).toBe('fresh');
    expect(c.check('k', 'n3', 2000, 500)).toBe('full');
    // Once the first signatures expired, their entries go and room comes back.
    expect(c.check('k', 'n3', 2000, 1000)).toBe('fresh');
    expect(c.check('k', 'n1', 3000, 1000)).toBe('fresh');
    expect(c.size).toBeLessThanOrEqual(3);
  });
});
