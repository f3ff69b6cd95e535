/**
 * Member-set epochs: how a verifier follows a chain's member set from genesis (or from any epoch it
 * already trusts) to the current one, with no trust in the peer or relayer that hands it the
 * updates (as IBC light clients follow validator sets).
 *
 * Every change of the member set (admission, removal, key rotation or addition, threshold change)
 * is executed in some block `h`; the executor then writes the state entry `gov/memberset` =
 * `{epoch, effectiveFrom: h + 1, members, threshold}`. Block `h` is certified by the set in force
 * before the change (epoch `n - 1`), and the new set certifies blocks from `h + 1`. A
 * `MemberSetUpdate` carries what proves that: the header of `h`, its certificate, and a state proof
 * of `gov/memberset` under the header's state root. A verifier that trusts epoch `n - 1` accepts
 * epoch `n` only if all of it checks; it never skips an epoch and never goes back to an old one.
 */
import { describe, fromHex, utf8 } from '../bytes.js';
import { isDidKey } from '../crypto/didkey.js';
import type { Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { canonicalize, type JsonValue } from '../jcs.js';
import { parseStateProof, type StateProofJson, verifyStateProof } from '../state/proof.js';
import { type BlockHeader, checkHeaderShape } from './block.js';
import {
  checkpointOf,
  type MemberSet,
  majority,
  type QuorumCertificate,
  verifyQuorumCertificate,
} from './checkpoint.js';

export const MEMBER_SET_UPDATE = 'custos/member-set-update/v1';
/** State key of the member set in force from the next block, written with every change. */
export const MEMBER_SET_KEY = 'gov/memberset';
/** Most members in a set, most keys per member (the same bounds as governance). */
export const MAX_SET_MEMBERS = 64;
export const MAX_MEMBER_KEYS = 8;
/** Most updates one verification walks (a response, a bundle, a snapshot). */
export const MAX_MEMBER_SET_UPDATES = 4096;
const MEMBER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** The state value of `gov/memberset` (canonical JSON in the state map). */
export interface MemberSetEntry {
  epoch: number;
  /** First height this set certifies. */
  effectiveFrom: number;
  members: MemberSet['members'];
  threshold: number;
}

/** One certified change of the member set. */
export interface MemberSetUpdate {
  type: typeof MEMBER_SET_UPDATE;
  chainId: string;
  epoch: number;
  effectiveFrom: number;
  members: MemberSet;
  /** The block that executed the change (height `effectiveFrom - 1`). */
  header: BlockHeader;
  /** Certificate of that block by a quorum of the previous set. */
  certificate: QuorumCertificate;
  /** Proof of `gov/memberset` = this set under `header.stateRoot`. */
  proof: StateProofJson;
}

/** A member set and the heights it certifies from. */
export interface MemberEpoch {
  epoch: number;
  effectiveFrom: number;
  members: MemberSet;
}

/** What a verifier trusts about a chain's member sets: epochs in order, the latest last. */
export interface MemberSetChain {
  chainId: string;
  epochs: MemberEpoch[];
}

/** The trust root of a chain: its genesis members, epoch 0, certifying from height 0. */
export function genesisMemberChain(chainId: string, members: MemberSet): MemberSetChain {
  return { chainId, epochs: [{ epoch: 0, effectiveFrom: 0, members }] };
}

/** The state value written for an epoch (also what the update's state proof must prove). */
export function memberSetEntry(e: MemberEpoch): MemberSetEntry {
  return {
    epoch: e.epoch,
    effectiveFrom: e.effectiveFrom,
    members: e.members.members.map((m) => ({ id: m.id, keys: [...m.keys] })),
    threshold: e.members.threshold,
  };
}

/** The latest epoch a chain of trust knows. */
export function latestEpoch(chain: MemberSetChain): MemberEpoch {
  const e = chain.epochs[chain.epochs.length - 1];
  if (e === undefined) throw bad('expected a member-set chain with at least its genesis epoch');
  return e;
}

/** The member set that certifies `height`: the latest epoch whose `effectiveFrom` is at most `height`. */
export function memberSetForHeight(chain: MemberSetChain, height: number): MemberEpoch {
  let found: MemberEpoch | undefined;
  for (const e of chain.epochs) if (e.effectiveFrom <= height) found = e;
  if (found === undefined) throw bad(`no member set known for height ${height}`);
  return found;
}

/**
 * Parses an untrusted member set: 1-64 members with distinct ids and keys, 1-8 did:keys each, and
 * a threshold between a majority and the member count (so two conflicting certificates always
 * share a signer). Throws `BAD_CERTIFICATE`.
 */
export function parseMemberSet(raw: unknown): MemberSet {
  const o = object(raw, 'a member set', ['members', 'threshold']);
  const { members, threshold } = o;
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_SET_MEMBERS) {
    throw bad(`expected 1-${MAX_SET_MEMBERS} members, got ${describe(members)}`);
  }
  const ids = new Set<string>();
  const keys = new Set<string>();
  const out: MemberSet['members'] = [];
  for (const m of members as unknown[]) {
    const r = object(m, 'a member', ['id', 'keys']);
    if (typeof r.id !== 'string' || !MEMBER_ID.test(r.id)) {
      throw bad(`expected member ids of 1-32 characters [a-z0-9-], got ${describe(r.id)}`);
    }
    if (ids.has(r.id)) throw bad(`member '${r.id}' appears twice`);
    ids.add(r.id);
    if (!Array.isArray(r.keys) || r.keys.length === 0 || r.keys.length > MAX_MEMBER_KEYS) {
      throw bad(`expected 1-${MAX_MEMBER_KEYS} keys for member '${r.id}'`);
    }
    for (const k of r.keys as unknown[]) {
      if (!isDidKey(k)) throw bad(`expected the keys of member '${r.id}' as Ed25519 did:keys`);
      if (keys.has(k)) throw bad('a key appears twice in the member set');
      keys.add(k);
    }
    out.push({ id: r.id, keys: [...(r.keys as string[])] });
  }
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold > out.length) {
    throw bad(`expected a threshold between ${majority(out.length)} and ${out.length}, got ${describe(threshold)}`);
  }
  if (threshold < majority(out.length)) {
    throw bad(`expected a threshold of at least a majority (${majority(out.length)} of ${out.length})`);
  }
  return { members: out, threshold };
}

