/**
 * Passphrase-protected wallet backup (ADR 0003): scrypt (RFC 7914) turns the passphrase into an
 * AES-256-GCM key (NIST SP 800-38D) that seals the master secret and the relationship list together,
 * so the file says nothing about which orgs the customer deals with.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { fromBase64url, toBase64url } from '../b64.js';
import { describe, fromUtf8, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { canonicalize } from '../jcs.js';
import { checkChainId, checkOrgId, MASTER_SECRET_LENGTH } from './pairwise.js';
import {
  MAX_RELATIONSHIPS,
  type RelationshipEntry,
  restoreRelationship,
  Wallet,
  type WalletOptions,
  walletMasterSecret,
} from './wallet.js';

/** The export format's version; a new one gets a new number and a new AAD. */
export const WALLET_EXPORT_VERSION = 1;
/** Largest export accepted or produced: 1 MiB of JSON text. */
export const MAX_WALLET_EXPORT_BYTES = 1 << 20;
/** scrypt cost of a new export: 2^17 (128 MiB with r = 8), about half a second in pure JS. */
export const DEFAULT_SCRYPT_N = 1 << 17;
/** Lowest scrypt cost accepted, for tests; never lower, so a tampered file cannot make brute force cheap. */
export const MIN_SCRYPT_N = 1 << 10;
/** Highest scrypt cost accepted on import (256 MiB with r = 8), so a hostile file cannot exhaust memory. */
export const MAX_SCRYPT_N = 1 << 18;
/** Shortest passphrase, in Unicode code points after NFKC normalisation. */
export const MIN_PASSPHRASE_LENGTH = 8;
/** Longest passphrase, in Unicode code points after NFKC normalisation. */
export const MAX_PASSPHRASE_LENGTH = 1024;
/** The plaintext is padded with spaces to a multiple of this, so the size hides the ids' lengths. */
export const WALLET_PADDING_BLOCK = 4096;

/** Room left for the ciphertext once the rest of the file (under 200 characters, even indented) is counted. */
const MAX_CIPHERTEXT_CHARS = MAX_WALLET_EXPORT_BYTES - 256;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_LENGTH = 16;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_LENGTH = 32;
/** Additional authenticated data: binds the ciphertext to this format and version. */
const AAD = utf8('custos/wallet/v1');
const FILE_KEYS = ['cipher', 'kdf', 'version'];
const KDF_KEYS = ['N', 'name', 'p', 'r', 'salt'];
const CIPHER_KEYS = ['ciphertext', 'name', 'nonce'];
const PAYLOAD_KEYS = ['masterSecret', 'relationships', 'version'];
const ENTRY_KEYS = ['chainId', 'createdAt', 'label', 'orgId'];

/** A passphrase-protected wallet backup (JSON). Nothing but the KDF and cipher parameters is in clear. */
export interface WalletExport {
  version: 1;
  kdf: { name: 'scrypt'; N: number; r: 8; p: 1; salt: string };
  /** `ciphertext` is base64url of the AES-256-GCM ciphertext followed by its 16-byte tag. */
  cipher: { name: 'aes-256-gcm'; nonce: string; ciphertext: string };
}

export interface ExportOptions {
  /** scrypt cost, a power of two from 2^10 to 2^18; defaults to 2^17. Lower it only in tests. */
  scryptN?: number;
}

/**
 * Encrypts the wallet (master secret and relationships) under `passphrase`. Throws `BAD_KEY` on a
 * passphrase shorter than 8 characters and `BAD_WALLET` if the export would exceed 1 MiB.
 *
 * @example
 * const backup = JSON.stringify(await exportWallet(wallet, passphrase));
 * const again = await importWallet(backup, passphrase);
 */
