/**
 * The ordering interface (docs/architecture.md#ordering): admitted transactions go in, ordered
 * batches come out, one at a time, each with the block time the orderer assigned. Implementations:
 * `solo` (in-process) here, `etcd` for a consortium.
 */
import type { ParsedTx } from '@custos/protocol/ledger';

/** A transaction that passed admission (shape, chain, window, signature). */
export interface PendingTx {
  parsed: ParsedTx;
  /** Signature verified at admission; execution trusts it only from a local admission. */
  sigOk: boolean;
}

/** What parsing one stored transaction gave: the transaction, or the error its parse threw. */
export type ParseOutcome = PendingTx | { error: unknown };

/**
 * Parses many stored transactions at once, one outcome per item in order: an orderer's `parse`
 * for a whole block or watch event, so that the signatures can be verified in one batch off the
 * event loop (the node's verify pool).
 */
export type ParseBatchFn = (raws: readonly unknown[]) => Promise<ParseOutcome[]>;

/** A `ParseBatchFn` that runs a synchronous parse on each item, on this thread. */
export function parseEach(parse: (raw: unknown) => PendingTx): ParseBatchFn {
  return async (raws) =>
    raws.map((raw) => {
      try {
        return parse(raw);
      } catch (error) {
        return { error };
      }
    });
}

export interface OrderedBatch {
  txs: PendingTx[];
  /** Block time in ms, never before the previous batch's time. */
  time: number;
  /**
   * The header's `proposer` for this batch, when the orderer names one; otherwise the node's own
   * (`NodeOptions.proposer`). Peers of a consortium must agree on it, so the etcd orderer leaves it out.
   */
  proposer?: string;
}

/** Called with each batch in order; the orderer waits for it to resolve before delivering the next. */
export type DeliverFn = (batch: OrderedBatch) => Promise<void> | void;

export interface Orderer {
  start(deliver: DeliverFn, lastTime: number): Promise<void>;
  /** Queues transactions for the next blocks. */
  submit(txs: PendingTx[]): void;
  /** Transactions queued and not yet delivered. */
  pending(): number;
  /** Stops cutting blocks; resolves once the batch being delivered (if any) has been delivered. */
  stop(): Promise<void>;
}
