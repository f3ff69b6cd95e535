/**
 * Ed25519 (RFC 8032) behind small `Signer` / `Verifier` interfaces, so the node can plug in
 * native node:crypto and the browser uses @noble/curves. Both are synchronous.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe } from '../bytes.js';
import { ProtocolError } from '../errors.js';

/** Verifies Ed25519 signatures. Returns false for any invalid input; never throws on bad signatures. */
export interface Verifier {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** Holds one private key and signs with it. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export const PUBLIC_KEY_LENGTH = 32;
export const SECRET_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

export function assertLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new ProtocolError('BAD_KEY', `expected ${length}-byte ${what}, got ${describe(bytes)}`);
  }
}

/** Pure-JS verifier (@noble/curves), for the browser and as a reference. RFC 8032 strict (ZIP-215 off). */
export const nobleVerifier: Verifier = {
  verify(publicKey, message, signature) {
    if (publicKey.length !== PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

/** Pure-JS signer over a 32-byte secret key (RFC 8032 seed). */
export function nobleSigner(secretKey: Uint8Array): Signer {
  assertLength(secretKey, SECRET_KEY_LENGTH, 'Ed25519 secret key');
  const sk = secretKey.slice();
  const publicKey = ed25519.getPublicKey(sk);
  return { publicKey, sign: (message) => ed25519.sign(message, sk) };
}

/** A fresh random 32-byte secret key (uses the platform CSPRNG). */
export function randomSecretKey(): Uint8Array {
  return ed25519.utils.randomSecretKey();
}

/** The public key of a secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  assertLength(secretKey, SECRET_KEY_LENGTH, 'Ed25519 secret key');
  return ed25519.getPublicKey(secretKey);
}
