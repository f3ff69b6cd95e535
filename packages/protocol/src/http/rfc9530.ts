/**
 * RFC 9530 Content-Digest with sha-256: the digest of a request's content, which an HTTP message
 * signature covers so that the signature also protects the body.
 */
import { equalBytes, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import { isInnerList, parseDictionary, serializeBareItem } from './structured-fields.js';

/** The only algorithm Custos sends and checks (RFC 9530 section 5: "sha-256", standard). */
export const CONTENT_DIGEST_ALGORITHM = 'sha-256';

function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? utf8(body) : body;
}

/**
 * The Content-Digest field value of `body`.
 *
 * @example
 * contentDigest('{"hello": "world"}') // 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
 */
export function contentDigest(body: Uint8Array | string): string {
  return `${CONTENT_DIGEST_ALGORITHM}=${serializeBareItem(sha256(bodyBytes(body)))}`;
}

/** The sha-256 digest a Content-Digest field value carries. Throws `BAD_ENCODING` if it has none. */
export function contentDigestSha256(fieldValue: string): Uint8Array {
  const d = parseDictionary(fieldValue);
  const m = d.get(CONTENT_DIGEST_ALGORITHM);
  if (m === undefined || isInnerList(m) || !(m.value instanceof Uint8Array) || m.value.length !== 32) {
    throw new ProtocolError('BAD_ENCODING', 'expected Content-Digest with a 32-byte sha-256 member');
  }
  return m.value;
}

/**
 * True if the Content-Digest field value holds the sha-256 of `body` (given as bytes, or as its
 * already computed 32-byte SHA-256 with `{ sha256 }`). Other algorithms in the field are ignored,
 * as RFC 9530 section 2 allows; sha-256 must be among them.
 */
export function checkContentDigest(fieldValue: string, body: Uint8Array | string | { sha256: Uint8Array }): boolean {
  let claimed: Uint8Array;
  try {
    claimed = contentDigestSha256(fieldValue);
  } catch {
    return false;
  }
  const actual = typeof body === 'object' && !(body instanceof Uint8Array) ? body.sha256 : sha256(bodyBytes(body));
  return equalBytes(claimed, actual);
}
