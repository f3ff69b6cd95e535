/**
 * What a customer's wallet reads about its own relationships: the subject report (right to know),
 * its new events as they commit, consent receipts, the node's GPC support, and the demo's wallets.
 */
import type { ExportEnvelope } from '@custos/protocol/data-export';
import type { SubjectReport } from '@custos/protocol/ledger';
import type { CommittedTx, DemoWallets, ReceiptFormat, Receipts } from '../api-types.js';
import type { GpcSupport } from '../node-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkTxId, query, seg } from '../transport/url.js';

/** `GET /v1/subjects/{did}/report`: one page (sign with the subject's pairwise key). */
export async function subjectReport(
  t: Transport,
  did: string,
  q: { after?: number; limit?: number } = {},
  opts?: CallOptions,
): Promise<SubjectReport> {
  return t.json('GET', `/v1/subjects/${seg(did)}/report${query({ after: q.after, limit: q.limit })}`, undefined, opts);
}

/** `GET /v1/subjects/{did}/events`: `history` events, each a committed transaction. */
export async function* subjectEvents(
  t: Transport,
  did: string,
  q: { after?: number } = {},
  opts?: CallOptions,
): AsyncGenerator<CommittedTx> {
  for await (const e of t.events(`/v1/subjects/${seg(did)}/events${query({ after: q.after })}`, opts)) {
    if (e.event === 'history') yield JSON.parse(e.data) as CommittedTx;
  }
}

/** `GET /v1/receipts/{txId}` in one format (default the node's: `vc`). */
export async function receipts<F extends ReceiptFormat = 'vc'>(
  t: Transport,
  txId: string,
  format?: F,
  opts?: CallOptions,
): Promise<Receipts<F>> {
  return t.json('GET', `/v1/receipts/${checkTxId(txId)}${query({ format })}`, undefined, opts);
}

/** `GET /.well-known/gpc.json`. */
export async function gpc(t: Transport, opts?: CallOptions): Promise<GpcSupport> {
  return t.json('GET', '/.well-known/gpc.json', undefined, opts);
}

/** `GET /v1/demo/wallets` (only on a node running the demo). */
export async function demoWallets(t: Transport, opts?: CallOptions): Promise<DemoWallets> {
  return t.json('GET', '/v1/demo/wallets', undefined, opts);
}

/**
 * What `GET /v1/subjects/{did}/exports/{request}` answers: the sealed export, deleted as the org's
 * node serves it, or, relayed by another member's peer, once the customer confirms it (`confirmExport`).
 */
export interface WaitingExport {
  org: string;
  request: string;
  /** SHA-256 of the envelope: what `request.fulfil` committed to. */
  digest: string;
  records: number;
  createdAt: number;
  expiresAt: number;
  envelope: ExportEnvelope;
}

/**
 * `GET /v1/orgs/{org}/exports/{request}`: a customer's export, fetched for them by another member's
 * peer (sign with a member key; the customer's signature of their download goes in `opts.headers`:
 * `custos-subject-signature-input`, `custos-subject-signature`, `custos-subject-target`). Kept at the
 * org's node until the customer confirms their download.
 */
export async function relayedExport(
  t: Transport,
  org: string,
  request: string,
  opts?: CallOptions,
): Promise<WaitingExport> {
  return t.json('GET', `/v1/orgs/${seg(org)}/exports/${checkTxId(request)}`, undefined, opts);
}

/**
 * `GET /v1/subjects/{did}/exports/{request}`: the data export of a fulfilled request (sign with the
 * subject's key). With `org`, any member's peer serves it: one that does not hold the org's vault
 * fetches it from the org's node for you.
 */
export async function subjectExport(
  t: Transport,
  did: string,
  request: string,
  opts?: CallOptions & { org?: string },
): Promise<WaitingExport> {
  return t.json(
    'GET',
    `/v1/subjects/${seg(did)}/exports/${checkTxId(request)}${query({ org: opts?.org })}`,
    undefined,
    opts,
  );
}

/**
 * `DELETE /v1/subjects/{did}/exports/{request}`: the customer has their export (sign with the
 * subject's key); the org's node deletes it. With `org`, through any member's peer.
 */
export async function confirmExport(
  t: Transport,
  did: string,
  request: string,
  opts?: CallOptions & { org?: string },
): Promise<{ confirmed: boolean }> {
  return t.json(
    'DELETE',
    `/v1/subjects/${seg(did)}/exports/${checkTxId(request)}${query({ org: opts?.org })}`,
    undefined,
    opts,
  );
}

/**
 * `DELETE /v1/orgs/{org}/exports/{request}`: a customer's confirmation of their download, passed on
 * by another member's peer (member key; the customer's signature of their `DELETE` forwarded as for
 * `relayedExport`).
 */
export async function relayedExportConfirm(
  t: Transport,
  org: string,
  request: string,
  opts?: CallOptions,
): Promise<{ confirmed: boolean }> {
  return t.json('DELETE', `/v1/orgs/${seg(org)}/exports/${checkTxId(request)}`, undefined, opts);
}
