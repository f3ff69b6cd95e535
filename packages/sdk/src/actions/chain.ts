/**
 * Chain reads: the chain and its genesis, blocks and their certificates, finality, member-set
 * epochs, and the replication routes the consortium's peers use (a whole block, a state snapshot).
 */
import type { BlockHeader, QuorumCertificate } from '@custos/protocol/ledger';
import type { BlockView, ChainInfo, PageQuery } from '../api-types.js';
import { CustosApiError } from '../errors.js';
import type { BlockCertificate, BlockTxsPage, Finality, MemberEpochsPage, SnapshotStream } from '../node-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkHeight, pageQuery, query } from '../transport/url.js';

/** A block as lists and block events carry it: its height, hash and header. */
export interface BlockSummary {
  height: number;
  hash: string;
  header: BlockHeader;
}

/** `GET /v1/chain`. */
export function chain(t: Transport, opts?: CallOptions): Promise<ChainInfo> {
  return t.json('GET', '/v1/chain', undefined, opts);
}

/** `GET /v1/blocks`: newest first, below `before` when given. */
export function blocks(
  t: Transport,
  q: { before?: number; limit?: number } = {},
  opts?: CallOptions,
): Promise<{ blocks: BlockSummary[]; next: string | null }> {
  return t.json('GET', `/v1/blocks${query({ before: q.before, limit: q.limit })}`, undefined, opts);
}

/** `GET /v1/blocks/{height}`, or `/v1/blocks/latest` for `'latest'`. */
export function block(t: Transport, height: number | 'latest', opts?: CallOptions): Promise<BlockView> {
  const h = height === 'latest' ? 'latest' : String(checkHeight(height));
  return t.json('GET', `/v1/blocks/${h}`, undefined, opts);
}

/** `GET /v1/blocks/latest`. */
export function latestBlock(t: Transport, opts?: CallOptions): Promise<BlockView> {
  return t.json('GET', '/v1/blocks/latest', undefined, opts);
}

/** `GET /v1/blocks/{height}/txs`. */
export function blockTxs(t: Transport, height: number, q: PageQuery = {}, opts?: CallOptions): Promise<BlockTxsPage> {
  return t.json('GET', `/v1/blocks/${checkHeight(height)}/txs${pageQuery(q)}`, undefined, opts);
}

/** `GET /v1/checkpoint`. */
export function checkpoint(t: Transport, opts?: CallOptions): Promise<QuorumCertificate> {
  return t.json('GET', '/v1/checkpoint', undefined, opts);
}

/** `GET /v1/blocks/{height}/certificate`; with `wait`, the node holds the answer until finality. */
export function certificate(
  t: Transport,
  height: number,
  q: { wait?: boolean } = {},
  opts?: CallOptions,
): Promise<BlockCertificate> {
  const path = `/v1/blocks/${checkHeight(height)}/certificate${q.wait === true ? '?wait=true' : ''}`;
  return t.json('GET', path, undefined, opts, q.wait === true);
}

/** `GET /v1/replica/blocks/{height}`: every transaction in full (peers only). */
export function replicaBlock(
  t: Transport,
  height: number,
  opts?: CallOptions,
): Promise<Omit<BlockView, 'txIds' | 'indexes' | 'commitments' | 'withheld'>> {
  return t.json('GET', `/v1/replica/blocks/${checkHeight(height)}`, undefined, opts);
}

/** `GET /v1/finality`. */
export function finality(t: Transport, opts?: CallOptions): Promise<Finality> {
  return t.json('GET', '/v1/finality', undefined, opts);
}

/** `GET /v1/members/epochs`: one page of certified member-set updates from epoch `from`. */
export function memberEpochs(t: Transport, q: { from?: number } = {}, opts?: CallOptions): Promise<MemberEpochsPage> {
  const from = q.from === undefined ? undefined : checkHeight(q.from);
  return t.json('GET', `/v1/members/epochs${query({ from })}`, undefined, opts);
}

/** `GET /v1/snapshot` as a stream, with the height the node names in `X-Custos-Snapshot-Height`. */
export async function snapshot(t: Transport, q: { height?: number } = {}, opts?: CallOptions): Promise<SnapshotStream> {
  const h = q.height === undefined ? undefined : checkHeight(q.height);
  const res = await t.raw('GET', `/v1/snapshot${query({ height: h })}`, 'application/x-ndjson', opts, true);
  const height = Number(res.headers.get('x-custos-snapshot-height'));
  if (res.body === null || !Number.isSafeInteger(height) || height < 0) {
    await res.body?.cancel().catch(() => {});
    throw new CustosApiError('BAD_RESPONSE', 'expected a snapshot body and an X-Custos-Snapshot-Height header', {
      status: res.status,
      request: 'GET /v1/snapshot',
    });
  }
  return { height, body: res.body };
}
