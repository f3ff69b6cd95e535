/**
 * Self-contained proof bundles: an inclusion, consistency or state proof together with the quorum
 * certificate it is checked against and (v2) the member-set updates from genesis to the epoch that
 * certifies it. `verifyProofBundle` needs nothing but the bundle and the member sets the verifier
 * already trusts (the genesis set, or a chain of epochs it verified before), so it runs offline and
 * in the browser. v1 bundles (no updates) are still verified, against the trusted epochs alone.
 */
import { describe, equalBytes, fromHex, isHex, utf8 } from '../bytes.js';
import { nobleVerifier, type Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { canonicalize, type JsonValue } from '../jcs.js';
import { emptyRoot, leafHash, verifyConsistency, verifyInclusion } from '../merkle/rfc9162.js';
import { parseStateProof, type StateProofJson, verifyStateProof } from '../state/proof.js';
import { type LogEntry, logEntryBytes, RESULT_CODES } from './block.js';
import { checkCheckpointShape, type MemberSet, type QuorumCertificate, verifyQuorumCertificate } from './checkpoint.js';
import {
  followMemberSetUpdates,
  genesisMemberChain,
  type MemberSetChain,
  type MemberSetUpdate,
  memberSetForHeight,
} from './member-epochs.js';
import { parseTx, type SignedTx } from './tx.js';

export const INCLUSION_BUNDLE = 'custos/inclusion/v2';
export const CONSISTENCY_BUNDLE = 'custos/consistency/v2';
export const STATE_BUNDLE = 'custos/state/v2';
/** The first format, without member-set updates: verified against the epochs the verifier trusts. */
export const INCLUSION_BUNDLE_V1 = 'custos/inclusion/v1';
export const CONSISTENCY_BUNDLE_V1 = 'custos/consistency/v1';
export const STATE_BUNDLE_V1 = 'custos/state/v1';
const MAX_PATH = 64;

export interface InclusionBundle {
  type: typeof INCLUSION_BUNDLE;
  entry: LogEntry;
  /** The transaction itself, so a verifier can check that its id is the one in the entry. */
  tx?: SignedTx;
  leafIndex: number;
  treeSize: number;
  path: string[];
  certificate: QuorumCertificate;
  /** Updates from epoch 1 to the epoch that certifies `certificate` (empty while the genesis set does). */
  memberSetUpdates: MemberSetUpdate[];
}

export interface ConsistencyBundle {
  type: typeof CONSISTENCY_BUNDLE;
  from: QuorumCertificate;
  to: QuorumCertificate;
  path: string[];
  /** Updates up to the epoch that certifies `to`. */
  memberSetUpdates: MemberSetUpdate[];
}

export interface StateBundle {
  type: typeof STATE_BUNDLE;
  key: string;
  /** The value at the certificate's height, or null to prove the key is absent. */
  value: JsonValue | null;
  proof: StateProofJson;
  certificate: QuorumCertificate;
  memberSetUpdates: MemberSetUpdate[];
}

/** What a verifier trusts: a chain's genesis member set, or a chain of epochs it verified before. */
export type TrustedMembers = MemberSet | MemberSetChain;

export function isMemberSetChain(t: TrustedMembers): t is MemberSetChain {
  return Array.isArray((t as MemberSetChain).epochs);
}

export type ProofBundle = InclusionBundle | ConsistencyBundle | StateBundle;

export type VerifiedFact =
  | { kind: 'inclusion'; chainId: string; height: number; entry: LogEntry; leafIndex: number; treeSize: number }
  | { kind: 'consistency'; chainId: string; fromHeight: number; toHeight: number; fromSize: number; toSize: number }
  | { kind: 'state'; chainId: string; height: number; key: string; value: JsonValue | null };

/**
 * Verifies any proof bundle against what the verifier trusts: the genesis member set, or a chain of
 * member-set epochs it already verified (and, given `chainId`, that it is a proof about that chain:
 * the same members may run several chains). The bundle's member-set updates extend that trust, each
 * certified by the set before it; each certificate is then checked against the set in force at its
 * height, so a removed or rotated-out key does not count after its removal. Throws `BAD_PROOF` or
 * `BAD_CERTIFICATE` saying what failed; returns what was proved.
 */
export function verifyProofBundle(
  bundle: unknown,
  trusted: TrustedMembers,
  verifier: Verifier = nobleVerifier,
  chainId?: string,
): VerifiedFact {
  if (typeof bundle !== 'object' || bundle === null)
    throw bad(`expected a proof bundle object, got ${describe(bundle)}`);
  const b = bundle as Record<string, unknown>;
  const v1 = b.type === INCLUSION_BUNDLE_V1 || b.type === CONSISTENCY_BUNDLE_V1 || b.type === STATE_BUNDLE_V1;
  const type = v1 ? String(b.type).replace(/\/v1$/, '/v2') : b.type;
  if (!v1 && (type === INCLUSION_BUNDLE || type === CONSISTENCY_BUNDLE || type === STATE_BUNDLE)) {
    if (!Array.isArray(b.memberSetUpdates)) throw bad('expected memberSetUpdates as an array (a v2 bundle)');
  }
  // The member set that certifies a certificate of the bundle at its height.
  let chain: MemberSetChain | undefined;
  const membersFor = (qc: unknown): MemberSet => {
    if (typeof qc !== 'object' || qc === null) throw bad(`expected a certificate object, got ${describe(qc)}`);
    const cp = (qc as { checkpoint?: unknown }).checkpoint;
    checkCheckpointShape(cp);
    if (chain === undefined) {
      const id = isMemberSetChain(trusted) ? trusted.chainId : (chainId ?? cp.chainId);
      if (chainId !== undefined && id !== chainId) throw bad(`expected trust in chain '${chainId}', got '${id}'`);
      const root = isMemberSetChain(trusted) ? trusted : genesisMemberChain(id, trusted);
      chain = v1 ? root : followMemberSetUpdates(root, b.memberSetUpdates, verifier);
    }
    return memberSetForHeight(chain, cp.height).members;
  };
  const cid = chainId ?? (isMemberSetChain(trusted) ? trusted.chainId : undefined);
  switch (type) {
    case INCLUSION_BUNDLE: {
      verifyQuorumCertificate(b.certificate, membersFor(b.certificate), verifier, cid);
      const cp = b.certificate.checkpoint;
      const entry = parseEntry(b.entry);
      const { leafIndex, treeSize } = b;
      if (typeof leafIndex !== 'number' || typeof treeSize !== 'number') throw bad('expected leafIndex and treeSize');
      if (treeSize !== cp.logSize)
        throw bad(`expected treeSize ${cp.logSize} (the certified log size), got ${treeSize}`);
      if (entry.height > cp.height) throw bad('entry is from a height after the certified checkpoint');
      if (b.tx !== undefined) {
        const parsed = parseTx(b.tx);
        if (parsed.txId !== entry.txId) throw bad('the transaction in the bundle does not match the entry txId');
      }
      const path = parsePath(b.path);
      verifyInclusion(leafHash(logEntryBytes(entry)), leafIndex, treeSize, path, fromHex(cp.logRoot, 32));
      return { kind: 'inclusion', chainId: cp.chainId, height: cp.height, entry, leafIndex, treeSize };
    }
    case CONSISTENCY_BUNDLE: {
      verifyQuorumCertificate(b.from, membersFor(b.from), verifier, cid);
      verifyQuorumCertificate(b.to, membersFor(b.to), verifier, cid);
      const from = b.from.checkpoint;
      const to = b.to.checkpoint;
      if (from.chainId !== to.chainId) throw bad('expected both checkpoints from the same chain');
      if (from.height > to.height) throw bad('expected the first checkpoint not after the second');
      const path = parsePath(b.path);
      if (from.logSize === 0 && to.logSize > 0) {
        // Every log extends the empty one; what is left to check is that the old root is the empty root.
        if (path.length !== 0 || !equalBytes(fromHex(from.logRoot, 32), emptyRoot())) {
          throw bad('expected an empty path and the empty-tree root for a checkpoint of an empty log');
        }
      } else {
        verifyConsistency(from.logSize, to.logSize, fromHex(from.logRoot, 32), fromHex(to.logRoot, 32), path);
      }
      return {
        kind: 'consistency',
        chainId: from.chainId,
        fromHeight: from.height,
        toHeight: to.height,
        fromSize: from.logSize,
        toSize: to.logSize,
      };
    }
    case STATE_BUNDLE: {
      verifyQuorumCertificate(b.certificate, membersFor(b.certificate), verifier, cid);
      const cp = b.certificate.checkpoint;
      if (typeof b.key !== 'string' || b.key.length === 0 || b.key.length > 1024)
        throw bad('expected key as a string of 1-1024 characters');
      const value = b.value === undefined ? null : (b.value as JsonValue | null);
      const valueBytes = value === null ? null : utf8(canonicalize(value));
      verifyStateProof(fromHex(cp.stateRoot, 32), utf8(b.key), valueBytes, parseStateProof(b.proof));
      return { kind: 'state', chainId: cp.chainId, height: cp.height, key: b.key, value };
    }
    default:
      throw bad(`expected type ${INCLUSION_BUNDLE}, ${CONSISTENCY_BUNDLE} or ${STATE_BUNDLE} (or their v1)`);
  }
}

function parseEntry(e: unknown): LogEntry {
  const r = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
  const { txId, height, index, time, code } = r;
  if (
    !isHex(txId, 32) ||
    typeof height !== 'number' ||
    !Number.isSafeInteger(height) ||
    height < 0 ||
    typeof index !== 'number' ||
    !Number.isSafeInteger(index) ||
    index < 0 ||
    typeof time !== 'number' ||
    !Number.isSafeInteger(time) ||
    time < 0 ||
    typeof code !== 'string' ||
    !(RESULT_CODES as readonly string[]).includes(code) ||
    Object.keys(r).length !== 5
  ) {
    throw bad('expected entry {txId, height, index, time, code}');
  }
  return { txId, height, index, time, code: code as LogEntry['code'] };
}

function parsePath(p: unknown): Uint8Array[] {
  if (!Array.isArray(p) || p.length > MAX_PATH) throw bad(`expected path as an array of at most ${MAX_PATH} hashes`);
  return p.map((h) => {
    if (!isHex(h, 32)) throw bad('expected each path element as 64 hex characters');
    return fromHex(h, 32);
  });
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_PROOF', message);
}
