/**
 * Verifies an RFC 9421 HTTP message signature on a request (section 3.2) under the Custos policy:
 * Ed25519 only, required covered components, `created`/`expires` within a bounded window, a
 * nonce, and, for a request with a body, a covered RFC 9530 Content-Digest that matches it.
 * Every header is attacker-controlled: each failure is a value with a reason from a closed list.
 * Replay (a nonce seen before) is the caller's check: it needs state this function does not keep.
 */
import { utf8 } from '../bytes.js';
import { publicKeyFromDid } from '../crypto/didkey.js';
import { nobleVerifier, SIGNATURE_LENGTH, type Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { fieldValue, type HttpRequestMessage, signatureBase } from './rfc9421.js';
import { checkContentDigest } from './rfc9530.js';
import {
  HTTP_SIGNATURE_ALG,
  HTTP_SIGNATURE_COMPONENTS,
  HTTP_SIGNATURE_LABEL,
  MAX_HTTP_SIGNATURE_VALIDITY_S,
} from './sign-request.js';
import { isInnerList, parseDictionary, type SfDictionary, type SfParams } from './structured-fields.js';

/** Why a request signature was refused. */
export const HTTP_SIGNATURE_FAILURES = [
  /** No Signature-Input or Signature field. */
  'missing',
  /** The fields do not parse, or a parameter has the wrong type. */
  'malformed',
  /** Another algorithm, or a component this implementation does not compute. */
  'unsupported',
  /** A component or parameter the policy requires is not covered. */
  'incomplete',
  /** `expires` has passed. */
  'expired',
  /** `created` is later than now plus the allowed clock skew. */
  'not-yet-valid',
  /** `expires - created` is longer than the policy allows. */
  'window-too-long',
  /** `keyid` does not name a usable key. */
  'bad-key',
  /** The signature does not verify over the signature base. */
  'bad-signature',
  /** The Content-Digest does not match the body. */
  'digest-mismatch',
] as const;
export type HttpSignatureFailure = (typeof HTTP_SIGNATURE_FAILURES)[number];

/** A refused request signature: `BAD_SIGNATURE` (or `BAD_KEY`), with the precise `reason`. */
export class HttpSignatureError extends ProtocolError {
  override readonly name: string = 'HttpSignatureError';
  readonly reason: HttpSignatureFailure;
  constructor(reason: HttpSignatureFailure, message: string, options: { cause?: unknown } = {}) {
    super(reason === 'bad-key' ? 'BAD_KEY' : 'BAD_SIGNATURE', message, { ...options, details: { reason } });
    this.reason = reason;
  }
}

export interface VerifyRequestOptions {
  /** Wall clock in ms. Default `Date.now()`. */
  now?: number;
  /** Default: the pure-JS verifier; the node passes its native one. */
  verifier?: Verifier;
  /** Which signature to check. Default `sig`, or the only one present. */
  label?: string;
  /** Components that must be covered. Default `@method @authority @path @query`, plus `content-digest` with a body. */
  requiredComponents?: readonly string[];
  /** Longest `expires - created`, seconds. Default 60. */
  maxValiditySeconds?: number;
  /** How far in the future `created` may be, seconds. Default 10. */
  clockSkewSeconds?: number;
  /** Require `expires` and `nonce`. Default true (false only to check the RFC's own examples). */
  requireExpiresAndNonce?: boolean;
  /** The key a `keyid` names. Default: the key of a did:key. */
  publicKeyOf?: (keyid: string) => Uint8Array;
}

/** A request signed as the policy requires. */
export interface VerifiedRequestSignature {
  label: string;
  /** The signer's `keyid`: a did:key with the default `publicKeyOf`. */
  keyid: string;
  publicKey: Uint8Array;
  components: string[];
  created: number;
  /** `created + maxValiditySeconds` when the signature carries no `expires`. */
  expires: number;
  nonce: string | undefined;
}

export type RequestVerification =
  | { ok: true; value: VerifiedRequestSignature }
  | { ok: false; error: HttpSignatureError };

export const DEFAULT_CLOCK_SKEW_S = 10;
const MIN_NONCE = 16;
const MAX_NONCE = 128;

/**
 * Verifies the signature on `request`. Pass `body` (the exact bytes received) to check the
 * Content-Digest too; a caller that hashes the body itself passes `{ sha256 }`. With no `body`
 * and a required `content-digest`, only its coverage is checked here.
 *
 * @example
 * const v = verifyRequest({ method, url, headers }, { verifier });
 * if (!v.ok) return reply.code(401).send(v.error.message);
 * const did = v.value.keyid;
 */
export function verifyRequest(
  request: HttpRequestMessage & { body?: Uint8Array | string | { sha256: Uint8Array } },
  opts: VerifyRequestOptions = {},
): RequestVerification {
  try {
    return { ok: true, value: verify(request, opts) };
  } catch (e) {
    if (e instanceof HttpSignatureError) return { ok: false, error: e };
    // A component the base cannot be built from (absent, unsupported, non-ASCII).
    const message = e instanceof Error ? e.message : 'invalid signature input';
    return { ok: false, error: new HttpSignatureError('malformed', message, { cause: e }) };
  }
}

function refuse(reason: HttpSignatureFailure, message: string, cause?: unknown): never {
  throw new HttpSignatureError(reason, message, cause === undefined ? {} : { cause });
}

function dictionaryField(request: HttpRequestMessage, name: string): SfDictionary | undefined {
  const value = fieldValue(request.headers, name);
  if (value === undefined) return undefined;
  try {
    return parseDictionary(value);
  } catch (cause) {
    refuse('malformed', `cannot parse ${name}: ${(cause as Error).message}`, cause);
  }
}

function verify(
  request: HttpRequestMessage & { body?: Uint8Array | string | { sha256: Uint8Array } },
  opts: VerifyRequestOptions,
): VerifiedRequestSignature {
  const inputs = dictionaryField(request, 'signature-input');
  const signatures = dictionaryField(request, 'signature');
  if (inputs === undefined || signatures === undefined || inputs.size === 0 || signatures.size === 0) {
    refuse('missing', 'expected Signature-Input and Signature header fields (RFC 9421)');
  }
  const label = pickLabel(inputs, opts.label);
  const input = inputs.get(label);
  const sigMember = signatures.get(label);
  if (input === undefined || !isInnerList(input)) {
    refuse('malformed', `expected Signature-Input member '${label}' as an inner list`);
  }
  if (sigMember === undefined) refuse('missing', `expected a Signature member labelled '${label}'`);
  if (isInnerList(sigMember) || !(sigMember.value instanceof Uint8Array)) {
    refuse('malformed', `expected Signature member '${label}' as a byte sequence`);
  }
  if (sigMember.value.length !== SIGNATURE_LENGTH) {
    refuse('malformed', `expected a ${SIGNATURE_LENGTH}-byte Ed25519 signature, got ${sigMember.value.length} bytes`);
  }
  const components: string[] = [];
  for (const item of input.items) {
    if (typeof item.value !== 'string') refuse('malformed', 'expected covered components as strings');
    if (item.params.size > 0) refuse('unsupported', `component parameters are not supported ('${item.value}')`);
    components.push(item.value);
  }

  const params = input.params;
  const created = intParam(params, 'created');
  const expiresParam = intParam(params, 'expires');
  const nonce = stringParam(params, 'nonce');
  const keyid = stringParam(params, 'keyid');
  const alg = stringParam(params, 'alg');
  if (created === undefined) refuse('incomplete', "expected the signature parameter 'created'");
  if (keyid === undefined) refuse('incomplete', "expected the signature parameter 'keyid'");
  if (alg !== undefined && alg !== HTTP_SIGNATURE_ALG) {
    refuse('unsupported', `expected alg="${HTTP_SIGNATURE_ALG}", got a different algorithm`);
  }
  const strict = opts.requireExpiresAndNonce ?? true;
  if (strict && expiresParam === undefined) refuse('incomplete', "expected the signature parameter 'expires'");
  if (strict && nonce === undefined) refuse('incomplete', "expected the signature parameter 'nonce'");
  if (nonce !== undefined && strict && (nonce.length < MIN_NONCE || nonce.length > MAX_NONCE)) {
    refuse('malformed', `expected a nonce of ${MIN_NONCE} to ${MAX_NONCE} characters, got ${nonce.length}`);
  }

  // Time: cheap checks before any cryptography.
  const maxValidity = opts.maxValiditySeconds ?? MAX_HTTP_SIGNATURE_VALIDITY_S;
  const skew = opts.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_S;
  const nowS = (opts.now ?? Date.now()) / 1000;
  const expires = expiresParam ?? created + maxValidity;
  if (expires <= created) refuse('malformed', `expected expires after created, got ${expires} <= ${created}`);
  if (expires - created > maxValidity) {
    refuse('window-too-long', `expected expires - created of at most ${maxValidity} s, got ${expires - created} s`);
  }
  if (created > nowS + skew) {
    refuse(
      'not-yet-valid',
      `signature created ${Math.round(created - nowS)} s in the future (more than ${skew} s of clock skew)`,
    );
  }
  if (nowS >= expires) refuse('expired', `signature expired ${Math.round(nowS - expires)} s ago`);

  const hasBody = request.body !== undefined;
  const required = opts.requiredComponents ?? [...HTTP_SIGNATURE_COMPONENTS, ...(hasBody ? ['content-digest'] : [])];
  for (const c of required) {
    if (!components.includes(c)) refuse('incomplete', `expected the signature to cover '${c}'`);
  }

  let publicKey: Uint8Array;
  try {
    publicKey = (opts.publicKeyOf ?? publicKeyFromDid)(keyid);
  } catch (cause) {
    refuse('bad-key', `keyid does not name an Ed25519 key: ${(cause as Error).message}`, cause);
  }

  let base: string;
  try {
    base = signatureBase(components, params, request);
  } catch (cause) {
    refuse('malformed', (cause as Error).message, cause);
  }
  const verifier = opts.verifier ?? nobleVerifier;
  if (!verifier.verify(publicKey, utf8(base), sigMember.value)) {
    refuse('bad-signature', `signature '${label}' does not verify with the key of its keyid`);
  }

  if (request.body !== undefined) {
    const digest = fieldValue(request.headers, 'content-digest');
    if (!components.includes('content-digest') || digest === undefined) {
      refuse('incomplete', "expected the signature to cover 'content-digest' of the body");
    }
    if (!checkContentDigest(digest, request.body)) {
      refuse('digest-mismatch', 'Content-Digest does not match the body (expected its sha-256)');
    }
  }
  return { label, keyid, publicKey, components, created, expires, nonce };
}

function pickLabel(inputs: SfDictionary, wanted: string | undefined): string {
  if (wanted !== undefined) {
    if (!inputs.has(wanted)) refuse('missing', `expected a signature labelled '${wanted}'`);
    return wanted;
  }
  if (inputs.has(HTTP_SIGNATURE_LABEL)) return HTTP_SIGNATURE_LABEL;
  if (inputs.size === 1) return inputs.keys().next().value as string;
  refuse('malformed', `expected one signature, or one labelled '${HTTP_SIGNATURE_LABEL}'`);
}

function intParam(params: SfParams, name: string): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    refuse('malformed', `expected the signature parameter '${name}' as a non-negative integer`);
  }
  return v;
}

function stringParam(params: SfParams, name: string): string | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') refuse('malformed', `expected the signature parameter '${name}' as a string`);
  return v;
}
