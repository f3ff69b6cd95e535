/**
 * The HTTP API's limits: per-client rate limits (reads and writes apart, 429 RATE_LIMITED with
 * Retry-After), body, batch and header sizes, socket timeouts, cursor pagination of the block lists,
 * and hostile input (bad JSON, wrong types, unknown fields, wrong content type, deep nesting,
 * prototype keys): each a 4xx problem+json with a clear detail, never a 5xx, the chain unchanged.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import { headerHash } from '@custos/protocol/ledger';
import { expectProblem } from '@custos/test-utils';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, resolveLimits } from '../src/api/limits.js';
import { problemOf } from '../src/api/problem.js';
import { createServer, listen, serverLimits } from '../src/api/server.js';
import { CustosNode } from '../src/node.js';

let tmp: ReturnType<typeof tempDir>;
let node: CustosNode;
let app: FastifyInstance;
let alice: Signer;

beforeAll(async () => {
  tmp = tempDir();
  const fx = fixture(['bank', 'insurer', 'retailer'], { blockMaxTxs: 4, blockMaxMs: 5 });
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
  app = createServer(node, { rateLimit: false });
  alice = userSigner();
});

afterAll(async () => {
  await app?.close();
  await node?.close();
  tmp?.cleanup();
});

const put = (key: string, value: unknown = 1) => tx(alice, 'kv.put', { ns: 'limits', key, value: value as never });

/** Sends raw bytes to `url` and resolves to everything the server wrote back before closing. */
function rawExchange(url: string, chunks: string[], gapMs = 0): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('close', () => resolve(data));
    socket.on('error', (e) => (data.length > 0 ? resolve(data) : reject(e)));
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (socket.destroyed) return;
        socket.write(c);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

