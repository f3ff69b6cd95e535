/**
 * Key management for the vault: the `Kms` interface that wraps keys under an org's key-encryption
 * key (KEK), and `LocalKms`, the default: a random 256-bit KEK in a passphrase-protected file
 * (scrypt, RFC 7914, then AES-256-GCM), with the same parameters and checks as keys/keystore.ts.
 *
 * The file format is its own rather than keystore.ts's: that one binds the secret to the Ed25519
 * did:key it derives, so a KEK stored there would also load as a signing key. Here the file says
 * what it holds (`kind`) and is bound to the KEK's fingerprint instead.
 */

import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { NodeError } from '../errors.js';
import { KEY_BYTES, open, seal } from './aead.js';

/**
 * Wraps and unwraps 32-byte keys under a key-encryption key that never leaves the KMS. `keyId` is
 * bound to the wrapped key: unwrapping under another id fails, so wrapped keys cannot be swapped
 * between records. Destroying a wrapped key (and every copy of it) makes what it protects unreadable.
 */
export interface Kms {
  /** Identifies the KEK, not secret: a vault records it and refuses to open under another one. */
  readonly id: string;
  /** Wraps a 32-byte key; two wraps of the same key differ. Throws `BAD_REQUEST` on a malformed input. */
  wrap(keyId: string, dataKey: Uint8Array): Uint8Array;
  /** Unwraps a key wrapped for `keyId`; throws `STORE_CORRUPT` if it was wrapped for another id or KEK, or altered. */
  unwrap(keyId: string, wrapped: Uint8Array): Uint8Array;
}

export interface LocalKmsFile {
  version: 1;
  kind: 'custos-local-kms';
  /** `local:` and the first 16 bytes of SHA-256("custos/kms/local/id" || 0 || KEK), hex. */
  id: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string; ciphertext: string };
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1 };
const MAX_FILE_BYTES = 4096;
const MAX_KEY_ID = 1024;
const KIND = 'custos-local-kms';

function deriveKey(passphrase: string, salt: Buffer, p: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFKC'), salt, 32, { ...p, maxmem: 256 * p.N * p.r });
}

function fingerprint(kek: Uint8Array): string {
  const h = createHash('sha256').update('custos/kms/local/id\0').update(kek).digest('hex');
  return `local:${h.slice(0, 32)}`;
}

const fileAad = (id: string): Buffer => Buffer.from(`${KIND}/v1/${id}`);

function checkPassphrase(passphrase: unknown): asserts passphrase is string {
  if (typeof passphrase !== 'string' || passphrase.length < 8) {
    throw new NodeError('BAD_REQUEST', 'expected a passphrase of at least 8 characters');
  }
}

function checkKeyId(keyId: unknown): asserts keyId is string {
  if (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > MAX_KEY_ID) {
    throw new NodeError('BAD_REQUEST', `expected a key id of 1-${MAX_KEY_ID} characters`);
  }
}

/** Writes `text` to a new file (mode 0600) and syncs it and its directory: losing the KEK loses the vault. */
function writeNewDurably(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new NodeError('ALREADY_INITIALIZED', `a KMS keystore already exists at ${path}`, { cause });
    }
    throw cause;
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Directories cannot be opened for syncing on every platform (Windows); the file itself is synced.
  }
}

function parseFile(path: string): LocalKmsFile {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NodeError('NOT_INITIALIZED', `no KMS keystore at ${path}`, { cause });
    }
    throw cause;
  }
  if (size > MAX_FILE_BYTES) {
    throw new NodeError('BAD_KEYSTORE', `expected a KMS keystore file under ${MAX_FILE_BYTES} bytes, got ${size}`);
  }
  let f: LocalKmsFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as LocalKmsFile;
  } catch (cause) {
    throw new NodeError('BAD_KEYSTORE', `expected JSON in KMS keystore file ${path}`, { cause });
  }
  const b64 = (s: unknown, min: number, max: number): boolean => {
    if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return false;
    const n = Buffer.from(s, 'base64').length;
    return n >= min && n <= max;
  };
  if (
    f?.version !== 1 ||
    f.kind !== KIND ||
    typeof f.id !== 'string' ||
    !/^local:[0-9a-f]{32}$/.test(f.id) ||
    f.kdf?.name !== 'scrypt' ||
    !b64(f.kdf.salt, 16, 64) ||
    f.cipher?.name !== 'aes-256-gcm' ||
    !b64(f.cipher.iv, 12, 12) ||
    !b64(f.cipher.tag, 16, 16) ||
    !b64(f.cipher.ciphertext, KEY_BYTES, KEY_BYTES)
  ) {
    throw new NodeError('BAD_KEYSTORE', `expected a version 1 ${KIND} file (scrypt + aes-256-gcm) at ${path}`);
  }
  const { N, r, p } = f.kdf;
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || N > 1 << 20 || r > 32 || p > 16) {
    throw new NodeError('BAD_KEYSTORE', 'expected scrypt parameters N <= 2^20, r <= 32, p <= 16');
  }
  return f;
}

