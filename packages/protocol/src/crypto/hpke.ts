/**
 * HPKE (RFC 9180, base mode) for the customer's corrections (ADR 0018): DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, AES-256-GCM, through `@hpke/core` (WebCrypto only), so the node, the SDK and the
 * browser run the same code. An envelope is sealed to one org's published key, bound by its
 * additional data to the chain, the org, the customer's pairwise pseudonym towards it, the record
 * and the key id: it opens nowhere else.
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { fromBase64url, toBase64url } from '../b64.js';
import { describe, fromUtf8, toHex, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import { canonicalBytes, canonicalize, type JsonValue } from '../jcs.js';

/** The suite's name, as the ledger and the docs write it. */
export const HPKE_SUITE = 'DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM';
export const HPKE_KEY_LENGTH = 32;
/** `info` of every envelope (RFC 9180 section 5.1): the application and its version. */
export const RECTIFY_INFO = 'custos/rectify/v1';
/** Bound on a sealed value's canonical JSON, before encryption. */
export const MAX_RECTIFY_VALUE_BYTES = 8 * 1024;
/** Bound on an envelope's canonical JSON (the inbox refuses more). */
export const MAX_ENVELOPE_BYTES = 16 * 1024;

let suiteInstance: CipherSuite | undefined;
/** The one cipher suite (shared with the data export, `data-export.ts`). */
export function suite(): CipherSuite {
  suiteInstance ??= new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  return suiteInstance;
}

/** A fresh ArrayBuffer of exactly these bytes (a Node Buffer may be a view into a larger pool). */
export const copy = (b: Uint8Array): ArrayBuffer => Uint8Array.from(b).buffer;

export interface HpkeKeyPair {
  /** X25519 public key, 32 bytes (what goes on the ledger). */
  publicKey: Uint8Array;
  /** X25519 private key, 32 bytes (encrypted at rest by its holder). */
  privateKey: Uint8Array;
}

/** A fresh X25519 key pair for HPKE. */
export async function generateHpkeKeyPair(): Promise<HpkeKeyPair> {
  const s = suite();
  const kp = await s.kem.generateKeyPair();
  return {
    publicKey: new Uint8Array(await s.kem.serializePublicKey(kp.publicKey)),
    privateKey: new Uint8Array(await s.kem.serializePrivateKey(kp.privateKey)),
  };
}

/** The id of an HPKE public key: the first 16 hex digits of its SHA-256. */
export function hpkeKeyId(publicKey: Uint8Array): string {
  if (publicKey.length !== HPKE_KEY_LENGTH) {
    throw new ProtocolError('BAD_KEY', `expected a ${HPKE_KEY_LENGTH}-byte X25519 public key, got ${publicKey.length}`);
  }
  return toHex(sha256(publicKey)).slice(0, 16);
}

/** What an envelope is bound to: anything else fails to open it. */
export interface RectifyContext {
  chainId: string;
  /** The org it is sealed to. */
  org: string;
  /** The customer's pairwise pseudonym towards that org. */
  subject: string;
  /** The record being corrected (its id on the ledger). */
  record: string;
}

/** A sealed correction: `enc` (the encapsulated key) and `ct`, base64url; `kid` names the org's key. */
export interface RectifyEnvelope {
  v: 1;
  kid: string;
  enc: string;
  ct: string;
}

function aadOf(ctx: RectifyContext, kid: string): Uint8Array {
  return canonicalBytes({
    type: RECTIFY_INFO,
    chainId: ctx.chainId,
    org: ctx.org,
    subject: ctx.subject,
    record: ctx.record,
    kid,
  });
}

/** Seals `value` (JSON, at most 8 KiB canonical) to the org's HPKE public key, bound to `ctx`. */
export async function sealRectification(
  publicKey: Uint8Array,
  ctx: RectifyContext,
  value: JsonValue,
): Promise<RectifyEnvelope> {
  const kid = hpkeKeyId(publicKey);
  const plain = utf8(canonicalize(value));
  if (plain.length > MAX_RECTIFY_VALUE_BYTES) {
    throw new ProtocolError(
      'BAD_JSON',
      `expected a value of at most ${MAX_RECTIFY_VALUE_BYTES} bytes as canonical JSON, got ${plain.length}`,
    );
  }
  const s = suite();
  let recipientPublicKey: CryptoKey;
  try {
    recipientPublicKey = await s.kem.deserializePublicKey(copy(publicKey));
  } catch (cause) {
    throw new ProtocolError('BAD_KEY', 'expected an X25519 public key', { cause });
  }
  const { ct, enc } = await s.seal(
    { recipientPublicKey, info: copy(utf8(RECTIFY_INFO)) },
    copy(plain),
    copy(aadOf(ctx, kid)),
  );
  return { v: 1, kid, enc: toBase64url(new Uint8Array(enc)), ct: toBase64url(new Uint8Array(ct)) };
}

/** Checks an envelope's shape and bounds; returns it typed, or throws BAD_CIPHERTEXT saying what was expected. */
export function parseRectifyEnvelope(v: unknown): RectifyEnvelope {
  const bad = (what: string) => new ProtocolError('BAD_CIPHERTEXT', `expected ${what}, got ${describe(v)}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('an envelope {v, kid, enc, ct}');
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'ct,enc,kid,v' || o.v !== 1) throw bad('an envelope with exactly v: 1, kid, enc and ct');
  if (typeof o.kid !== 'string' || !/^[0-9a-f]{16}$/.test(o.kid)) throw bad('kid as 16 hex digits');
  if (typeof o.enc !== 'string' || o.enc.length !== 43) throw bad('enc as 32 bytes of base64url');
  if (typeof o.ct !== 'string' || o.ct.length < 22 || o.ct.length > (MAX_ENVELOPE_BYTES * 4) / 3) {
    throw bad(`ct as base64url of at most ${MAX_ENVELOPE_BYTES} bytes`);
  }
  return { v: 1, kid: o.kid, enc: o.enc, ct: o.ct };
}

/** SHA-256 (hex) of the envelope's canonical JSON: what `rectify.send` commits to on the ledger. */
export function envelopeDigest(env: RectifyEnvelope): string {
  return toHex(sha256(canonicalBytes(env)));
}

/**
 * Opens an envelope with the org's private key; throws BAD_CIPHERTEXT if it was sealed to another
 * key or context, or altered. The value comes back as parsed JSON.
 */
export async function openRectification(
  privateKey: Uint8Array,
  env: RectifyEnvelope,
  ctx: RectifyContext,
): Promise<JsonValue> {
  const s = suite();
  let plain: ArrayBuffer;
  try {
    const recipientKey = await s.kem.deserializePrivateKey(copy(privateKey));
    plain = await s.open(
      { recipientKey, enc: copy(fromBase64url(env.enc, 32)), info: copy(utf8(RECTIFY_INFO)) },
      copy(fromBase64url(env.ct)),
      copy(aadOf(ctx, env.kid)),
    );
  } catch (cause) {
    throw new ProtocolError(
      'BAD_CIPHERTEXT',
      'the envelope does not open: sealed to another key, org, customer, record or chain, or altered',
      { cause },
    );
  }
  try {
    return JSON.parse(fromUtf8(new Uint8Array(plain))) as JsonValue;
  } catch (cause) {
    throw new ProtocolError('BAD_CIPHERTEXT', 'expected the opened envelope to hold JSON', { cause });
  }
}
