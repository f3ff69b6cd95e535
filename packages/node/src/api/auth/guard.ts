/**
 * Route-level authentication hooks: spread into a route's options, they refuse a request before
 * its body is parsed (no credentials, bad or replayed signature, wrong key or token), hash the
 * body as it streams in, and refuse it before validation if it does not match the signed
 * Content-Digest. Every refusal is problem+json with a code of the registry.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { checkContentDigest } from '@custos/protocol/http';
import type {
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preParsingAsyncHookHandler,
  preValidationAsyncHookHandler,
} from 'fastify';
import { errorCode, NodeError } from '../../errors.js';
import type { CustosNode } from '../../node.js';
import type { TokenScope } from '../../orgs/tokens.js';
import { problem, sendProblem } from '../problem.js';
import {
  authenticateSignature,
  authenticateToken,
  hasBody,
  hasCredentials,
  memberOfKey,
  type Principal,
  recordNonce,
} from './authenticate.js';

/** Decides whether an authenticated principal may use the route; throws FORBIDDEN (or NOT_FOUND) if not. */
export type Authorize = (principal: Principal, request: FastifyRequest, node: CustosNode) => void;

export interface GuardOptions {
  /** Accept org API tokens (`Authorization: Bearer`) as well as signatures. */
  tokens: boolean;
  authorize: Authorize;
  /** Whose signature the route wants, for the 401 detail: `the subject's key`, `a member key of the org`. */
  signer: string;
}

export interface GuardHooks {
  onRequest: onRequestAsyncHookHandler;
  preParsing: preParsingAsyncHookHandler;
  preValidation: preValidationAsyncHookHandler;
}

interface RequestAuth {
  principal: Principal;
  /** SHA-256 of the body as read, for a signed request with a body. */
  bodySha256?: Uint8Array;
}

const auths = new WeakMap<FastifyRequest, RequestAuth>();

/** The principal of an authenticated request (set by a guard's onRequest hook). */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return auths.get(request)?.principal;
}

function refuse(reply: FastifyReply, err: unknown, tokens: boolean): FastifyReply {
  const code = errorCode(err);
  if (code === 'UNAUTHENTICATED' || code === 'SIGNATURE_EXPIRED' || code === 'REPLAYED_REQUEST') {
    // RFC 9110 section 11.6.1: a 401 names the schemes that would do.
    reply.header(
      'www-authenticate',
      tokens ? 'Signature realm="custos", Bearer realm="custos"' : 'Signature realm="custos"',
    );
  }
  const message = err instanceof Error ? err.message : 'request refused';
  return sendProblem(reply, problem(code, code === 'INTERNAL' ? 'the node failed to check this request' : message));
}

/**
 * Hooks that authenticate a request and authorize it with `authorize`.
 *
 * @example
 * app.get('/v1/orgs/:org/records', { ...guard(node, { tokens: true, authorize: orgMember(), signer: 'a member key of the org' }), schema }, handler);
 */
export function guard(node: CustosNode, opts: GuardOptions): GuardHooks {
  const hooks: GuardHooks = {
    async onRequest(request, reply) {
      try {
        if (!hasCredentials(request, opts.tokens)) {
          const alternative = opts.tokens ? ', or Authorization: Bearer <org API token>' : '';
          throw new NodeError(
            'UNAUTHENTICATED',
            `expected a request signed with RFC 9421 HTTP Message Signatures by ${opts.signer}${alternative}; see docs/api.md#authentication`,
          );
        }
        const principal =
          opts.tokens && request.headers.authorization !== undefined
            ? authenticateToken(request, node)
            : authenticateSignature(request, node);
        auths.set(request, { principal });
        opts.authorize(principal, request, node);
        // Only now: a request the route refuses leaves nothing in the replay cache (trust #14).
        recordNonce(request, node, principal);
      } catch (e) {
        return refuse(reply, e, opts.tokens);
      }
      return undefined;
    },

    async preParsing(request, _reply, payload) {
      const auth = auths.get(request);
      if (auth?.principal.kind !== 'signature' || !hasBody(request)) return payload;
      const hash = createHash('sha256');
      let received = 0;
      const tee = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          received += chunk.length;
          (tee as unknown as { receivedEncodedLength: number }).receivedEncodedLength = received;
          done(null, chunk);
        },
        flush(done) {
          auth.bodySha256 = new Uint8Array(hash.digest());
          done();
        },
      });
      payload.on('error', (e) => tee.destroy(e));
      return payload.pipe(tee);
    },

    async preValidation(request, reply) {
      const auth = auths.get(request);
      if (auth?.principal.kind !== 'signature' || !hasBody(request)) return undefined;
      const header = request.headers['content-digest'];
      const ok =
        auth.bodySha256 !== undefined &&
        typeof header === 'string' &&
        checkContentDigest(header, { sha256: auth.bodySha256 });
      if (!ok) {
        return refuse(
          reply,
          new NodeError('UNAUTHENTICATED', 'body does not match its signed Content-Digest (expected its sha-256)'),
          opts.tokens,
        );
      }
      return undefined;
    },
  };
  markAuth(hooks.onRequest, { optional: false, tokens: opts.tokens });
  return hooks;
}

