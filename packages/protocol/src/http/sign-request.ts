/**
 * Signs an HTTP request as a Custos client (a customer's wallet, an org's console, the CLI):
 * RFC 9421 with Ed25519, the signer's did:key as `keyid`, a short validity window and a random
 * nonce, and an RFC 9530 Content-Digest when the request has a body. Runs in the browser.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { toBase64url } from '../b64.js';
import { utf8 } from '../bytes.js';
import { didFromPublicKey } from '../crypto/didkey.js';
import type { Signer } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { signatureBase, signatureParamsValue } from './rfc9421.js';
import { contentDigest } from './rfc9530.js';
import { serializeBareItem } from './structured-fields.js';

/** The RFC 9421 algorithm name of Ed25519 (section 3.3.6). */
export const HTTP_SIGNATURE_ALG = 'ed25519';
/** Default label of a Custos signature in Signature-Input and Signature. */
export const HTTP_SIGNATURE_LABEL = 'sig';
/** Components every Custos signature covers; `content-digest` is added when there is a body. */
export const HTTP_SIGNATURE_COMPONENTS = ['@method', '@authority', '@path', '@query'] as const;
/** Longest validity window (`expires - created`) a Custos node accepts, in seconds. */
export const MAX_HTTP_SIGNATURE_VALIDITY_S = 60;
/** Default validity window of a signature made here, in seconds. */
export const DEFAULT_HTTP_SIGNATURE_VALIDITY_S = 30;

export interface SignableRequest {
  method: string;
  /** Absolute URL; normalized as `fetch` sends it (WHATWG URL) before signing. */
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

export interface SignRequestOptions {
  /** Wall clock in ms. Default `Date.now()`. */
  now?: number;
  /** `expires - created`, 1 to 60 seconds. Default 30. */
  validitySeconds?: number;
  /** Default 16 random bytes, base64url. */
  nonce?: string;
  /** Default `sig`. */
  label?: string;
}

/** Header fields to add to the request. `Content-Digest` is set when the request has a body. */
export interface SignatureHeaders {
  'Signature-Input': string;
  Signature: string;
  'Content-Digest'?: string;
}

/**
 * Signs `request` with `signer`: covers `@method`, `@authority`, `@path`, `@query` and, with a
 * body, `content-digest`; parameters `created`, `expires`, `nonce`, `alg="ed25519"`, `keyid`.
 *
 * @example
 * const headers = signRequest({ method: 'GET', url: `${node}/v1/subjects/${did}/report` }, signer);
 * await fetch(url, { headers });
 */
export function signRequest(request: SignableRequest, signer: Signer, opts: SignRequestOptions = {}): SignatureHeaders {
  const validity = opts.validitySeconds ?? DEFAULT_HTTP_SIGNATURE_VALIDITY_S;
  if (!Number.isInteger(validity) || validity < 1 || validity > MAX_HTTP_SIGNATURE_VALIDITY_S) {
    throw new ProtocolError(
      'BAD_SIGNATURE',
      `expected a validity of 1 to ${MAX_HTTP_SIGNATURE_VALIDITY_S} seconds, got ${String(validity)}`,
    );
  }
  const label = opts.label ?? HTTP_SIGNATURE_LABEL;
  if (!/^[a-z*][a-z0-9_.*-]{0,63}$/.test(label))
    throw new ProtocolError('BAD_SIGNATURE', 'expected a label of a-z0-9_.*-');
  let url: string;
  try {
    url = new URL(request.url).href;
  } catch (cause) {
    throw new ProtocolError('BAD_SIGNATURE', 'expected an absolute request URL', { cause });
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;
  const components: string[] = [...HTTP_SIGNATURE_COMPONENTS];
  const out: Partial<SignatureHeaders> = {};
  if (request.body !== undefined) {
    const digest = contentDigest(typeof request.body === 'string' ? utf8(request.body) : request.body);
    headers['content-digest'] = digest;
    out['Content-Digest'] = digest;
    components.push('content-digest');
  }
  const created = Math.floor((opts.now ?? Date.now()) / 1000);
  const params = {
    created,
    expires: created + validity,
    nonce: opts.nonce ?? toBase64url(randomBytes(16)),
    alg: HTTP_SIGNATURE_ALG,
    keyid: didFromPublicKey(signer.publicKey),
  };
  const base = signatureBase(components, params, { method: normalizeMethod(request.method), url, headers });
  const signature = signer.sign(utf8(base));
  return {
    'Signature-Input': `${label}=${signatureParamsValue(components, params)}`,
    Signature: `${label}=${serializeBareItem(signature)}`,
    ...out,
  };
}

/** The method as `fetch` sends it: the six standard ones upper-cased, any other unchanged. */
function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : method;
}
