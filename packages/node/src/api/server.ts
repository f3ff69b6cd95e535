/**
 * The node's HTTP API (docs/architecture.md#the-api): Fastify, JSON in and out, every request
 * checked against a JSON Schema at the edge (the single transaction route's body by `parseTx`,
 * which is stricter: `routes-txs.ts`), every error an RFC 9457 problem with a code from the
 * registry, an OpenAPI 3.1 document generated from the same schemas, limits on rate, size and time
 * (`limits.ts`), Prometheus metrics, and a request id on every answer (`X-Request-Id`). The logger
 * is off unless asked for, and never records bodies, query strings or client addresses.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { NodeError } from '../errors.js';
import type { CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import type { PasskeyConfig, PasskeyLimits } from '../passkeys/limits.js';
import { passkeyServiceOf } from '../passkeys/passkeys.js';
import { installAuthorities } from './auth/authority.js';
import { type Limits, type RateLimitOptions, registerRateLimit, resolveLimits } from './limits.js';
import { NodeMetrics } from './metrics.js';
import { docRoutes, registerOpenApi } from './openapi.js';
import { problem, problemOf, rawProblemResponse, sendProblem } from './problem.js';
// Declares `FastifyInstance.custos`, the node every route plugin reads (`app.decorate` below).
import './route-plugin.js';
import { chainRoutes } from './routes-chain.js';
import { consortiumRoutes } from './routes-consortium.js';
import { contractRoutes } from './routes-contracts.js';
import { eventRoutes } from './routes-events.js';
import { governanceRoutes } from './routes-governance.js';
import { opsRoutes } from './routes-ops.js';
import { overdueRequestRoutes } from './routes-org-requests.js';
import { orgRoutes } from './routes-orgs.js';
import { passkeyRoutes } from './routes-passkeys.js';
import { proofRoutes } from './routes-proofs.js';
import { subjectRoutes } from './routes-subject.js';
import { txRoutes } from './routes-txs.js';
import { webRoutes } from './web.js';

export interface ServerOptions {
  /** pino JSON logs on stdout: `true` for level `info`, or a level. Default: off. */
  logger?: boolean | { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' };
  /** Where logs go when the logger is on. Default stdout. */
  logStream?: { write(line: string): void };
  /** Most bytes in a request body. Default 64 KiB. */
  bodyLimit?: number;
  /** Most bytes in a POST /v1/txs/batch body. Default 8 MiB. */
  batchBodyLimit?: number;
  /** Requests per client per minute, reads and writes apart, or `false` for none. Default 1200 and 600. */
  rateLimit?: RateLimitOptions | false;
  /** Most bytes in the request line and headers. Default 16 KiB. */
  maxHeaderSize?: number;
  /** The whole request must arrive within this many ms. Default 30 s. */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections close after this many ms. Default 72 s. */
  keepAliveTimeoutMs?: number;
  /** Connections silent both ways for this long close. Default 120 s (above the longest `?wait=true`). */
  connectionTimeoutMs?: number;
  /**
   * Trust `X-Forwarded-For` from these proxies (Fastify's `trustProxy`: true, or addresses/CIDRs):
   * rate limits then count the client behind the proxy. Default: trust no proxy.
   */
  trustProxy?: boolean | string;
  /** How long `?wait=true` waits for a commit. Default 30 s. */
  waitTimeoutMs?: number;
  /** /readyz fails when transactions are pending and no block committed for this long. Default 60 s. */
  stallMs?: number;
  /** The orgs whose keys and vaults this node holds: enables the /v1/orgs/... routes. */
  orgs?: OrgService;
  /**
   * The other peers' HTTP APIs (consortium.json `peers`): a customer's data export held by another
   * member's node is fetched from there for them (`orgs/export-relay.ts`). Default none.
   */
  peers?: readonly string[];
  /**
   * The names (`host[:port]`) clients reach this node by: a signed request must be signed for one
   * of them (RFC 9421 `@authority`), so it cannot be replayed to another peer. Default: the names
   * of the address it listens on (loopback names, or every local interface for 0.0.0.0). Set it
   * behind a reverse proxy to the public name(s).
   */
  authorities?: readonly string[];
  /**
   * The customer portal's passkeys (ADR 0016): the WebAuthn relying party id and the origins the
   * portal is served from. Default: `localhost` and `http://localhost:<port>` when the node listens
   * on a loopback address; a node listening elsewhere serves passkeys only when this is set.
   * `false` turns the passkey routes off.
   */
  passkeys?: Partial<PasskeyConfig> | false;
  /** Passkey ceremonies per client per minute (default 20; recovery a quarter of it). */
  passkeyCeremoniesPerMinute?: number;
  /** The global quota of unfinished passkey sign-ups and how long one is kept (defaults 1,000 and one hour). */
  passkeyLimits?: Partial<PasskeyLimits>;
}