/** How a route authenticates, for its OpenAPI `security`: set on its onRequest hook. */
export interface AuthMark {
  /** Anonymous callers are served too (what they may see is less). */
  optional: boolean;
  /** Org API tokens are accepted besides RFC 9421 signatures. */
  tokens: boolean;
}

const AUTH_MARK = 'custosAuth';

export function markAuth(hook: object, mark: AuthMark): void {
  Object.defineProperty(hook, AUTH_MARK, { value: mark });
}

/** The authentication of a route from its onRequest hooks, or undefined for a public route. */
export function authMarkOf(onRequest: unknown): AuthMark | undefined {
  for (const h of [onRequest].flat()) {
    const m = (h as Record<string, unknown> | null | undefined)?.[AUTH_MARK];
    if (m !== undefined) return m as AuthMark;
  }
  return undefined;
}

/** Authorizes the subject named by the path parameter `param` (a did:key) and no one else. */
export function subjectOnly(param = 'did'): Authorize {
  return (principal, request) => {
    const subject = (request.params as Record<string, string | undefined>)[param];
    if (principal.kind !== 'signature' || principal.did !== subject) {
      throw new NodeError(
        'FORBIDDEN',
        "only the subject's own key may read this: sign with the key of the did in the path",
      );
    }
  };
}

/**
 * Authorizes a current member key of the org in the path parameter `org`, or (unless `keysOnly`)
 * an API token of that org with `scope` (default: `read` for GET/HEAD, `write` otherwise; the
 * governance routes ask for `governance`).
 */
export function orgMember(opts: { keysOnly?: boolean; scope?: TokenScope } = {}): Authorize {
  return (principal, request, node) => {
    const org = (request.params as Record<string, string | undefined>).org;
    if (principal.kind === 'signature') {
      if (org === undefined || memberOfKey(node, principal.did) !== org) {
        throw new NodeError(
          'FORBIDDEN',
          `expected a signature by a current member key of org '${String(org).slice(0, 32)}'`,
        );
      }
      return;
    }
    if (opts.keysOnly)
      throw new NodeError('FORBIDDEN', 'API tokens cannot manage tokens: sign with a member key of the org');
    if (principal.org !== org) throw new NodeError('FORBIDDEN', 'this API token belongs to another org');
    const scope = opts.scope ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');
    if (!principal.scopes.includes(scope))
      throw new NodeError('FORBIDDEN', `this API token lacks the '${scope}' scope`);
  };
}

/**
 * Authorizes a current member key of any org, or an API token of any org with `scope`: routes that
 * serve members of the consortium as such (overdue requests: `read`; the snapshot and whole blocks
 * a peer replicates: `replica`).
 */
export function anyMember(scope: TokenScope = 'read'): Authorize {
  return (principal, _request, node) => {
    if (principal.kind === 'signature') {
      if (memberOfKey(node, principal.did) === undefined) {
        throw new NodeError('FORBIDDEN', 'expected a signature by a current member key of the consortium');
      }
      return;
    }
    if (!principal.scopes.includes(scope))
      throw new NodeError('FORBIDDEN', `this API token lacks the '${scope}' scope`);
  };
}

/** The member org of an authenticated request (a member key's org, or the token's). */
export function memberOrgOf(request: FastifyRequest, node: CustosNode): string | undefined {
  const p = principalOf(request);
  if (p === undefined) return undefined;
  return p.kind === 'token' ? p.org : memberOfKey(node, p.did);
}
