/**
 * Server-sent event streams (WHATWG HTML "Server-sent events", `text/event-stream`): committed block
 * headers (`id` = height), the commit of one transaction, and a subject's own new history events
 * (`id` = log index; signed by the subject's key, RFC 9421, like its report). Each stream resumes
 * from `Last-Event-ID` (or `?after=`) by replaying from the store what was missed, then follows new
 * blocks. Streams send what is committed, read from the store at their own pace, so a slow client
 * holds back only itself (writes wait for `drain`). Heartbeat comments keep proxies from closing an
 * idle stream; streams are bounded per client address and in total, and end on client disconnect
 * and on server close, leaving no listener or timer behind.
 */
import type { ServerResponse } from 'node:http';
import { MAX_CLOCK_SKEW_MS, MAX_TTL_MS } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CustosNode } from '../node.js';
import { guard, subjectOnly } from './auth/guard.js';
import { clientKey } from './limits.js';
import { problem, sendProblem } from './problem.js';
import type { RoutePlugin } from './route-plugin.js';
import { SUBJECT_AUTH_PROBLEMS } from './routes-subject.js';
import { closed, did, hex64, integerString } from './schema-atoms.js';

export interface EventStreamOptions {
  /** Interval of `: heartbeat` comments. Default 15 s. */
  heartbeatMs?: number;
  /** Open streams per client address. Default 8. */
  maxStreamsPerClient?: number;
  /** Open streams in total. Default 1000. */
  maxStreams?: number;
  /** Reconnection delay suggested to clients (`retry:`). Default 3 s. */
  retryMs?: number;
  /** How long a transaction stream waits for its commit. Default the longest transaction lifetime plus skew. */
  txWaitMs?: number;
}

const DEFAULTS = {
  heartbeatMs: 15_000,
  maxStreamsPerClient: 8,
  maxStreams: 1000,
  retryMs: 3000,
  txWaitMs: MAX_TTL_MS + MAX_CLOCK_SKEW_MS,
};
/** Rows read from the store per step of a replay. */
const REPLAY_STEP = 200;
const CURSOR = /^(0|[1-9][0-9]{0,14})$/;
const AFTER_QUERY = closed({
  after: Type.Optional(
    integerString({ description: 'Start after this event id when there is no Last-Event-ID header.' }),
  ),
});

/** One open `text/event-stream` response. */
class SseStream {
  closed = false;
  private readonly onCloseFns: (() => void)[] = [];

  constructor(readonly res: ServerResponse) {
    res.on('close', () => this.close());
  }

  /** Writes an event; false when the socket buffer is full (await `drained()`). */
  send(event: string, id: string, data: unknown): boolean {
    if (this.closed) return false;
    // JSON.stringify escapes CR and LF, so the data is one `data:` line.
    return this.res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    if (!this.closed) this.res.write(`: ${text}\n\n`);
  }

  drained(): Promise<void> {
    if (this.closed || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.onCloseFns.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.res.writableEnded) this.res.end();
    for (const fn of this.onCloseFns.splice(0)) fn();
  }
}

/** A subscriber: follows the chain from its cursor; `wake` is called after each block. */
interface Subscriber {
  stream: SseStream;
  client: string;
  wake(): void;
}

/**
 * The open streams of one server: one 'block' listener on the node and one heartbeat timer, both
 * present only while a stream is open.
 */
class StreamHub {
  private readonly subs = new Set<Subscriber>();
  private readonly perClient = new Map<string, number>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private readonly onBlock = () => {
    for (const s of this.subs) s.wake();
  };

  constructor(
    private readonly node: CustosNode,
    private readonly opts: typeof DEFAULTS,
  ) {}

  /** Why a new stream from `client` cannot open now, or null. */
  refusal(client: string): string | null {
    if (this.subs.size >= this.opts.maxStreams) return `this node serves at most ${this.opts.maxStreams} event streams`;
    if ((this.perClient.get(client) ?? 0) >= this.opts.maxStreamsPerClient) {
      return `at most ${this.opts.maxStreamsPerClient} event streams per client; close one first`;
    }
    return null;
  }

  add(sub: Subscriber): void {
    this.subs.add(sub);
    this.perClient.set(sub.client, (this.perClient.get(sub.client) ?? 0) + 1);
    if (this.subs.size === 1) {
      this.node.on('block', this.onBlock);
      this.heartbeat = setInterval(() => {
        for (const s of this.subs) s.stream.comment('heartbeat');
      }, this.opts.heartbeatMs);
      this.heartbeat.unref();
    }
    sub.stream.onClose(() => this.remove(sub));
  }

