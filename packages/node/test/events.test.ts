/**
 * Server-sent event streams over a real socket: blocks as they commit and replayed after
 * Last-Event-ID, one transaction's commit, a subject's own history (signed subscription),
 * heartbeats, the per-client and total bounds, and clean ends on client disconnect and on server
 * close, with no listener or timer left on the node.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import { txIdOf } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventRoutes, openEventStreams } from '../src/api/routes-events.js';
import { createServer, listen } from '../src/api/server.js';
import { CustosNode } from '../src/node.js';

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

interface Stream {
  status: number;
  headers: IncomingMessage['headers'];
  /** The body of a non-200 answer. */
  body: string;
  events: SseEvent[];
  /** Resolves with the first event (received or to come) that matches. */
  next(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  ended: Promise<void>;
  close(): void;
}

/** A minimal EventSource: parses `text/event-stream` as the WHATWG spec does (LF-separated here). */
function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const events: SseEvent[] = [];
      const waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
      let buffer = '';
      let body = '';
      const ended = new Promise<void>((r) => {
        res.on('end', r);
        res.on('close', r);
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (res.statusCode !== 200) {
          body += chunk;
          return;
        }
        buffer += chunk;
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const e: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) e.comment = line.slice(1).trim();
            else {
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'id' || field === 'event' || field === 'data') e[field] = value;
            }
          }
          events.push(e);
          for (const w of [...waiters]) {
            if (w.pred(e)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(e);
            }
          }
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        get body() {
          return body;
        },
        events,
        next(pred, timeoutMs = 5000) {
          const found = events.find(pred);
          if (found) return Promise.resolve(found);
          return new Promise((res2, rej2) => {
            const t = setTimeout(() => rej2(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
            waiters.push({
              pred,
              resolve: (e) => {
                clearTimeout(t);
                res2(e);
              },
            });
          });
        },
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    req.end();
  });
}

