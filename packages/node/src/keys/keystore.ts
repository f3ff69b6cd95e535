/**
 * Keys at rest: each Ed25519 secret key in its own JSON file, encrypted with AES-256-GCM under a
 * key derived from a passphrase by scrypt (RFC 7914). The public did:key is stored in clear so a
 * file can be identified without the passphrase; it is also bound as additional authenticated data.
 * A member's secp256k1 key for EVM chains (docs/interop.md) is kept the same way, identified and
 * bound by its EVM address instead (`EvmKeystoreFile`).
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { evmAddress } from '@custos/protocol/interop';
import { nativeSigner } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';

export interface KeystoreFile {
  version: 1;
  did: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string; ciphertext: string };
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1 };
const MAX_KEYSTORE_BYTES = 4096;

function deriveKey(passphrase: string, salt: Buffer, p: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFKC'), salt, 32, { ...p, maxmem: 256 * p.N * p.r });
}

/** Encrypts a 32-byte secret key under `passphrase`. */
export function encryptKey(secretKey: Uint8Array, passphrase: string): KeystoreFile {
  const did = didFromPublicKey(nativeSigner(secretKey).publicKey);
  return { version: 1, did, ...seal(secretKey, passphrase, did) };
}

/** Decrypts a keystore file; `WRONG_PASSPHRASE` if the passphrase (or the file) is wrong. */
export function decryptKey(file: KeystoreFile, passphrase: string): Uint8Array {
  return open(file, passphrase, file?.did);
}

/** A member's secp256k1 key for EVM chains at rest; `address` is its EVM address, in clear and bound. */
export interface EvmKeystoreFile {
  version: 1;
  curve: 'secp256k1';
  address: string;
  kdf: KeystoreFile['kdf'];
  cipher: KeystoreFile['cipher'];
}

/** Encrypts a 32-byte secp256k1 secret key under `passphrase`. */
export function encryptEvmKey(secretKey: Uint8Array, passphrase: string): EvmKeystoreFile {
  const address = evmAddress(secretKey);
  return { version: 1, curve: 'secp256k1', address, ...seal(secretKey, passphrase, address) };
}

/**
 * Decrypts an EVM keystore file; `WRONG_PASSPHRASE` if the passphrase (or the file) is wrong,
 * `BAD_KEYSTORE` if the key is not the one of the address the file names.
 */
export function decryptEvmKey(file: EvmKeystoreFile, passphrase: string): Uint8Array {
  if (file?.curve !== 'secp256k1' || typeof file.address !== 'string') {
    throw new NodeError('BAD_KEYSTORE', 'expected a secp256k1 keystore file with its EVM address');
  }
  const sk = open(file, passphrase, file.address);
  if (evmAddress(sk) !== file.address) {
    throw new NodeError('BAD_KEYSTORE', `the key in this file is not the key of ${file.address}`);
  }
  return sk;
}

/** Writes an encrypted EVM keystore (mode 0600); returns the key's EVM address. */
export function writeEvmKeystore(path: string, secretKey: Uint8Array, passphrase: string): string {
  const file = encryptEvmKey(secretKey, passphrase);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return file.address;
}

/** Reads and decrypts an EVM keystore file. */
export function loadEvmKey(path: string, passphrase: string): Uint8Array {
  return decryptEvmKey(readKeystore(path) as unknown as EvmKeystoreFile, passphrase);
}

/** AES-256-GCM under a scrypt key, `aad` (the key's public name) bound. */
function seal(secretKey: Uint8Array, passphrase: string, aad: string): Pick<KeystoreFile, 'kdf' | 'cipher'> {
  if (passphrase.length < 8) throw new NodeError('BAD_REQUEST', 'expected a passphrase of at least 8 characters');
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, salt, SCRYPT), iv);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(secretKey), cipher.final()]);
  return {
    kdf: { name: 'scrypt', ...SCRYPT, salt: salt.toString('base64') },
    cipher: {
      name: 'aes-256-gcm',
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    },
  };
}

function open(file: Pick<KeystoreFile, 'version' | 'kdf' | 'cipher'>, passphrase: string, aad: string): Uint8Array {
  if (file?.version !== 1 || file.kdf?.name !== 'scrypt' || file.cipher?.name !== 'aes-256-gcm') {
    throw new NodeError('BAD_KEYSTORE', 'expected a version 1 scrypt + aes-256-gcm keystore file');
  }
  const { N, r, p } = file.kdf;
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || N > 1 << 20 || r > 32 || p > 16) {
    throw new NodeError('BAD_KEYSTORE', 'expected scrypt parameters N <= 2^20, r <= 32, p <= 16');
  }
  try {
    const key = deriveKey(passphrase, Buffer.from(file.kdf.salt, 'base64'), { N, r, p });
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(file.cipher.iv, 'base64'));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(Buffer.from(file.cipher.tag, 'base64'));
    const sk = Buffer.concat([decipher.update(Buffer.from(file.cipher.ciphertext, 'base64')), decipher.final()]);
    if (sk.length !== 32) throw new Error('bad key length');
    return new Uint8Array(sk);
  } catch (cause) {
    throw new NodeError('WRONG_PASSPHRASE', `cannot decrypt the key of ${aad}: wrong passphrase or damaged file`, {
      cause,
    });
  }
}

export function writeKeystore(path: string, secretKey: Uint8Array, passphrase: string): string {
  const file = encryptKey(secretKey, passphrase);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return file.did;
}

export function readKeystore(path: string): KeystoreFile {
  const text = readBoundedFile(path, {
    what: 'a keystore file',
    maxBytes: MAX_KEYSTORE_BYTES,
    code: 'BAD_KEYSTORE',
  }).toString('utf8');
  try {
    return JSON.parse(text) as KeystoreFile;
  } catch (cause) {
    throw new NodeError('BAD_KEYSTORE', `expected JSON in keystore file ${path}`, { cause });
  }
}

/**
 * Loads a signer from an encrypted keystore file; a wrong passphrase names the file (and `owner`,
 * e.g. "org 'bank'", when given) and where the passphrase came from.
 */
export function loadSigner(path: string, passphrase: string, owner?: string): Signer {
  const file = readKeystore(path);
  try {
    return nativeSigner(decryptKey(file, passphrase));
  } catch (e) {
    if (e instanceof NodeError && e.code === 'WRONG_PASSPHRASE') {
      throw new NodeError(
        'WRONG_PASSPHRASE',
        `cannot decrypt the key${owner === undefined ? '' : ` of ${owner}`} in ${path}: wrong passphrase (from --passphrase-file or CUSTOS_PASSPHRASE) or damaged file`,
        { cause: e },
      );
    }
    throw e;
  }
}
