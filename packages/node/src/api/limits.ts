/**
 * The HTTP API's limits (docs/architecture.md#the-api): requests per client per minute (reads and
 * writes counted apart, @fastify/rate-limit), the size of bodies and headers, and socket timeouts.
 * Every limit is configurable; the defaults are generous for one organisation's systems behind one
 * address.
 */
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NodeError } from '../errors.js';

/** Which budget a request spends: reads (GET, HEAD) and writes (everything else) are counted apart. */
export type RateClass = 'read' | 'write';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Overrides the budget a route spends (default: by method). A route that reads but must be
     * POSTed (a signed query, say) sets `config: { rateClass: 'read' }`.
     */
    rateClass?: RateClass;
  }
}

export interface RateLimitOptions {
  /** Reads per client per window. Default 1200 (20 a second on average). */
  reads?: number;
  /** Writes per client per window. Default 600; a batch of 2,000 transactions is one write. */
  writes?: number;
  /** Window length in ms. Default 60,000. */
  windowMs?: number;
  /** Most distinct clients tracked at once (least recently seen dropped first). Default 10,000. */
  clients?: number;
}

export interface Limits {
  /** Rate limits per client address, or `false` for none (benchmarks, a node behind its own gateway). */
  rateLimit: Required<RateLimitOptions> | false;
  /** Most bytes in a request body. */
  bodyLimit: number;
  /** Most bytes in a POST /v1/txs/batch body. */
  batchBodyLimit: number;
  /** Most bytes in the request line and headers together (Node's `maxHeaderSize`). */
  maxHeaderSize: number;
  /** The whole request (headers and body) must arrive within this many ms (slow-client defence). */
  requestTimeoutMs: number;
  /** Idle keep-alive connections close after this many ms. */
  keepAliveTimeoutMs: number;
  /** A connection with no bytes either way for this long is closed: above any `?wait=true` wait. */
  connectionTimeoutMs: number;
  /** Longest path parameter; a longer one is a 404 before any handler runs. */
  maxParamLength: number;
}

export const DEFAULT_RATE_LIMIT: Required<RateLimitOptions> = {
  reads: 1200,
  writes: 600,
  windowMs: 60_000,
  clients: 10_000,
};

export const DEFAULT_LIMITS: Limits = {
  rateLimit: DEFAULT_RATE_LIMIT,
  bodyLimit: 64 * 1024,
  batchBodyLimit: 8 * 1024 * 1024,
  maxHeaderSize: 16 * 1024,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  connectionTimeoutMs: 120_000,
  maxParamLength: 200,
};

/** The limits in force: `DEFAULT_LIMITS` overridden by what is given. */
export function resolveLimits(
  given: {
    [K in keyof Omit<Limits, 'rateLimit'>]?: Limits[K] | undefined;
  } & { rateLimit?: RateLimitOptions | false | undefined },
): Limits {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const rateLimit =
    given.rateLimit === false
      ? false
      : {
          ...DEFAULT_RATE_LIMIT,
          ...Object.fromEntries(Object.entries(given.rateLimit ?? {}).filter(([, v]) => v !== undefined)),
        };
  for (const [name, v] of Object.entries({ ...defined, ...(rateLimit === false ? {} : rateLimit) })) {
    if (typeof v === 'number' && !(Number.isSafeInteger(v) && v > 0)) {
      throw new NodeError('BAD_REQUEST', `expected limit '${name}' to be a positive integer, got ${v}`);
    }
  }
  return { ...DEFAULT_LIMITS, ...defined, rateLimit };
}

/**
 * Who a client is, for every per-client limit (rate limits, open event streams, live replay-cache
 * nonces): its address, the socket's or the one a trusted proxy reports; IPv6 by its /64, since one
 * host commonly holds a whole /64 (trust #14: one key everywhere, so no limit is easier to dodge).
 */
export function clientKey(request: FastifyRequest): string {
  return normalizeIP(request.ip);
}

/** The budget a request spends. */
export function rateClassOf(request: FastifyRequest): RateClass {
  const override = request.routeOptions.config?.rateClass;
  if (override !== undefined) return override;
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
}

/**
 * Registers per-client rate limits on every route of `app` (routes added after this call), including
 * the not-found handler. An exceeded limit is a 429 RATE_LIMITED problem with `Retry-After` in
 * seconds. Clients are told apart by address (`request.ip`: the socket's, or the proxy's
 * `X-Forwarded-For` when the server trusts a proxy); IPv6 clients by their /64.
 */
export function registerRateLimit(app: FastifyInstance, opts: Required<RateLimitOptions>): void {
  app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: opts.windowMs,
    cache: opts.clients,
    keyGenerator: (request) => `${rateClassOf(request)}|${clientKey(request)}`,
    max: (_request, key) => (key.startsWith('read|') ? opts.reads : opts.writes),
    errorResponseBuilder: (request, ctx) =>
      new NodeError(
        'RATE_LIMITED',
        `expected at most ${ctx.max} ${rateClassOf(request)} requests per ${opts.windowMs / 1000} s from this client; retry in ${ctx.after}`,
      ),
  });
}
