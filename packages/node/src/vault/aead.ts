/**
 * Sealed boxes for the vault and its KMS: AES-256-GCM (NIST SP 800-38D) with a fresh random 96-bit
 * nonce per seal. Layout: version (1 byte) || nonce (12) || ciphertext || tag (16); the version byte
 * is authenticated together with the caller's additional data (AAD).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const HEADER = Buffer.from([VERSION]);
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
/** Bytes a sealed box adds to its plaintext. */
export const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new TypeError(
      `expected a ${KEY_BYTES}-byte AES-256 key, got ${key instanceof Uint8Array ? key.length : typeof key}`,
    );
  }
}

/** Encrypts `plaintext` under `key`, binding `aad`. A random nonce: two seals of the same input differ. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.concat([HEADER, aad]));
  return Buffer.concat([HEADER, nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/**
 * Decrypts a sealed box; `null` unless it was sealed under `key` with the same `aad` and not
 * altered since (wrong key, wrong AAD, truncation, flipped bits and unknown versions all give null).
 */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  checkKey(key);
  if (!(sealed instanceof Uint8Array) || sealed.length < SEAL_OVERHEAD || sealed[0] !== VERSION) return null;
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
  const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([HEADER, aad]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
}