  private remove(sub: Subscriber): void {
    if (!this.subs.delete(sub)) return;
    const n = (this.perClient.get(sub.client) ?? 1) - 1;
    if (n === 0) this.perClient.delete(sub.client);
    else this.perClient.set(sub.client, n);
    if (this.subs.size === 0) {
      this.node.off('block', this.onBlock);
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  closeAll(): void {
    for (const s of [...this.subs]) s.stream.close();
  }

  get size(): number {
    return this.subs.size;
  }
}

/** By HTTP server: the one a route plugin and its parent instance share, whatever the encapsulation. */
const hubs = new WeakMap<object, StreamHub>();

/** How many event streams a server has open (for tests and metrics). */
export function openEventStreams(app: FastifyInstance): number {
  return hubs.get(app.server)?.size ?? 0;
}

/** The cursor to resume after: `Last-Event-ID`, else `?after=`, else undefined; `false` if malformed. */
function resumeCursor(request: FastifyRequest): number | undefined | false {
  const header = request.headers['last-event-id'];
  const raw = typeof header === 'string' ? header.trim() : (request.query as { after?: string } | undefined)?.after;
  if (raw === undefined) return undefined;
  return CURSOR.test(raw) ? Number(raw) : false;
}

/**
 * Opens the stream: 200 with the event-stream headers, taken over from Fastify (`hijack`) so
 * nothing buffers or serializes it.
 */
function open(reply: FastifyReply, retryMs: number): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-store',
    'x-accel-buffering': 'no',
    'x-request-id': String(reply.request.id),
    // One stream per connection: when the stream ends (server close included), the socket goes too,
    // so a keep-alive connection never holds a closing server open.
    connection: 'close',
  });
  res.write(`retry: ${retryMs}\n: stream open\n\n`);
  // Headers and events go out at once, not when a buffer fills.
  if (typeof res.socket?.setNoDelay === 'function') res.socket.setNoDelay(true);
  return new SseStream(res);
}

/**
 * Runs `step` until it reports nothing more to send, and again whenever woken meanwhile: one
 * reader per stream however many blocks arrive while it writes.
 */
