/**
 * SHA-256 (FIPS 180-4) for the whole protocol. Defaults to @noble/hashes so it runs in the
 * browser; the node installs native node:crypto with `setSha256` (several times faster on
 * small inputs such as the 65-byte Merkle node preimages).
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export type Sha256 = (data: Uint8Array) => Uint8Array;

let impl: Sha256 = (data) => nobleSha256(data);

/** SHA-256 of `data` (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  return impl(data);
}

/** Replaces the SHA-256 implementation (the node installs node:crypto). Must be a correct SHA-256. */
export function setSha256(fn: Sha256): void {
  impl = fn;
}
