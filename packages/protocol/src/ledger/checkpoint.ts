/**
 * Checkpoints and quorum certificates (docs/architecture.md#finality): `{chainId, height, logSize,
 * logRoot, stateRoot}` signed by a quorum of members, the trust anchor for every inclusion,
 * consistency and state proof.
 */
import { fromBase64url, toBase64url } from '../b64.js';
import { describe, isHex } from '../bytes.js';
import { didFromPublicKey, publicKeyFromDid } from '../crypto/didkey.js';
import { SIGNATURE_LENGTH, type Signer, type Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { canonicalBytes } from '../jcs.js';
import type { BlockHeader } from './block.js';

export interface Checkpoint {
  chainId: string;
  height: number;
  logSize: number;
  logRoot: string;
  stateRoot: string;
}

export interface CheckpointSignature {
  /** did:key of the member key that signed. */
  signer: string;
  /** base64url Ed25519 signature over `checkpointSigningBytes(checkpoint)`. */
  sig: string;
}

export interface QuorumCertificate {
  checkpoint: Checkpoint;
  signatures: CheckpointSignature[];
}

/** The members whose signatures count, each with one or more keys, and how many members make a quorum. */
export interface MemberSet {
  members: { id: string; keys: string[] }[];
  threshold: number;
}

/** Domain tag so a checkpoint signature can never be replayed as a transaction or another message. */
export const CHECKPOINT_DOMAIN = 'custos/checkpoint/v1';
export const MAX_CERTIFICATE_SIGNATURES = 256;

export function checkpointOf(header: BlockHeader): Checkpoint {
  const { chainId, height, logSize, logRoot, stateRoot } = header;
  return { chainId, height, logSize, logRoot, stateRoot };
}

export function checkpointSigningBytes(cp: Checkpoint): Uint8Array {
  const { chainId, height, logSize, logRoot, stateRoot } = cp;
  return canonicalBytes({ domain: CHECKPOINT_DOMAIN, chainId, height, logSize, logRoot, stateRoot });
}

export function signCheckpoint(cp: Checkpoint, signer: Signer): CheckpointSignature {
  return { signer: didFromPublicKey(signer.publicKey), sig: toBase64url(signer.sign(checkpointSigningBytes(cp))) };
}

/** A majority quorum: more than half of `n` members. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Verifies a quorum certificate: a well-formed checkpoint for `chainId`, signed by at least
 * `threshold` distinct members of `members`. Throws `BAD_CERTIFICATE` (or `BAD_CHECKPOINT`)
 * naming what failed: a non-member key, a duplicate member, a bad signature, too few signers.
 */
export function verifyQuorumCertificate(
  qc: unknown,
  members: MemberSet,
  verifier: Verifier,
  chainId?: string,
): asserts qc is QuorumCertificate {
  if (typeof qc !== 'object' || qc === null) throw badCert(`expected a certificate object, got ${describe(qc)}`);
  const { checkpoint, signatures } = qc as Record<string, unknown>;
  checkCheckpointShape(checkpoint);
  if (chainId !== undefined && checkpoint.chainId !== chainId) {
    throw badCert(`expected a checkpoint of chain '${chainId}', got one of another chain`);
  }
  if (!Array.isArray(signatures) || signatures.length > MAX_CERTIFICATE_SIGNATURES) {
    throw badCert(`expected signatures as an array of at most ${MAX_CERTIFICATE_SIGNATURES}`);
  }
  if (!Number.isSafeInteger(members.threshold) || members.threshold < 1) {
    throw badCert('expected a member set with a positive threshold');
  }
  const memberOfKey = new Map<string, string>();
  for (const m of members.members) for (const k of m.keys) memberOfKey.set(k, m.id);
  const message = checkpointSigningBytes(checkpoint);
  const signed = new Set<string>();
  for (const s of signatures as unknown[]) {
    const { signer, sig } = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
    if (typeof signer !== 'string' || typeof sig !== 'string')
      throw badCert('expected each signature as {signer, sig}');
    const member = memberOfKey.get(signer);
    if (member === undefined) throw badCert('certificate signed by a key that is not a member key');
    if (signed.has(member)) throw badCert(`member '${member}' signed more than once`);
    let ok = false;
    try {
      ok = verifier.verify(publicKeyFromDid(signer), message, fromBase64url(sig, SIGNATURE_LENGTH));
    } catch {
      ok = false;
    }
    if (!ok) throw badCert(`signature of member '${member}' does not verify`);
    signed.add(member);
  }
  if (signed.size < members.threshold) {
    throw badCert(`expected signatures of at least ${members.threshold} members, got ${signed.size}`);
  }
}

export function checkCheckpointShape(cp: unknown): asserts cp is Checkpoint {
  if (typeof cp !== 'object' || cp === null) {
    throw new ProtocolError('BAD_CHECKPOINT', `expected a checkpoint object, got ${describe(cp)}`);
  }
  const r = cp as Record<string, unknown>;
  if (typeof r.chainId !== 'string' || r.chainId.length === 0 || r.chainId.length > 64) {
    throw new ProtocolError('BAD_CHECKPOINT', 'expected checkpoint.chainId as a string of 1-64 characters');
  }
  for (const k of ['height', 'logSize']) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new ProtocolError('BAD_CHECKPOINT', `expected checkpoint.${k} as a non-negative integer`);
    }
  }
  for (const k of ['logRoot', 'stateRoot']) {
    if (!isHex(r[k], 32)) throw new ProtocolError('BAD_CHECKPOINT', `expected checkpoint.${k} as 64 hex characters`);
  }
}

function badCert(message: string): ProtocolError {
  return new ProtocolError('BAD_CERTIFICATE', message);
}
