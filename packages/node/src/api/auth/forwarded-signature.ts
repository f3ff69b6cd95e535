/**
 * The customer's signature of their data export's download, forwarded by the member's peer that
 * relays it to the org's node (`orgs/export-relay.ts`, ADR 0021). A subject's signature is bound
 * to the address it was sent to (`@authority`); this is the one place a node accepts one made for
 * another peer: only brought by a current member key of the consortium, only for the download of
 * that subject's own export, within the signature's window and once (its nonce is recorded here).
 */
import { HTTP_SIGNATURE_COMPONENTS, targetParts, verifyRequest } from '@custos/protocol/http';
import type { DataRequest } from '@custos/protocol/ledger';
import type { FastifyRequest } from 'fastify';
import { nativeVerifier } from '../../crypto/native.js';
import { NodeError } from '../../errors.js';
import type { CustosNode } from '../../node.js';
import { FORWARDED_SIGNATURE_HEADERS, type ForwardedSignature, MAX_FORWARDED_HEADER } from '../../orgs/export-relay.js';
import { clientKey } from '../limits.js';
import { replayCacheOf } from './authenticate.js';

/** The forwarded form of the subject's signed request this peer received. */
export function forwardedSignatureOf(request: FastifyRequest): ForwardedSignature {
  const h = request.headers;
  return {
    [FORWARDED_SIGNATURE_HEADERS.input]: String(h['signature-input'] ?? ''),
    [FORWARDED_SIGNATURE_HEADERS.signature]: String(h.signature ?? ''),
    [FORWARDED_SIGNATURE_HEADERS.target]: `${request.protocol}://${(h.host ?? '').toLowerCase()}${request.url}`,
  } as ForwardedSignature;
}

/**
 * On the org's node: checks the customer's forwarded signature of their download of `requestId`
 * at `org` (`GET`), or of their confirmation that they have it (`DELETE`), and returns the subject.
 * The signature must verify (RFC 9421, within its window), be by the subject of the request on the
 * ledger, be for `<method> /v1/subjects/<subject>/exports/<request>`, and its nonce must not have
 * been seen here: one signature, one download or confirmation.
 */
export function checkForwardedSignature(
  node: CustosNode,
  request: FastifyRequest,
  org: string,
  requestId: string,
  method: 'GET' | 'DELETE' = 'GET',
  now = Date.now(),
): string {
  const h = request.headers;
  const get = (name: string): string => {
    const v = h[name];
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FORWARDED_HEADER) {
      const all = Object.values(FORWARDED_SIGNATURE_HEADERS).join(', ');
      throw new NodeError(
        'UNAUTHENTICATED',
        `expected the customer's signature of their download, forwarded in ${all} (each at most ${MAX_FORWARDED_HEADER} characters); '${name}' is missing or too long`,
      );
    }
    return v;
  };
  const target = get(FORWARDED_SIGNATURE_HEADERS.target);
  const v = verifyRequest(
    {
      method,
      url: target,
      headers: {
        'signature-input': get(FORWARDED_SIGNATURE_HEADERS.input),
        signature: get(FORWARDED_SIGNATURE_HEADERS.signature),
      },
    },
    { now, verifier: nativeVerifier, requiredComponents: HTTP_SIGNATURE_COMPONENTS },
  );
  if (!v.ok) {
    const code =
      v.error.reason === 'expired' || v.error.reason === 'not-yet-valid' ? 'SIGNATURE_EXPIRED' : 'UNAUTHENTICATED';
    throw new NodeError(code, `the customer's forwarded signature: ${v.error.message}`);
  }
  const text = node.store.getState(`request/${org}/${requestId}`);
  const subject = text === undefined ? undefined : (JSON.parse(text) as DataRequest).subject;
  let path: string;
  try {
    path = targetParts(target).path.split('/').map(decodeURIComponent).join('/');
  } catch {
    path = '';
  }
  if (subject === undefined || v.value.keyid !== subject || path !== `/v1/subjects/${subject}/exports/${requestId}`) {
    throw new NodeError(
      'FORBIDDEN',
      `expected the signature of the subject of request ${requestId} for ${method} /v1/subjects/<their did>/exports/${requestId}`,
    );
  }
  const nonce = v.value.nonce ?? '';
  const seen = replayCacheOf(node).check(subject, nonce, v.value.expires * 1000, now, clientKey(request));
  if (nonce === '' || seen === 'replayed') {
    throw new NodeError('REPLAYED_REQUEST', "the customer's forwarded signature was used already; sign again");
  }
  if (seen !== 'fresh')
    throw new NodeError('RATE_LIMITED', 'too many signed requests within one validity window; retry shortly');
  return subject;
}
