/**
 * Applying a certified block another peer served (catch-up): the next block is applied only if it
 * extends this peer's head and carries a valid quorum certificate over the checkpoint this peer
 * computes for it by executing it. A valid certificate over another checkpoint is a divergence.
 */
import type { Signer } from '@custos/protocol/crypto';
import { canonicalize as canonicalJson } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  checkpointOf,
  headerHash,
  type ParsedTx,
  parseTx,
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

/** A block as another peer serves it (GET /v1/blocks/:height): untrusted until applied. */
export interface CertifiedBlock {
  header: unknown;
  txs: unknown;
  qc: unknown;
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

/** Most transactions a served block may hold. */
const MAX_SERVED_TXS = 100_000;

/**
 * Applies the next block as another peer served it, if it carries a valid quorum certificate over
 * the checkpoint this peer computes for it. Throws CATCH_UP_FAILED for a block that is not the next
 * one or not certified (try another peer); stops the node with DIVERGED when a valid certificate
 * names another checkpoint than this peer computes.
 */
export async function applyCertifiedBlock(host: CertifiedHost, block: CertifiedBlock): Promise<void> {
  if (host.fatal() !== undefined || host.stopped()) throw new NodeError('NODE_STOPPED', 'node is stopped');
  const bad = (m: string, cause?: unknown) => new NodeError('CATCH_UP_FAILED', m, cause === undefined ? {} : { cause });
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
  try {
    verifyQuorumCertificate(block.qc, members, nativeVerifier, host.chainId);
  } catch (e) {
    throw bad(`block ${header.height} has no valid quorum certificate`, e);
  }
  const qc = block.qc;
  if (canonicalJson(qc.checkpoint as never) !== canonicalJson(checkpointOf(header) as never)) {
    throw bad(`block ${header.height}: the certificate is over another checkpoint than the header's`);
  }
  if (!Array.isArray(block.txs) || block.txs.length !== header.txCount || block.txs.length > MAX_SERVED_TXS) {
    throw bad(`block ${header.height}: expected ${header.txCount} transactions`);
  }
  let parsed: ParsedTx[];
  try {
    parsed = block.txs.map((t) => parseTx(t));
  } catch (e) {
    throw bad(`block ${header.height} holds a malformed transaction`, e);
  }
  const ok = await host.pool.verifyBatch(parsed.map(verifyItemOf));
  if (chain.head !== prev || host.stopped()) throw bad('the peer moved on meanwhile');
  const txs: PendingTx[] = parsed.map((p, i) => ({ parsed: p, sigOk: Boolean(ok[i]) }));
  let divergence: Evidence | undefined;
  try {
    chain.commit(txs, header.time, header.proposer, (computed) => {
      if (canonicalJson(computed as never) === canonicalJson(header as never)) return qc;
      const cp = checkpointOf(computed);
      if (canonicalJson(cp as never) !== canonicalJson(qc.checkpoint as never)) {
        divergence = {
          height: header.height,
          members: members.members.filter((m) => qc.signatures.some((s) => m.keys.includes(s.signer))).map((m) => m.id),
          ours: { checkpoint: cp, signatures: host.signers.map((s) => signCheckpoint(cp, s)) },
          theirs: { checkpoint: qc.checkpoint, signatures: qc.signatures },
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
  host.finality.certified(header.height, qc, members);
}