describe('rate limits', () => {
  it('counts reads and writes apart per client, answers 429 RATE_LIMITED with Retry-After', async () => {
    const limited = createServer(node, { rateLimit: { reads: 5, writes: 2, windowMs: 60_000 } });
    try {
      const from = (remoteAddress: string, method: 'GET' | 'POST' = 'GET', url = '/v1/chain') =>
        limited.inject({ method, url, remoteAddress, ...(method === 'POST' ? { payload: {} } : {}) });
      for (let i = 0; i < 5; i++) expect((await from('198.51.100.1')).statusCode).toBe(200);
      const over = await from('198.51.100.1');
      expect(over.statusCode).toBe(429);
      const body = expectProblem(over, 'RATE_LIMITED');
      expect(body.detail).toContain('at most 5 read requests');
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      expect(over.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      // Unknown paths spend the same budget.
      expect((await from('198.51.100.1', 'GET', '/v1/no-such-route')).statusCode).toBe(429);

      // Writes have their own budget; bad writes spend it too.
      for (let i = 0; i < 2; i++) expect((await from('198.51.100.1', 'POST', '/v1/txs')).statusCode).toBe(400);
      expectProblem(await from('198.51.100.1', 'POST', '/v1/txs'), 'RATE_LIMITED');

      // Another client is not affected; IPv6 clients are counted by their /64.
      expect((await from('198.51.100.2')).statusCode).toBe(200);
      for (let i = 0; i < 5; i++) expect((await from(`2001:db8:1:2::${i + 1}`)).statusCode).toBe(200);
      expect((await from('2001:db8:1:2::99')).statusCode).toBe(429);
    } finally {
      await limited.close();
    }
  });

  it('is on by default with generous limits, and validates its configuration', () => {
    expect(DEFAULT_LIMITS.rateLimit).toMatchObject({ reads: 1200, writes: 600, windowMs: 60_000 });
    expect(resolveLimits({}).rateLimit).toEqual(DEFAULT_LIMITS.rateLimit);
    expect(resolveLimits({ rateLimit: { reads: 10 } }).rateLimit).toMatchObject({ reads: 10, writes: 600 });
    expect(resolveLimits({ rateLimit: false }).rateLimit).toBe(false);
    expect(() => resolveLimits({ bodyLimit: 0 })).toThrow(/positive integer/);
    expect(() => resolveLimits({ rateLimit: { reads: -1 } })).toThrow(/positive integer/);
    expect(serverLimits(app)?.rateLimit).toBe(false);
  });
});

describe('sizes and timeouts', () => {
  it('bounds bodies: 413 TX_TOO_LARGE on transaction routes, BODY_TOO_LARGE elsewhere', async () => {
    const small = createServer(node, { rateLimit: false, bodyLimit: 1024, batchBodyLimit: 4096 });
    try {
      const one = await small.inject({ method: 'POST', url: '/v1/txs', payload: put('big', 'x'.repeat(2000)) });
      expect(one.statusCode).toBe(413);
      expectProblem(one, 'TX_TOO_LARGE');
      const batch = await small.inject({
        method: 'POST',
        url: '/v1/txs/batch',
        payload: Array.from({ length: 20 }, (_, i) => put(`b${i}`)),
      });
      expect(batch.statusCode).toBe(413);
      expectProblem(batch, 'TX_TOO_LARGE');
    } finally {
      await small.close();
    }
    const tooLarge = Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    expect(problemOf(tooLarge, 'BODY_TOO_LARGE')).toMatchObject({ status: 413, code: 'BODY_TOO_LARGE' });
  });

  it('sets socket timeouts and answers over-long headers and slow requests with a problem', async () => {
    const strict = createServer(node, { rateLimit: false, maxHeaderSize: 4096, requestTimeoutMs: 300 });
    try {
      const url = await listen(strict, { port: 0 });
      expect(strict.server.requestTimeout).toBe(300);
      expect(strict.server.keepAliveTimeout).toBe(DEFAULT_LIMITS.keepAliveTimeoutMs);
      expect(strict.server.timeout).toBeGreaterThanOrEqual(DEFAULT_LIMITS.connectionTimeoutMs);
      expect(strict.server.maxHeadersCount === null || strict.server.maxHeadersCount > 0).toBe(true);

      const ok = await fetch(`${url}/healthz`);
      expect(ok.status).toBe(200);
      const big = await rawExchange(url, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`]);
      expect(big).toMatch(/^HTTP\/1\.1 431 /);
      expect(big).toContain('application/problem+json');
      expect(big).toContain('"code":"HEADERS_TOO_LARGE"');

      const slow = await rawExchange(url, ['GET /healthz HTTP/1.1\r\n', 'Host: x\r\n'], 1000);
      expect(slow).toMatch(/^HTTP\/1\.1 408 /);
      expect(slow).toContain('"code":"REQUEST_TIMEOUT"');

      const garbage = await rawExchange(url, ['NOT HTTP AT ALL\r\n\r\n']);
      expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
      expect(garbage).toContain('"code":"BAD_REQUEST"');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe('hostile input', () => {
  it('answers each with a 4xx problem naming what is wrong, and commits nothing', async () => {
    while (node.pendingCount() > 0) await new Promise((r) => setTimeout(r, 10));
    const before = headerHash(node.latest());
    const valid = put('hostile');
    const send = (payload: string | Buffer, contentType = 'application/json', url = '/v1/txs') =>
      app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });
    const cases: [string | Buffer, string, RegExp, string?][] = [
      ['{"body": {', 'application/json', /valid JSON/],
      ['', 'application/json', /empty body/],
      [JSON.stringify(valid), 'text/plain', /Content-Type: application\/json/],
      [JSON.stringify(valid), 'application/x-www-form-urlencoded', /Content-Type/],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), 'application/octet-stream', /Content-Type/],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), 'application/json', /valid JSON/],
      [JSON.stringify({ ...valid, extra: 1 }), 'application/json', /unexpected field 'extra'/],
      [JSON.stringify({ ...valid, body: { ...valid.body, createdAt: 'now' } }), 'application/json', /body\.createdAt/],
      [JSON.stringify({ body: valid.body }), 'application/json', /missing field 'sig'/],
      [JSON.stringify([1, 2]), 'application/json', /request body must be object/],
      [`${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'application/json', /request body must be object/],
      [
        JSON.stringify({ ...valid, body: { ...valid.body, args: { deep: '$' } } }).replace('"$"', nested(10_000)),
        'application/json',
        /deep|nest|depth/i,
        'deeply nested args',
      ],
      ['{"__proto__": {"admin": true}, "body": {}, "sig": ""}', 'application/json', /valid JSON.*__proto__/],
      ['{"constructor": {"prototype": {"x": 1}}}', 'application/json', /valid JSON.*__proto__/],
      [JSON.stringify({ ...valid, sig: '\u{1F600}'.repeat(43) }), 'application/json', /'sig'/],
      ['"just a string"', 'application/json', /must be object/],
      ['{"body": 1, "sig": 2}', 'application/json', /'body'/],
    ];
    for (const [payload, type, detail, label] of cases) {
      const res = await send(payload, type);
      const what = label ?? `${type} ${String(payload).slice(0, 40)}`;
      expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, what).toBeLessThan(500);
      const body = res.json() as { detail: string };
      expect(String(res.headers['content-type']), what).toMatch(/^application\/problem\+json/);
      expect(body.detail, what).toMatch(detail);
    }
    // A path segment past the router's limit, or a malformed one, before any route runs: a problem too.
    const segment = 'a'.repeat(DEFAULT_LIMITS.maxParamLength + 1);
    // (the fuzz test's find: a long id in the middle of a passkey route)
    const long = await app.inject({ method: 'PUT', url: `/v1/passkeys/me/passkeys/${segment.repeat(5)}/key?` });
    expect(expectProblem(long, 'BAD_REQUEST', 400).detail).toMatch(/path segment to be at most/);
    expect(long.headers['x-request-id']).toBeDefined();
    const badUrl = await app.inject({ method: 'PUT', url: '/v1/passkeys/me/passkeys/%E0%A4%A/key' });
    expect(String(badUrl.headers['content-type'])).toMatch(/^application\/problem\+json/);
    // A batch of hostile items: each refused on its own, the request itself 200.
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/txs/batch',
      payload: `[${nested(20_000)}, "x", null, ${JSON.stringify({ ...valid, sig: 'no' })}, [${JSON.stringify(valid)}]]`,
      headers: { 'content-type': 'application/json' },
    });
    expect(batch.statusCode).toBe(200);
    for (const r of (batch.json() as { results: { error?: { code: string } }[] }).results) {
      expect(r.error?.code).toBe('BAD_REQUEST');
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(node.pendingCount()).toBe(0);
    expect(headerHash(node.latest())).toBe(before);
  });
});

