/**
 * Fuzzing the HTTP API in process (fast-check, `app.inject`): 10,000 random and mutated requests
 * against a real node: methods and paths from the server's own route list with random parameters
 * and query strings, mutated signed transactions and batches, random JSON, random bytes, wrong
 * content types, huge strings, deep nesting, unicode. Never a 5xx, every error a problem+json
 * with a registry code, and the chain (head, state root, transaction count) unchanged by them all.
 */
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import { headerHash, type SignedTx } from '@custos/protocol/ledger';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type RegisteredRoute, registeredRoutes } from '../src/api/server.js';
import { ERROR_REGISTRY } from '../src/errors.js';
import { CustosNode } from '../src/node.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

let tmp: ReturnType<typeof tempDir>;
let node: CustosNode;
let app: FastifyInstance;
let alice: Signer;
let template: SignedTx;
let committedTxId: string;
let routes: RegisteredRoute[];

beforeAll(async () => {
  tmp = tempDir();
  const fx = fixture();
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
  // Passkeys configured as on a served portal: unconfigured, their routes answer 503 NOT_READY by
  // design (an operator's setting, tested in passkeys.test.ts), which would hide them from the fuzzer.
  app = createServer(node, { rateLimit: false, passkeys: { rpId: 'localhost', origins: ['http://localhost'] } });
  await app.ready();
  alice = userSigner();
  // Committed before the snapshot: resubmitting it unchanged is a replay, never a new commit.
  template = tx(alice, 'kv.put', { ns: 'fuzz', key: 'template', value: { list: [1, 'two', null], n: 3 } });
  const r = await app.inject({ method: 'POST', url: '/v1/txs?wait=true', payload: template });
  expect(r.statusCode).toBe(200);
  committedTxId = (r.json() as { txId: string }).txId;
  // The API's routes; the web app's pages (hidden from the API document) are not the API.
  routes = registeredRoutes(app).filter((x) => !x.hidden);
});

afterAll(async () => {
  await app?.close();
  await node?.close();
  tmp?.cleanup();
});

interface FuzzRequest {
  method: string;
  url: string;
  payload?: string | Buffer;
  contentType?: string;
}

const unicode = fc.string({ unit: 'grapheme', maxLength: 40 });
const anyText = fc.oneof(fc.string({ maxLength: 40 }), unicode, fc.string({ unit: 'binary', maxLength: 40 }));
const huge = fc.constantFrom(1_000, 70_000, 300_000).map((n) => 'x'.repeat(n));
const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  anyText,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, -1, 0, 2 ** 53, 1e308, '', 'did:key:z6Mk', 'a'.repeat(86), '0'.repeat(64)),
);

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
}
const deep = fc
  .record({ depth: fc.integer({ min: 1, max: 20_000 }), kind: fc.constantFrom('array', 'object') })
  .map(({ depth, kind }) => (kind === 'array' ? nested(depth, '[', ']') : nested(depth, '{"a":', '}')));

/** A signed transaction with one thing changed: a body field, a missing field, the signature, an extra key. */
function mutatedTx(): fc.Arbitrary<string> {
  const fields = Object.keys(template.body) as (keyof SignedTx['body'])[];
  return fc.oneof(
    fc
      .record({ field: fc.constantFrom(...fields), value: leaf })
      .map(({ field, value }) => JSON.stringify({ ...template, body: { ...template.body, [field]: value } })),
    fc.constantFrom(...fields).map((field) => {
      const body: Record<string, unknown> = { ...template.body };
      delete body[field];
      return JSON.stringify({ ...template, body });
    }),
    leaf.map((sig) => JSON.stringify({ ...template, sig })),
    fc.record({ key: anyText, value: leaf }).map(({ key, value }) => JSON.stringify({ ...template, [key]: value })),
    fc
      .record({ key: anyText, value: leaf })
      .map(({ key, value }) => JSON.stringify({ ...template, body: { ...template.body, args: { [key]: value } } })),
    deep.map((d) => JSON.stringify({ ...template, body: { ...template.body, args: { v: '$' } } }).replace('"$"', d)),
    huge.map((s) => JSON.stringify({ ...template, body: { ...template.body, args: { v: s } } })),
    fc.integer({ min: 0, max: 600 }).map((n) => JSON.stringify(template).slice(0, n)),
    fc.constant(JSON.stringify(template)),
    { arbitrary: plausibleTx(), weight: 4 },
  );
}

