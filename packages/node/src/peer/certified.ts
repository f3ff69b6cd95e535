/**
 * Applying a certified block another peer served (catch-up): the next block is applied only if it
 * extends this peer's head and carries a valid quorum certificate over the checkpoint this peer
 * computes for it by executing it. A valid certificate over another checkpoint is a divergence.
 *
 * A block's own certificate may never reach a quorum on a peer that serves it: finality follows the
 * header hash chain, so a quorum over a later block certifies every block before it, and a peer
 * whose signature for one height was lost (the exchange drops keys below the orderer's window)
 * holds that block final with only some signatures. Such a block is applied with an anchor: the
 * headers after it up to a block whose own certificate is a quorum, each linked to the one before
 * by `prevHash`.
 */
import type { Signer } from '@custos/protocol/crypto';
import { toHex } from '@custos/protocol/encoding';
import { canonicalize as canonicalJson } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  checkpointOf,
  headerHash,
  logEntryBytes,
  type MemberSet,
  type ParsedTx,
  parseTx,
  type QuorumCertificate,
  RESULT_CODES,
  type ResultCode,
  signCheckpoint,
  verifyQuorumCertificate,
} from '@custos/protocol/ledger';
import { nativeVerifier } from '../crypto/native.js';
import type { VerifyPool } from '../crypto/verify-pool.js';
import { NodeError } from '../errors.js';
import type { PendingTx } from '../ordering/orderer.js';
import { verifyItemOf } from './admission.js';
import type { BlockCommitter } from './commit.js';
import type { FinalityTracker } from './finality.js';
import type { Evidence } from './quorum.js';

/** A block as another peer serves it (GET /v1/replica/blocks/:height): untrusted until applied. */
export interface CertifiedBlock {
  header: unknown;
  txs: unknown;
  qc: unknown;
  /**
   * The result code of each transaction as the serving peer recorded it. The served transactions
   * are checked against the certified log root with them before they are executed, so that a peer
   * serving other transactions under a valid certificate is told apart from this peer's own
   * divergence (without them, a mismatch after execution could not be blamed on either).
   */
  results: unknown;
}

/** What applying a certified block needs of its node. */
export interface CertifiedHost {
  chainId: string;
  signers: Signer[];
  chain: BlockCommitter;
  finality: FinalityTracker;
  pool: VerifyPool;
  /** The error that stopped the node, if one did. */
  fatal: () => unknown;
  /** Whether the node is stopping or stopped. */
  stopped: () => boolean;
}

/**
 * A later block's quorum certificate that certifies the block being applied through the hash chain:
 * `headers` are the headers right after it, in height order; `qc` is a quorum over the last one's
 * checkpoint. Untrusted until applied.
 */
export interface CertifiedAnchor {
  headers: readonly unknown[];
  qc: unknown;
}

/** Most transactions a served block may hold. */
const MAX_SERVED_TXS = 100_000;
/** Most headers between a block and the certificate that anchors it. */
export const MAX_ANCHOR_HEADERS = 4096;

/**
 * Applies the next block as another peer served it, if it carries a valid quorum certificate over
 * the checkpoint this peer computes for it. Throws CATCH_UP_FAILED for a block that is not the next
 * one or not certified (try another peer); stops the node with DIVERGED when a valid certificate
 * names another checkpoint than this peer computes. Without a quorum in its own certificate, the
 * block is applied if `anchor` certifies it; it is then final once the anchor's block is.
 */
