/**
 * The HTTP API end to end: a real node on a temp dir behind Fastify on a free port, driven with
 * fetch. Covers the happy path with the three proofs verified offline, every kind of bad input
 * (each answered with the right problem+json and leaving the chain unchanged), and a property test
 * that random and mutated bodies never get a 5xx.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Signer } from '@custos/protocol/crypto';
import { headerHash, type SignedTx, verifyProofBundle, verifyQuorumCertificate } from '@custos/protocol/ledger';
import { expectProblem } from '@custos/test-utils';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, listen } from '../src/api/server.js';
import { nativeVerifier } from '../src/crypto/native.js';
import { ERROR_REGISTRY } from '../src/errors.js';
import { CustosNode } from '../src/node.js';

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let app: FastifyInstance;
let url: string;
let alice: Signer;

interface Answer {
  status: number;
  type: string;
  body: Record<string, unknown> & { code?: string; detail?: string };
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': contentType } }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : {} };
}

const get = (path: string) => call('GET', path);
const post = (path: string, body: unknown, contentType?: string) => call('POST', path, body, contentType);

const put = (signer: Signer, key: string, value: unknown = 1, extra = {}) =>
  tx(signer, 'kv.put', { ns: 'api', key, value: value as never }, extra);

async function waitCommitted(txId: string): Promise<Answer> {
  for (let i = 0; i < 200; i++) {
    const a = await get(`/v1/txs/${txId}`);
    if (a.status === 200) return a;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`transaction ${txId} did not commit`);
}

/** Everything a rejected request must leave alone: the head and the whole state. */
function snapshot() {
  return { head: headerHash(node.latest()), state: node.store.listState('', undefined, 100_000) };
}

beforeAll(async () => {
  tmp = tempDir();
  fx = fixture();
  alice = userSigner();
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
  app = createServer(node);
  url = await listen(app, { port: 0 });
});

afterAll(async () => {
  await app?.close();
  await node?.close();
  tmp?.cleanup();
});