export async function exportWallet(
  wallet: Wallet,
  passphrase: string,
  options: ExportOptions = {},
): Promise<WalletExport> {
  const N = options.scryptN ?? DEFAULT_SCRYPT_N;
  if (!isScryptN(N)) {
    throw new ProtocolError('BAD_KEY', `expected scryptN a power of two from 2^10 to 2^18, got ${describe(N)}`);
  }
  const pass = normalizePassphrase(passphrase);
  if (typeof pass === 'string') throw new ProtocolError('BAD_KEY', pass);
  const plaintext = payloadBytes(wallet);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
  const file: WalletExport = {
    version: WALLET_EXPORT_VERSION,
    kdf: { name: 'scrypt', N, r: SCRYPT_R, p: SCRYPT_P, salt: toBase64url(salt) },
    cipher: { name: 'aes-256-gcm', nonce: toBase64url(nonce), ciphertext: '' },
  };
  // Fail before the slow KDF: base64url without padding of n bytes is ceil(4n / 3) characters.
  const chars = Math.ceil(((plaintext.length + TAG_LENGTH) * 4) / 3);
  if (chars > MAX_CIPHERTEXT_CHARS) {
    plaintext.fill(0);
    throw new ProtocolError(
      'BAD_WALLET',
      `expected a wallet that fits an export of ${MAX_WALLET_EXPORT_BYTES} bytes, this one needs a ciphertext of ${chars} characters (at most ${MAX_CIPHERTEXT_CHARS})`,
    );
  }
  const key = await scryptAsync(pass, salt, { N, r: SCRYPT_R, p: SCRYPT_P, dkLen: KEY_LENGTH });
  pass.fill(0);
  try {
    file.cipher.ciphertext = toBase64url(gcm(key, nonce, AAD).encrypt(plaintext));
  } finally {
    key.fill(0);
    plaintext.fill(0);
  }
  return file;
}

/**
 * Restores a wallet from an export: a JSON string, its UTF-8 bytes, or the parsed object.
 * Throws `BAD_WALLET` on anything malformed or larger than 1 MiB (and never another error), and
 * `WRONG_PASSPHRASE` when the passphrase is wrong or the ciphertext was altered (GCM tag).
 */
export async function importWallet(json: unknown, passphrase: string, options: WalletOptions = {}): Promise<Wallet> {
  const file = guard(() => parseExport(json));
  const pass = normalizePassphrase(passphrase);
  if (typeof pass === 'string') throw new ProtocolError('WRONG_PASSPHRASE', `wrong passphrase: ${pass}`);
  const key = await scryptAsync(pass, file.salt, { N: file.N, r: SCRYPT_R, p: SCRYPT_P, dkLen: KEY_LENGTH });
  pass.fill(0);
  let plaintext: Uint8Array;
  try {
    plaintext = gcm(key, file.nonce, AAD).decrypt(file.ciphertext);
  } catch (cause) {
    throw new ProtocolError('WRONG_PASSPHRASE', 'cannot decrypt the wallet: wrong passphrase or altered export', {
      cause,
    });
  } finally {
    key.fill(0);
  }
  try {
    return guard(() => walletFromPayload(plaintext, options));
  } finally {
    plaintext.fill(0);
  }
}

