/**
 * W3C Data Integrity EdDSA Cryptosuites v1.0 (Recommendation, 15 May 2025), section 3.3
 * `eddsa-jcs-2022`: a Data Integrity proof over the RFC 8785 canonical JSON of a document, signed
 * with Ed25519. Proofs whose verification method is a did:key URL resolve locally; any other needs
 * a `resolveKey` from the caller. Proof sets and proof chains are not supported: one proof per document.
 */
import { base58 } from '@scure/base';
import { concatBytes, describe, equalBytes, utf8 } from '../bytes.js';
import { didFromPublicKey, publicKeyFromDid } from '../crypto/didkey.js';
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, type Signer, type Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import { canonicalize, type JsonValue } from '../jcs.js';
import { isXsdDateTimeStamp, parseXsdDateTime, toXsdDateTime } from './xsd-datetime.js';

export const DATA_INTEGRITY_PROOF = 'DataIntegrityProof';
export const EDDSA_JCS_2022 = 'eddsa-jcs-2022';
/** The proof purpose of a credential's issuer (W3C Controlled Identifiers, verification relationship). */
export const ASSERTION_METHOD = 'assertionMethod';

export type JsonObject = { [key: string]: JsonValue };

/** The `proof` property of a document secured with `eddsa-jcs-2022`. */
export type DataIntegrityProof = {
  type: typeof DATA_INTEGRITY_PROOF;
  cryptosuite: typeof EDDSA_JCS_2022;
  created: string;
  verificationMethod: string;
  proofPurpose: string;
  '@context'?: JsonValue;
  /** Multibase base58btc (`z...`) of the 64-byte Ed25519 signature. */
  proofValue: string;
};

/** A document with a proof added. */
export type Secured<T> = T & { proof: DataIntegrityProof };

export interface CreateProofOptions {
  signer: Signer;
  /** URL of the signer's key, e.g. `did:key:z6Mk...#z6Mk...`; a did:key must be the signer's own key. */
  verificationMethod: string;
  /** When the proof was made: milliseconds since the epoch, or an XML Schema dateTimeStamp. */
  created: number | string;
  /** Why the proof was made; `assertionMethod` (an issuer's claim) by default. */
  proofPurpose?: string;
}

export interface VerifyProofOptions {
  verifier: Verifier;
  /**
   * The public key of a verification method, or null if it is unknown. Without it only did:key
   * verification methods resolve. Called with attacker-controlled input; it may throw.
   */
  resolveKey?: (verificationMethod: string) => Uint8Array | null;
  /** Rejects a proof made for another purpose (e.g. `authentication` where `assertionMethod` is due). */
  expectedProofPurpose?: string;
  /** Milliseconds since the epoch; when given, a proof past its `expires` time fails. */
  now?: number;
}

/** The result of Verify Proof (section 3.3.2), with the reasons a proof failed. */
export interface ProofVerification {
  verified: boolean;
  /** Why verification failed; empty when `verified`. */
  problems: string[];
  /** The document without its proof when verified, else null. */
  verifiedDocument: JsonObject | null;
}

/** Longest verification method URL accepted; a did:key URL is about 105 characters. */
const MAX_VERIFICATION_METHOD_LENGTH = 2048;
const PROOF_PURPOSE = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const DID_KEY_PREFIX = 'did:key:';
/** base58btc of 64 bytes is at most 88 characters; anything longer cannot be a signature. */
const MAX_PROOF_VALUE_LENGTH = 1 + 90;

/**
 * Section 3.3.3 Transformation: the RFC 8785 canonical JSON of the unsecured document. Throws
 * `BAD_PROOF` unless `options` names this cryptosuite, `BAD_JSON` if the document is not I-JSON.
 */
export function eddsaJcs2022Transform(
  unsecuredDocument: unknown,
  options: { type?: unknown; cryptosuite?: unknown },
): string {
  assertSuite(options, 'transformation');
  return canonicalize(unsecuredDocument);
}

