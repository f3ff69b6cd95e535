/** A committed transaction as the store reads it from its `txs` row, pruned bodies included (store/prune.ts). */
import type { ResultCode, SignedTx } from '@custos/protocol/ledger';
import { isPrunedBody, prunedAt } from './prune.js';

export interface CommittedTx {
  /** The signed transaction; null once pruned after its subject was forgotten (`prunedAt` says when). */
  tx: SignedTx | null;
  /** Height of the block whose erasure pruned the body (docs/adr/0019-forget-on-the-ledger.md). */
  prunedAt?: number;
  txId: string;
  height: number;
  index: number;
  logIndex: number;
  code: ResultCode;
}

export interface TxRow {
  tx: string;
  tx_id: string;
  height: number;
  idx: number;
  log_index: number;
  code: string;
}

export function txOfRow(r: TxRow): CommittedTx {
  const pruned = isPrunedBody(r.tx);
  return {
    tx: pruned ? null : (JSON.parse(r.tx) as SignedTx),
    ...(pruned ? { prunedAt: prunedAt(r.tx) } : {}),
    txId: r.tx_id,
    height: r.height,
    index: r.idx,
    logIndex: r.log_index,
    code: r.code as ResultCode,
  };
}
