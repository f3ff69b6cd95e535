/** Proof bundles as the node sends them; `../verified/` checks them against a trusted member set. */
import type { ProofBundle } from '@custos/protocol/ledger';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkHeight, checkTxId, query } from '../transport/url.js';

/** `GET /v1/proofs/inclusion/{txId}`, against the latest checkpoint or the one at `height`. */
export function inclusionProof(
  t: Transport,
  txId: string,
  q: { height?: number } = {},
  opts?: CallOptions,
): Promise<ProofBundle> {
  const h = q.height === undefined ? undefined : checkHeight(q.height);
  return t.json('GET', `/v1/proofs/inclusion/${checkTxId(txId)}${query({ height: h })}`, undefined, opts);
}

/** `GET /v1/proofs/consistency`. */
export function consistencyProof(t: Transport, from: number, to: number, opts?: CallOptions): Promise<ProofBundle> {
  const q = query({ from: checkHeight(from), to: checkHeight(to) });
  return t.json('GET', `/v1/proofs/consistency${q}`, undefined, opts);
}

/** `GET /v1/proofs/state`. */
export function stateProof(t: Transport, key: string, opts?: CallOptions): Promise<ProofBundle> {
  return t.json('GET', `/v1/proofs/state${query({ key })}`, undefined, opts);
}