export async function applyCertifiedBlock(
  host: CertifiedHost,
  block: CertifiedBlock,
  anchor?: CertifiedAnchor,
): Promise<void> {
  if (host.fatal() !== undefined || host.stopped()) throw new NodeError('NODE_STOPPED', 'node is stopped');
  const bad = (m: string, cause?: unknown, uncertified = false) =>
    new NodeError('CATCH_UP_FAILED', m, {
      ...(cause === undefined ? {} : { cause }),
      // Only its certificate is missing: a later certificate may anchor it (catch-up looks for one).
      ...(uncertified ? { details: { uncertified } } : {}),
    });
  const { chain } = host;
  const prev = chain.head;
  const header = block.header as BlockHeader;
  if (typeof header !== 'object' || header === null || header.height !== prev.height + 1) {
    throw bad(`expected block ${prev.height + 1}`);
  }
  if (header.chainId !== host.chainId || header.prevHash !== headerHash(prev)) {
    throw bad(`block ${header.height} does not extend this peer's block ${prev.height}`);
  }
  if (typeof header.proposer !== 'string' || !Number.isSafeInteger(header.time) || header.time < prev.time) {
    throw bad(`block ${header.height} has a malformed header`);
  }
  const members = chain.membersNow();
  let qc: QuorumCertificate | undefined;
  try {
    verifyQuorumCertificate(block.qc, members, nativeVerifier, host.chainId);
    qc = block.qc;
  } catch (e) {
    if (anchor === undefined) throw bad(`block ${header.height} has no valid quorum certificate`, e, true);
    checkAnchor(host, header, anchor, members, bad);
  }
  if (qc !== undefined && canonicalJson(qc.checkpoint as never) !== canonicalJson(checkpointOf(header) as never)) {
    throw bad(`block ${header.height}: the certificate is over another checkpoint than the header's`);
  }
  // What certifies the block: its own certificate, or else the anchor's (over a later checkpoint).
  const certificate = (qc ?? anchor?.qc) as QuorumCertificate;
  if (!Array.isArray(block.txs) || block.txs.length !== header.txCount || block.txs.length > MAX_SERVED_TXS) {
    throw bad(`block ${header.height}: expected ${header.txCount} transactions`);
  }
  if (block.txs.some((t) => t === null)) {
    // Bodies pruned after an erasure (docs/adr/0019-forget-on-the-ledger.md) cannot be re-executed.
    throw bad(
      `block ${header.height} holds transactions pruned after an erasure: a peer cannot replay it; start from a snapshot taken after it (custos snapshot import)`,
    );
  }
  let parsed: ParsedTx[];
  try {
    parsed = block.txs.map((t) => parseTx(t));
  } catch (e) {
    throw bad(`block ${header.height} holds a malformed transaction`, e);
  }
  const ok = await host.pool.verifyBatch(parsed.map(verifyItemOf));
  if (chain.head !== prev || host.stopped()) throw bad('the peer moved on meanwhile');
  // The served transactions and results must be the ones the certified log root covers: otherwise
  // the serving peer is at fault (another transaction under a valid certificate), not this one.
  const served = servedResults(block.results, header.txCount);
  if (served === undefined) throw bad(`block ${header.height}: expected ${header.txCount} result codes`);
  if (!coversLog(chain, header, parsed, served)) {
    throw bad(`block ${header.height}: the served transactions are not the ones its certified log root covers`);
  }
  const txs: PendingTx[] = parsed.map((p, i) => ({ parsed: p, sigOk: Boolean(ok[i]) }));
  let divergence: Evidence | undefined;
  try {
    chain.commit(txs, header.time, header.proposer, (computed) => {
      if (canonicalJson(computed as never) === canonicalJson(header as never)) {
        // Anchored: this peer's own signatures, which the exchange may yet complete to a quorum.
        return qc ?? chain.certify(checkpointOf(header), members);
      }
      const cp = checkpointOf(computed);
      // Another checkpoint than a quorum certified (directly, or through the anchor's hash chain,
      // then `theirs` is the later certificate that reaches this header) is a divergence.
      if (canonicalJson(cp as never) !== canonicalJson(checkpointOf(header) as never)) {
        divergence = {
          height: header.height,
          members: members.members
            .filter((m) => certificate.signatures.some((s) => m.keys.includes(s.signer)))
            .map((m) => m.id),
          ours: { checkpoint: cp, signatures: host.signers.map((s) => signCheckpoint(cp, s)) },
          theirs: { checkpoint: certificate.checkpoint, signatures: certificate.signatures },
        };
      }
      throw bad(`block ${header.height}: this peer computes another header than the one served`);
    });
  } catch (e) {
    if (divergence !== undefined) {
      host.finality.diverged(divergence);
      throw host.fatal();
    }
    throw e;
  }
  // An anchored block is final with the anchor's block, which catch-up applies next.
  if (qc !== undefined) host.finality.certified(header.height, qc, members);
}

