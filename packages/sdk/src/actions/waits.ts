/**
 * Waiting for what happens after a submit: the commit of a transaction sent earlier (over its event
 * stream), and finality (a quorum certificate over the block).
 */
import type { SignedTx } from '@custos/protocol/ledger';
import type { CommitResult } from '../api-types.js';
import { CustosApiError } from '../errors.js';
import type { BlockCertificate } from '../node-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { certificate } from './chain.js';
import { txEvents } from './events.js';
import { type SubmitOptions, type SubmitResult, submitAndWait } from './txs.js';

/** Resolves with the certificate once the block at `height` is final; `TIMEOUT` if the node gave up. */
export async function waitForFinality(t: Transport, height: number, opts?: CallOptions): Promise<BlockCertificate> {
  const c = await certificate(t, height, { wait: true }, opts);
  if (!c.final) {
    throw new CustosApiError(
      'TIMEOUT',
      `expected block ${height} to be final, the node's final height is ${c.finalHeight}`,
      {
        request: 'GET /v1/blocks/{height}/certificate',
      },
    );
  }
  return c;
}

/** `submitAndWait`, then `waitForFinality` on its block. */
export async function submitAndFinalize(
  t: Transport,
  signed: SignedTx,
  opts?: SubmitOptions,
): Promise<SubmitResult & { certificate: BlockCertificate }> {
  const r = await submitAndWait(t, signed, opts);
  return { ...r, certificate: await waitForFinality(t, r.height, opts) };
}

/** The commit of a transaction submitted earlier, from its event stream. */
export async function waitForCommit(t: Transport, txId: string, opts?: CallOptions): Promise<CommitResult> {
  for await (const e of txEvents(t, txId, opts)) {
    if (e.event === 'committed') {
      const { event: _, ...commit } = e;
      return commit;
    }
    throw new CustosApiError('TIMEOUT', `transaction ${txId} did not commit within ${e.waitedMs} ms`, {
      request: 'GET /v1/events/txs/{txId}',
    });
  }
  throw new CustosApiError('BAD_RESPONSE', `the event stream of ${txId} ended without its commit`, {
    request: 'GET /v1/events/txs/{txId}',
  });
}
