/**
 * Light client of another Custos chain (docs/architecture.md#atomic-cross-chain-transactions): that
 * chain's member keys and quorum, from which its quorum certificates and the state proofs checked
 * against them are verified with no trust in any peer or relayer. The member set follows the other
 * chain's changes only through updates signed by a quorum of the set it replaces; two different
 * valid certificates for one height freeze the client, with the certificates as evidence. Pure
 * functions over a plain state object, so a peer keeps it in its ledger state and a browser can run
 * the same checks.
 */
import { fromBase64url, toBase64url } from '../b64.js';
import { describe, fromHex, utf8 } from '../bytes.js';
import { didFromPublicKey, publicKeyFromDid } from '../crypto/didkey.js';
import { SIGNATURE_LENGTH, type Signer, type Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { canonicalBytes, canonicalize, type JsonValue } from '../jcs.js';
import {
  type Checkpoint,
  type CheckpointSignature,
  type MemberSet,
  type QuorumCertificate,
  verifyQuorumCertificate,
} from '../ledger/checkpoint.js';
import { parseMemberSet, verifyMemberSetUpdate } from '../ledger/member-epochs.js';
import { parseStateProof, type StateProofJson, verifyStateProof } from '../state/proof.js';

/** Domain tags: a co-signature of one message can never count for another kind of message. */
export const REGISTRATION_DOMAIN = 'custos/interop/register/v1';
export const MEMBER_UPDATE_DOMAIN = 'custos/interop/members/v1';
export const MAX_REMOTE_MEMBERS = 64;
const CHAIN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Another chain as a light client knows it: its id and the member set whose certificates count. */
export interface RemoteChain {
  chainId: string;
  members: MemberSet;
  /**
   * The member-set epoch of `members` on that chain and the first height it certifies (absent: its
   * genesis set, epoch 0 from height 0), so that its certified member-set updates follow on.
   */
  epoch?: number;
  effectiveFrom?: number;
}

/** What a chain keeps about another one (state `lc/<chainId>` on a Custos peer). */
export interface LightClientState {
  chainId: string;
  members: MemberSet;
  /** The remote chain's member-set epoch (0 at a genesis registration), one more with every verified update. */
  epoch: number;
  /** First height of the remote chain that `members` certifies (certified updates); absent: 0. */
  effectiveFrom?: number;
  /** Set once two conflicting certificates were seen; a frozen client verifies nothing. */
  frozen: { height: number; reason: string } | null;
}

/** A new member set for `chainId`, valid only when signed by a quorum of the set at `epoch - 1`. */
export interface MemberUpdate {
  chainId: string;
  epoch: number;
  members: MemberSet;
}

/** Two valid certificates of one chain for one height with different checkpoints. */
export interface Equivocation {
  chainId: string;
  height: number;
  certificates: [QuorumCertificate, QuorumCertificate];
  /** Members whose keys signed both: accountable for the fork. */
  signers: string[];
}

/** One member's signature over a registration or an update (same shape as a checkpoint signature). */
export type Cosignature = CheckpointSignature;

export { parseMemberSet };

/** Parses an untrusted `{chainId, members}` (or `{chainId, members, epoch, effectiveFrom}`). Throws `BAD_CERTIFICATE`. */
export function parseRemoteChain(raw: unknown): RemoteChain {
  const withEpoch = typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'epoch');
  const o = object(
    raw,
    'a chain description',
    withEpoch ? ['chainId', 'members', 'epoch', 'effectiveFrom'] : ['chainId', 'members'],
  );
  if (typeof o.chainId !== 'string' || !CHAIN_ID.test(o.chainId)) {
    throw bad(`expected chainId of 1-64 characters [a-z0-9-], got ${describe(o.chainId)}`);
  }
  const remote: RemoteChain = { chainId: o.chainId, members: parseMemberSet(o.members) };
  if (withEpoch) {
    for (const k of ['epoch', 'effectiveFrom'] as const) {
      const v = o[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
        throw bad(`expected ${k} as a non-negative integer`);
    }
    remote.epoch = o.epoch as number;
    remote.effectiveFrom = o.effectiveFrom as number;
  }
  return remote;
}

/** A light client as registered: at the registered epoch (0: the genesis set), not frozen. */
export function newLightClient(remote: RemoteChain): LightClientState {
  const lc: LightClientState = {
    chainId: remote.chainId,
    members: remote.members,
    epoch: remote.epoch ?? 0,
    frozen: null,
  };
  if (remote.effectiveFrom !== undefined) lc.effectiveFrom = remote.effectiveFrom;
  return lc;
}

/**
 * Follows the remote chain's certified member-set update (`MemberSetUpdate`, served by its peers at
 * `GET /v1/members/epochs`): the next epoch, proven in the remote's state under a header that a
 * quorum of the set this client trusts certified. A removed or rotated-out key stops counting for
 * this client from then on. Throws `BAD_CERTIFICATE` (stale, skipped, or not certified).
 */
export function applyCertifiedMemberSetUpdate(
  lc: LightClientState,
  update: unknown,
  verifier: Verifier,
): LightClientState {
  if (lc.frozen !== null) throw frozen(lc);
  const next = verifyMemberSetUpdate(
    { epoch: lc.epoch, effectiveFrom: lc.effectiveFrom ?? 0, members: lc.members },
    update,
    verifier,
    lc.chainId,
  );
  return {
    chainId: lc.chainId,
    members: next.members,
    epoch: next.epoch,
    effectiveFrom: next.effectiveFrom,
    frozen: null,
  };
}

/**
 * What a quorum of the members of `localChainId` co-sign to register `remote` there. It names the
 * registering chain, so co-signatures collected for one chain are worthless on another.
 */
export function registrationSigningBytes(localChainId: string, remote: RemoteChain): Uint8Array {
  return canonicalBytes({ domain: REGISTRATION_DOMAIN, chainId: localChainId, remote: asJson(remote) });
}

export function signRegistration(localChainId: string, remote: RemoteChain, signer: Signer): Cosignature {
  return sign(registrationSigningBytes(localChainId, remote), signer);
}

/** What a quorum of the old member set signs to hand over to the new one. */
export function memberUpdateSigningBytes(update: MemberUpdate): Uint8Array {
  return canonicalBytes({
    domain: MEMBER_UPDATE_DOMAIN,
    chainId: update.chainId,
    epoch: update.epoch,
    members: asJson(update.members),
  });
}

export function signMemberUpdate(update: MemberUpdate, signer: Signer): Cosignature {
  return sign(memberUpdateSigningBytes(update), signer);
}

/**
 * Checks that at least `members.threshold` distinct members of `members` signed `message`. Throws
 * `BAD_CERTIFICATE` naming what failed: a non-member key, a member counted twice, a bad signature,
 * too few signers. Returns the ids of the members who signed.
 */
export function verifyCosignatures(
  message: Uint8Array,
  signatures: unknown,
  members: MemberSet,
  verifier: Verifier,
): string[] {
  if (!Array.isArray(signatures) || signatures.length > 256) {
    throw bad(`expected signatures as an array of at most 256, got ${describe(signatures)}`);
  }
  const memberOfKey = new Map<string, string>();
  for (const m of members.members) for (const k of m.keys) memberOfKey.set(k, m.id);
  const signed = new Set<string>();
  for (const s of signatures as unknown[]) {
    const { signer, sig } = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
    if (typeof signer !== 'string' || typeof sig !== 'string') throw bad('expected each signature as {signer, sig}');
    const member = memberOfKey.get(signer);
    if (member === undefined) throw bad('signed by a key that is not a member key');
    if (signed.has(member)) throw bad(`member '${member}' signed more than once`);
    let ok = false;
    try {
      ok = verifier.verify(publicKeyFromDid(signer), message, fromBase64url(sig, SIGNATURE_LENGTH));
    } catch {
      ok = false;
    }
    if (!ok) throw bad(`signature of member '${member}' does not verify`);
    signed.add(member);
  }
  if (signed.size < members.threshold) {
    throw bad(`expected signatures of at least ${members.threshold} members, got ${signed.size}`);
  }
  return [...signed];
}

/**
 * Applies a member update: for this client's chain, the next epoch, a well-formed member set, signed
 * by a quorum of the current set. Certificates of the old set stop counting from then on.
 */
export function applyMemberUpdate(
  lc: LightClientState,
  update: unknown,
  signatures: unknown,
  verifier: Verifier,
): LightClientState {
  if (lc.frozen !== null) throw frozen(lc);
  const u = object(update, 'a member update', ['chainId', 'epoch', 'members']);
  if (u.chainId !== lc.chainId) throw bad(`expected an update of chain '${lc.chainId}', got one of another chain`);
  if (u.epoch !== lc.epoch + 1) {
    throw bad(`expected an update to epoch ${lc.epoch + 1}, got ${describe(u.epoch)} (stale or out of order)`);
  }
  const members = parseMemberSet(u.members);
  const next: MemberUpdate = { chainId: lc.chainId, epoch: lc.epoch + 1, members };
  verifyCosignatures(memberUpdateSigningBytes(next), signatures, lc.members, verifier);
  const out: LightClientState = { chainId: lc.chainId, members, epoch: next.epoch, frozen: null };
  if (lc.effectiveFrom !== undefined) out.effectiveFrom = lc.effectiveFrom;
  return out;
}

/** Verifies a certificate of this client's chain with its current member set; returns its checkpoint. */
export function verifyRemoteCertificate(lc: LightClientState, qc: unknown, verifier: Verifier): Checkpoint {
  if (lc.frozen !== null) throw frozen(lc);
  const from = lc.effectiveFrom ?? 0;
  const height = (qc as { checkpoint?: { height?: unknown } } | null)?.checkpoint?.height;
  if (typeof height === 'number' && height < from) {
    throw bad(
      `the certificate of height ${height} of chain '${lc.chainId}' predates its member set of epoch ${lc.epoch} (from height ${from}): prove it at a later height`,
    );
  }
  verifyQuorumCertificate(qc, lc.members, verifier, lc.chainId);
  return qc.checkpoint;
}

/**
 * Verifies that, on this client's chain, `key` had `value` (null: was absent) at the certified
 * height: the certificate against the member set, then the state proof against its state root.
 * Throws `BAD_CERTIFICATE` or `BAD_PROOF`; returns the certified checkpoint.
 */
export function verifyRemoteState(
  lc: LightClientState,
  qc: unknown,
  key: string,
  value: JsonValue | null,
  proof: StateProofJson | unknown,
  verifier: Verifier,
): Checkpoint {
  const cp = verifyRemoteCertificate(lc, qc, verifier);
  let valueBytes: Uint8Array | null;
  try {
    valueBytes = value === null ? null : utf8(canonicalize(value));
  } catch (cause) {
    throw new ProtocolError('BAD_PROOF', 'expected the proved value as plain JSON', { cause });
  }
  verifyStateProof(fromHex(cp.stateRoot, 32), utf8(key), valueBytes, parseStateProof(proof));
  return cp;
}

/**
 * Checks that `a` and `b` are both valid certificates of this client's chain for the same height
 * with different checkpoints, and returns the evidence. Throws `BAD_CERTIFICATE` otherwise.
 */
export function checkEquivocation(lc: LightClientState, a: unknown, b: unknown, verifier: Verifier): Equivocation {
  verifyQuorumCertificate(a, lc.members, verifier, lc.chainId);
  verifyQuorumCertificate(b, lc.members, verifier, lc.chainId);
  if (a.checkpoint.height !== b.checkpoint.height) {
    throw bad('expected two certificates for the same height');
  }
  if (sameCheckpoint(a.checkpoint, b.checkpoint)) throw bad('the two certificates certify the same checkpoint');
  const memberOfKey = new Map<string, string>();
  for (const m of lc.members.members) for (const k of m.keys) memberOfKey.set(k, m.id);
  const inA = new Set(a.signatures.map((s) => memberOfKey.get(s.signer)));
  const both = new Set<string>();
  for (const s of b.signatures) {
    const m = memberOfKey.get(s.signer);
    if (m !== undefined && inA.has(m)) both.add(m);
  }
  return {
    chainId: lc.chainId,
    height: a.checkpoint.height,
    certificates: [stripCertificate(a), stripCertificate(b)],
    signers: [...both].sort(),
  };
}

/** The client after evidence of a fork: frozen, so none of that chain's proofs count any more. */
export function freezeLightClient(lc: LightClientState, ev: Equivocation): LightClientState {
  return { ...lc, frozen: { height: ev.height, reason: `conflicting certificates for height ${ev.height}` } };
}

/** True if two checkpoints are the same in every field. */
export function sameCheckpoint(a: Checkpoint, b: Checkpoint): boolean {
  return (
    a.chainId === b.chainId &&
    a.height === b.height &&
    a.logSize === b.logSize &&
    a.logRoot === b.logRoot &&
    a.stateRoot === b.stateRoot
  );
}

/** A certificate with only its defined fields, so nothing extra from the wire ends up in state. */
export function stripCertificate(qc: QuorumCertificate): QuorumCertificate {
  const { chainId, height, logSize, logRoot, stateRoot } = qc.checkpoint;
  return {
    checkpoint: { chainId, height, logSize, logRoot, stateRoot },
    signatures: qc.signatures.map(({ signer, sig }) => ({ signer, sig })),
  };
}

function sign(message: Uint8Array, signer: Signer): Cosignature {
  return { signer: didFromPublicKey(signer.publicKey), sig: toBase64url(signer.sign(message)) };
}

function asJson(v: RemoteChain | MemberSet): JsonValue {
  return v as unknown as JsonValue;
}

function object(v: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`expected ${name} object, got ${describe(v)}`);
  const own = Object.keys(v);
  if (own.length !== keys.length || !keys.every((k) => Object.hasOwn(v, k))) {
    throw bad(`expected ${name} with exactly the fields ${keys.join(', ')}`);
  }
  return v as Record<string, unknown>;
}

function frozen(lc: LightClientState): ProtocolError {
  return bad(`the light client of chain '${lc.chainId}' is frozen: ${lc.frozen?.reason ?? 'evidence recorded'}`);
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_CERTIFICATE', message);
}
