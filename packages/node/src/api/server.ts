/**
 * The node's HTTP API (DESIGN.md section 9): Fastify, JSON in and out, every request checked
 * against a JSON Schema at the edge, every error an RFC 9457 problem with a code from the registry.
 * Bodies are bounded (64 KiB, 8 MiB for a batch); the logger is off unless asked for, and never
 * records bodies, query strings or client addresses.
 */
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import { problem, problemOf, sendProblem } from './problem.js';
import { registerChainRoutes } from './routes-chain.js';
import { registerOrgRoutes } from './routes-orgs.js';
import { registerProofRoutes } from './routes-proofs.js';
import { registerSubjectRoutes } from './routes-subject.js';
import { registerTxRoutes } from './routes-txs.js';

export interface ServerOptions {
  /** pino JSON logs on stdout: `true` for level `info`, or a level. Default: off. */
  logger?: boolean | { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' };
  /** Where logs go when the logger is on. Default stdout. */
  logStream?: { write(line: string): void };
  /** Most bytes in a request body. Default 64 KiB. */
  bodyLimit?: number;
  /** Most bytes in a POST /v1/txs/batch body. Default 8 MiB. */
  batchBodyLimit?: number;
  /** How long `?wait=true` waits for a commit. Default 30 s. */
  waitTimeoutMs?: number;
  /** The orgs whose keys and vaults this node holds: enables the /v1/orgs/... routes. */
  orgs?: OrgService;
}

export interface ListenOptions {
  /** Default 127.0.0.1 (loopback): exposing a node is a decision, not a default. */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7070;

/**
 * Builds the HTTP API of `node` (not yet listening; see `listen`). Closing the server does not
 * close the node.
 *
 * @example
 * const app = createServer(node);
 * const url = await listen(app, { port: 0 });
 */
export function createServer(node: CustosNode, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: loggerOptions(opts.logger, opts.logStream),
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    // One Ajv for bodies and query strings: no coercion (a signed body must reach parseTx exactly
    // as sent) and no silent removal of unknown fields (they are rejected).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    requestIdHeader: false,
  });

  app.setErrorHandler((err, request, reply) => {
    const p = problemOf(err);
    if (p.status >= 500) request.log.error({ err }, 'request failed');
    return sendProblem(reply, p);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`)),
  );

  registerSubjectRoutes(app, node);
  registerTxRoutes(app, node, {
    waitTimeoutMs: opts.waitTimeoutMs ?? 30_000,
    batchBodyLimit: opts.batchBodyLimit ?? 8 * 1024 * 1024,
  });
  registerChainRoutes(app, node);
  registerProofRoutes(app, node);
  if (opts.orgs) registerOrgRoutes(app, node, opts.orgs);
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