export interface ListenOptions {
  /** Default 127.0.0.1 (loopback): exposing a node is a decision, not a default. */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7070;
export const REQUEST_ID_HEADER = 'x-request-id';

const limitsOf = new WeakMap<FastifyInstance, Limits>();
const routesOf = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** A route as Fastify registered it; `hidden` ones (the web app's pages) stay out of the OpenAPI document. */
export interface RegisteredRoute {
  method: string;
  url: string;
  hidden: boolean;
}

/** The limits a server built by `createServer` enforces. */
export function serverLimits(app: FastifyInstance): Limits | undefined {
  return limitsOf.get(app);
}

/** Every route of a server built by `createServer` (complete once it is ready). */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return [...(routesOf.get(app) ?? [])];
}

/**
 * Builds the HTTP API of `node` (not yet listening; see `listen`). Routes are added once the
 * plugins they rely on (rate limits, OpenAPI) are loaded, at `ready()`, `listen()` or the first
 * `inject()`. Closing the server does not close the node.
 *
 * Shared hooks for route modules: `request.id` is the request id (a UUID, returned as
 * `X-Request-Id`, logged as `reqId`); `config: { rateClass }` picks a route's rate budget;
 * `config: { problems }` lists its error codes in the OpenAPI document.
 *
 * @example
 * const app = createServer(node);
 * const url = await listen(app, { port: 0 });
 */
export function createServer(node: CustosNode, opts: ServerOptions = {}): FastifyInstance {
  const limits = resolveLimits({
    rateLimit: opts.rateLimit,
    bodyLimit: opts.bodyLimit,
    batchBodyLimit: opts.batchBodyLimit,
    maxHeaderSize: opts.maxHeaderSize,
    requestTimeoutMs: opts.requestTimeoutMs,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
    connectionTimeoutMs: opts.connectionTimeoutMs,
  });
  const waitTimeoutMs = opts.waitTimeoutMs ?? 30_000;
  const app = Fastify({
    logger: loggerOptions(opts.logger, opts.logStream),
    bodyLimit: limits.bodyLimit,
    // One Ajv for bodies and query strings: no coercion (a signed body must reach parseTx exactly
    // as sent) and no silent removal of unknown fields (they are rejected).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Ids are ours, never the client's: a header value would reach the logs unchecked.
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    http: {
      maxHeaderSize: limits.maxHeaderSize,
      // Node checks request timeouts on this interval (default 30 s): keep it below the timeout.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.requestTimeoutMs / 2))),
    },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: Math.max(limits.connectionTimeoutMs, waitTimeoutMs + 5_000),
    routerOptions: { maxParamLength: limits.maxParamLength },
    // A path segment over the router's limit, or a malformed one, is refused before any route or
    // hook runs: answer it as every other refusal is (a problem with the request id), not Fastify's
    // own JSON.
    frameworkErrors: (err, request, reply) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      const long = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      return sendProblem(
        reply,
        problem(
          'BAD_REQUEST',
          long
            ? `expected each path segment to be at most ${limits.maxParamLength} characters`
            : 'expected a well-formed URL path (percent-encoding)',
        ),
      );
    },
    trustProxy: opts.trustProxy ?? false,
    clientErrorHandler,
  });
  limitsOf.set(app, limits);
  // Every route plugin reads the node from here (`route-plugin.ts`), rather than taking it as an argument.
  app.decorate('custos', node);
  installAuthorities(app, opts.authorities);
  const routes: RegisteredRoute[] = [];
  routesOf.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) {
      routes.push({ method: String(method), url: r.url, hidden: r.schema?.hide === true });
    }
  });
  const metrics = new NodeMetrics(node);

  // Callback hooks on every request, not async ones: no promise per request per hook.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  // Bodies are JSON only: a text/plain body is refused as such rather than failing its schema.
  app.removeContentTypeParser('text/plain');
  metrics.install(app);
  app.setErrorHandler((err, request, reply) => {
    const p = problemOf(err, isTxRoute(request) ? 'TX_TOO_LARGE' : 'BODY_TOO_LARGE');
    if (p.status >= 500) request.log.error({ err }, 'request failed');
    // A quota that says when it frees up (SIGNUPS_FULL) says it in Retry-After too.
    const retryAfter = err instanceof NodeError ? err.details?.retryAfter : undefined;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return sendProblem(reply, p);
  });

  if (limits.rateLimit !== false) registerRateLimit(app, limits.rateLimit);
  registerOpenApi(app);

  app.after(() => {
    const notFound = (request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(
        reply,
        problem('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`),
      );
    // Unknown paths spend the client's budget too, so probing them is no free load.
    if (limits.rateLimit !== false) app.setNotFoundHandler({ preHandler: app.rateLimit() }, notFound);
    else app.setNotFoundHandler(notFound);
  });
  // Each group of routes is a plugin. Every node serves them all but the org routes, which need org keys.
  app.register(subjectRoutes);
  app.register(txRoutes, { waitTimeoutMs, batchBodyLimit: limits.batchBodyLimit, metrics });
  app.register(chainRoutes);
  app.register(consortiumRoutes);
  app.register(proofRoutes);
  app.register(eventRoutes);
  app.register(opsRoutes, { metrics, stallMs: opts.stallMs ?? 60_000 });
  app.register(docRoutes);
  app.register(governanceRoutes);
  app.register(contractRoutes);
  app.register(overdueRequestRoutes);
  if (opts.passkeys !== false) {
    app.register(passkeyRoutes, {
      passkeys: passkeyServiceOf(node, passkeyConfig(app, opts.passkeys), opts.passkeyLimits),
      ...(opts.passkeyCeremoniesPerMinute === undefined
        ? {}
        : { ceremoniesPerMinute: opts.passkeyCeremoniesPerMinute }),
    });
  }
  if (opts.orgs) app.register(orgRoutes, { orgs: opts.orgs, peers: opts.peers ?? [] });
  app.register(webRoutes);
  return app;
}

/** Starts listening; resolves to the base URL, e.g. `http://127.0.0.1:7070`. */
export async function listen(app: FastifyInstance, opts: ListenOptions = {}): Promise<string> {
  const host = opts.host ?? DEFAULT_HOST;
  await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (opts.port ?? DEFAULT_PORT);
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The passkey relying party of `app`: as configured, else `localhost` with the loopback origin of
 * the port it listens on (a browser refuses an IP address as a relying party id).
 */
function passkeyConfig(
  app: FastifyInstance,
  given: Partial<PasskeyConfig> | undefined,
): () => PasskeyConfig | undefined {
  const rpName = given?.rpName ?? 'Custos';
  if (given?.rpId !== undefined && given.origins !== undefined) {
    const fixed = { rpId: given.rpId, rpName, origins: checkPasskeyOrigins(given.rpId, given.origins) };
    return () => fixed;
  }
  let derived: PasskeyConfig | undefined;
  app.addHook('onListen', async () => {
    const address = app.server.address();
    if (address === null || typeof address !== 'object') return;
    const loopback = address.address === '::1' || address.address.startsWith('127.');
    if (!loopback) return;
    derived = { rpId: 'localhost', rpName, origins: [`http://localhost:${address.port}`] };
  });
  return () => derived;
}

/**
 * Each origin must be `https://` (or `http://localhost`) on the relying party id or a subdomain of
 * it, as browsers require; anything else is a configuration error, refused at start.
 */
export function checkPasskeyOrigins(rpId: string, origins: readonly string[]): string[] {
  const fail = (why: string) => new NodeError('BAD_REQUEST', `passkeys: ${why}`);
  if (!/^[a-z0-9.-]{1,253}$/.test(rpId))
    throw fail(`expected a relying party id like portal.example.org, got '${rpId.slice(0, 80)}'`);
  if (origins.length === 0 || origins.length > 16) throw fail('expected 1 to 16 origins');
  return origins.map((o) => {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw fail(`expected an origin like https://${rpId}, got '${o.slice(0, 80)}'`);
    }
    const host = url.hostname;
    const secure = url.protocol === 'https:' || (url.protocol === 'http:' && host === 'localhost');
    if (!secure || url.origin !== o.replace(/\/$/, '') || (host !== rpId && !host.endsWith(`.${rpId}`))) {
      throw fail(
        `expected an https origin on ${rpId} or a subdomain (http only for localhost), got '${o.slice(0, 80)}'`,
      );
    }
    return url.origin;
  });
}

function isTxRoute(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return url !== undefined && (url === '/v1/txs' || url.startsWith('/v1/txs/'));
}

/**
 * Answers what Node's HTTP parser rejects before Fastify sees a request (headers too large, a
 * request too slow, malformed HTTP) with a problem document, then closes the connection.
 */
function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let response: string;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    response = rawProblemResponse('HEADERS_TOO_LARGE', 'expected request headers within the size limit');
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    response = rawProblemResponse('REQUEST_TIMEOUT', 'expected the whole request within the time limit');
  } else {
    response = rawProblemResponse('BAD_REQUEST', 'expected a well-formed HTTP/1.1 request');
  }
  if (socket.writable) socket.write(response);
  socket.destroy();
}

function loggerOptions(
  logger: ServerOptions['logger'],
  stream: ServerOptions['logStream'],
): NonNullable<FastifyServerOptions['logger']> {
  if (logger === undefined || logger === false) return false;
  return {
    level: logger === true ? 'info' : logger.level,
    ...(stream === undefined ? {} : { stream }),
    // The route pattern only: no query string, parameters, headers or client address (personal data).
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, route: req.routeOptions.url ?? 'unknown' }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}
