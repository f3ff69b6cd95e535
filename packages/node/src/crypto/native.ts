/**
 * Native Ed25519 and SHA-256 from node:crypto, plugged into the protocol's `Signer` / `Verifier`
 * and hash interfaces. Parsed public keys are cached: building a KeyObject costs about as much as
 * a verification.
 */
import { createPrivateKey, createPublicKey, hash, type KeyObject, sign, verify } from 'node:crypto';
import { ed25519KeyWeakness, type Signer, setSha256, type Verifier } from '@custos/protocol/crypto';
import { installNativeSecp256k1 } from './secp256k1.js';

// DER prefixes of SubjectPublicKeyInfo / PKCS#8 for Ed25519 (RFC 8410), followed by the raw 32 bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const KEY_CACHE_LIMIT = 10_000;
const keyCache = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('latin1');
  let key = keyCache.get(id);
  if (key === undefined) {
    // node:crypto accepts small-order and non-canonical keys (a trivial signature by the identity
    // key verifies on any message); @noble and RFC 8032 decoding do not. Agree with them.
    if (ed25519KeyWeakness(publicKey) !== null) return undefined;
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(id, key);
  }
  return key;
}

/** node:crypto Ed25519 verifier (RFC 8032), with a bounded cache of parsed public keys. */
export const nativeVerifier: Verifier = {
  verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    try {
      const key = publicKeyObject(publicKey);
      return key !== undefined && verify(null, message, key, signature);
    } catch {
      return false;
    }
  },
};

/** node:crypto Ed25519 signer over a 32-byte RFC 8032 secret key. */
export function nativeSigner(secretKey: Uint8Array): Signer {
  if (secretKey.length !== 32) throw new TypeError(`expected 32-byte Ed25519 secret key, got ${secretKey.length}`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  return { publicKey, sign: (message) => new Uint8Array(sign(null, message, key)) };
}

/**
 * Digests are cut from shared slabs, as Node's Buffer pool does for small buffers: asking
 * node:crypto for a Buffer gives every 32-byte digest its own ArrayBuffer, an off-heap
 * allocation the collector tracks, and costs about three times the hash itself on the state
 * tree's 65-byte preimages. A digest as a 'binary' (latin1) string, one char per byte, is a plain heap
 * string, copied into the slab. Slabs are small, so a digest kept long holds little memory.
 */
const SLAB_BYTES = 8192;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/** Native SHA-256, 32 bytes in a shared slab (its own bytes; never detach or transfer its buffer). */
export function nativeSha256(data: Uint8Array): Uint8Array {
  const digest = hash('sha256', data, 'binary');
  if (slabUsed + 32 > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  slab.write(digest, slabUsed, 32, 'latin1');
  const out = new Uint8Array(slab.buffer, slab.byteOffset + slabUsed, 32);
  slabUsed += 32;
  return out;
}

/**
 * Makes the whole protocol package hash with node:crypto, and sign and recover EVM signatures with
 * libsecp256k1 (secp256k1.ts). Call once at start-up.
 */
export function installNativeCrypto(): void {
  setSha256(nativeSha256);
  installNativeSecp256k1();
}