/**
 * Section 3.3.5 Proof Configuration: the canonical JSON of the proof options (the proof without
 * `proofValue`). Throws `BAD_PROOF` on another suite or a `created` that is not a dateTimeStamp.
 */
export function eddsaJcs2022ProofConfig(options: { [key: string]: unknown }): string {
  assertSuite(options, 'proof configuration');
  if (options.created !== undefined && !isXsdDateTimeStamp(options.created)) {
    throw new ProtocolError(
      'BAD_PROOF',
      `expected proof created as an XML Schema dateTimeStamp, got ${describe(options.created)}`,
    );
  }
  return canonicalize(options);
}

/**
 * Section 3.3.4 Hashing: SHA-256(canonical proof configuration) followed by SHA-256(transformed
 * document), 64 bytes. This is the message Ed25519 signs.
 */
export function eddsaJcs2022Hash(transformedDocument: string, canonicalProofConfig: string): Uint8Array {
  return concatBytes(sha256(utf8(canonicalProofConfig)), sha256(utf8(transformedDocument)));
}

/**
 * Adds an `eddsa-jcs-2022` proof to `document` (section 3.3.1, Create Proof). The proof copies the
 * document's `@context`, as the specification asks, so it can later join a proof set or chain.
 * Throws `BAD_PROOF` on a document that already has a proof or on bad options, `BAD_KEY` when a
 * did:key verification method names another key than the signer's, `BAD_JSON` on non-I-JSON.
 *
 * @example
 * const did = didFromPublicKey(signer.publicKey);
 * const vc = createProof(credential, { signer, verificationMethod: didKeyVerificationMethod(did), created: Date.now() });
 */
export function createProof<T extends object>(document: T, options: CreateProofOptions): Secured<T> {
  if (!isPlainObject(document)) {
    throw new ProtocolError('BAD_PROOF', `expected a JSON object to secure, got ${describe(document)}`);
  }
  if (Object.hasOwn(document, 'proof')) {
    throw new ProtocolError(
      'BAD_PROOF',
      'expected a document without a proof; proof sets and chains are not supported',
    );
  }
  const { signer, verificationMethod } = options;
  if (
    typeof verificationMethod !== 'string' ||
    verificationMethod.length > MAX_VERIFICATION_METHOD_LENGTH ||
    !verificationMethod.includes(':')
  ) {
    throw new ProtocolError('BAD_PROOF', `expected verificationMethod as a URL, got ${describe(verificationMethod)}`);
  }
  if (verificationMethod.startsWith(DID_KEY_PREFIX)) {
    const key = publicKeyFromDidKeyUrl(verificationMethod);
    if (key === null) {
      throw new ProtocolError(
        'BAD_PROOF',
        'expected a did:key verification method of the form did:key:z...#z... (same key twice)',
      );
    }
    if (!equalBytes(key, signer.publicKey)) {
      throw new ProtocolError('BAD_KEY', "expected the signer's own did:key as verificationMethod, got another key");
    }
  }
  const created = typeof options.created === 'number' ? toXsdDateTime(options.created) : options.created;
  const proofPurpose = options.proofPurpose ?? ASSERTION_METHOD;
  if (typeof proofPurpose !== 'string' || !PROOF_PURPOSE.test(proofPurpose)) {
    throw new ProtocolError(
      'BAD_PROOF',
      `expected proofPurpose as a term such as 'assertionMethod', got ${describe(proofPurpose)}`,
    );
  }

  const proof: Omit<DataIntegrityProof, 'proofValue'> = {
    type: DATA_INTEGRITY_PROOF,
    cryptosuite: EDDSA_JCS_2022,
    created,
    verificationMethod,
    proofPurpose,
  };
  const context = (document as { '@context'?: unknown })['@context'];
  if (context !== undefined) proof['@context'] = JSON.parse(canonicalize(context)) as JsonValue;

  const canonicalConfig = eddsaJcs2022ProofConfig(proof);
  const transformed = eddsaJcs2022Transform(document, proof);
  const signature = signer.sign(eddsaJcs2022Hash(transformed, canonicalConfig));
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) {
    throw new ProtocolError(
      'BAD_SIGNATURE',
      `expected a ${SIGNATURE_LENGTH}-byte signature from the signer, got ${describe(signature)}`,
    );
  }
  return { ...document, proof: { ...proof, proofValue: `z${base58.encode(signature)}` } };
}