/** Schema-valid transactions that admission or the signature check must refuse. */
function plausibleTx(): fc.Arbitrary<string> {
  const b = template.body;
  const flip = (s: string, i: number, alphabet: string) => {
    const at = i % (s.length - 1);
    const c = alphabet[(alphabet.indexOf(s[at] ?? alphabet[0]!) + 1) % alphabet.length];
    return `${s.slice(0, at)}${c}${s.slice(at + 1)}`;
  };
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return fc
    .oneof(
      fc.nat().map((i) => ({ ...template, sig: flip(template.sig, i, B64) })),
      fc.jsonValue({ maxDepth: 2 }).map((value) => ({ ...template, body: { ...b, args: { ...b.args, value } } })),
      fc.integer({ min: 0, max: 2 ** 50 }).map((createdAt) => ({ ...template, body: { ...b, createdAt } })),
      fc.integer({ min: 0, max: 2 ** 50 }).map((expiresAt) => ({ ...template, body: { ...b, expiresAt } })),
      fc.string({ minLength: 1, maxLength: 64 }).map((chainId) => ({ ...template, body: { ...b, chainId } })),
      fc.nat().map((i) => ({ ...template, body: { ...b, nonce: flip(b.nonce, i, '0123456789abcdef') } })),
      fc.nat().map((i) => ({ ...template, body: { ...b, signer: flip(b.signer, i, B64.slice(0, 58)) } })),
      fc.constantFrom('kv.put', 'kv.delete', 'consent.grant', 'no.such', 'x'.repeat(100)).map((type) => ({
        ...template,
        body: { ...b, type },
      })),
    )
    .map((t) => JSON.stringify(t));
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/problem+json',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

const HEX = fc.constantFrom(...'0123456789abcdef');
/** Values for a path parameter: plausible, hostile, huge. */
const paramValue = () =>
  fc.oneof(
    fc.constantFrom('0', '1', '2', '99999999', '-1', 'latest', 'abc', '%00', '..', '%2F'),
    fc.constant(committedTxId),
    fc.string({ unit: HEX, minLength: 64, maxLength: 64 }),
    fc.constant('did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'),
    anyText.map((s) => encodeURIComponent(s)),
    fc.constantFrom(150, 250, 5000).map((n) => 'a'.repeat(n)),
  );

const QUERY_KEYS = ['wait', 'limit', 'after', 'before', 'prefix', 'key', 'from', 'to', 'height', 'format', 'x'];
const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.record({
          k: fc.oneof(fc.constantFrom(...QUERY_KEYS), anyText),
          v: fc.oneof(fc.constantFrom('true', 'false', '0', '1', '10', '501', '-5', 'kv/'), anyText, huge),
        }),
        { minLength: 1, maxLength: 4 },
      )
      .map((pairs) => `?${pairs.map(({ k, v }) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?a', '?wait=true&wait=false', '?%zz=1', '?key=%E0%A4%A') },
);

/** Bodies: mostly mutated transactions and batches, then anything at all. */
const body = (): fc.Arbitrary<string | Buffer> =>
  fc.oneof(
    { weight: 4, arbitrary: mutatedTx() },
    { weight: 2, arbitrary: fc.array(mutatedTx(), { maxLength: 8 }).map((items) => `[${items.join(',')}]`) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: anyText },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: fc.constant('') },
  );

function request(): fc.Arbitrary<FuzzRequest> {
  const fromRoutes = fc
    .record({
      route: fc.constantFrom(...routes),
      params: fc.array(paramValue(), { minLength: 3, maxLength: 3 }),
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') },
      ),
    })
    .map(({ route, params, method }) => {
      let i = 0;
      const path = route.url.replace(/:[A-Za-z0-9_]+/g, () => params[i++] ?? '');
      return { method: method || route.method, path };
    });
  const randomPath = fc
    .array(fc.oneof(fc.constantFrom('v1', 'txs', 'blocks', 'state', 'proofs', 'orgs', 'batch'), paramValue()), {
      maxLength: 5,
    })
    .chain((segments) =>
      fc
        .constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD')
        .map((method) => ({ method, path: `/v1/${segments.join('/')}` })),
    );
  // Signed transactions, one or a batch, sent as JSON to the routes that take them.
  const toTxRoutes = fc
    .record({
      batch: fc.boolean(),
      wait: fc.boolean(),
      one: mutatedTx(),
      many: fc.array(mutatedTx(), { maxLength: 6 }),
    })
    .map(({ batch, wait, one, many }) => ({
      method: 'POST',
      url: `/v1/txs${batch ? '/batch' : ''}${wait ? '?wait=true' : ''}`,
      payload: batch ? `[${many.join(',')}]` : one,
      contentType: 'application/json',
    }));
  const anything = fc
    .record({
      target: fc.oneof({ weight: 5, arbitrary: fromRoutes }, { weight: 1, arbitrary: randomPath }),
      query,
      payload: fc.option(body(), { nil: undefined, freq: 4 }),
      contentType,
    })
    .map(({ target, query: q, payload, contentType: ct }) => ({
      method: target.method,
      url: `${target.path}${q}`,
      ...(target.method === 'GET' || target.method === 'HEAD' || payload === undefined
        ? {}
        : { payload, contentType: ct }),
    }));
  return fc.oneof({ weight: 3, arbitrary: anything }, { weight: 2, arbitrary: toTxRoutes });
}

/**
 * Sends one request. An event stream that opens (200, `text/event-stream`) never ends by itself:
 * its answer is read as a stream and closed at once; everything else is read whole.
 */
async function send(req: FuzzRequest): Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }> {
  const res = await app.inject({
    method: req.method as 'GET',
    url: req.url,
    ...(req.payload === undefined ? {} : { payload: req.payload }),
    headers: req.contentType === undefined ? {} : { 'content-type': req.contentType },
    payloadAsStream: true,
  });
  const stream = res.stream();
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    stream.destroy();
    return { statusCode: res.statusCode, headers: res.headers, body: '' };
  }
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return { statusCode: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
}

function chainFacts() {
  const head = node.latest();
  return { hash: headerHash(head), stateRoot: head.stateRoot, logSize: head.logSize, height: head.height };
}

describe('fuzzing the HTTP API', () => {
  it(`answers ${RUNS} random and mutated requests without a 5xx, and leaves the chain as it was`, async () => {
    expect(routes.length).toBeGreaterThan(15);
    while (node.pendingCount() > 0) await new Promise((r) => setTimeout(r, 10));
    const before = chainFacts();
    const statuses = new Map<number, number>();
    let count = 0;
    await fc.assert(
      fc.asyncProperty(request(), async (req) => {
        const res = await send(req);
        count++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const where = `${req.method} ${req.url.slice(0, 120)} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, where).toBeLessThan(500);
        expect(res.headers['x-request-id'], where).toBeDefined();
        if (res.statusCode >= 400 && req.method !== 'HEAD') {
          expect(String(res.headers['content-type']), where).toMatch(/^application\/problem\+json/);
          const p = JSON.parse(res.body) as { code: keyof typeof ERROR_REGISTRY; status: number; detail: string };
          expect(ERROR_REGISTRY[p.code], where).toBeDefined();
          expect(p.status, where).toBe(res.statusCode);
          expect(ERROR_REGISTRY[p.code].status, where).toBe(res.statusCode);
          expect(p.detail.length, where).toBeLessThan(1000);
        }
      }),
      { numRuns: RUNS },
    );
    expect(count).toBeGreaterThanOrEqual(RUNS);
    // Everything was refused or a replay: nothing pending, nothing new committed.
    for (let i = 0; i < 200 && node.pendingCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    expect(node.pendingCount()).toBe(0);
    expect(node.fatalError()).toBeUndefined();
    expect(chainFacts()).toEqual(before);
    // The server still serves, and the mix reached more than one kind of answer.
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
    expect((statuses.get(200) ?? 0) + (statuses.get(202) ?? 0)).toBeGreaterThan(0);
  }, 120_000);
});