/**
 * Verifies one update against the epoch before it and returns the new epoch. Throws
 * `BAD_CERTIFICATE` (or `BAD_PROOF` for the state proof) saying what failed: another chain, a
 * replayed or skipped epoch, a header that is not the block before `effectiveFrom`, a certificate
 * that is not a quorum of the previous set (a removed or rotated-out key does not count), or a
 * member set that is not what the certified state says.
 */
export function verifyMemberSetUpdate(
  previous: MemberEpoch,
  raw: unknown,
  verifier: Verifier,
  chainId: string,
): MemberEpoch {
  const u = object(raw, 'a member-set update', [
    'type',
    'chainId',
    'epoch',
    'effectiveFrom',
    'members',
    'header',
    'certificate',
    'proof',
  ]);
  if (u.type !== MEMBER_SET_UPDATE) throw bad(`expected a member-set update of type ${MEMBER_SET_UPDATE}`);
  if (u.chainId !== chainId) throw bad(`expected a member-set update of chain '${chainId}', got one of another chain`);
  const { epoch, effectiveFrom } = u;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1) {
    throw bad(`expected epoch as a positive integer, got ${describe(epoch)}`);
  }
  if (epoch <= previous.epoch) {
    throw bad(`member-set update to epoch ${epoch} is stale: epoch ${previous.epoch} is already trusted (a replay)`);
  }
  if (epoch !== previous.epoch + 1) {
    throw bad(`expected the update to epoch ${previous.epoch + 1}, got epoch ${epoch}: an epoch cannot be skipped`);
  }
  try {
    checkHeaderShape(u.header);
  } catch (cause) {
    throw new ProtocolError('BAD_CERTIFICATE', `member-set update ${epoch}: malformed header`, { cause });
  }
  const header = u.header;
  if (header.chainId !== chainId) throw bad(`member-set update ${epoch}: the header is of another chain`);
  if (typeof effectiveFrom !== 'number' || effectiveFrom !== header.height + 1) {
    throw bad(`member-set update ${epoch}: expected effectiveFrom ${header.height + 1} (the block after the change)`);
  }
  if (header.height < previous.effectiveFrom) {
    throw bad(
      `member-set update ${epoch}: the change at height ${header.height} is before epoch ${previous.epoch} began (height ${previous.effectiveFrom})`,
    );
  }
  const qc = u.certificate as QuorumCertificate;
  const cp = checkpointOf(header);
  if (typeof qc !== 'object' || qc === null || canonicalize(qc.checkpoint as never) !== canonicalize(cp as never)) {
    throw bad(`member-set update ${epoch}: the certificate is not over the header's checkpoint`);
  }
  try {
    verifyQuorumCertificate(qc, previous.members, verifier, chainId);
  } catch (cause) {
    throw new ProtocolError(
      'BAD_CERTIFICATE',
      `member-set update ${epoch} is not certified by a quorum of epoch ${previous.epoch}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const members = parseMemberSet(u.members);
  const next: MemberEpoch = { epoch, effectiveFrom: header.height + 1, members };
  const value = utf8(canonicalize(memberSetEntry(next) as unknown as JsonValue));
  try {
    verifyStateProof(fromHex(header.stateRoot, 32), utf8(MEMBER_SET_KEY), value, parseStateProof(u.proof));
  } catch (cause) {
    throw new ProtocolError(
      'BAD_CERTIFICATE',
      `member-set update ${epoch}: the state at height ${header.height} does not hold this member set`,
      { cause },
    );
  }
  return next;
}

/**
 * Extends `chain` with `updates` (in epoch order; those the chain already holds must be the same
 * epochs, and are skipped). Returns the new chain; `chain` is not changed. Throws `BAD_CERTIFICATE`.
 */
export function followMemberSetUpdates(chain: MemberSetChain, updates: unknown, verifier: Verifier): MemberSetChain {
  if (!Array.isArray(updates) || updates.length > MAX_MEMBER_SET_UPDATES) {
    throw bad(`expected member-set updates as an array of at most ${MAX_MEMBER_SET_UPDATES}`);
  }
  const epochs = [...chain.epochs];
  for (const raw of updates as unknown[]) {
    const last = epochs[epochs.length - 1] as MemberEpoch;
    const e = (raw as { epoch?: unknown } | null)?.epoch;
    if (typeof e === 'number' && e <= last.epoch) {
      const known = epochs.find((k) => k.epoch === e);
      const u = raw as Partial<MemberSetUpdate>;
      if (
        known === undefined ||
        known.effectiveFrom !== u.effectiveFrom ||
        canonicalize(known.members as never) !== canonicalize((u.members ?? null) as never)
      ) {
        throw bad(`member-set update ${e} conflicts with the epoch ${e} already trusted`);
      }
      continue;
    }
    epochs.push(verifyMemberSetUpdate(last, raw, verifier, chain.chainId));
  }
  return { chainId: chain.chainId, epochs };
}

/** Checks an untrusted chain of trust read back from storage (shape only: it was verified when stored). */
export function parseMemberSetChain(raw: unknown, lenientGenesis = true): MemberSetChain {
  const o = object(raw, 'a member-set chain', ['chainId', 'epochs']);
  if (typeof o.chainId !== 'string' || !Array.isArray(o.epochs) || o.epochs.length === 0) {
    throw bad('expected {chainId, epochs} with at least one epoch');
  }
  if (o.epochs.length > MAX_MEMBER_SET_UPDATES + 1) throw bad('too many epochs');
  const epochs = (o.epochs as unknown[]).map((raw, i) => {
    const e = object(raw, 'an epoch', ['epoch', 'effectiveFrom', 'members']);
    if (e.epoch !== i || typeof e.effectiveFrom !== 'number' || !Number.isSafeInteger(e.effectiveFrom)) {
      throw bad('expected epochs numbered from 0 in order');
    }
    const members = i === 0 && lenientGenesis ? (e.members as MemberSet) : parseMemberSet(e.members);
    return { epoch: i, effectiveFrom: e.effectiveFrom, members };
  });
  return { chainId: o.chainId, epochs };
}

function object(v: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`expected ${name} object, got ${describe(v)}`);
  const own = Object.keys(v);
  if (own.length !== keys.length || !keys.every((k) => Object.hasOwn(v, k))) {
    throw bad(`expected ${name} with exactly the fields ${keys.join(', ')}`);
  }
  return v as Record<string, unknown>;
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_CERTIFICATE', message);
}
