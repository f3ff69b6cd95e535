/**
 * The keys of a passkey wallet (ADR 0016), computed where the customer is (a browser, or Node 20),
 * with WebCrypto (HKDF-SHA256, AES-256-GCM); the node only ever stores what comes out sealed.
 *
 * - The **wallet key**: 32 random bytes. The wallet (master secret and relationships) is the ADR
 *   0003 export sealed under it, used as the export's passphrase: its base64url (43 characters,
 *   256 bits) makes scrypt's cost pointless, so the export uses the lowest N (2^10).
 * - Each **passkey** wraps the wallet key under `HKDF(PRF output, "custos/passkey-wrap/v1", info)`,
 *   where the PRF output is the WebAuthn `prf` extension's result for the input `PRF_INPUT`.
 * - The **recovery code**: 20 random bytes as 32 Crockford base32 characters (in groups of four).
 *   From it: a `lookup` (16 bytes, finds the identity), an `auth` (32 bytes, of which the node keeps
 *   a salted hash) and a wrapping secret for the wallet key. The code itself is never sent.
 * - A **device link** carries its own 32-byte secret in the URL fragment (never sent to the node),
 *   which wraps the wallet key for the second device.
 */
import { fromBase64url, toBase64url, utf8 } from '@custos/protocol/encoding';
import { ProtocolError } from '@custos/protocol/errors';
import { exportWallet, importWallet, type Wallet, type WalletExport } from '@custos/protocol/wallet';

/** The input of the passkey's PRF (WebAuthn `prf` extension, `eval.first`). */
export const PRF_INPUT = utf8('custos/passkey-prf/v1');
const WRAP_SALT = utf8('custos/passkey-wrap/v1');
const RECOVERY_SALT = utf8('custos/recovery/v1');
const LINK_SALT = utf8('custos/device-link/v1');
/** Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or retyped survives. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECOVERY_CODE_BYTES = 20;
const RECOVERY_CODE_CHARS = 32;

const subtle = () => {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new ProtocolError('BAD_KEY', 'expected WebCrypto (a secure context: https or localhost)');
  return s;
};
const random = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

async function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, bytes: number): Promise<Uint8Array> {
  const base = await subtle().importKey('raw', buf(ikm), 'HKDF', false, ['deriveBits']);
  const bits = await subtle().deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: buf(salt), info: buf(utf8(info)) },
    base,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

/** A fresh wallet key (base64url of 32 random bytes). */
export function newWalletKey(): string {
  return toBase64url(random(32));
}

/** The wallet sealed under its wallet key: the ADR 0003 export format. */
export function sealWallet(wallet: Wallet, walletKey: string): Promise<WalletExport> {
  return exportWallet(wallet, walletKey, { scryptN: 1 << 10 });
}

/** Opens a sealed wallet; `WRONG_PASSPHRASE` if the key does not open it. */
export function openWallet(sealed: WalletExport, walletKey: string): Promise<Wallet> {
  return importWallet(sealed, walletKey);
}

/**
 * Wraps the wallet key under `secret` (a PRF output, a recovery code's secret, a link's secret) for
 * `context` (`passkey:<credential id>`, `recovery`, `device-link`): base64url of nonce || ciphertext || tag.
 */
export async function wrapWalletKey(secret: Uint8Array, context: string, walletKey: string): Promise<string> {
  const key = await aesKey(secret, context);
  const nonce = random(12);
  const sealed = new Uint8Array(
    await subtle().encrypt(
      { name: 'AES-GCM', iv: buf(nonce), additionalData: buf(utf8(context)) },
      key,
      buf(fromBase64url(walletKey, 32)),
    ),
  );
  const out = new Uint8Array(nonce.length + sealed.length);
  out.set(nonce);
  out.set(sealed, nonce.length);
  return toBase64url(out);
}

/** Unwraps what `wrapWalletKey` made; `WRONG_PASSPHRASE` for another secret, context or altered bytes. */
export async function unwrapWalletKey(secret: Uint8Array, context: string, wrapped: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64url(wrapped);
  } catch (cause) {
    throw new ProtocolError('BAD_KEY', 'expected a wrapped wallet key in base64url', { cause });
  }
  if (bytes.length !== 12 + 32 + 16) {
    throw new ProtocolError('BAD_KEY', `expected a wrapped wallet key of 60 bytes, got ${bytes.length}`);
  }
  const key = await aesKey(secret, context);
  try {
    const plain = await subtle().decrypt(
      { name: 'AES-GCM', iv: buf(bytes.slice(0, 12)), additionalData: buf(utf8(context)) },
      key,
      buf(bytes.slice(12)),
    );
    return toBase64url(new Uint8Array(plain));
  } catch (cause) {
    throw new ProtocolError('WRONG_PASSPHRASE', 'cannot unwrap the wallet key: another passkey, code or link', {
      cause,
    });
  }
}

async function aesKey(secret: Uint8Array, context: string): Promise<CryptoKey> {
  if (secret.length < 32)
    throw new ProtocolError('BAD_KEY', `expected a secret of at least 32 bytes, got ${secret.length}`);
  const raw = await hkdf(secret, WRAP_SALT, context, 32);
  return subtle().importKey('raw', buf(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** A fresh recovery code: 32 Crockford base32 characters in groups of four, e.g. `7KQ4-...`. */
export function newRecoveryCode(): string {
  const bytes = random(RECOVERY_CODE_BYTES);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out.match(/.{4}/g)!.join('-');
}

/** The 20 bytes of a recovery code as typed: case, spaces and dashes ignored; O read as 0, I and L as 1. */
export function parseRecoveryCode(code: string): Uint8Array {
  if (typeof code !== 'string' || code.length > 200) throw badCode();
  const s = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (s.length !== RECOVERY_CODE_CHARS) throw badCode();
  const out = new Uint8Array(RECOVERY_CODE_BYTES);
  let bits = 0;
  let value = 0;
  let i = 0;
  for (const ch of s) {
    const v = CROCKFORD.indexOf(ch);
    if (v < 0) throw badCode();
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[i++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
      value &= (1 << bits) - 1;
    }
  }
  return out;
}

function badCode(): ProtocolError {
  return new ProtocolError(
    'BAD_KEY',
    `expected a recovery code of ${RECOVERY_CODE_CHARS} characters (letters and digits, dashes optional)`,
  );
}

/** What a recovery code gives: the lookup and authenticator the node checks, and the wrapping secret kept here. */
export async function recoveryKeys(code: string): Promise<{ lookup: string; auth: string; secret: Uint8Array }> {
  const bytes = parseRecoveryCode(code);
  return {
    lookup: toBase64url(await hkdf(bytes, RECOVERY_SALT, 'lookup', 16)),
    auth: toBase64url(await hkdf(bytes, RECOVERY_SALT, 'auth', 32)),
    secret: await hkdf(bytes, RECOVERY_SALT, 'wrap', 32),
  };
}

/** A fresh device-link secret (32 bytes), for the link's fragment. */
export function newLinkSecret(): Uint8Array {
  return random(32);
}

/**
 * What proves holding a device link's secret without giving it away: `auth` (derived from the
 * secret, sent by the joining device) and `verifier` (its SHA-256, sent when the link is made). The
 * link's id alone, which travels in the URL's path, lets no one join.
 */
export async function deviceLinkProof(secret: Uint8Array): Promise<{ auth: string; verifier: string }> {
  const auth = await hkdf(secret, LINK_SALT, 'auth', 32);
  const verifier = new Uint8Array(await subtle().digest('SHA-256', buf(auth)));
  return { auth: toBase64url(auth), verifier: toBase64url(verifier) };
}
