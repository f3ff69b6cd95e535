/** Where a committed transaction landed: the answer of `POST /v1/txs?wait=true` and of the commit stream. */
import type { ResultCode } from './block.js';

export interface CommitResult {
  txId: string;
  height: number;
  /** Position in the block. */
  index: number;
  /** Position in the history log (the leaf index of its log entry). */
  logIndex: number;
  code: ResultCode;
  /** Why it failed: the argument at fault and what was expected (absent when OK or not known). Not part of the ledger. */
  detail?: string;
}
