/**
 * Builds proof bundles from a running peer. Each bundle carries the quorum certificate it is checked
 * against and the member-set updates from genesis to the set that certifies it, so
 * `verifyProofBundle` (protocol package) verifies it offline with only the genesis member set.
 * Bundles are built against FINAL heights only (`node.latestFinal()`): a checkpoint that only some
 * members signed yet proves nothing to a verifier.
 */
import { toHex } from '@custos/protocol/encoding';
import type { JsonValue } from '@custos/protocol/jcs';
import {
  CONSISTENCY_BUNDLE,
  type ConsistencyBundle,
  INCLUSION_BUNDLE,
  type InclusionBundle,
  type QuorumCertificate,
  STATE_BUNDLE,
  type StateBundle,
} from '@custos/protocol/ledger';
import { NodeError } from './errors.js';
import { memberSetUpdates } from './governance/epochs.js';
import type { CustosNode } from './node.js';

function certificateAt(node: CustosNode, height: number): QuorumCertificate {
  if (node.collectsSignatures() && height > node.latestFinal() && height <= node.latest().height) {
    throw new NodeError('NOT_FINAL', `block ${height} is not final yet (latest final: ${node.latestFinal()})`);
  }
  const h = node.store.getHeader(height);
  if (!h) throw new NodeError('NOT_FOUND', `no block at height ${height}`);
  if (!h.qc) throw new NodeError('NOT_FOUND', `block ${height} has no quorum certificate on this peer`);
  return h.qc;
}

/** The latest final height, or the latest one on a peer that certifies nothing (no member key, no quorum). */
function latestProvable(node: CustosNode): number {
  const final = node.latestFinal();
  return final >= 0 ? final : node.latest().height;
}

/** Proof that a transaction is in the log, against the checkpoint at `height` (default: latest final). */
export function inclusionProof(node: CustosNode, txId: string, height?: number): InclusionBundle {
  const tx = node.store.getTx(txId);
  if (!tx) throw new NodeError('NOT_FOUND', `no committed transaction ${txId}`);
  const at = height ?? Math.max(latestProvable(node), tx.height);
  if (at < tx.height || at > node.latest().height) {
    throw new NodeError('NOT_FOUND', `expected a height between ${tx.height} and ${node.latest().height}`);
  }
  const certificate = certificateAt(node, at);
  const treeSize = certificate.checkpoint.logSize;
  return {
    type: INCLUSION_BUNDLE,
    entry: {
      txId: tx.txId,
      height: tx.height,
      index: tx.index,
      time: node.store.getHeader(tx.height)!.header.time,
      code: tx.code,
    },
    // A body pruned after its subject was forgotten is gone; the leaf (id, position, code) still proves.
    ...(tx.tx === null ? {} : { tx: tx.tx }),
    leafIndex: tx.logIndex,
    treeSize,
    path: node.logView.inclusionProof(tx.logIndex, treeSize).map(toHex),
    certificate,
    memberSetUpdates: memberSetUpdates(node, { upToHeight: at }),
  };
}

/** Proof that the log at `toHeight` extends the log at `fromHeight` (append-only). */
export function consistencyProof(node: CustosNode, fromHeight: number, toHeight: number): ConsistencyBundle {
  if (fromHeight > toHeight) throw new NodeError('BAD_REQUEST', 'expected from <= to');
  const from = certificateAt(node, fromHeight);
  const to = certificateAt(node, toHeight);
  return {
    type: CONSISTENCY_BUNDLE,
    from,
    to,
    path: node.logView.consistencyProof(from.checkpoint.logSize, to.checkpoint.logSize).map(toHex),
    memberSetUpdates: memberSetUpdates(node, { upToHeight: toHeight }),
  };
}

/**
 * `stateProof` once this peer's head is final. The state tree holds only the latest state, so a key is
 * provable only while the head block is certified; on a busy chain a request can arrive between a
 * block's commit and its certificate. This waits for the head's certificate (and for the next head's,
 * if blocks keep coming) up to `waitMs`, then answers NOT_FINAL as before. A stopped node answers at once.
 */
export async function stateProofWhenFinal(node: CustosNode, key: string, waitMs = 5_000): Promise<StateBundle> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return stateProof(node, key);
    } catch (e) {
      if ((e as { code?: string }).code !== 'NOT_FINAL' || Date.now() >= deadline) throw e;
    }
    await node.waitFinal(node.latest().height, Math.max(1, deadline - Date.now())).catch((e: { code?: string }) => {
      if (e.code === 'NODE_STOPPED') throw e;
    });
  }
}

/**
 * Proof of a state key's current value, or of its absence, against the latest checkpoint. The state
 * tree holds only the latest state, so that checkpoint must be final: NOT_FINAL until it is.
 */
export function stateProof(node: CustosNode, key: string): StateBundle {
  if (key.length === 0 || key.length > 1024) throw new NodeError('BAD_REQUEST', 'expected a key of 1-1024 characters');
  const head = node.latest();
  const certificate = certificateAt(node, head.height);
  const text = node.store.getState(key);
  return {
    type: STATE_BUNDLE,
    key,
    value: text === undefined ? null : (JSON.parse(text) as JsonValue),
    proof: node.treeView.prove(key),
    certificate,
    memberSetUpdates: memberSetUpdates(node, { upToHeight: head.height }),
  };
}
