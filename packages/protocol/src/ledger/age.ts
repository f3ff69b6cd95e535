/**
 * Children's data: the age band a relationship records (`age.set`, never a birth date), the age of
 * digital consent of each EU member state (GDPR Art. 8(1)) and the consent a parent or guardian gives
 * (docs/customer-data.md, "Children").
 *
 * A guardian's consent is an Ed25519 signature by a key the customer's wallet registered for the
 * relationship, over the UTF-8 of `custos/parental-consent/v1`, one 0x00 byte, then the RFC 8785
 * canonical JSON of `{categories, chainId, expiresAt, org, purposes, sale, share, subject}`.
 */
import { fromBase64url, toBase64url } from '../b64.js';
import { concatBytes, utf8 } from '../bytes.js';
import { didFromPublicKey, publicKeyFromDid } from '../crypto/didkey.js';
import { SIGNATURE_LENGTH, type Signer, type Verifier } from '../crypto/ed25519.js';
import { canonicalBytes } from '../jcs.js';

/** Age bands, youngest first. A band, not an age: the ledger never holds a birth date. */
export const AGE_BANDS = ['under13', '13-15', '16-17', 'adult'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

/**
 * How an org verified a customer's age, or a parent's consent (a code, never the evidence itself:
 * its SHA-256 goes with it). COPPA's and the EDPB's usual methods.
 */
export const AGE_EVIDENCE = [
  'id-document',
  'payment-card',
  'age-estimation',
  'signed-form',
  'video-call',
  'knowledge-check',
] as const;
export type AgeEvidence = (typeof AGE_EVIDENCE)[number];

/**
 * The age of digital consent (GDPR Art. 8(1): 16, or a lower age of at least 13 set by the member
 * state), by ISO 3166-1 code. A member state not listed, or none named, counts as 16.
 */
export const ART8_AGES: Readonly<Record<string, number>> = Object.freeze({
  AT: 14,
  BE: 13,
  BG: 14,
  CY: 14,
  CZ: 15,
  DE: 16,
  DK: 13,
  EE: 13,
  ES: 14,
  FI: 13,
  FR: 15,
  GR: 15,
  HR: 16,
  HU: 16,
  IE: 16,
  IT: 14,
  LT: 14,
  LU: 16,
  LV: 13,
  MT: 13,
  NL: 16,
  PL: 16,
  PT: 13,
  RO: 16,
  SE: 13,
  SI: 15,
  SK: 16,
});
export const DEFAULT_ART8_AGE = 16;

/** The age band of a customer at an org, in `pref/<org>/<subject>` (`age`). */
export interface AgeRecord {
  band: AgeBand;
  /** The EU member state whose Art. 8 age applies (ISO 3166-1), if named. */
  memberState?: string;
  /** Who recorded the band: the customer, or the org with `evidence`. */
  by: 'customer' | 'org';
  /** The org's evidence: how it verified the age, and the SHA-256 of what it keeps. */
  evidence?: { method: AgeEvidence; digest: string };
  /** The guardian's key the customer's wallet registered (did:key), if any. */
  guardian?: string;
  at: number;
  txId: string;
}

/** A parent's or guardian's consent on a grant: signed by the registered guardian key, or verified by the org. */
export type ParentalConsent = { guardian: string; signature: string } | { method: AgeEvidence; digest: string };

/** True below 16 (CCPA 1798.120(c): sale and sharing need an opt-in). */
export function underSixteen(band: AgeBand | undefined): boolean {
  return band === 'under13' || band === '13-15';
}

/** The Art. 8 age of a member state: its own, or 16. */
export function art8Age(memberState: string | undefined): number {
  return (memberState === undefined ? undefined : ART8_AGES[memberState]) ?? DEFAULT_ART8_AGE;
}

/**
 * True when a band may be below the member state's Art. 8 age, so a consent needs a parent's. A band
 * that straddles the age counts as below it (13-15 where the age is 14 or 15): the ledger cannot tell.
 */
export function belowArt8Age(band: AgeBand | undefined, memberState: string | undefined): boolean {
  if (band === 'under13') return true;
  if (band === '13-15') return art8Age(memberState) > 13;
  return false;
}

export const PARENTAL_CONSENT_DOMAIN = 'custos/parental-consent/v1';

/** What a guardian signs: the consent's terms, for this chain, org and customer. */
export interface ParentalStatement {
  chainId: string;
  org: string;
  subject: string;
  purposes: string[];
  categories: string[];
  expiresAt: number;
  share: boolean;
  sale: boolean;
}

export function parentalConsentBytes(s: ParentalStatement): Uint8Array {
  return concatBytes(
    utf8(PARENTAL_CONSENT_DOMAIN),
    new Uint8Array([0]),
    canonicalBytes({
      categories: s.categories,
      chainId: s.chainId,
      expiresAt: s.expiresAt,
      org: s.org,
      purposes: s.purposes,
      sale: s.sale,
      share: s.share,
      subject: s.subject,
    }),
  );
}

/**
 * The guardian signs a consent's terms: the `parental` argument of `consent.grant`.
 *
 * @example
 * const parental = signParentalConsent(guardianSigner, { chainId, org: 'bank', subject, purposes, categories, expiresAt, share: false, sale: false });
 */
export function signParentalConsent(guardian: Signer, s: ParentalStatement): { guardian: string; signature: string } {
  return {
    guardian: didFromPublicKey(guardian.publicKey),
    signature: toBase64url(guardian.sign(parentalConsentBytes(s))),
  };
}

/** True when `signature` is `guardian`'s over the statement; false for any bad input. */
export function verifyParentalConsent(
  s: ParentalStatement,
  guardian: string,
  signature: unknown,
  verifier: Verifier,
): boolean {
  if (typeof signature !== 'string' || signature.length > 128) return false;
  try {
    return verifier.verify(
      publicKeyFromDid(guardian),
      parentalConsentBytes(s),
      fromBase64url(signature, SIGNATURE_LENGTH),
    );
  } catch {
    return false;
  }
}
