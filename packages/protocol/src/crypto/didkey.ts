/**
 * did:key for Ed25519 public keys (W3C did:key method, multicodec 0xed01, multibase base58btc 'z').
 * Every signer on a Custos chain is named by one: `did:key:z6Mk...`.
 */
import { base58 } from '@scure/base';
import { describe, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { assertLength, PUBLIC_KEY_LENGTH } from './ed25519.js';

const PREFIX = 'did:key:z';
/** Varint of multicodec 0xed (ed25519-pub). */
const ED25519_PUB = [0xed, 0x01] as const;
/** A did:key of a 32-byte key is always 56 characters long; bound the input before decoding it. */
const MAX_DID_LENGTH = 128;
/**
 * The encodings of the eight Ed25519 points of small order (the two with x = 0 also with the sign
 * bit set, which RFC 8032 section 5.1.3 decoding rejects). node:crypto (OpenSSL) accepts a trivial
 * signature by such a key on any message, so anyone could sign as it; @noble/curves rejects it.
 */
const SMALL_ORDER_KEYS = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
]);

/** did:key of an Ed25519 public key. Throws `BAD_KEY` on a non-canonical or small-order key. */
export function didFromPublicKey(publicKey: Uint8Array): string {
  assertLength(publicKey, PUBLIC_KEY_LENGTH, 'Ed25519 public key');
  const weak = ed25519KeyWeakness(publicKey);
  if (weak !== null) throw new ProtocolError('BAD_KEY', `expected an Ed25519 public key, got ${weak}`);
  const bytes = new Uint8Array(2 + PUBLIC_KEY_LENGTH);
  bytes[0] = ED25519_PUB[0];
  bytes[1] = ED25519_PUB[1];
  bytes.set(publicKey, 2);
  return PREFIX + base58.encode(bytes);
}

/**
 * Ed25519 public key of a did:key. Throws `BAD_DID` on another method, encoding, multicodec or
 * length, and on keys that are not canonical encodings or have small order (see SMALL_ORDER_KEYS).
 */
export function publicKeyFromDid(did: string): Uint8Array {
  if (typeof did !== 'string' || did.length > MAX_DID_LENGTH) {
    throw new ProtocolError(
      'BAD_DID',
      `expected a did:key string of at most ${MAX_DID_LENGTH} characters, got ${describe(did)}`,
    );
  }
  if (!did.startsWith(PREFIX)) {
    throw new ProtocolError('BAD_DID', "expected a did:key with base58btc multibase ('did:key:z...')");
  }
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(did.slice(PREFIX.length));
  } catch (cause) {
    throw new ProtocolError('BAD_DID', 'expected base58btc after did:key:z', { cause });
  }
  if (bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1]) {
    throw new ProtocolError(
      'BAD_DID',
      `expected multicodec ed25519-pub (0xed01), got 0x${hex2(bytes[0])}${hex2(bytes[1])}`,
    );
  }
  if (bytes.length !== 2 + PUBLIC_KEY_LENGTH) {
    throw new ProtocolError(
      'BAD_DID',
      `expected a ${PUBLIC_KEY_LENGTH}-byte Ed25519 key, got ${bytes.length - 2} bytes`,
    );
  }
  const key = bytes.slice(2);
  const weak = ed25519KeyWeakness(key);
  if (weak !== null) throw new ProtocolError('BAD_DID', `expected an Ed25519 public key, got ${weak}`);
  return key;
}

/** True if `did` decodes to an Ed25519 did:key. */
export function isDidKey(did: unknown): did is string {
  try {
    publicKeyFromDid(did as string);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a 32-byte key must not name a signer: a y coordinate of p = 2^255 - 19 or more (a second
 * encoding of another key, RFC 8032 section 5.1.3 says decoding fails) or a point of small order.
 */
export function ed25519KeyWeakness(key: Uint8Array): string | null {
  let yAtLeastP = ((key[31] as number) & 0x7f) === 0x7f && (key[0] as number) >= 0xed;
  for (let i = 1; i < 31 && yAtLeastP; i++) yAtLeastP = key[i] === 0xff;
  if (yAtLeastP) return 'a non-canonical encoding (y >= 2^255 - 19)';
  if (SMALL_ORDER_KEYS.has(toHex(key))) return 'a point of small order';
  return null;
}

function hex2(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, '0');
}