const until = async (cond: () => boolean, ms = 3000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let app: FastifyInstance;
let base: string;
let alice: Signer;
let aliceDid: string;
let baseline: number;

const kv = (value: number, signer: Signer = fx.orgs.bank!) => tx(signer, 'kv.put', { ns: 'ev', key: 'k', value });

beforeAll(async () => {
  tmp = tempDir();
  fx = fixture();
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
  app = createServer(node, { rateLimit: false });
  base = await listen(app, { port: 0 });
  // Other parts of the server (metrics) may listen too: count from here.
  baseline = node.listenerCount('block');
  alice = userSigner();
  aliceDid = didFromPublicKey(alice.publicKey);
});

afterAll(async () => {
  await app?.close();
  await node?.close();
  tmp?.cleanup();
});

describe('GET /v1/events/blocks', () => {
  it('sends each committed header as an event with id = height', async () => {
    const s = await openStream(`${base}/v1/events/blocks`);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toMatch(/no-cache/);
    await until(() => node.listenerCount('block') === baseline + 1);
    const r = await node.submitAndWait(kv(1));
    const e = await s.next((x) => x.event === 'block' && x.id === String(r.height));
    const data = JSON.parse(e.data!);
    expect(data).toMatchObject({ height: r.height, header: { height: r.height, txCount: 1 } });
    expect(data.hash).toBe(node.store.getHeader(r.height)!.hash);
    s.close();
    await until(() => node.listenerCount('block') === baseline && openEventStreams(app) === 0);
  });

  it('resumes after Last-Event-ID (or ?after=) by replaying the blocks missed, in order', async () => {
    for (let i = 0; i < 3; i++) await node.submitAndWait(kv(10 + i));
    const head = node.latest().height;
    const s = await openStream(`${base}/v1/events/blocks`, { 'last-event-id': String(head - 3) });
    const last = await s.next((e) => e.id === String(head));
    expect(last.event).toBe('block');
    expect(s.events.filter((e) => e.event === 'block').map((e) => Number(e.id))).toEqual([head - 2, head - 1, head]);
    const more = await node.submitAndWait(kv(20));
    await s.next((e) => e.id === String(more.height));
    s.close();
    const q = await openStream(`${base}/v1/events/blocks?after=${head - 1}`);
    await q.next((e) => e.id === String(more.height));
    expect(q.events.filter((e) => e.event === 'block').map((e) => Number(e.id))).toEqual([head, more.height]);
    q.close();
    const bad = await openStream(`${base}/v1/events/blocks`, { 'last-event-id': 'x1' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('GET /v1/events/txs/:txId', () => {
  it('sends the commit of a pending transaction, then ends', async () => {
    const t = kv(30);
    const s = await openStream(`${base}/v1/events/txs/${txIdOf(t.body)}`);
    await until(() => openEventStreams(app) === 1);
    const r = await node.submitAndWait(t);
    const e = await s.next((x) => x.event === 'committed');
    expect(e.id).toBe(r.txId);
    expect(JSON.parse(e.data!)).toEqual({ txId: r.txId, height: r.height, index: 0, logIndex: r.logIndex, code: 'OK' });
    await s.ended;
    await until(() => openEventStreams(app) === 0 && node.listenerCount('block') === baseline);
  });

  it('answers at once when already committed, and 204 to a reconnection that has it', async () => {
    const r = await node.submitAndWait(kv(31));
    const s = await openStream(`${base}/v1/events/txs/${r.txId}`);
    await s.ended;
    expect(s.events.find((e) => e.event === 'committed')?.id).toBe(r.txId);
    const again = await openStream(`${base}/v1/events/txs/${r.txId}`, { 'last-event-id': r.txId });
    expect(again.status).toBe(204);
    // Another id (say, of a block stream) is no cursor here: the answer comes as usual.
    const other = await openStream(`${base}/v1/events/txs/${r.txId}`, { 'last-event-id': '12' });
    await other.ended;
    expect(other.events.find((e) => e.event === 'committed')?.id).toBe(r.txId);
  });
});

describe('GET /v1/subjects/:did/events', () => {
  const path = () => `/v1/subjects/${aliceDid}/events`;
  const grant = (org: string) =>
    tx(alice, 'consent.grant', {
      org,
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: Date.now() + 86_400_000,
      jurisdiction: 'GDPR',
      notice: 'ab'.repeat(32),
    });
  const signed = (signer: Signer, extra: Record<string, string> = {}) => ({
    ...signRequest({ method: 'GET', url: `${base}${path()}` }, signer),
    ...extra,
  });

  it('needs the subject signature', async () => {
    const none = await openStream(`${base}${path()}`);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ code: 'UNAUTHENTICATED' });
    const other = await openStream(`${base}${path()}`, signed(userSigner()));
    expect(other.status).toBe(403);
    const headers = signed(alice);
    const first = await openStream(`${base}${path()}`, headers);
    expect(first.status).toBe(200);
    first.close();
    const replay = await openStream(`${base}${path()}`, headers);
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body)).toMatchObject({ code: 'REPLAYED_REQUEST' });
  });

  it("sends the subject's new history events only, and resumes after Last-Event-ID", async () => {
    const s = await openStream(`${base}${path()}`, signed(alice));
    expect(s.status).toBe(200);
    const mine = await node.submitAndWait(grant('bank'));
    await node.submitAndWait(kv(40));
    const e = await s.next((x) => x.event === 'history');
    expect(Number(e.id)).toBe(mine.logIndex);
    const data = JSON.parse(e.data!);
    expect(data).toMatchObject({ logIndex: mine.logIndex, txId: mine.txId, height: mine.height, code: 'OK' });
    expect(data.tx.body.signer).toBe(aliceDid);
    const second = await node.submitAndWait(grant('insurer'));
    await s.next((x) => x.id === String(second.logIndex));
    expect(s.events.filter((x) => x.event === 'history').map((x) => Number(x.id))).toEqual([
      mine.logIndex,
      second.logIndex,
    ]);
    s.close();

    const resumed = await openStream(`${base}${path()}`, signed(alice, { 'last-event-id': String(mine.logIndex) }));
    await resumed.next((x) => x.id === String(second.logIndex));
    expect(resumed.events.filter((x) => x.event === 'history').map((x) => Number(x.id))).toEqual([second.logIndex]);
    resumed.close();
  });
});

describe('stream lifecycle', () => {
  let small: FastifyInstance;
  let smallBase: string;

  beforeAll(async () => {
    small = Fastify();
    small.decorate('custos', node);
    small.register(eventRoutes, { heartbeatMs: 40, maxStreamsPerClient: 2, maxStreams: 3 });
    smallBase = await listen(small, { port: 0 });
  });

  afterAll(async () => {
    await small?.close();
  });

  it('sends heartbeat comments', async () => {
    const s = await openStream(`${smallBase}/v1/events/blocks`);
    expect(s.status).toBe(200);
    const opened = Date.now();
    // `next` rejects when nothing matches in time; the assertions say what must have arrived.
    const first = await s.next((e) => e.comment === 'heartbeat', 2000);
    expect(first).toEqual({ comment: 'heartbeat' });
    await s.next(
      (e) => e.comment === 'heartbeat' && s.events.filter((x) => x.comment === 'heartbeat').length >= 2,
      2000,
    );
    const heartbeats = s.events.filter((x) => x.comment === 'heartbeat');
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    // Two heartbeats at a 40 ms interval cannot both come sooner than one interval after opening.
    expect(Date.now() - opened).toBeGreaterThanOrEqual(40);
    s.close();
    await until(() => openEventStreams(small) === 0);
  });

  it('bounds the streams per client and in total', async () => {
    const a = await openStream(`${smallBase}/v1/events/blocks`);
    const b = await openStream(`${smallBase}/v1/events/blocks`);
    await until(() => openEventStreams(small) === 2);
    const c = await openStream(`${smallBase}/v1/events/blocks`);
    expect(c.status).toBe(429);
    expect(JSON.parse(c.body)).toMatchObject({ code: 'RATE_LIMITED' });
    a.close();
    await until(() => openEventStreams(small) === 1);
    const d = await openStream(`${smallBase}/v1/events/blocks`);
    expect(d.status).toBe(200);
    b.close();
    d.close();
    await until(() => openEventStreams(small) === 0 && node.listenerCount('block') === baseline);
  });

  it('leaves no listener behind after disconnects, and ends open streams on server close', async () => {
    const streams = await Promise.all([0, 1].map(() => openStream(`${smallBase}/v1/events/blocks`)));
    const main = await openStream(`${base}/v1/events/blocks`);
    await until(() => openEventStreams(small) === 2 && openEventStreams(app) === 1);
    // One listener per server with open streams, however many streams.
    expect(node.listenerCount('block')).toBe(baseline + 2);
    const t0 = Date.now();
    await small.close();
    await Promise.all(streams.map((s) => s.ended));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(openEventStreams(small)).toBe(0);
    expect(node.listenerCount('block')).toBe(baseline + 1);
    main.close();
    await until(() => node.listenerCount('block') === baseline && openEventStreams(app) === 0);
    // The node still commits and the main server still streams.
    const again = await openStream(`${base}/v1/events/blocks`);
    const r = await node.submitAndWait(kv(50));
    await again.next((e) => e.id === String(r.height));
    again.close();
    await until(() => node.listenerCount('block') === baseline);
  });
});

describe('trust #14: the stream cap counts clients as the rate limits do', () => {
  it('trust #14: addresses of one IPv6 /64 share one per-client stream budget', async () => {
    const proxied = Fastify({ trustProxy: true });
    proxied.decorate('custos', node);
    proxied.register(eventRoutes, { maxStreamsPerClient: 2, maxStreams: 100 });
    const proxiedBase = await listen(proxied, { port: 0 });
    try {
      const from = (ip: string) => openStream(`${proxiedBase}/v1/events/blocks`, { 'x-forwarded-for': ip });
      const a = await from('2001:db8:1:2::1');
      const b = await from('2001:db8:1:2::2');
      expect([a.status, b.status]).toEqual([200, 200]);
      await until(() => openEventStreams(proxied) === 2);
      // A third address of the same /64 is the same client: over its budget.
      const c = await from('2001:db8:1:2:ffff::3');
      expect(c.status).toBe(429);
      expect(JSON.parse(c.body)).toMatchObject({ code: 'RATE_LIMITED' });
      // Another /64 is another client.
      const d = await from('2001:db8:1:3::1');
      expect(d.status).toBe(200);
      for (const s of [a, b, d]) s.close();
      await until(() => openEventStreams(proxied) === 0);
    } finally {
      await proxied.close();
    }
  });
});