function pump(stream: SseStream, step: () => Promise<boolean>, onError: (e: unknown) => void): () => void {
  let running = false;
  let again = false;
  const run = async () => {
    running = true;
    try {
      do {
        again = false;
        while (!stream.closed && (await step())) {
          // keep stepping while the step made progress
        }
      } while (again && !stream.closed);
    } catch (e) {
      onError(e);
      stream.close();
    } finally {
      running = false;
    }
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}

export const eventRoutes: RoutePlugin<EventStreamOptions> = async (app, options) => {
  const node = app.custos;
  const opts = { ...DEFAULTS, ...options };
  const hub = new StreamHub(node, opts);
  hubs.set(app.server, hub);
  app.addHook('preClose', async () => hub.closeAll());

  /** Refuses a stream over the limits or with a bad cursor; else opens it and registers its pump. */
  const start = (
    request: FastifyRequest,
    reply: FastifyReply,
    begin: (stream: SseStream, cursor: number | undefined) => (() => void) | undefined,
    resumable = true,
  ) => {
    // HEAD: the headers of a stream, without opening one.
    if (request.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send();
    const cursor = resumable ? resumeCursor(request) : undefined;
    if (cursor === false) {
      return sendProblem(reply, problem('BAD_REQUEST', 'expected Last-Event-ID (or after) as a non-negative integer'));
    }
    // The same client key as the rate limits (IPv6 by /64), so streams are no easier to multiply (trust #14).
    const client = clientKey(request);
    const refusal = hub.refusal(client);
    if (refusal !== null) return sendProblem(reply, problem('RATE_LIMITED', refusal));
    const stream = open(reply, opts.retryMs);
    const wake = begin(stream, cursor);
    if (wake === undefined || stream.closed) return reply;
    hub.add({ stream, client, wake });
    wake();
    return reply;
  };
  const logError = (request: FastifyRequest) => (e: unknown) => request.log.error({ err: e }, 'event stream failed');
  const streamDoc = (summary: string, description: string) => ({
    tags: ['events'],
    summary,
    description: `${description} Answers \`text/event-stream\`; a \`: heartbeat\` comment every ${opts.heartbeatMs / 1000} s.`,
  });

  app.get(
    '/v1/events/blocks',
    {
      schema: {
        ...streamDoc(
          'Stream of committed blocks',
          'One `block` event per committed header, `id` = height, `data` = `{height, hash, header}`. Resumes after `Last-Event-ID` (or `?after=`) by replaying the blocks missed; without either, starts after the latest block. Public.',
        ),
        querystring: AFTER_QUERY,
      },
      config: { problems: ['RATE_LIMITED'] },
    },
    async (request, reply) =>
      start(request, reply, (stream, cursor) => {
        let sent = cursor ?? node.latest().height;
        return pump(
          stream,
          async () => {
            const head = node.latest().height;
            if (sent >= head) return false;
            for (const end = Math.min(head, sent + REPLAY_STEP); sent < end && !stream.closed; ) {
              const row = node.store.getHeader(sent + 1);
              if (row === null) return false;
              sent++;
              if (!stream.send('block', String(sent), { height: sent, hash: row.hash, header: row.header })) {
                await stream.drained();
              }
            }
            return true;
          },
          logError(request),
        );
      }),
  );

  app.get(
    '/v1/events/txs/:txId',
    {
      schema: {
        ...streamDoc(
          "Stream of one transaction's commit",
          'One `committed` event (`id` = the txId, `data` = `{txId, height, index, logIndex, code}`) when the transaction commits, at once if it already has, then the stream ends. A reconnection with `Last-Event-ID` = the txId gets 204 (stop reconnecting). After the longest transaction lifetime with no commit, a `timeout` event ends it. Public.',
        ),
        params: closed({ txId: hex64() }),
      },
      config: { problems: ['RATE_LIMITED'] },
    },
    async (request, reply) => {
      const { txId } = request.params;
      // WHATWG: a 204 answer tells an EventSource to stop reconnecting: it already has the event.
      if (request.headers['last-event-id'] === txId) return reply.code(204).send();
      return start(
        request,
        reply,
        (stream) => {
          const committed = () => {
            const t = node.store.getTx(txId);
            if (t === null) return false;
            const { height, index, logIndex, code } = t;
            stream.send('committed', txId, { txId, height, index, logIndex, code });
            stream.close();
            return true;
          };
          if (committed()) return undefined;
          const timer = setTimeout(() => {
            stream.send('timeout', txId, { txId, waitedMs: opts.txWaitMs });
            stream.close();
          }, opts.txWaitMs);
          timer.unref();
          stream.onClose(() => clearTimeout(timer));
          const check = async () => {
            committed();
            return false;
          };
          return pump(stream, check, logError(request));
        },
        false,
      );
    },
  );

  app.get(
    '/v1/subjects/:did/events',
    {
      ...guard(node, { tokens: false, authorize: subjectOnly('did'), signer: "the subject's key" }),
      schema: {
        ...streamDoc(
          "Stream of a subject's history",
          "One `history` event per new event of the subject's history, `id` = its log index, `data` = `{logIndex, txId, height, index, code, tx}` (check it with an inclusion proof). Resumes after `Last-Event-ID` (or `?after=`) by replaying from the store; without either, starts at the next block. Signed (RFC 9421) by the subject's key, as its report: the signature authenticates the subscription.",
        ),
        params: closed({ did: did() }),
        querystring: AFTER_QUERY,
      },
      config: { problems: [...SUBJECT_AUTH_PROBLEMS, 'RATE_LIMITED'] },
    },
    async (request, reply) =>
      start(request, reply, (stream, cursor) => {
        const subject = request.params.did;
        // Without a cursor: everything from the next block on (log indexes are positions in the log).
        let sent = cursor ?? node.latest().logSize - 1;
        return pump(
          stream,
          async () => {
            const indexes = node.store.subjectHistory(subject, sent, REPLAY_STEP);
            for (const logIndex of indexes) {
              if (stream.closed) return false;
              const t = node.store.getTxByLogIndex(logIndex);
              if (t === null) return false;
              sent = logIndex;
              const data = { logIndex, txId: t.txId, height: t.height, index: t.index, code: t.code, tx: t.tx };
              if (!stream.send('history', String(logIndex), data)) await stream.drained();
            }
            return indexes.length === REPLAY_STEP;
          },
          logError(request),
        );
      }),
  );
};