describe('pagination', () => {
  it('pages through block headers (newest first) and through a block of transactions', async () => {
    const sent = Array.from({ length: 10 }, (_, i) => put(`page-${i}`, i));
    const res = await app.inject({ method: 'POST', url: '/v1/txs/batch?wait=true', payload: sent });
    const results = (res.json() as { results: { height: number; code: string }[] }).results;
    expect(results.every((r) => r.code === 'OK')).toBe(true);

    const heights: number[] = [];
    let before: string | null | undefined;
    do {
      const q = new URLSearchParams({ limit: '3', ...(before ? { before } : {}) });
      const page = (await app.inject({ method: 'GET', url: `/v1/blocks?${q}` })).json() as {
        blocks: { height: number; hash: string; header: Parameters<typeof headerHash>[0] }[];
        next: string | null;
      };
      expect(page.blocks.length).toBeLessThanOrEqual(3);
      for (const b of page.blocks) expect(b.hash).toBe(headerHash(b.header));
      heights.push(...page.blocks.map((b) => b.height));
      before = page.next;
    } while (before !== null);
    const top = node.latest().height;
    expect(heights).toEqual(Array.from({ length: top + 1 }, (_, i) => top - i));

    // The block holding the first transaction of the batch, read 1 transaction at a time.
    const height = results[0]!.height;
    const block = node.store.getBlock(height)!;
    const seen: string[] = [];
    let after: string | null | undefined;
    do {
      const q = new URLSearchParams({ limit: '1', ...(after ? { after } : {}) });
      const page = (await app.inject({ method: 'GET', url: `/v1/blocks/${height}/txs?${q}` })).json() as {
        txs: { txId: string; index: number; code: string }[];
        next: string | null;
      };
      seen.push(...page.txs.map((t) => t.txId));
      after = page.next;
    } while (after !== null);
    expect(seen).toHaveLength(block.txs.length);
    expect(seen.length).toBeGreaterThan(0);

    for (const url of [
      '/v1/blocks?limit=0',
      '/v1/blocks?limit=101',
      '/v1/blocks/1/txs?limit=501',
      '/v1/state?limit=0',
    ]) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(400);
      expect(expectProblem(r, 'BAD_REQUEST').detail).toMatch(/limit between 1 and/);
    }
    expectProblem(await app.inject({ method: 'GET', url: '/v1/blocks/999999/txs' }), 'NOT_FOUND');
  });
});

/** The JSON text `{"a":{"a": ... 1}}`, `depth` levels deep (too deep for JSON.stringify to build). */
function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}
