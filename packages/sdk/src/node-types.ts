/**
 * Shapes of the node's chain, consortium, operations and reference routes that `api-types.ts` does
 * not describe (finality, certificates, readiness, GPC, event payloads). Wire formats only: nothing
 * here is trusted until a proof says so.
 */
import type { MemberSet, MemberSetUpdate, QuorumCertificate, ResultCode } from '@custos/protocol/ledger';
import type { CommittedTx, TxView } from './api-types.js';

/** `GET /v1/finality`: the latest committed height and the latest height a quorum signed (-1: none). */
export interface Finality {
  head: number;
  final: number;
}

/** `GET /v1/members/epochs`: the certified member-set updates since genesis (one page). */
export interface MemberEpochsPage {
  chainId: string;
  /** Epoch 0, as the node says: check it against the genesis you trust, never adopt it from here. */
  genesis: MemberSet;
  latestEpoch: number;
  updates: MemberSetUpdate[];
  /** `from` of the next page, or null. */
  next: number | null;
}

/** `GET /v1/blocks/:height/certificate`. */
export interface BlockCertificate {
  height: number;
  /** Whether a quorum of members has signed this block (or a later one). */
  final: boolean;
  finalHeight: number;
  qc: QuorumCertificate | null;
}

/** `GET /v1/blocks/:height/txs`: a page of a block's transactions in block order. */
export interface BlockTxsPage {
  height: number;
  /** The transactions this reader may see; others' without `tx` when the read policy says `commitments`. */
  txs: TxView[];
  next: string | null;
}

/** `GET /readyz`. */
export interface Readiness {
  status: 'ready';
  chainId: string;
  height: number;
  pending: number;
  latestBlockAgeMs: number;
}

/** `GET /.well-known/gpc.json` (Global Privacy Control support resource). */
export interface GpcSupport {
  gpc: boolean;
  lastUpdate: string;
}

/** What `GET /openapi.json` holds, as far as a client reads it. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; [k: string]: unknown };
  paths: Record<string, Record<string, unknown>>;
  [k: string]: unknown;
}

/** An event of `GET /v1/events/txs/:txId`: the commit, or the end of the node's wait. */
export type TxEvent =
  | { event: 'committed'; txId: string; height: number; index: number; logIndex: number; code: ResultCode }
  | { event: 'timeout'; txId: string; waitedMs: number };

/** A `history` event of `GET /v1/subjects/:did/events`. */
export interface HistoryEvent extends CommittedTx {}

/** `GET /v1/snapshot`: the snapshot's height and its NDJSON body, to be read as a stream. */
export interface SnapshotStream {
  height: number;
  body: ReadableStream<Uint8Array>;
}
