/**
 * Key layout and value encodings of the etcd orderer (docs/adr/0006-etcd-ordering.md). All keys sit
 * under one prefix; values read back are parsed defensively, since any consortium peer with write
 * access to the prefix can put anything there.
 */
import { NodeError } from '../errors.js';

/** Heights are zero-padded so that key order is height order (safe integers have at most 16 digits). */
const HEIGHT_DIGITS = 16;
const BLOCKS = 'blocks/';
const PENDING = 'pending/';
const INCLUDED = 'included/';
/** Key holding the height of the last block, as a decimal string. */
export const HEAD_KEY = 'head';
/** Name of the etcd3 election; its keys live under `<prefix>/election/proposer/`. */
export const ELECTION_NAME = 'proposer';
/** Largest block value accepted back from etcd (etcd itself caps requests at `--max-request-bytes`). */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
const MAX_BLOCK_TXS = 100_000;
const MAX_PENDING_BYTES = 64 * 1024;
const TX_ID = /^[0-9a-f]{64}$/;

const REFUSALS = 'refusals/';
/** Prefix of the checkpoint signatures (`consortium/etcd-board.ts`) as seen from the orderer's namespace. */
const SIGS = 'sigs/';
const MAX_REFUSAL_BYTES = 1024;

export const blocksPrefix = BLOCKS;
export const refusalsPrefix = REFUSALS;
export const pendingPrefix = PENDING;

export function blockKey(height: number): string {
  return BLOCKS + String(height).padStart(HEIGHT_DIGITS, '0');
}

export function pendingKey(txId: string): string {
  return PENDING + txId;
}

/** Marker that a transaction is in a block; it lives (on a lease) until the transaction expires. */
export function includedKey(txId: string): string {
  return INCLUDED + txId;
}

/** Height of a `blocks/<height>` key, or undefined for any other key. */
export function heightOfKey(key: string): number | undefined {
  if (!key.startsWith(BLOCKS) || key.length !== BLOCKS.length + HEIGHT_DIGITS) return undefined;
  const digits = key.slice(BLOCKS.length);
  if (!/^[0-9]+$/.test(digits)) return undefined;
  const h = Number(digits);
  return Number.isSafeInteger(h) ? h : undefined;
}

/** txId of a `pending/<txId>` key, or undefined for any other key. */
export function txIdOfPendingKey(key: string): string | undefined {
  if (!key.startsWith(PENDING)) return undefined;
  const id = key.slice(PENDING.length);
  return TX_ID.test(id) ? id : undefined;
}

// The canonical text of a signed transaction, the same bytes the peer stores (protocol package).
export { signedTxJson } from '@custos/protocol/ledger';

/**
 * A pending transaction's value: `{"seq":n,"tx":<signed tx>}`. `seq` orders the transactions one
 * submitter wrote in the same etcd transaction (they share a create revision).
 */
export function encodePending(seq: number, txJson: string): string {
  return `{"seq":${seq},"tx":${txJson}}`;
}

export interface PendingValue {
  seq: number;
  tx: unknown;
}

/** Parses a pending value; throws a plain Error saying what is wrong. */
export function decodePending(value: Buffer): PendingValue {
  if (value.length > MAX_PENDING_BYTES) {
    throw new Error(`expected a pending value of at most ${MAX_PENDING_BYTES} bytes, got ${value.length}`);
  }
  const v: unknown = JSON.parse(value.toString('utf8'));
  if (!isObject(v)) throw new Error('expected a pending value {seq, tx}');
  const { seq, tx } = v;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw new Error('expected pending seq to be a non-negative integer');
  }
  return { seq, tx };
}

export interface BlockValue {
  height: number;
  /** Block time in ms. */
  time: number;
  /** peerId of the orderer instance that cut it. */
  proposer: string;
  /** Signed transactions, as stored (each still to be parsed and verified). */
  txs: unknown[];
}

/** `{height, proposer, time, txs}` as canonical JSON (keys sorted), transactions spliced in as they are. */
export function encodeBlock(height: number, time: number, proposer: string, txJsons: readonly string[]): string {
  return `{"height":${height},"proposer":${JSON.stringify(proposer)},"time":${time},"txs":[${txJsons.join(',')}]}`;
}

/** Parses the block stored at `blocks/<height>`; a malformed one is a STORE_CORRUPT error. */
export function decodeBlock(value: Buffer, height: number): BlockValue {
  const corrupt = (why: string, cause?: unknown) =>
    new NodeError('STORE_CORRUPT', `etcd block ${height} is malformed: ${why}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { height },
    });
  if (value.length > MAX_BLOCK_BYTES) throw corrupt(`expected at most ${MAX_BLOCK_BYTES} bytes, got ${value.length}`);
  let v: unknown;
  try {
    v = JSON.parse(value.toString('utf8'));
  } catch (e) {
    throw corrupt('not JSON', e);
  }
  if (!isObject(v)) throw corrupt('expected an object {height, proposer, time, txs}');
  if (v.height !== height) throw corrupt(`expected height ${height}, got ${String(v.height).slice(0, 20)}`);
  if (typeof v.time !== 'number' || !Number.isSafeInteger(v.time) || v.time < 0) {
    throw corrupt('expected time in integer milliseconds');
  }
  if (typeof v.proposer !== 'string' || v.proposer.length > 256) throw corrupt('expected proposer as a short string');
  if (!Array.isArray(v.txs) || v.txs.length > MAX_BLOCK_TXS) {
    throw corrupt(`expected txs as an array of at most ${MAX_BLOCK_TXS} transactions`);
  }
  return { height, time: v.time, proposer: v.proposer, txs: v.txs };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `refusals/<height>/<peerId>`: this peer refused the block stored at `<height>` with etcd mod
 * revision `revision`, for its time. Withdrawn (deleted) by the peer, in an etcd transaction that
 * checks the block is still that revision, before it executes the block after all.
 */
export function refusalKey(height: number, peerId: string): string {
  return `${refusalsOf(height)}${peerId}`;
}

/** Prefix of the refusals of one height. */
export function refusalsOf(height: number): string {
  return `${REFUSALS}${String(height).padStart(HEIGHT_DIGITS, '0')}/`;
}

/** Prefix of the checkpoint signatures of one height (one key per member). */
export function sigsOf(height: number): string {
  return `${SIGS}${String(height).padStart(HEIGHT_DIGITS, '0')}/`;
}

export interface RefusalValue {
  height: number;
  /** etcd mod revision of the refused block's key. */
  revision: string;
  /** Time in the refused block, ms. */
  blockTime: number;
  /** The refusing peer's clock, ms. */
  peerTime: number;
}

export function encodeRefusal(r: RefusalValue): string {
  return JSON.stringify({ blockTime: r.blockTime, height: r.height, peerTime: r.peerTime, revision: r.revision });
}

/** Parses a refusal value; undefined for anything malformed (written by whoever can write etcd). */
export function decodeRefusal(value: Buffer): RefusalValue | undefined {
  if (value.length > MAX_REFUSAL_BYTES) return undefined;
  try {
    const v: unknown = JSON.parse(value.toString('utf8'));
    if (!isObject(v)) return undefined;
    const { height, revision, blockTime, peerTime } = v;
    if (!Number.isSafeInteger(height) || typeof revision !== 'string' || !/^[0-9]{1,20}$/.test(revision)) {
      return undefined;
    }
    if (!Number.isSafeInteger(blockTime) || !Number.isSafeInteger(peerTime)) return undefined;
    return { height: height as number, revision, blockTime: blockTime as number, peerTime: peerTime as number };
  } catch {
    return undefined;
  }
}
