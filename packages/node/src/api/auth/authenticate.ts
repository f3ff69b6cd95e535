/**
 * Who sent a request: the did:key of an RFC 9421 signature (checked with the protocol's
 * `verifyRequest`, the node's native Ed25519 and a replay cache), or the org of an API token.
 * Failures are NodeErrors with the codes of the registry: UNAUTHENTICATED, SIGNATURE_EXPIRED,
 * REPLAYED_REQUEST (and RATE_LIMITED when the replay cache is full).
 */
import { HTTP_SIGNATURE_COMPONENTS, type HttpSignatureFailure, verifyRequest } from '@custos/protocol/http';
import type { FastifyRequest } from 'fastify';
import { nativeVerifier } from '../../crypto/native.js';
import { NodeError } from '../../errors.js';
import type { CustosNode } from '../../node.js';
import { type TokenScope, tokenStoreOf } from '../../orgs/tokens.js';
import { clientKey } from '../limits.js';
import { authoritiesOf } from './authority.js';
import { ReplayCache } from './replay-cache.js';

export type Principal =
  | { kind: 'signature'; did: string; expires: number; nonce: string }
  | { kind: 'token'; org: string; scopes: TokenScope[]; tokenId: string };

const replayCaches = new WeakMap<CustosNode, ReplayCache>();

/** The replay cache of a node (one per node, shared by every server on it). */
export function replayCacheOf(node: CustosNode): ReplayCache {
  let c = replayCaches.get(node);
  if (c === undefined) {
    c = new ReplayCache();
    replayCaches.set(node, c);
  }
  return c;
}

/** True if the request carries content: its signature must then cover `content-digest`. */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return request.headers['transfer-encoding'] !== undefined;
}

/** True if the request has credentials of some kind (a signature or a bearer token). */
export function hasCredentials(request: FastifyRequest, tokens: boolean): boolean {
  const h = request.headers;
  return h['signature-input'] !== undefined || h.signature !== undefined || (tokens && h.authorization !== undefined);
}

const REASON_TEXT: Record<HttpSignatureFailure, string> = {
  missing: 'no signature',
  malformed: 'malformed signature',
  unsupported: 'unsupported signature',
  incomplete: 'signature does not cover what it must',
  expired: 'signature expired',
  'not-yet-valid': 'signature not yet valid',
  'window-too-long': 'signature validity window too long',
  'bad-key': 'signature keyid is not an Ed25519 did:key',
  'bad-signature': 'signature does not verify',
  'digest-mismatch': 'body does not match its Content-Digest',
};

/**
 * Verifies the RFC 9421 signature of a request (everything but the body, whose digest is checked
 * once it has been read: see the guard's preValidation), including that its `@authority` is one of
 * this node's. The nonce is not recorded here: call `recordNonce` once the key is authorized, so
 * that requests the route refuses cannot fill the replay cache (trust #14).
 */
export function authenticateSignature(request: FastifyRequest, _node: CustosNode, now = Date.now()): Principal {
  const host = (request.headers.host ?? '').toLowerCase();
  const bound = authoritiesOf(request.server);
  if (bound !== undefined && !bound.has(host)) {
    throw new NodeError(
      'UNAUTHENTICATED',
      `signature is for another node: expected @authority ${[...bound].slice(0, 3).join(' or ')}${bound.size > 3 ? ' (or another name of this node)' : ''}, got '${host.slice(0, 100)}'; sign for the address you send to`,
      { details: { reason: 'wrong-authority' } },
    );
  }
  const v = verifyRequest(
    { method: request.method, url: `${request.protocol}://${host}${request.url}`, headers: request.headers },
    {
      now,
      verifier: nativeVerifier,
      requiredComponents: [...HTTP_SIGNATURE_COMPONENTS, ...(hasBody(request) ? ['content-digest'] : [])],
    },
  );
  if (!v.ok) {
    const { reason, message } = v.error;
    const code = reason === 'expired' || reason === 'not-yet-valid' ? 'SIGNATURE_EXPIRED' : 'UNAUTHENTICATED';
    const detail =
      reason === 'missing'
        ? 'expected a request signed with RFC 9421 HTTP Message Signatures (Signature-Input and Signature) by an Ed25519 did:key; see docs/api.md#authentication'
        : `${REASON_TEXT[reason]}: ${message}`;
    throw new NodeError(code, detail, { details: { reason } });
  }
  const { keyid, nonce, expires } = v.value;
  return { kind: 'signature', did: keyid, expires, nonce: nonce ?? '' };
}

/** Records the nonce of an authenticated, authorized signature; refuses a replay. Tokens have none. */
export function recordNonce(request: FastifyRequest, node: CustosNode, principal: Principal, now = Date.now()): void {
  if (principal.kind !== 'signature') return;
  const r = replayCacheOf(node).check(
    principal.did,
    principal.nonce,
    principal.expires * 1000,
    now,
    clientKey(request),
  );
  switch (r) {
    case 'replayed':
      throw new NodeError('REPLAYED_REQUEST', 'a request with this signature nonce was already received; sign again');
    case 'client-full':
      throw new NodeError(
        'RATE_LIMITED',
        'too many signed requests from this client within one validity window; retry shortly',
      );
    case 'full':
      throw new NodeError('RATE_LIMITED', 'too many signed requests within one validity window; retry shortly');
  }
}

const BEARER = /^Bearer +(\S+) *$/i;

/** Checks an `Authorization: Bearer <token>` org API token. */
export function authenticateToken(request: FastifyRequest, node: CustosNode, now = Date.now()): Principal {
  const m = BEARER.exec(request.headers.authorization ?? '');
  if (!m)
    throw new NodeError('UNAUTHENTICATED', "expected 'Authorization: Bearer custos_...' or an RFC 9421 signature");
  const r = tokenStoreOf(node).check(m[1]!, now);
  if (!r.ok) {
    const detail = {
      malformed: 'expected an API token of the form custos_<id>_<secret>',
      unknown: 'unknown API token',
      expired: `API token ${r.token?.id ?? ''} expired`,
      revoked: `API token ${r.token?.id ?? ''} was revoked`,
    }[r.reason];
    throw new NodeError('UNAUTHENTICATED', detail, { details: { reason: `token-${r.reason}` } });
  }
  return { kind: 'token', org: r.token.org, scopes: r.token.scopes, tokenId: r.token.id };
}

/** The member org a key belongs to now (from the ledger state, so key rotation applies at once). */
export function memberOfKey(node: CustosNode, did: string): string | undefined {
  const v = node.store.getState(`memberkey/${did}`);
  if (v === undefined) return undefined;
  const id = JSON.parse(v) as unknown;
  return typeof id === 'string' ? id : undefined;
}