describe('HTTP API: submit and read', () => {
  it('admits a transaction (202), waits for another (200), and serves both back', async () => {
    const t1 = put(alice, 'first', { hello: 'world' });
    const accepted = await post('/v1/txs', t1);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ txId: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const t2 = put(alice, 'second', 2);
    const done = await post('/v1/txs?wait=true', t2);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ code: 'OK', index: expect.any(Number), logIndex: expect.any(Number) });
    const height = done.body.height as number;
    expect(height).toBeGreaterThanOrEqual(1);

    const first = await waitCommitted(accepted.body.txId as string);
    expect(first.body).toMatchObject({ txId: accepted.body.txId, code: 'OK', tx: t1 });
    const second = await get(`/v1/txs/${done.body.txId}`);
    expect(second.body).toMatchObject({ height, code: 'OK', tx: t2 });

    const block = await get(`/v1/blocks/${height}`);
    expect(block.status).toBe(200);
    expect(block.body.hash).toBe(headerHash(block.body.header as never));
    expect(block.body.txIds).toContain(done.body.txId);
    expect(block.body.txs).toContainEqual(t2);
    const latest = await get('/v1/blocks/latest');
    expect((latest.body.header as { height: number }).height).toBe(node.latest().height);

    const cp = await get('/v1/checkpoint');
    expect(cp.status).toBe(200);
    verifyQuorumCertificate(cp.body, node.members, nativeVerifier, 'test');
    expect((cp.body as { checkpoint: { height: number } }).checkpoint.height).toBe(node.latest().height);

    const chain = await get('/v1/chain');
    expect(chain.body).toMatchObject({ chainId: 'test', threshold: 2, height: node.latest().height });
    expect(chain.body.members).toHaveLength(3);
    expect((await get('/healthz')).body).toMatchObject({ status: 'ok', chainId: 'test' });
  });

  it('serves inclusion, consistency and state proofs that verify offline', async () => {
    const r = await post('/v1/txs?wait=true', put(alice, 'proved', { v: 42 }));
    const txId = r.body.txId as string;
    const head = node.latest().height;

    const inc = await get(`/v1/proofs/inclusion/${txId}`);
    expect(inc.status).toBe(200);
    expect(verifyProofBundle(inc.body, node.members, nativeVerifier)).toMatchObject({
      kind: 'inclusion',
      chainId: 'test',
      height: head,
      entry: { txId, code: 'OK' },
    });
    const incAt = await get(`/v1/proofs/inclusion/${txId}?height=${r.body.height}`);
    expect(verifyProofBundle(incAt.body, node.members, nativeVerifier)).toMatchObject({ height: r.body.height });

    const cons = await get(`/v1/proofs/consistency?from=1&to=${head}`);
    expect(verifyProofBundle(cons.body, node.members, nativeVerifier)).toMatchObject({
      kind: 'consistency',
      fromHeight: 1,
      toHeight: head,
    });

    const st = await get(`/v1/proofs/state?key=${encodeURIComponent('kv/api/proved')}`);
    expect(verifyProofBundle(st.body, node.members, nativeVerifier)).toMatchObject({
      kind: 'state',
      key: 'kv/api/proved',
      value: { value: { v: 42 } },
    });
    const absent = await get('/v1/proofs/state?key=kv/api/never');
    expect(verifyProofBundle(absent.body, node.members, nativeVerifier)).toMatchObject({ value: null });

    expectProblem(await get(`/v1/proofs/inclusion/${'0'.repeat(64)}`), 'NOT_FOUND', 404);
    expectProblem(await get(`/v1/proofs/consistency?from=${head}&to=1`), 'BAD_REQUEST', 400);
    expectProblem(await get(`/v1/proofs/consistency?from=0&to=${head + 5}`), 'BAD_REQUEST', 400);
    expectProblem(await get(`/v1/proofs/inclusion/${txId}?height=0`), 'BAD_REQUEST', 400);
    expectProblem(await get('/v1/proofs/state'), 'BAD_REQUEST', 400);
  });

  it('pages through state with a cursor and reads single entries', async () => {
    const batch = Array.from({ length: 5 }, (_, i) => tx(alice, 'kv.put', { ns: 'page', key: `k${i}`, value: i }));
    const r = await post('/v1/txs/batch?wait=true', batch);
    expect(r.status).toBe(200);
    expect((r.body.results as { code: string }[]).map((x) => x.code)).toEqual(['OK', 'OK', 'OK', 'OK', 'OK']);

    const keys: string[] = [];
    let after: string | null = '';
    while (after !== null) {
      const q = new URLSearchParams({ prefix: 'kv/page/', limit: '2', ...(after ? { after } : {}) });
      const page = await get(`/v1/state?${q}`);
      expect(page.status).toBe(200);
      const entries = page.body.entries as { key: string; value: { value: number } }[];
      expect(entries.length).toBeLessThanOrEqual(2);
      keys.push(...entries.map((e) => e.key));
      after = page.body.next as string | null;
    }
    expect(keys).toEqual(['kv/page/k0', 'kv/page/k1', 'kv/page/k2', 'kv/page/k3', 'kv/page/k4']);

    const one = await get('/v1/state/entry?key=kv/page/k3');
    expect(one.body).toMatchObject({ key: 'kv/page/k3', value: { value: 3 } });
    expectProblem(await get('/v1/state/entry?key=kv/page/none'), 'NOT_FOUND', 404);
    expectProblem(await get('/v1/state?limit=501'), 'BAD_REQUEST', 400);
    expectProblem(await get('/v1/state?limit=0'), 'BAD_REQUEST', 400);
    expectProblem(await get('/v1/state?limit=ten'), 'BAD_REQUEST', 400);
  });

  it('answers a batch item by item: admission errors never fail the batch', async () => {
    const good = put(alice, 'batch-good');
    const forged = { ...put(alice, 'batch-forged'), sig: put(alice, 'other').sig };
    const badSigner = { ...good, body: { ...good.body, signer: 'did:key:nope' } };
    const items = [good, { not: 'a tx' }, put(alice, 'b', 1, { chainId: 'other' }), good, 'text', forged, badSigner];
    const r = await post('/v1/txs/batch?wait=true', items);
    expect(r.status).toBe(200);
    const results = r.body.results as Record<string, unknown>[];
    expect(results).toHaveLength(items.length);
    expect(results[0]).toMatchObject({ code: 'OK' });
    expect(results[1]).toMatchObject({
      error: { code: 'BAD_REQUEST', detail: "item 1: missing field 'body' in the transaction" },
    });
    expect(results[2]).toMatchObject({ error: { code: 'WRONG_CHAIN' } });
    expect(results[3]).toMatchObject({ error: { code: 'DUPLICATE_TX' } });
    expect(results[4]).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(results[5]).toMatchObject({ txId: expect.any(String), error: { code: 'BAD_SIGNATURE' } });
    expect(results[6]).toMatchObject({ error: { code: 'BAD_TX' } });

    const noWait = await post('/v1/txs/batch', [put(alice, 'batch-nowait')]);
    expect(noWait.body.results).toEqual([{ txId: expect.any(String) }]);
    await waitCommitted((noWait.body.results as { txId: string }[])[0]!.txId);

    expectProblem(
      await post(
        '/v1/txs/batch',
        Array.from({ length: 2001 }, () => ({})),
      ),
      'BAD_REQUEST',
      400,
    );
    expectProblem(await post('/v1/txs/batch', { not: 'an array' }), 'BAD_REQUEST', 400);
  });

  it('answers 504 TIMEOUT when a commit takes longer than the wait', async () => {
    const impatient = createServer(node, { waitTimeoutMs: 1 });
    try {
      const res = await impatient.inject({ method: 'POST', url: '/v1/txs?wait=true', payload: put(alice, 'slow') });
      expect(res.statusCode).toBe(504);
      expect(res.json()).toMatchObject({ code: 'TIMEOUT' });
    } finally {
      await impatient.close();
    }
  });
});

