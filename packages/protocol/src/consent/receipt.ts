/**
 * Consent receipts (docs/architecture.md#customer-data): every consent event on the ledger yields a
 * W3C Verifiable Credential 2.0 that the org issues to the customer's pairwise did:key and secures
 * with `eddsa-jcs-2022`. The customer keeps it as proof of what they agreed to, or withdrew, and
 * when.
 */
import { describe } from '../bytes.js';
import { didFromPublicKey, isDidKey } from '../crypto/didkey.js';
import type { Signer, Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { canonicalBytes, canonicalize } from '../jcs.js';
import { isDpvCategory, isDpvPurpose } from './dpv.js';
import {
  ASSERTION_METHOD,
  controllerOf,
  createProof,
  type DataIntegrityProof,
  didKeyVerificationMethod,
  verifyProof,
} from './eddsa-jcs-2022.js';
import { MAX_XSD_TIME_MS, parseXsdDateTime, toXsdDateTime } from './xsd-datetime.js';

/** The base context every VC 2.0 credential starts with. */
export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
/** Custos's JSON-LD context for consent receipts; its document is CUSTOS_CONSENT_CONTEXT_DOCUMENT. */
export const CUSTOS_CONSENT_CONTEXT = 'https://w3id.org/custos/consent/v1';
/** Namespace of the terms CUSTOS_CONSENT_CONTEXT defines. */
export const CUSTOS_CONSENT_VOCAB = 'https://w3id.org/custos/consent#';
export const CONSENT_RECEIPT_TYPE = 'ConsentReceipt';

/** Jurisdictions a consent can be given under; the same list the ledger accepts. */
export const CONSENT_JURISDICTIONS = ['GDPR', 'CCPA'] as const;
export type ConsentJurisdiction = (typeof CONSENT_JURISDICTIONS)[number];
export const CONSENT_EVENT_KINDS = ['granted', 'withdrawn'] as const;
export type ConsentEventKind = (typeof CONSENT_EVENT_KINDS)[number];
/** Most purposes, and most categories, one consent names. */
export const MAX_CONSENT_CODES = 32;
/** Largest canonical receipt `verifyConsentReceipt` looks at; a real one is about 2 KB. */
export const MAX_RECEIPT_BYTES = 64 * 1024;

/** A consent event as the ledger recorded it: the input of `issueConsentReceipt`. */
export interface ConsentEvent {
  /** The customer gave this consent, or withdrew it. */
  event: ConsentEventKind;
  /** The consent: txId (64 hex) of the `consent.grant` transaction that created it. */
  id: string;
  /** The customer's pairwise did:key towards this org. */
  subject: string;
  /** The member org's id on the chain, e.g. `acme-bank`. */
  org: string;
  /** DPV purposes, e.g. `dpv:Marketing`; at least one. */
  purposes: readonly string[];
  /** DPV personal-data categories, e.g. `pd:EmailAddress`; at least one. */
  categories: readonly string[];
  /** When the consent lapses unless withdrawn before (ms since the epoch). */
  expiresAt: number;
  /** The customer allows the org to share the data with other members. */
  share: boolean;
  /** The customer allows the org to sell the data. */
  sale: boolean;
  jurisdiction: ConsentJurisdiction;
  /** SHA-256 (hex) of the privacy notice the customer saw. */
  notice: string;
  /** When the event happened: the time of the block holding its transaction (ms since the epoch). */
  at: number;
  /** Where the event is on the ledger: the grant transaction, or the withdrawal transaction. */
  ledger: LedgerRef;
}

export interface LedgerRef {
  chainId: string;
  txId: string;
  height: number;
}

/** `credentialSubject.consent` of a receipt. */
export type ConsentClaim = {
  /** `urn:custos:<chainId>:consent:<grant txId>` */
  id: string;
  org: string;
  purposes: string[];
  categories: string[];
  expiresAt: string;
  share: boolean;
  sale: boolean;
  jurisdiction: ConsentJurisdiction;
  notice: string;
  event: ConsentEventKind;
  ledger: LedgerRef;
};

/** A consent receipt: a VC 2.0 secured with `eddsa-jcs-2022` by the org's did:key. */
export type ConsentReceiptCredential = {
  '@context': [typeof VC_V2_CONTEXT, typeof CUSTOS_CONSENT_CONTEXT];
  /** `urn:custos:<chainId>:receipt:<txId of the event>` */
  id: string;
  type: ['VerifiableCredential', typeof CONSENT_RECEIPT_TYPE];
  issuer: string;
  validFrom: string;
  credentialSubject: { id: string; consent: ConsentClaim };
  proof: DataIntegrityProof;
};

export interface IssueReceiptOptions {
  /** The org's key; the receipt's issuer is its did:key. */
  signer: Signer;
  /** When the receipt is signed (ms since the epoch). */
  created: number;
}

export interface ReceiptVerification {
  verified: boolean;
  /** Why verification failed; empty when `verified`. */
  problems: string[];
  /** The event the receipt attests, when verified. */
  event: ConsentEvent | null;
  /** The org's did:key, when verified. */
  issuer: string | null;
}

/**
 * The JSON-LD context document served at CUSTOS_CONSENT_CONTEXT. Signing does not need it
 * (`eddsa-jcs-2022` signs the JSON), but a JSON-LD processor reading a receipt does.
 */
export const CUSTOS_CONSENT_CONTEXT_DOCUMENT = deepFreeze({
  '@context': {
    '@protected': true,
    custos: CUSTOS_CONSENT_VOCAB,
    dpv: 'https://w3id.org/dpv#',
    pd: 'https://w3id.org/dpv/pd#',
    xsd: 'http://www.w3.org/2001/XMLSchema#',
    ConsentReceipt: 'custos:ConsentReceipt',
    consent: {
      '@id': 'custos:consent',
      '@context': {
        '@protected': true,
        org: 'custos:org',
        purposes: { '@id': 'dpv:hasPurpose', '@type': '@id', '@container': '@set' },
        categories: { '@id': 'dpv:hasPersonalData', '@type': '@id', '@container': '@set' },
        expiresAt: { '@id': 'custos:expiresAt', '@type': 'xsd:dateTime' },
        share: { '@id': 'custos:share', '@type': 'xsd:boolean' },
        sale: { '@id': 'custos:sale', '@type': 'xsd:boolean' },
        jurisdiction: 'custos:jurisdiction',
        notice: 'custos:noticeSha256',
        event: 'custos:event',
        ledger: {
          '@id': 'custos:ledger',
          '@context': {
            chainId: 'custos:chainId',
            txId: 'custos:txId',
            height: { '@id': 'custos:height', '@type': 'xsd:integer' },
          },
        },
      },
    },
  },
});

const HEX32 = /^[0-9a-f]{64}$/;
/** Same rules as the ledger's chain and member ids. */
const CHAIN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const ORG_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const EVENT_KEYS = [
  'at',
  'categories',
  'event',
  'expiresAt',
  'id',
  'jurisdiction',
  'ledger',
  'notice',
  'org',
  'purposes',
  'sale',
  'share',
  'subject',
];
const CLAIM_KEYS = [
  'categories',
  'event',
  'expiresAt',
  'id',
  'jurisdiction',
  'ledger',
  'notice',
  'org',
  'purposes',
  'sale',
  'share',
];
const VC_KEYS = ['@context', 'credentialSubject', 'id', 'issuer', 'proof', 'type', 'validFrom'];

/** `urn:custos:<chainId>:consent:<grant txId>`: the IRI of a consent. */
export function consentIri(chainId: string, consentId: string): string {
  return `urn:custos:${chainId}:consent:${consentId}`;
}

/** `urn:custos:<chainId>:receipt:<txId>`: the id of the receipt of the event in transaction `txId`. */
export function receiptIri(chainId: string, txId: string): string {
  return `urn:custos:${chainId}:receipt:${txId}`;
}

/**
 * Checks a consent event and returns a copy of it. Throws `BAD_JSON` naming the first field that is
 * missing, unknown or out of its domain: purposes and categories must be DPV codes Custos accepts,
 * times whole milliseconds in 1970..9999, a grant's `ledger.txId` its own id.
 */
export function parseConsentEvent(input: unknown): ConsentEvent {
  const e = object(input, 'event', EVENT_KEYS);
  const kind = oneOf(e.event, CONSENT_EVENT_KINDS, 'event.event');
  const ledger = object(e.ledger, 'event.ledger', ['chainId', 'height', 'txId']);
  const ref: LedgerRef = {
    chainId: matching(ledger.chainId, CHAIN_ID, 'event.ledger.chainId', 'a chain id [a-z0-9-]'),
    txId: matching(ledger.txId, HEX32, 'event.ledger.txId', '64 hex digits'),
    height: integer(ledger.height, 'event.ledger.height', Number.MAX_SAFE_INTEGER),
  };
  const id = matching(e.id, HEX32, 'event.id', '64 hex digits (the txId of the consent.grant)');
  if (kind === 'granted' && ref.txId !== id) {
    throw bad('expected event.ledger.txId of a grant to be its own id, the consent.grant txId');
  }
  if (!isDidKey(e.subject))
    throw bad(`expected event.subject as the customer's pairwise did:key, got ${describe(e.subject)}`);
  const at = integer(e.at, 'event.at', MAX_XSD_TIME_MS);
  const expiresAt = integer(e.expiresAt, 'event.expiresAt', MAX_XSD_TIME_MS);
  if (kind === 'granted' && expiresAt <= at) throw bad('expected event.expiresAt after event.at for a grant');
  return {
    event: kind,
    id,
    subject: e.subject,
    org: matching(e.org, ORG_ID, 'event.org', 'a member id [a-z0-9-] of 1-32 characters'),
    purposes: codes(e.purposes, 'event.purposes', isDpvPurpose, 'DPV purposes Custos accepts (dpv:...)'),
    categories: codes(
      e.categories,
      'event.categories',
      isDpvCategory,
      'DPV personal-data categories Custos accepts (pd:...)',
    ),
    expiresAt,
    share: boolean(e.share, 'event.share'),
    sale: boolean(e.sale, 'event.sale'),
    jurisdiction: oneOf(e.jurisdiction, CONSENT_JURISDICTIONS, 'event.jurisdiction'),
    notice: matching(e.notice, HEX32, 'event.notice', 'the SHA-256 (64 hex digits) of the notice'),
    at,
    ledger: ref,
  };
}

/**
 * The org's receipt for a consent event: a VC 2.0 issued by the signer's did:key to the customer's
 * pairwise did, secured with `eddsa-jcs-2022` (proof purpose `assertionMethod`). Throws `BAD_JSON`
 * on an invalid event (see parseConsentEvent).
 *
 * @example
 * const vc = issueConsentReceipt(event, { signer: orgSigner, created: Date.now() });
 */
export function issueConsentReceipt(event: ConsentEvent, options: IssueReceiptOptions): ConsentReceiptCredential {
  const e = parseConsentEvent(event);
  const issuer = didFromPublicKey(options.signer.publicKey);
  const credential = {
    '@context': [VC_V2_CONTEXT, CUSTOS_CONSENT_CONTEXT] as [typeof VC_V2_CONTEXT, typeof CUSTOS_CONSENT_CONTEXT],
    id: receiptIri(e.ledger.chainId, e.ledger.txId),
    type: ['VerifiableCredential', CONSENT_RECEIPT_TYPE] as ['VerifiableCredential', typeof CONSENT_RECEIPT_TYPE],
    issuer,
    validFrom: toXsdDateTime(e.at),
    credentialSubject: {
      id: e.subject,
      consent: {
        id: consentIri(e.ledger.chainId, e.id),
        org: e.org,
        purposes: [...e.purposes],
        categories: [...e.categories],
        expiresAt: toXsdDateTime(e.expiresAt),
        share: e.share,
        sale: e.sale,
        jurisdiction: e.jurisdiction,
        notice: e.notice,
        event: e.event,
        ledger: { ...e.ledger },
      },
    },
  };
  return createProof(credential, {
    signer: options.signer,
    verificationMethod: didKeyVerificationMethod(issuer),
    created: options.created,
    proofPurpose: ASSERTION_METHOD,
  });
}

/**
 * The event a receipt attests and its issuer, read from the receipt's fields. Does NOT check the
 * proof (verifyConsentReceipt does). Throws `BAD_JSON` on anything but the exact shape
 * issueConsentReceipt produces.
 */
export function consentEventFromReceipt(vc: unknown): { event: ConsentEvent; issuer: string } {
  const v = object(vc, 'receipt', VC_KEYS, ['proof']);
  if (!sameJson(v['@context'], [VC_V2_CONTEXT, CUSTOS_CONSENT_CONTEXT])) {
    throw bad(`expected receipt @context ['${VC_V2_CONTEXT}', '${CUSTOS_CONSENT_CONTEXT}']`);
  }
  if (!sameJson(v.type, ['VerifiableCredential', CONSENT_RECEIPT_TYPE])) {
    throw bad(`expected receipt type ['VerifiableCredential', '${CONSENT_RECEIPT_TYPE}']`);
  }
  if (!isDidKey(v.issuer)) throw bad(`expected receipt issuer as a did:key, got ${describe(v.issuer)}`);
  const subject = object(v.credentialSubject, 'receipt credentialSubject', ['consent', 'id']);
  const c = object(subject.consent, 'receipt credentialSubject.consent', CLAIM_KEYS);
  const event = parseConsentEvent({
    event: c.event,
    id: idFromIri(c.id, c.ledger),
    subject: subject.id,
    org: c.org,
    purposes: c.purposes,
    categories: c.categories,
    expiresAt: time(c.expiresAt, 'consent.expiresAt'),
    share: c.share,
    sale: c.sale,
    jurisdiction: c.jurisdiction,
    notice: c.notice,
    at: time(v.validFrom, 'validFrom'),
    ledger: c.ledger,
  });
  if (v.id !== receiptIri(event.ledger.chainId, event.ledger.txId)) {
    throw bad('expected receipt id urn:custos:<chainId>:receipt:<ledger.txId>');
  }
  return { event, issuer: v.issuer };
}

/**
 * Verifies a consent receipt: its shape, its `eddsa-jcs-2022` proof by a did:key verification
 * method for `assertionMethod`, and that the issuer controls that verification method. Never throws.
 *
 * @example
 * const { verified, event, problems } = verifyConsentReceipt(JSON.parse(body), nobleVerifier);
 */
export function verifyConsentReceipt(vc: unknown, verifier: Verifier): ReceiptVerification {
  const failed = (problems: string[]): ReceiptVerification => ({
    verified: false,
    problems,
    event: null,
    issuer: null,
  });
  try {
    const parsed = consentEventFromReceipt(vc);
    if (canonicalBytes(vc).length > MAX_RECEIPT_BYTES) {
      return failed([`expected a receipt of at most ${MAX_RECEIPT_BYTES} bytes`]);
    }
    const problems: string[] = [];
    const proof = (vc as { proof?: unknown }).proof;
    const vm =
      typeof proof === 'object' && proof !== null
        ? (proof as { verificationMethod?: unknown }).verificationMethod
        : undefined;
    if (typeof vm !== 'string' || controllerOf(vm) !== parsed.issuer) {
      problems.push('expected proof.verificationMethod controlled by the issuer');
    }
    const result = verifyProof(vc, { verifier, expectedProofPurpose: ASSERTION_METHOD });
    problems.push(...result.problems);
    if (problems.length > 0 || !result.verified) return failed(problems);
    return { verified: true, problems, event: parsed.event, issuer: parsed.issuer };
  } catch (e) {
    // Anything thrown here is a malformed receipt (or a hostile object); the caller gets a problem.
    return failed([e instanceof Error ? e.message : String(e)]);
  }
}

function idFromIri(iri: unknown, ledger: unknown): string {
  const chainId = typeof ledger === 'object' && ledger !== null ? (ledger as { chainId?: unknown }).chainId : undefined;
  const prefix = `urn:custos:${String(chainId)}:consent:`;
  if (typeof iri !== 'string' || !iri.startsWith(prefix)) {
    throw bad('expected consent.id urn:custos:<ledger.chainId>:consent:<grant txId>');
  }
  return iri.slice(prefix.length);
}

/** Milliseconds of a time written exactly as toXsdDateTime writes it (one text per instant). */
function time(v: unknown, name: string): number {
  const ms = parseXsdDateTime(v);
  if (ms === null || ms < 0 || ms > MAX_XSD_TIME_MS || toXsdDateTime(ms) !== v) {
    throw bad(`expected ${name} as a UTC dateTime such as 2026-01-01T00:00:00Z, got ${describe(v)}`);
  }
  return ms;
}

function object(
  v: unknown,
  name: string,
  keys: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad(`expected ${name} as an object, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw bad(`expected no field '${k.slice(0, 40)}' in ${name}`);
  }
  for (const k of keys) {
    if (o[k] === undefined && !optional.includes(k)) throw bad(`expected ${name}.${k}`);
  }
  return o;
}

function matching(v: unknown, re: RegExp, name: string, what: string): string {
  if (typeof v !== 'string' || v.length > 128 || !re.test(v))
    throw bad(`expected ${name} as ${what}, got ${describe(v)}`);
  return v;
}

function integer(v: unknown, name: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw bad(`expected ${name} as an integer in 0..${max}, got ${describe(v)}`);
  }
  return v;
}

function boolean(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw bad(`expected ${name} as true or false, got ${describe(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, values: readonly T[], name: string): T {
  if (!values.includes(v as T)) throw bad(`expected ${name} as one of ${values.join(', ')}, got ${describe(v)}`);
  return v as T;
}

function codes(v: unknown, name: string, accepted: (c: unknown) => boolean, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_CONSENT_CODES) {
    throw bad(`expected ${name} as 1 to ${MAX_CONSENT_CODES} ${what}, got ${describe(v)}`);
  }
  for (const c of v) {
    if (!accepted(c))
      throw bad(`expected ${name} as ${what}, got ${typeof c === 'string' ? `'${c.slice(0, 80)}'` : describe(c)}`);
  }
  if (new Set(v).size !== v.length) throw bad(`expected ${name} without repeats`);
  return [...v];
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalize(a) === canonicalize(b);
  } catch {
    return false;
  }
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_JSON', message);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