/**
 * Verifies the `eddsa-jcs-2022` proof of `securedDocument` (section 3.3.2, Verify Proof, with the
 * proof checks of VC Data Integrity 1.0 section 4.3). Never throws: every failure, including a
 * `resolveKey` that throws, is a problem in the result. Read the claims from `verifiedDocument`, not
 * from the input: the specification lets a document list more contexts after the ones its proof
 * names (for proof chains), and `verifiedDocument` has only the signed ones.
 *
 * @example
 * const { verified, problems } = verifyProof(JSON.parse(text), { verifier: nobleVerifier });
 */
export function verifyProof(securedDocument: unknown, options: VerifyProofOptions): ProofVerification {
  const problems: string[] = [];
  const fail = (): ProofVerification => ({ verified: false, problems, verifiedDocument: null });
  try {
    if (!isPlainObject(securedDocument)) {
      problems.push(`expected a secured document (a JSON object), got ${describe(securedDocument)}`);
      return fail();
    }
    const { proof, ...unsecured } = securedDocument as { proof?: unknown; [key: string]: unknown };
    if (proof === undefined) {
      problems.push('expected a proof');
      return fail();
    }
    if (Array.isArray(proof)) {
      problems.push('expected one proof; proof sets are not supported');
      return fail();
    }
    if (!isPlainObject(proof)) {
      problems.push(`expected proof as an object, got ${describe(proof)}`);
      return fail();
    }
    const { proofValue, ...proofOptions } = proof as { proofValue?: unknown; [key: string]: unknown };

    if (proofOptions.type !== DATA_INTEGRITY_PROOF) problems.push(`expected proof.type '${DATA_INTEGRITY_PROOF}'`);
    if (proofOptions.cryptosuite !== EDDSA_JCS_2022) problems.push(`expected proof.cryptosuite '${EDDSA_JCS_2022}'`);
    const { verificationMethod, proofPurpose, created, expires } = proofOptions;
    if (typeof verificationMethod !== 'string' || verificationMethod.length > MAX_VERIFICATION_METHOD_LENGTH) {
      problems.push(`expected proof.verificationMethod as a URL, got ${describe(verificationMethod)}`);
    }
    if (typeof proofPurpose !== 'string') {
      problems.push(`expected proof.proofPurpose as a string, got ${describe(proofPurpose)}`);
    } else if (options.expectedProofPurpose !== undefined && proofPurpose !== options.expectedProofPurpose) {
      problems.push(`expected proof.proofPurpose '${options.expectedProofPurpose}', got another purpose`);
    }
    if (created !== undefined && !isXsdDateTimeStamp(created)) {
      problems.push(`expected proof.created as an XML Schema dateTimeStamp, got ${describe(created)}`);
    }
    if (expires !== undefined) {
      const until = parseXsdDateTime(expires);
      if (until === null)
        problems.push(`expected proof.expires as an XML Schema dateTimeStamp, got ${describe(expires)}`);
      else if (options.now !== undefined && options.now >= until) problems.push('proof expired');
    }
    const signature = decodeProofValue(proofValue);
    if (signature === null) {
      problems.push(`expected proof.proofValue as base58btc multibase ('z...') of ${SIGNATURE_LENGTH} bytes`);
    }

    // Step 4: a proof that names contexts binds the document to start with them, then signs over
    // exactly those (a later proof in a chain may have added more).
    if (proofOptions['@context'] !== undefined) {
      if (!startsWithContexts(unsecured['@context'], proofOptions['@context'])) {
        problems.push('expected the document @context to start with the proof @context, in the same order');
      } else {
        unsecured['@context'] = proofOptions['@context'];
      }
    }
    if (problems.length > 0) return fail();

    let hashData: Uint8Array;
    try {
      hashData = eddsaJcs2022Hash(
        eddsaJcs2022Transform(unsecured, proofOptions),
        eddsaJcs2022ProofConfig(proofOptions),
      );
    } catch (e) {
      problems.push(`cannot canonicalize: ${message(e)}`);
      return fail();
    }
    const vm = verificationMethod as string;
    let publicKey: Uint8Array | null;
    try {
      publicKey = options.resolveKey !== undefined ? options.resolveKey(vm) : publicKeyFromDidKeyUrl(vm);
    } catch (e) {
      problems.push(`cannot resolve proof.verificationMethod: ${message(e)}`);
      return fail();
    }
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) {
      problems.push('cannot resolve proof.verificationMethod to an Ed25519 public key');
      return fail();
    }
    if (!options.verifier.verify(publicKey, hashData, signature as Uint8Array)) {
      problems.push('signature does not verify');
      return fail();
    }
    return { verified: true, problems, verifiedDocument: JSON.parse(canonicalize(unsecured)) as JsonObject };
  } catch (e) {
    problems.push(`cannot verify: ${message(e)}`);
    return fail();
  }
}

