import type { Signer } from '@custos/protocol/crypto';
import { type ApiNode, startApiNode, tx, userSigner } from '@custos/test-utils/node';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics, type NodeMetrics } from '../src/api/metrics.js';
import { opsRoutes } from '../src/api/routes-ops.js';
import { createServer } from '../src/api/server.js';
import type { CustosNode, CustosNode as CustosNodeType } from '../src/node.js';

let api: ApiNode | undefined;
let node: CustosNode;
let app: FastifyInstance;
let alice: Signer;

beforeAll(async () => {
  api = await startApiNode();
  node = api.node;
  app = api.app;
  alice = userSigner();
});

afterAll(async () => {
  await api?.close();
});

const put = (key: string, value: unknown = 1) => tx(alice, 'kv.put', { ns: 'ops', key, value: value as never });

/** The value of one sample line of a Prometheus text exposition, e.g. `name{label="x"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('health and readiness', () => {
  it('answers /healthz and /readyz for a working node', async () => {
    const h = await app.inject({ method: 'GET', url: '/healthz' });
    expect(h.statusCode).toBe(200);
    expect(h.json()).toMatchObject({ status: 'ok', chainId: 'test', height: 0, pending: 0 });
    const r = await app.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ready', chainId: 'test', pending: 0 });
    // Only the genesis block so far, dated a second before the fixture was made.
    expect(r.json().latestBlockAgeMs).toBeGreaterThanOrEqual(1000);
    expect(r.json().latestBlockAgeMs).toBeLessThan(60_000);
  });

  it('is not ready after a fatal error, with a failing store, or with blocks stalled while work waits', async () => {
    const state = {
      fatal: undefined as unknown,
      storeFails: false,
      pending: 0,
      time: Date.now(),
    };
    const stub = {
      chainId: 'stub',
      fatalError: () => state.fatal,
      pendingCount: () => state.pending,
      clockStatus: () => ({ alarm: undefined, alarms: 0, maxClockSkewMs: 30_000 }),
      latest: () => ({ height: 7, time: state.time }),
      store: {
        latestHeader: () => {
          if (state.storeFails) throw new TypeError('The database connection is not open');
          return { height: 7 };
        },
      },
    } as unknown as CustosNodeType;
    const ops = Fastify();
    ops.decorate('custos', stub);
    ops.register(opsRoutes, { metrics: { text: async () => '' } as unknown as NodeMetrics, stallMs: 1000 });
    const ready = async () => {
      const res = await ops.inject({ method: 'GET', url: '/readyz' });
      return { status: res.statusCode, body: res.json() as { code?: string; detail?: string } };
    };
    try {
      expect((await ready()).status).toBe(200);
      state.fatal = new Error('disk full');
      expect(await ready()).toMatchObject({ status: 503, body: { code: 'NOT_READY', detail: /failed to commit/ } });
      // A divergence says so, not that a block failed.
      state.fatal = Object.assign(new Error('a quorum signed another checkpoint'), { code: 'DIVERGED' });
      expect(await ready()).toMatchObject({ status: 503, body: { code: 'NOT_READY', detail: /diverged/ } });
      state.fatal = undefined;
      state.storeFails = true;
      expect(await ready()).toMatchObject({ status: 503, body: { code: 'NOT_READY', detail: /store/ } });
      state.storeFails = false;
      // An idle chain cuts no block: old is fine while nothing waits...
      state.time = Date.now() - 60_000;
      expect((await ready()).status).toBe(200);
      // ...but not while transactions wait for a block that does not come.
      state.pending = 3;
      expect(await ready()).toMatchObject({
        status: 503,
        body: { code: 'NOT_READY', detail: /3 transactions pending/ },
      });
      // Liveness does not depend on any of it.
      state.fatal = new Error('disk full');
      expect((await ops.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await ops.close();
    }
  });
});

describe('metrics', () => {
  it('counts blocks, transactions by result code, commit latency, HTTP requests and vault operations', async () => {
    const batch = Array.from({ length: 5 }, (_, i) => put(`m${i}`, i));
    const res = await app.inject({ method: 'POST', url: '/v1/txs/batch?wait=true', payload: batch });
    expect(res.statusCode).toBe(200);
    const one = await app.inject({ method: 'POST', url: '/v1/txs?wait=true', payload: put('single') });
    expect(one.statusCode).toBe(200);
    // A transaction that executes but changes nothing: a non-OK result code recorded in its block.
    const bad = await app.inject({ method: 'POST', url: '/v1/txs?wait=true', payload: tx(alice, 'no.such', {}) });
    expect(bad.statusCode).toBe(200);
    const badCode = (bad.json() as { code: string }).code;
    expect(badCode).not.toBe('OK');
    await app.inject({ method: 'GET', url: '/v1/blocks/latest' });
    await app.inject({ method: 'HEAD', url: '/v1/blocks/latest' });
    await app.inject({ method: 'GET', url: '/v1/nothing-here' });
    await app.inject({ method: 'POST', url: '/v1/nothing-here' });
    metrics.vaultOps.inc({ op: 'put', result: 'ok' });

    const m = await app.inject({ method: 'GET', url: '/metrics' });
    expect(m.statusCode).toBe(200);
    expect(m.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = m.body;
    expect(sample(text, 'custos_blocks_committed_total')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'custos_transactions_committed_total{code="OK"}')).toBe(6);
    expect(sample(text, `custos_transactions_committed_total{code="${badCode}"}`)).toBe(1);
    expect(sample(text, 'custos_commit_latency_seconds_count')).toBe(7);
    expect(sample(text, 'custos_block_height')).toBe(node.latest().height);
    expect(sample(text, 'custos_pending_transactions')).toBe(0);
    expect(sample(text, 'custos_node_fatal')).toBe(0);
    expect(
      sample(text, 'custos_http_request_duration_seconds_count{method="POST",route="/v1/txs/batch",status="200"}'),
    ).toBe(1);
    expect(
      sample(text, 'custos_http_request_duration_seconds_count{method="GET",route="/v1/blocks/latest",status="200"}'),
    ).toBe(1);
    // Each request counted once, under its own route: the HEAD route Fastify adds beside a GET too.
    expect(
      sample(text, 'custos_http_request_duration_seconds_count{method="HEAD",route="/v1/blocks/latest",status="200"}'),
    ).toBe(1);
    expect(sample(text, 'custos_http_request_duration_seconds_count{method="POST",route="/v1/txs",status="200"}')).toBe(
      2,
    );
    expect(
      sample(text, 'custos_http_request_duration_seconds_count{method="POST",route="unmatched",status="404"}'),
    ).toBe(1);
    expect(text).toMatch(/custos_http_request_duration_seconds_count\{method="GET",route="[^"]*",status="404"\} 1/);
    expect(sample(text, 'custos_vault_operations_total{op="put",result="ok"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('custos_process_resident_memory_bytes');
    // Labels are patterns and codes, never ids or keys.
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });
});

describe('request ids and logs', () => {
  it('returns a fresh X-Request-Id on every answer, errors included', async () => {
    const ids = new Set<string>();
    for (const url of ['/healthz', '/v1/nothing', '/v1/blocks/abc', '/openapi.json']) {
      const res = await app.inject({ method: 'GET', url });
      const id = String(res.headers['x-request-id']);
      expect(id, url).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(4);
    // A client's own id is not taken: the server's ids are the only ones in its logs.
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'mine' } });
    expect(res.headers['x-request-id']).not.toBe('mine');
  });

  it('logs JSON lines with the request id, route and status, and no personal data', async () => {
    const lines: string[] = [];
    const logged = createServer(node, { logger: true, logStream: { write: (l) => lines.push(l) } });
    try {
      const secret = 'jane.doe@example.org';
      const a = await logged.inject({
        method: 'GET',
        url: `/v1/state/entry?key=${encodeURIComponent(secret)}`,
        remoteAddress: '203.0.113.77',
        headers: { authorization: `Bearer ${secret}`, 'user-agent': secret },
      });
      const b = await logged.inject({ method: 'POST', url: '/v1/txs', payload: put('log', secret) });
      await logged.inject({ method: 'POST', url: '/v1/txs', payload: `{"${secret}": [` });
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records.length).toBeGreaterThanOrEqual(6);
      const forA = records.filter((r) => r.reqId === a.headers['x-request-id']);
      expect(forA.map((r) => r.msg)).toEqual(['incoming request', 'request completed']);
      expect(forA[0]).toMatchObject({ req: { method: 'GET', route: '/v1/state/entry' } });
      // The bogus bearer token is refused (credentials on a read route must be valid), without echoing it.
      expect(forA[1]).toMatchObject({ res: { statusCode: 401 }, responseTime: expect.any(Number) });
      expect(a.body).not.toContain(secret);
      expect(records.some((r) => r.reqId === b.headers['x-request-id'])).toBe(true);
      const text = lines.join('');
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
      expect(text).not.toContain('203.0.113.77');
      expect(text).not.toContain('?key=');
    } finally {
      await logged.close();
    }
  });
});