describe('HTTP API: bad input', () => {
  it('rejects each bad request with the right problem and changes nothing', async () => {
    // Let anything admitted earlier commit first, so the snapshot is stable.
    while (node.pendingCount() > 0) await new Promise((r) => setTimeout(r, 10));
    const before = snapshot();
    const valid = put(alice, 'never-committed');
    const committed = put(alice, 'committed-once');
    expect((await post('/v1/txs?wait=true', committed)).status).toBe(200);
    const afterCommit = snapshot();

    expectProblem(await post('/v1/txs', '{"body": {'), 'BAD_REQUEST', 400);
    expectProblem(await post('/v1/txs', ''), 'BAD_REQUEST', 400);
    expectProblem(await post('/v1/txs', JSON.stringify(valid), 'text/plain'), 'BAD_REQUEST', 400);

    // The single route's body is checked by the transaction parser, and a body it refuses against
    // the schema: the answer names the field at fault, as for every other route.
    const array = await post('/v1/txs', [valid]);
    expectProblem(array, 'BAD_REQUEST', 400);
    expect(array.body.detail).toBe('the request body must be object');
    const extraTop = await post('/v1/txs', { ...valid, extra: 1 });
    expectProblem(extraTop, 'BAD_REQUEST', 400);
    expect(extraTop.body.detail).toContain("'extra'");
    const extraBody = await post('/v1/txs', { ...valid, body: { ...valid.body, admin: true } });
    expectProblem(extraBody, 'BAD_REQUEST', 400);
    expect(extraBody.body.detail).toContain("'body.admin'");
    const wrongType = await post('/v1/txs', {
      ...valid,
      body: { ...valid.body, createdAt: String(valid.body.createdAt) },
    });
    expectProblem(wrongType, 'BAD_REQUEST', 400);
    expect(wrongType.body.detail).toContain("'body.createdAt'");
    const missing = await post('/v1/txs', { body: valid.body });
    expectProblem(missing, 'BAD_REQUEST', 400);
    expect(missing.body.detail).toContain("'sig'");
    expectProblem(await post('/v1/txs', { ...valid, body: { ...valid.body, signer: 'did:key:nope' } }), 'BAD_TX', 400);
    // 86 characters, but not the base64url of 64 bytes (non-zero trailing bits).
    const oddSig = await post('/v1/txs', { ...valid, sig: 'a'.repeat(86) });
    expectProblem(oddSig, 'BAD_REQUEST', 400);
    expect(oddSig.body.detail).toContain("'sig'");
    expectProblem(await post('/v1/txs?wait=maybe', valid), 'BAD_REQUEST', 400);
    expectProblem(await post('/v1/txs?other=1', valid), 'BAD_REQUEST', 400);

    const huge = put(alice, 'huge', 'x'.repeat(70 * 1024));
    expectProblem(await post('/v1/txs', huge), 'TX_TOO_LARGE', 413);
    expectProblem(await post('/v1/txs', put(alice, 'big', 'x'.repeat(40_000))), 'TX_TOO_LARGE', 413);

    expectProblem(await post('/v1/txs', put(alice, 'w', 1, { chainId: 'other' })), 'WRONG_CHAIN', 400);
    expectProblem(await post('/v1/txs', put(alice, 'e', 1, { now: Date.now() - 7_200_000 })), 'TX_EXPIRED', 400);
    expectProblem(await post('/v1/txs', put(alice, 'f', 1, { now: Date.now() + 600_000 })), 'TX_NOT_YET_VALID', 400);
    expectProblem(await post('/v1/txs', committed), 'TX_REPLAYED', 409);

    const forged: SignedTx = { ...valid, sig: put(alice, 'x').sig };
    expectProblem(await post('/v1/txs?wait=true', forged), 'BAD_SIGNATURE', 400);
    const tampered: SignedTx = {
      ...valid,
      body: { ...valid.body, args: { ns: 'api', key: 'never-committed', value: 2 } },
    };
    const quiet = await post('/v1/txs', tampered);
    expect(quiet.status).toBe(202);

    expectProblem(await get('/v1/nothing'), 'NOT_FOUND', 404);
    expectProblem(await call('POST', '/v1/blocks/latest', {}), 'NOT_FOUND', 404);
    expectProblem(await get('/v1/blocks/abc'), 'BAD_REQUEST', 400);
    expectProblem(await get('/v1/blocks/-1'), 'BAD_REQUEST', 400);
    expectProblem(await get('/v1/blocks/99999999'), 'NOT_FOUND', 404);
    expectProblem(await get('/v1/blocks/latest?verbose=1'), 'BAD_REQUEST', 400);
    expectProblem(await get('/v1/txs/XYZ'), 'BAD_REQUEST', 400);
    expectProblem(await get(`/v1/txs/${'a'.repeat(64)}`), 'NOT_FOUND', 404);

    // The forged/tampered transactions were dropped after signature checks: nothing moved.
    await new Promise((r) => setTimeout(r, 100));
    expect(node.pendingCount()).toBe(0);
    expect(snapshot()).toEqual(afterCommit);
    expect((await get(`/v1/txs/${quiet.body.txId}`)).status).toBe(404);
    expect(afterCommit.state.length).toBe(before.state.length + 1);
  });

  it('never answers a 5xx to random or mutated bodies', async () => {
    const template = put(alice, 'template', { a: [1, 2, 3] });
    const leaf = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.string({ maxLength: 100 }),
      fc.integer(),
      fc.constantFrom(null, -1, 0, 2 ** 53, 1e308, '', 'did:key:z6Mk', 'a'.repeat(86)),
    );
    const bodyFields = Object.keys(template.body) as (keyof SignedTx['body'])[];
    const mutated = fc.oneof(
      fc
        .record({ field: fc.constantFrom(...bodyFields), value: leaf })
        .map(({ field, value }) => JSON.stringify({ ...template, body: { ...template.body, [field]: value } })),
      fc.constantFrom(...bodyFields).map((field) => {
        const body: Record<string, unknown> = { ...template.body };
        delete body[field];
        return JSON.stringify({ ...template, body });
      }),
      leaf.map((sig) => JSON.stringify({ ...template, sig })),
      fc
        .record({ key: fc.string({ maxLength: 10 }), value: leaf })
        .map(({ key, value }) => JSON.stringify({ ...template, [key]: value })),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
      fc.constant(`${'['.repeat(5000)}${']'.repeat(5000)}`),
      fc.integer({ min: 0, max: JSON.stringify(template).length }).map((n) => JSON.stringify(template).slice(0, n)),
    );
    await fc.assert(
      fc.asyncProperty(mutated, async (text) => {
        const a = await post('/v1/txs', text);
        expect(a.status).toBeLessThan(500);
        if (a.status >= 400) {
          expect(a.type).toMatch(/^application\/problem\+json/);
          expect(Object.keys(ERROR_REGISTRY)).toContain(a.body.code);
          expect(a.body.status).toBe(a.status);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('HTTP API: logging', () => {
  it('logs requests without bodies, query strings or client addresses', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logged = createServer(node, { logger: true, logStream: stream });
    try {
      const secret = 'customer-secret-value';
      await logged.inject({ method: 'POST', url: '/v1/txs', payload: put(alice, 'logged', secret) });
      await logged.inject({ method: 'GET', url: `/v1/state/entry?key=${secret}`, remoteAddress: '203.0.113.9' });
      await logged.inject({ method: 'POST', url: '/v1/txs', payload: `{"${secret}":` });
      const text = lines.join('');
      expect(text).toContain('"route":"/v1/txs"');
      expect(text).not.toContain(secret);
      expect(text).not.toContain('203.0.113.9');
    } finally {
      await logged.close();
    }
  });
});
