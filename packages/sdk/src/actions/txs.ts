/**
 * Transactions: submitting one or a batch, with or without waiting for the block, and reading one
 * back by id.
 */
import { type SignedTx, txIdOf } from '@custos/protocol/ledger';
import type { BatchItem, CommitResult, TxView } from '../api-types.js';
import { CustosApiError, isApiError } from '../errors.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkTxId } from '../transport/url.js';

export interface SubmitOptions extends CallOptions {
  /**
   * Sends `Sec-GPC: 1` (Global Privacy Control), needed for an `optout.set` with `source: 'gpc'`.
   * A browser never lets a page set a `Sec-` header: there the browser sends it itself when the
   * person turned GPC on, and this flag only documents the intent.
   */
  gpc?: boolean;
  /**
   * Longest wait for the commit, in ms (`submitAndWait`, `submitAndFinalize`...). Default: the
   * client's timeout plus the node's own commit wait. Past it, `TIMEOUT` names the txId: the
   * transaction may still commit, and `tx(txId)` tells later.
   */
  waitMs?: number;
}

/** A commit result, and whether the node said it honoured a GPC signal on that request. */
export type SubmitResult = CommitResult & { gpcHonored: boolean };

/** `GET /v1/txs/{txId}`. */
export async function tx(t: Transport, txId: string, opts?: CallOptions): Promise<TxView> {
  return t.json('GET', `/v1/txs/${checkTxId(txId)}`, undefined, opts);
}

/** `POST /v1/txs`: accepted for ordering, not yet executed. */
export async function submit(t: Transport, signed: SignedTx, opts?: SubmitOptions): Promise<{ txId: string }> {
  return t.json('POST', '/v1/txs', signed, withGpc(opts));
}

/** `POST /v1/txs?wait=true`: the commit and its result code. */
export async function submitAndWait(t: Transport, signed: SignedTx, opts?: SubmitOptions): Promise<SubmitResult> {
  const wait = opts?.waitMs;
  if (wait !== undefined && (!Number.isSafeInteger(wait) || wait < 1)) {
    throw new TypeError('expected waitMs as a positive whole number of milliseconds');
  }
  try {
    const { body, headers } = await t.call<CommitResult>(
      'POST',
      '/v1/txs?wait=true',
      signed,
      withGpc(opts),
      true,
      wait,
    );
    return { ...body, gpcHonored: headers.get('gpc-honored') === '1' };
  } catch (e) {
    // The node may have admitted it: say which transaction to look up, rather than only "no answer".
    if (!isApiError(e, 'TIMEOUT') || e.problem !== undefined) throw e;
    let txId: string;
    try {
      txId = txIdOf(signed.body);
    } catch {
      throw e;
    }
    throw new CustosApiError(
      'TIMEOUT',
      `transaction ${txId} was sent but no commit came back in time; it may still commit: look it up later (GET /v1/txs/${txId}, custos tx show ${txId})`,
      { request: e.request, cause: e },
    );
  }
}

/** `POST /v1/txs/batch`, optionally waiting for every commit. */
export async function submitBatch(
  t: Transport,
  txs: SignedTx[],
  opts: SubmitOptions & { wait?: boolean } = {},
): Promise<BatchItem[]> {
  const path = opts.wait === true ? '/v1/txs/batch?wait=true' : '/v1/txs/batch';
  const r = await t.call<{ results: BatchItem[] }>('POST', path, txs, withGpc(opts), opts.wait === true);
  return r.body.results;
}

/** The call options with `Sec-GPC: 1` added when `gpc` is set. */
function withGpc(opts: SubmitOptions | undefined): CallOptions | undefined {
  if (opts?.gpc !== true) return opts;
  return { ...opts, headers: { ...opts.headers, 'sec-gpc': '1' } };
}
