/**
 * Blocks and their headers (docs/architecture.md#execution). Every transaction in a block keeps its
 * place and gets a result code; the log leaf of a transaction binds its id, height, index and code.
 */
import { describe, isHex, toHex, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import { canonicalBytes } from '../jcs.js';
import type { SignedTx } from './tx.js';

export interface BlockHeader {
  chainId: string;
  height: number;
  /** Hex header hash of the previous block; 64 zeros for the genesis block (height 0). */
  prevHash: string;
  /** Block time in ms since the epoch: the only clock execution may read. */
  time: number;
  /** Number of leaves in the history log after this block. */
  logSize: number;
  /** Hex RFC 9162 root of the history log after this block. */
  logRoot: string;
  /** Hex root of the authenticated state map after this block. */
  stateRoot: string;
  /** did:key of the peer that cut the block. */
  proposer: string;
  txCount: number;
}

/** Result codes recorded per transaction. `OK` is the only code with an effect. */
export const RESULT_CODES = [
  'OK',
  'BAD_SIGNATURE',
  'WRONG_CHAIN',
  'EXPIRED',
  'NOT_YET_VALID',
  'REPLAYED',
  'UNKNOWN_TYPE',
  'INVALID_ARGS',
  'UNAUTHORIZED',
  'NOT_FOUND',
  'CONFLICT',
  'LIMIT_EXCEEDED',
  /** No lawful basis holds at this height: no live consent covering org, purpose and category, or an undeclared basis. */
  'NO_LAWFUL_BASIS',
  /** The subject opted out of sale or sharing (directly or with Global Privacy Control). */
  'OPTED_OUT',
  /** The record was erased. */
  'ERASED',
  /** Processing of the record is restricted (GDPR Art. 18) or the subject objected (Art. 21). */
  'RESTRICTED',
  /** A vote on a governance proposal that is no longer open: executed, rejected, or past its last voting height. */
  'PROPOSAL_CLOSED',
  /** A new member key without a valid proof of possession: the key itself did not sign the statement binding chain, member, action and key. */
  'KEY_NOT_PROVEN',
  /** A key with a history as a data subject (a customer's pseudonym) cannot become a member key. */
  'KEY_HAS_HISTORY',
  /** A write to an org-owned namespace (`kv` `privacy/<org>.*`) by a key that is not a member key of that org. */
  'RESERVED_NAMESPACE',
  /** A contract call used up its gas limit; its writes were rolled back, the gas was used. */
  'OUT_OF_GAS',
  /** The contract threw, did not parse, has no such method, returned no JSON or misused the host API. */
  'CONTRACT_ERROR',
  /** The contract used a capability it does not have (a removed global, a key outside its namespaces, a system action not granted). */
  'CONTRACT_FORBIDDEN',
  /** The contract is paused (emergency pause): calls are refused until members vote to resume it. */
  'CONTRACT_PAUSED',
  /** No contract with this id is active at this height: only proposed, removed, activating later, or unknown. */
  'CONTRACT_NOT_ACTIVE',
  /**
   * The customer is a child: the use or share needs a consent given by a parent or guardian (GDPR
   * Art. 8 below the member state's age; CCPA 1798.120(c) under 13).
   */
  'PARENTAL_CONSENT_REQUIRED',
  /** The org has no member profile yet (GDPR Arts. 26, 27, 30, 37): it records no customer data before it sets one. */
  'NO_PROFILE',
] as const;
export type ResultCode = (typeof RESULT_CODES)[number];

export interface Block {
  header: BlockHeader;
  txs: SignedTx[];
  /** `results[i]` is the result code of `txs[i]`. */
  results: ResultCode[];
}

/** What one leaf of the history log says: this transaction ran at this place, at this block time, with this result. */
export interface LogEntry {
  txId: string;
  height: number;
  index: number;
  /** Block time (ms since the epoch): the proven time of the event. */
  time: number;
  code: ResultCode;
}

export const ZERO_HASH = '0'.repeat(64);

/** Hex SHA-256 of the canonical header. */
export function headerHash(header: BlockHeader): string {
  return toHex(sha256(canonicalBytes(header)));
}

/** Canonical bytes of a log entry: the RFC 9162 leaf input. */
export function logEntryBytes(entry: LogEntry): Uint8Array {
  // Hot path (one per transaction): a template gives the same bytes as canonicalBytes(entry) for
  // well-formed entries (keys in sorted order, integers, hex and code strings need no escaping).
  if (
    isHex(entry.txId, 32) &&
    Number.isSafeInteger(entry.height) &&
    Number.isSafeInteger(entry.index) &&
    Number.isSafeInteger(entry.time) &&
    CODE_SET.has(entry.code)
  ) {
    return utf8(
      `{"code":"${entry.code}","height":${entry.height},"index":${entry.index},"time":${entry.time},"txId":"${entry.txId}"}`,
    );
  }
  return canonicalBytes(entry);
}

const CODE_SET: ReadonlySet<string> = new Set(RESULT_CODES);

/** Checks that `header` is well formed and follows `prev` (or is a genesis header when `prev` is null). */
export function checkHeaderLink(prev: BlockHeader | null, header: BlockHeader): void {
  checkHeaderShape(header);
  if (prev === null) {
    if (header.height !== 0 || header.prevHash !== ZERO_HASH) {
      throw badBlock('expected a genesis header at height 0 with a zero prevHash');
    }
    return;
  }
  if (header.chainId !== prev.chainId) throw badBlock('expected the same chainId as the previous block');
  if (header.height !== prev.height + 1) {
    throw badBlock(`expected height ${prev.height + 1}, got ${header.height}`);
  }
  if (header.prevHash !== headerHash(prev)) throw badBlock(`expected prevHash of block ${prev.height}`);
  if (header.time < prev.time) throw badBlock('expected block time not before the previous block');
  if (header.logSize !== prev.logSize + header.txCount) {
    throw badBlock(`expected logSize ${prev.logSize + header.txCount}, got ${header.logSize}`);
  }
}

/** Throws `BAD_BLOCK` unless every header field has the right type and range. */
export function checkHeaderShape(h: unknown): asserts h is BlockHeader {
  if (typeof h !== 'object' || h === null) throw badBlock(`expected a header object, got ${describe(h)}`);
  const r = h as Record<string, unknown>;
  const keys = ['chainId', 'height', 'logRoot', 'logSize', 'prevHash', 'proposer', 'stateRoot', 'time', 'txCount'];
  const got = Object.keys(r).sort();
  if (got.length !== keys.length || got.some((k, i) => k !== keys[i])) {
    throw badBlock(`expected header fields ${keys.join(', ')}`);
  }
  for (const k of ['height', 'time', 'logSize', 'txCount']) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw badBlock(`expected header.${k} to be a non-negative integer, got ${describe(v)}`);
    }
  }
  for (const k of ['prevHash', 'logRoot', 'stateRoot']) {
    if (!isHex(r[k], 32)) throw badBlock(`expected header.${k} as 64 hex characters`);
  }
  if (typeof r.chainId !== 'string' || typeof r.proposer !== 'string') {
    throw badBlock('expected header.chainId and header.proposer as strings');
  }
}

function badBlock(message: string): ProtocolError {
  return new ProtocolError('BAD_BLOCK', message);
}