/**
 * The default KMS: the org's KEK in a local file encrypted under a passphrase. Wrapping is
 * AES-256-GCM under the KEK with the key id as additional data (see aead.ts for the layout).
 *
 * @example
 * const kms = LocalKms.create(join(home, 'vault.kms.json'), passphrase); // once
 * const same = LocalKms.open(join(home, 'vault.kms.json'), passphrase);   // at every start
 */
export class LocalKms implements Kms {
  readonly id: string;
  readonly #kek: Buffer;

  private constructor(kek: Buffer) {
    this.#kek = kek;
    this.id = fingerprint(kek);
  }

  /** Creates a keystore file with a fresh random KEK; `ALREADY_INITIALIZED` if `path` exists. */
  static create(path: string, passphrase: string): LocalKms {
    checkPassphrase(passphrase);
    const kek = randomBytes(KEY_BYTES);
    const id = fingerprint(kek);
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, salt, SCRYPT), iv);
    cipher.setAAD(fileAad(id));
    const ciphertext = Buffer.concat([cipher.update(kek), cipher.final()]);
    const file: LocalKmsFile = {
      version: 1,
      kind: KIND,
      id,
      kdf: { name: 'scrypt', ...SCRYPT, salt: salt.toString('base64') },
      cipher: {
        name: 'aes-256-gcm',
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        ciphertext: ciphertext.toString('base64'),
      },
    };
    writeNewDurably(path, `${JSON.stringify(file, null, 2)}\n`);
    return new LocalKms(kek);
  }

  /** Opens a keystore file; `WRONG_PASSPHRASE` if the passphrase is wrong or the file was altered. */
  static open(path: string, passphrase: string): LocalKms {
    checkPassphrase(passphrase);
    const f = parseFile(path);
    let kek: Buffer;
    try {
      const key = deriveKey(passphrase, Buffer.from(f.kdf.salt, 'base64'), f.kdf);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(f.cipher.iv, 'base64'));
      decipher.setAAD(fileAad(f.id));
      decipher.setAuthTag(Buffer.from(f.cipher.tag, 'base64'));
      kek = Buffer.concat([decipher.update(Buffer.from(f.cipher.ciphertext, 'base64')), decipher.final()]);
    } catch (cause) {
      throw new NodeError('WRONG_PASSPHRASE', `cannot decrypt KMS ${f.id}: wrong passphrase or damaged file`, {
        cause,
      });
    }
    if (fingerprint(kek) !== f.id) {
      throw new NodeError('BAD_KEYSTORE', `the key in ${path} does not match its id ${f.id}`);
    }
    return new LocalKms(kek);
  }

  wrap(keyId: string, dataKey: Uint8Array): Uint8Array {
    checkKeyId(keyId);
    if (!(dataKey instanceof Uint8Array) || dataKey.length !== KEY_BYTES) {
      throw new NodeError('BAD_REQUEST', `expected a ${KEY_BYTES}-byte key to wrap`);
    }
    return seal(this.#kek, dataKey, Buffer.from(keyId));
  }

  unwrap(keyId: string, wrapped: Uint8Array): Uint8Array {
    checkKeyId(keyId);
    const key = wrapped instanceof Uint8Array ? open(this.#kek, wrapped, Buffer.from(keyId)) : null;
    if (key === null || key.length !== KEY_BYTES) {
      key?.fill(0);
      throw new NodeError(
        'STORE_CORRUPT',
        `cannot unwrap a key with KMS ${this.id}: wrapped for another key id or KEK, or altered`,
      );
    }
    return key;
  }
}
