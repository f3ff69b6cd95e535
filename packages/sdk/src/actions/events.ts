/**
 * Chain-wide event streams (server-sent events; end them with `opts.signal`): committed blocks, and
 * the commit of one transaction. A subject's own stream is in `customers.ts`.
 */
import type { CommitResult } from '../api-types.js';
import type { TxEvent } from '../node-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkTxId, query } from '../transport/url.js';
import type { BlockSummary } from './chain.js';

/** `GET /v1/events/blocks`: each committed block, after `after` when given. */
export async function* blockEvents(
  t: Transport,
  q: { after?: number } = {},
  opts?: CallOptions,
): AsyncGenerator<BlockSummary> {
  for await (const e of t.events(`/v1/events/blocks${query({ after: q.after })}`, opts)) {
    if (e.event === 'block') yield JSON.parse(e.data) as BlockSummary;
  }
}

/** `GET /v1/events/txs/{txId}`: one `committed` or `timeout` event, then the stream ends. */
export async function* txEvents(t: Transport, txId: string, opts?: CallOptions): AsyncGenerator<TxEvent> {
  for await (const e of t.events(`/v1/events/txs/${checkTxId(txId)}`, opts)) {
    if (e.event === 'committed') yield { event: 'committed', ...(JSON.parse(e.data) as CommitResult) };
    else if (e.event === 'timeout')
      yield { event: 'timeout', ...(JSON.parse(e.data) as { txId: string; waitedMs: number }) };
  }
}
