/**
 * Self-contained proof bundles: an inclusion, consistency or state proof together with the quorum
 * certificate it is checked against. `verifyProofBundle` needs nothing but the bundle and the
 * member set the verifier already trusts (from genesis), so it runs offline and in the browser.
 */
import { describe, equalBytes, fromHex, isHex, utf8 } from '../bytes.js';
import { nobleVerifier, type Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { canonicalize, type JsonValue } from '../jcs.js';
import { emptyRoot, leafHash, verifyConsistency, verifyInclusion } from '../merkle/rfc9162.js';
import { parseStateProof, type StateProofJson, verifyStateProof } from '../state/smt.js';
import { type LogEntry, logEntryBytes, RESULT_CODES } from './block.js';
import { type MemberSet, type QuorumCertificate, verifyQuorumCertificate } from './checkpoint.js';
import { parseTx, type SignedTx } from './tx.js';

export const INCLUSION_BUNDLE = 'custos/inclusion/v1';
export const CONSISTENCY_BUNDLE = 'custos/consistency/v1';
export const STATE_BUNDLE = 'custos/state/v1';
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
}

export interface ConsistencyBundle {
  type: typeof CONSISTENCY_BUNDLE;
  from: QuorumCertificate;
  to: QuorumCertificate;
  path: string[];
}

export interface StateBundle {
  type: typeof STATE_BUNDLE;
  key: string;
  /** The value at the certificate's height, or null to prove the key is absent. */
  value: JsonValue | null;
  proof: StateProofJson;
  certificate: QuorumCertificate;
}

export type ProofBundle = InclusionBundle | ConsistencyBundle | StateBundle;

export type VerifiedFact =
  | { kind: 'inclusion'; chainId: string; height: number; entry: LogEntry; leafIndex: number; treeSize: number }
  | { kind: 'consistency'; chainId: string; fromHeight: number; toHeight: number; fromSize: number; toSize: number }
  | { kind: 'state'; chainId: string; height: number; key: string; value: JsonValue | null };

/**
 * Verifies any proof bundle against a trusted member set (and, given `chainId`, that it is a proof
 * about that chain: the same members may run several chains). Throws `BAD_PROOF` or `BAD_CERTIFICATE`
 * saying what failed; returns what was proved.
 */
export function verifyProofBundle(
  bundle: unknown,
  members: MemberSet,
  verifier: Verifier = nobleVerifier,
  chainId?: string,
): VerifiedFact {
  if (typeof bundle !== 'object' || bundle === null)
    throw bad(`expected a proof bundle object, got ${describe(bundle)}`);
  const b = bundle as Record<string, unknown>;
  switch (b.type) {
    case INCLUSION_BUNDLE: {
      verifyQuorumCertificate(b.certificate, members, verifier, chainId);
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
      verifyQuorumCertificate(b.from, members, verifier, chainId);
      verifyQuorumCertificate(b.to, members, verifier, chainId);
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
      verifyQuorumCertificate(b.certificate, members, verifier, chainId);
      const cp = b.certificate.checkpoint;
      if (typeof b.key !== 'string' || b.key.length === 0 || b.key.length > 1024)
        throw bad('expected key as a string of 1-1024 characters');
      const value = b.value === undefined ? null : (b.value as JsonValue | null);
      const valueBytes = value === null ? null : utf8(canonicalize(value));
      verifyStateProof(fromHex(cp.stateRoot, 32), utf8(b.key), valueBytes, parseStateProof(b.proof));
      return { kind: 'state', chainId: cp.chainId, height: cp.height, key: b.key, value };
    }
    default:
      throw bad(`expected type ${INCLUSION_BUNDLE}, ${CONSISTENCY_BUNDLE} or ${STATE_BUNDLE}`);
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