/** The served result codes, if they are `count` known codes; undefined otherwise. */
function servedResults(results: unknown, count: number): ResultCode[] | undefined {
  if (!Array.isArray(results) || results.length !== count) return undefined;
  return results.every((r) => typeof r === 'string' && RESULT_CODE_SET.has(r)) ? (results as ResultCode[]) : undefined;
}

const RESULT_CODE_SET: ReadonlySet<string> = new Set(RESULT_CODES);

/** Whether the log, extended by `txs` with `results` as block `header`, has the header's log root. */
function coversLog(chain: BlockCommitter, header: BlockHeader, txs: ParsedTx[], results: ResultCode[]): boolean {
  if (header.logSize !== chain.head.logSize + txs.length) return false;
  const leaves = txs.map((p, index) =>
    logEntryBytes({ txId: p.txId, height: header.height, index, time: header.time, code: results[index]! }),
  );
  try {
    return toHex(chain.log.append(leaves).root) === header.logRoot;
  } finally {
    chain.log.rollback();
  }
}

/** Whether `qc` is a quorum of `members` over `header`'s checkpoint on chain `chainId`; never throws. */
export function certifiesHeader(chainId: string, members: MemberSet, header: unknown, qc: unknown): boolean {
  try {
    verifyQuorumCertificate(qc, members, nativeVerifier, chainId);
    return canonicalJson(qc.checkpoint as never) === canonicalJson(checkpointOf(header as BlockHeader) as never);
  } catch {
    return false;
  }
}

/**
 * Checks that `anchor` certifies `header`: its headers follow `header` one by one, each naming the
 * previous one's hash, on this chain, and its certificate is a quorum of `members` over the last
 * one's checkpoint. The member set must not change on the way (a block that changes it has a
 * quorum certificate of its own on every honest peer that finalised past it).
 */
function checkAnchor(
  host: CertifiedHost,
  header: BlockHeader,
  anchor: CertifiedAnchor,
  members: MemberSet,
  bad: (m: string, cause?: unknown, uncertified?: boolean) => NodeError,
): void {
  const what = `block ${header.height} has no valid quorum certificate, and the later certificate offered for it`;
  if (!Array.isArray(anchor.headers) || anchor.headers.length === 0 || anchor.headers.length > MAX_ANCHOR_HEADERS) {
    throw bad(`${what} comes with no headers (expected 1 to ${MAX_ANCHOR_HEADERS})`, undefined, true);
  }
  let prev = header;
  for (const h of anchor.headers as BlockHeader[]) {
    if (
      typeof h !== 'object' ||
      h === null ||
      h.chainId !== host.chainId ||
      h.height !== prev.height + 1 ||
      h.prevHash !== headerHash(prev)
    ) {
      throw bad(`${what} does not chain back to it by prevHash`, undefined, true);
    }
    prev = h;
  }
  try {
    verifyQuorumCertificate(anchor.qc, members, nativeVerifier, host.chainId);
  } catch (e) {
    throw bad(`${what} is not valid`, e, true);
  }
  if (canonicalJson(anchor.qc.checkpoint as never) !== canonicalJson(checkpointOf(prev) as never)) {
    throw bad(`${what} is over another checkpoint than block ${prev.height}'s header`, undefined, true);
  }
}
