/**
 * Pairwise pseudonyms (docs/architecture.md#identities, ADR 0003): one Ed25519 key per relationship
 * (customer x org on a chain), derived from the wallet's master secret with HKDF-SHA256 (RFC 5869).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, utf8 } from '../bytes.js';
import { assertLength, SECRET_KEY_LENGTH } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';

/** Length of a wallet's master secret in bytes. */
export const MASTER_SECRET_LENGTH = 32;
/** HKDF salt of the pairwise derivation; the `v1` names this derivation, not the export format. */
export const PAIRWISE_SALT = 'custos/pairwise/v1';
/** Longest org id (in UTF-16 code units) the wallet derives a key for. */
export const MAX_ORG_ID_LENGTH = 256;

/** Same rule as a transaction's `body.chainId`, so every chain a transaction can name has pseudonyms. */
const CHAIN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** With the `u` flag a well-formed surrogate pair is one code point, so this matches lone surrogates only. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The Ed25519 secret key (RFC 8032 seed) of the customer's pseudonym towards `orgId` on `chainId`:
 * `HKDF-SHA256(ikm = masterSecret, salt = utf8('custos/pairwise/v1'), info = utf8(chainId + '\n' + orgId), L = 32)`.
 *
 * @example
 * const seed = derivePairwiseSeed(masterSecret, 'custos-main', 'did:key:z6Mk...');
 * const did = didFromPublicKey(publicKeyOf(seed));
 */
export function derivePairwiseSeed(masterSecret: Uint8Array, chainId: string, orgId: string): Uint8Array {
  assertLength(masterSecret, MASTER_SECRET_LENGTH, 'master secret');
  return hkdf(sha256, masterSecret, utf8(PAIRWISE_SALT), pairwiseInfo(chainId, orgId), SECRET_KEY_LENGTH);
}

/**
 * The HKDF `info` of a relationship. Throws `BAD_WALLET` on ids that would make two relationships
 * share bytes: `chainId` cannot hold a newline, so the first newline splits the two unambiguously;
 * `orgId` must be well-formed Unicode (UTF-8 would turn every lone surrogate into the same U+FFFD).
 */
export function pairwiseInfo(chainId: string, orgId: string): Uint8Array {
  checkChainId(chainId);
  checkOrgId(orgId);
  return utf8(`${chainId}\n${orgId}`);
}

/** Throws `BAD_WALLET` unless `chainId` is 1-64 characters of [a-z0-9-] not starting with '-'. */
export function checkChainId(chainId: unknown): asserts chainId is string {
  if (typeof chainId !== 'string' || !CHAIN_ID.test(chainId)) {
    throw new ProtocolError('BAD_WALLET', `expected a chainId of 1-64 characters [a-z0-9-], got ${describe(chainId)}`);
  }
}

/** Throws `BAD_WALLET` unless `orgId` is 1-256 characters of well-formed Unicode without control characters. */
export function checkOrgId(orgId: unknown): asserts orgId is string {
  if (!isPlainText(orgId, MAX_ORG_ID_LENGTH)) {
    throw new ProtocolError(
      'BAD_WALLET',
      `expected an orgId of 1-${MAX_ORG_ID_LENGTH} characters of well-formed Unicode without control characters, got ${describe(orgId)}`,
    );
  }
}

/** True for a non-empty string of at most `max` UTF-16 code units, well-formed, without C0 controls or DEL. */
export function isPlainText(s: unknown, max: number): s is string {
  if (typeof s !== 'string' || s.length === 0 || s.length > max || LONE_SURROGATE.test(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}