interface ParsedExport {
  N: number;
  salt: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

/** Strict shape check of an untrusted export; every failure is `BAD_WALLET`. */
function parseExport(json: unknown): ParsedExport {
  let raw: unknown = json;
  if (json instanceof Uint8Array) {
    if (json.length > MAX_WALLET_EXPORT_BYTES) throw tooLarge(json.length);
    raw = fromUtf8(json);
  }
  if (typeof raw === 'string') {
    // Any export we write is ASCII; UTF-16 length is a cheap lower bound before the exact byte count.
    if (raw.length > MAX_WALLET_EXPORT_BYTES) throw tooLarge(raw.length);
    const bytes = utf8(raw).length;
    if (bytes > MAX_WALLET_EXPORT_BYTES) throw tooLarge(bytes);
    try {
      raw = JSON.parse(raw);
    } catch (cause) {
      throw bad('expected the wallet export to be JSON', cause);
    }
  }
  // Each field is read once: a getter on a hand-made object must not answer differently twice.
  const { version, kdf: rawKdf, cipher: rawCipher } = object(raw, FILE_KEYS, 'wallet export');
  if (version !== WALLET_EXPORT_VERSION)
    throw bad(`expected version ${WALLET_EXPORT_VERSION}, got ${describe(version)}`);
  const { name: kdfName, N, r, p, salt } = object(rawKdf, KDF_KEYS, 'kdf');
  if (kdfName !== 'scrypt') throw bad(`expected kdf.name 'scrypt', got ${describe(kdfName)}`);
  if (!isScryptN(N)) throw bad(`expected kdf.N a power of two from 2^10 to 2^18, got ${describe(N)}`);
  if (r !== SCRYPT_R || p !== SCRYPT_P) {
    throw bad(`expected kdf.r ${SCRYPT_R} and kdf.p ${SCRYPT_P}, got ${describe(r)} and ${describe(p)}`);
  }
  const { name: cipherName, nonce, ciphertext } = object(rawCipher, CIPHER_KEYS, 'cipher');
  if (cipherName !== 'aes-256-gcm') throw bad(`expected cipher.name 'aes-256-gcm', got ${describe(cipherName)}`);
  // Bounds a parsed object as the byte count bounds a string: every other field is short.
  if (typeof ciphertext !== 'string' || ciphertext.length > MAX_CIPHERTEXT_CHARS) {
    throw bad(`expected cipher.ciphertext of at most ${MAX_CIPHERTEXT_CHARS} characters, got ${describe(ciphertext)}`);
  }
  const sealed = base64url(ciphertext, 'cipher.ciphertext');
  if (sealed.length <= TAG_LENGTH || (sealed.length - TAG_LENGTH) % WALLET_PADDING_BLOCK !== 0) {
    throw bad(
      `expected cipher.ciphertext of a multiple of ${WALLET_PADDING_BLOCK} bytes plus a ${TAG_LENGTH}-byte tag, got ${sealed.length} bytes`,
    );
  }
  return {
    N,
    salt: base64url(salt, 'kdf.salt', SALT_LENGTH),
    nonce: base64url(nonce, 'cipher.nonce', NONCE_LENGTH),
    ciphertext: sealed,
  };
}

/** Checks the decrypted payload as strictly as the file: it is authenticated, but not necessarily ours. */
function walletFromPayload(plaintext: Uint8Array, options: WalletOptions): Wallet {
  const text = fromUtf8(plaintext);
  const body = text.replace(/ +$/, '');
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (cause) {
    throw bad('expected the decrypted wallet to be JSON', cause);
  }
  if (canonicalize(raw) !== body) throw bad('expected the decrypted wallet in RFC 8785 canonical form');
  const payload = object(raw, PAYLOAD_KEYS, 'decrypted wallet');
  if (payload.version !== WALLET_EXPORT_VERSION) {
    throw bad(`expected decrypted version ${WALLET_EXPORT_VERSION}, got ${describe(payload.version)}`);
  }
  const secret = base64url(payload.masterSecret, 'masterSecret', MASTER_SECRET_LENGTH);
  const list = payload.relationships;
  if (!Array.isArray(list) || list.length > MAX_RELATIONSHIPS) {
    throw bad(`expected relationships as an array of at most ${MAX_RELATIONSHIPS}, got ${describe(list)}`);
  }
  const wallet = Wallet.fromMasterSecret(secret, options);
  secret.fill(0);
  const seen = new Set<string>();
  for (const item of list) {
    const entry = object(item, ENTRY_KEYS, 'relationship', ['label']);
    const { chainId, orgId, label, createdAt } = entry;
    if (!Number.isSafeInteger(createdAt) || (createdAt as number) < 0) {
      throw bad(`expected relationship createdAt in integer milliseconds, got ${describe(createdAt)}`);
    }
    checkChainId(chainId);
    checkOrgId(orgId);
    const key = `${chainId}\n${orgId}`;
    if (seen.has(key)) throw bad('expected each relationship once, got a duplicate');
    seen.add(key);
    // The wallet checks chainId, orgId and label and throws BAD_WALLET itself.
    restoreRelationship(wallet, {
      chainId,
      orgId,
      createdAt,
      ...(label === undefined ? {} : { label }),
    } as RelationshipEntry);
  }
  return wallet;
}

/** The plaintext: RFC 8785 canonical JSON, padded with spaces to a multiple of the padding block. */
function payloadBytes(wallet: Wallet): Uint8Array {
  const payload = {
    version: WALLET_EXPORT_VERSION,
    masterSecret: toBase64url(walletMasterSecret(wallet)),
    relationships: wallet.relationships().map((r) => {
      const entry: { [key: string]: string | number } = { chainId: r.chainId, orgId: r.orgId, createdAt: r.createdAt };
      if (r.label !== undefined) entry.label = r.label;
      return entry;
    }),
  };
  const json = utf8(canonicalize(payload));
  const padded = new Uint8Array(Math.max(1, Math.ceil(json.length / WALLET_PADDING_BLOCK)) * WALLET_PADDING_BLOCK);
  padded.fill(0x20);
  padded.set(json);
  json.fill(0);
  return padded;
}

/** NFKC UTF-8 bytes of a usable passphrase, or a message saying why it is not one. */
function normalizePassphrase(passphrase: unknown): Uint8Array | string {
  if (typeof passphrase !== 'string') return `expected a passphrase string, got ${describe(passphrase)}`;
  if (/\p{Cs}/u.test(passphrase)) return 'expected a passphrase of well-formed Unicode (it has a lone surrogate)';
  const normalized = passphrase.normalize('NFKC');
  const length = [...normalized].length;
  if (length < MIN_PASSPHRASE_LENGTH || length > MAX_PASSPHRASE_LENGTH) {
    return `expected a passphrase of ${MIN_PASSPHRASE_LENGTH}-${MAX_PASSPHRASE_LENGTH} characters, got ${length}`;
  }
  return utf8(normalized);
}

function isScryptN(n: unknown): n is number {
  return (
    typeof n === 'number' && Number.isSafeInteger(n) && n >= MIN_SCRYPT_N && n <= MAX_SCRYPT_N && (n & (n - 1)) === 0
  );
}

/** A plain object with exactly `keys`, except the `optional` ones. */
function object(v: unknown, keys: string[], what: string, optional: string[] = []): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !isPlainPrototype(Object.getPrototypeOf(v))) {
    throw bad(`expected ${what} to be an object, got ${describe(v)}`);
  }
  const own = Object.keys(v);
  for (const k of own) {
    if (!keys.includes(k)) throw bad(`unexpected field '${k.slice(0, 40)}' in ${what}; expected ${keys.join(', ')}`);
  }
  for (const k of keys) {
    if (!optional.includes(k) && !own.includes(k)) throw bad(`expected field '${k}' in ${what}`);
  }
  return v as Record<string, unknown>;
}

function isPlainPrototype(proto: unknown): boolean {
  return proto === null || proto === Object.prototype;
}

/** Decodes base64url and insists on the one canonical encoding, so each file has a single spelling. */
function base64url(v: unknown, what: string, length?: number): Uint8Array {
  if (typeof v !== 'string' || v.length > MAX_WALLET_EXPORT_BYTES) {
    throw bad(`expected ${what} as base64url, got ${describe(v)}`);
  }
  const bytes = fromBase64url(v, length);
  if (toBase64url(bytes) !== v) throw bad(`expected ${what} in canonical base64url`);
  return bytes;
}

/** Runs a parse step and turns any failure into `BAD_WALLET`: hostile input must not escape as another error. */
function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (cause) {
    if (cause instanceof ProtocolError && cause.code === 'BAD_WALLET') throw cause;
    const message = cause instanceof ProtocolError ? cause.message : 'expected a well-formed wallet export';
    throw bad(message, cause);
  }
}

function tooLarge(size: number): ProtocolError {
  return bad(`expected a wallet export of at most ${MAX_WALLET_EXPORT_BYTES} bytes, got ${size}`);
}

function bad(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('BAD_WALLET', message, cause === undefined ? {} : { cause });
}