/**
 * The did:key verification method of a did:key: its one key, named by a fragment equal to the
 * method-specific id (W3C did:key method). Throws `BAD_DID` if `did` is not an Ed25519 did:key.
 *
 * @example
 * didKeyVerificationMethod('did:key:z6MkrJ...'); // 'did:key:z6MkrJ...#z6MkrJ...'
 */
export function didKeyVerificationMethod(did: string): string {
  publicKeyFromDid(did);
  return `${did}#${did.slice(DID_KEY_PREFIX.length)}`;
}

/**
 * The Ed25519 public key of a did:key verification method URL `did:key:z...#z...`, or null if `url`
 * is not one (another DID method, no fragment, a fragment naming another key, a bad key).
 */
export function publicKeyFromDidKeyUrl(url: unknown): Uint8Array | null {
  if (typeof url !== 'string' || url.length > MAX_VERIFICATION_METHOD_LENGTH) return null;
  const hash = url.indexOf('#');
  if (hash < 0) return null;
  const did = url.slice(0, hash);
  if (!did.startsWith(DID_KEY_PREFIX) || url.slice(hash + 1) !== did.slice(DID_KEY_PREFIX.length)) return null;
  try {
    return publicKeyFromDid(did);
  } catch {
    return null;
  }
}

/** The DID that controls a verification method: the URL before its fragment. */
export function controllerOf(verificationMethod: string): string {
  const hash = verificationMethod.indexOf('#');
  return hash < 0 ? verificationMethod : verificationMethod.slice(0, hash);
}

/** The did:key verification method of a signer, for `createProof`. */
export function signerVerificationMethod(signer: Signer): string {
  return didKeyVerificationMethod(didFromPublicKey(signer.publicKey));
}

function assertSuite(options: { type?: unknown; cryptosuite?: unknown }, step: string): void {
  if (options.type !== DATA_INTEGRITY_PROOF || options.cryptosuite !== EDDSA_JCS_2022) {
    throw new ProtocolError('BAD_PROOF', `expected ${step} options for ${DATA_INTEGRITY_PROOF} ${EDDSA_JCS_2022}`);
  }
}

function decodeProofValue(value: unknown): Uint8Array | null {
  if (typeof value !== 'string' || value.length > MAX_PROOF_VALUE_LENGTH || !value.startsWith('z')) return null;
  try {
    const bytes = base58.decode(value.slice(1));
    return bytes.length === SIGNATURE_LENGTH ? bytes : null;
  } catch {
    return null;
  }
}

/** True if the contexts `doc` starts with the contexts `prefix`, compared as canonical JSON. */
function startsWithContexts(doc: unknown, prefix: unknown): boolean {
  const d = Array.isArray(doc) ? doc : doc === undefined ? [] : [doc];
  const p = Array.isArray(prefix) ? prefix : [prefix];
  if (p.length > d.length) return false;
  for (let i = 0; i < p.length; i++) {
    if (canonicalize(p[i]) !== canonicalize(d[i])) return false;
  }
  return true;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
