/**
 * State sync (docs/architecture.md#catch-up-and-snapshots, docs/adr/0009-consortium-finality.md): a
 * peer exports its state at a final height as a stream, and a joining peer verifies it against the
 * quorum certificate of that height and starts a fresh store there instead of replaying from
 * genesis.
 *
 * Format `custos-snapshot/2`, newline-delimited JSON, one object per line, in this order:
 *   {"snapshot":"custos-snapshot/2","genesis":<genesis text>,"header":{..},"hash":"..","qc":{..},
 *    "logFrontier":["<hex>",..],       the base block, and the log's perfect-subtree roots ("peaks")
 *    "memberSetUpdates":[..]}          the certified member-set updates from genesis up to the base
 *                                      block, so the joiner checks the certificate against the set
 *                                      in force at that height (format 1 had none: genesis set only)
 *   {"row":["<key>","<value>"]}        every state row, in strictly increasing UTF-8 key order
 *   {"tx":{logIndex,txId,height,index,code,expiresAt,time,tx,proof}}
 *                                      transactions still inside the replay window (and the base
 *                                      block's), each with its inclusion proof in the base log
 *   {"end":{"rows":n,"txs":m}}         so that a truncated stream is refused
 */
import { Readable } from 'node:stream';
import { fromHex, toHex } from '@custos/protocol/encoding';
import { canonicalize } from '@custos/protocol/jcs';
import {
  type BlockHeader,
  checkCheckpointShape,
  checkpointOf,
  followMemberSetUpdates,
  genesisMemberChain,
  headerHash,
  logEntryBytes,
  MEMBER_SET_KEY,
  type MemberSetChain,
  type MemberSetUpdate,
  memberSetForHeight,
  parseTx,
  type QuorumCertificate,
  type ResultCode,
  verifyQuorumCertificate,
} from '@custos/protocol/ledger';
import { emptyRoot, leafHash, nodeHash, verifyInclusion } from '@custos/protocol/merkle';
import { nativeVerifier } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { type Genesis, genesisText, memberSetOf } from '../genesis.js';
import { importedEpochRecords, memberSetChainOf, memberSetUpdates } from '../governance/epochs.js';
import type { CustosNode } from '../node.js';
import { isPrunedBody, prunedAt } from '../store/prune.js';
import { PinnedRead, SnapshotStoreWriter, type StoredTxRow } from '../store/snapshot-store.js';
import { readBounded } from './catch-up.js';

export const SNAPSHOT_FORMAT = 'custos-snapshot/2';
/** The first format (no member-set updates): still imported while the genesis set certifies its height. */
export const SNAPSHOT_FORMAT_V1 = 'custos-snapshot/1';
/** Longest line accepted (a state value, a transaction with its proof). */
export const MAX_SNAPSHOT_LINE = 1024 * 1024;
/** Default bound of a whole snapshot. */
export const MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024 * 1024;
const MAX_ROWS = 100_000_000;
const MAX_TXS = 10_000_000;
const ROWS_PER_CHUNK = 512;

/** A perfect subtree of the log: `2^level` leaves starting at leaf `index * 2^level`. */
export interface LogPeak {
  level: number;
  index: number;
}

/** The peaks of a log of `size` leaves, biggest (leftmost) first: what appending at `size` needs. */
export function logPeaks(size: number): LogPeak[] {
  const peaks: LogPeak[] = [];
  let start = 0;
  for (let level = 53; level >= 0; level--) {
    const span = 2 ** level;
    if (size - start >= span) {
      peaks.push({ level, index: start / span });
      start += span;
    }
  }
  return peaks;
}

/** The RFC 9162 root over the peaks' hashes (right-to-left fold, as the tree hash of the whole log). */
export function rootOfPeaks(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return emptyRoot();
  let h = hashes[hashes.length - 1]!;
  for (let j = hashes.length - 2; j >= 0; j--) h = nodeHash(hashes[j]!, h);
  return h;
}

/**
 * The snapshot of `node` as a stream of lines. `height`, when given, must be this peer's head:
 * the store keeps only the current state, so older heights cannot be exported. The export waits
 * (up to `waitMs`) until that height is final here and carries its quorum certificate.
 */
export async function exportSnapshot(
  node: CustosNode,
  opts: { height?: number; waitMs?: number } = {},
): Promise<{ height: number; stream: Readable }> {
  const read = new PinnedRead(node.store.db.name);
  try {
    const { header, hash } = read.head;
    if (opts.height !== undefined && opts.height !== header.height) {
      throw new NodeError(
        'NOT_FOUND',
        `this peer exports only its current head (height ${header.height}), not height ${opts.height}: it keeps no older state`,
      );
    }
    await node.waitFinal(header.height, opts.waitMs ?? 30_000);
    const qc = node.store.getHeader(header.height)?.qc;
    if (qc == null) throw new NodeError('NOT_FINAL', `block ${header.height} has no certificate`);
    const updates = memberSetUpdates(node).filter((u) => u.header.height <= header.height);
    const chain = memberSetChainOf(node, node.genesis, nativeVerifier);
    verifyQuorumCertificate(qc, memberSetForHeight(chain, header.height).members, nativeVerifier, node.chainId);
    const frontier = logPeaks(header.logSize).map((p) => {
      const h = read.logNode(p.level, p.index);
      if (h === undefined) throw new NodeError('STORE_CORRUPT', `log node ${p.index} at level ${p.level} is missing`);
      return toHex(h);
    });
    const first = {
      snapshot: SNAPSHOT_FORMAT,
      genesis: read.meta('genesis') ?? genesisText(node.genesis),
      header,
      hash,
      qc,
      logFrontier: frontier,
      memberSetUpdates: updates,
    };
    const txs = read.recentTxs(header.logSize - header.txCount, header.time).filter((t) => t.logIndex < header.logSize);
    const times = new Map<number, number>();
    const stream = Readable.from(
      (function* lines() {
        try {
          yield `${JSON.stringify(first)}\n`;
          let rows = 0;
          let chunk = '';
          let inChunk = 0;
          for (const [key, value] of read.stateRows()) {
            chunk += `${JSON.stringify({ row: [key, value] })}\n`;
            rows++;
            if (++inChunk >= ROWS_PER_CHUNK) {
              yield chunk;
              chunk = '';
              inChunk = 0;
            }
          }
          if (chunk !== '') yield chunk;
          for (const t of txs) {
            let time = times.get(t.height);
            if (time === undefined) {
              time = read.blockTime(t.height) ?? -1;
              times.set(t.height, time);
            }
            const proof = node.logView.inclusionProof(t.logIndex, header.logSize).map(toHex);
            yield `${JSON.stringify({ tx: { ...t, time, proof } })}\n`;
          }
          yield `${JSON.stringify({ end: { rows, txs: txs.length } })}\n`;
        } finally {
          read.close();
        }
      })(),
      { objectMode: false },
    );
    stream.on('close', () => read.close());
    return { height: header.height, stream };
  } catch (e) {
    read.close();
    throw e;
  }
}

/** What an import verified and wrote. */
export interface ImportedSnapshot {
  height: number;
  hash: string;
  stateRoot: string;
  rows: number;
  txs: number;
}

export interface ImportOptions {
  /** Lines of a snapshot (chunks of bytes, any split). */
  source: AsyncIterable<Uint8Array>;
  /** The new store's file; must not exist. */
  dbPath: string;
  /** The genesis the joiner trusts: the certificate must verify against its member set. */
  genesis: Genesis;
  /** Where the snapshot came from, recorded in the store's meta table. */
  sourceName?: string;
  log?: (message: string) => void;
}

const refuse = (reason: string, message: string, cause?: unknown) =>
  new NodeError('CATCH_UP_FAILED', `snapshot refused: ${message}`, {
    details: { reason },
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * Verifies a snapshot and writes a fresh store starting at its height; nothing is left behind if
 * it is refused (CATCH_UP_FAILED, `details.reason` says which check failed).
 *
 * Trust: the joiner holds the genesis; the snapshot's member-set updates walk from the genesis set
 * to the set in force at the base block (each certified by the set before it), and the base
 * block's certificate must verify against that set, so a removed or rotated-out key does not count.
 * Everything else is checked against the certificate: the state rows
 * rebuild the certified state root, the log frontier folds to the certified log root, and each
 * transaction carries an inclusion proof in the certified log.
 */
export async function importSnapshot(opts: ImportOptions): Promise<ImportedSnapshot> {
  const writer = new SnapshotStoreWriter(opts.dbPath);
  try {
    const result = await importInto(writer, opts);
    return result;
  } catch (e) {
    writer.abort();
    if (e instanceof NodeError) throw e;
    throw refuse('MALFORMED', (e as Error).message, e);
  }
}

async function importInto(writer: SnapshotStoreWriter, opts: ImportOptions): Promise<ImportedSnapshot> {
  const log = opts.log ?? (() => {});
  const lines = splitLines(opts.source)[Symbol.asyncIterator]();
  const firstLine = await lines.next();
  if (firstLine.done) throw refuse('TRUNCATED', 'the stream is empty');
  const head = parseLine(firstLine.value) as Record<string, unknown>;
  if (head.snapshot !== SNAPSHOT_FORMAT && head.snapshot !== SNAPSHOT_FORMAT_V1) {
    throw refuse(
      'FORMAT',
      `expected format ${SNAPSHOT_FORMAT} (or ${SNAPSHOT_FORMAT_V1}), got ${JSON.stringify(head.snapshot)?.slice(0, 40)}`,
    );
  }
  const trusted = genesisText(opts.genesis);
  if (head.genesis !== trusted) throw refuse('GENESIS', 'the snapshot is of another chain than the genesis given');
  const header = head.header as BlockHeader;
  const qc = head.qc as QuorumCertificate;
  try {
    checkCheckpointShape(qc?.checkpoint);
    checkCheckpointShape(checkpointOf(header));
  } catch (e) {
    throw refuse('HEADER', 'malformed header or certificate', e);
  }
  if (typeof head.hash !== 'string' || headerHash(header) !== head.hash) {
    throw refuse('HEADER', 'the block hash does not match the header');
  }
  // The member sets from genesis to the base block, each update certified by the set before it.
  let chain: MemberSetChain = genesisMemberChain(opts.genesis.chainId, memberSetOf(opts.genesis));
  const updates = (head.snapshot === SNAPSHOT_FORMAT ? head.memberSetUpdates : []) as MemberSetUpdate[];
  try {
    // Exactly epochs 1..n in order: the joiner keeps and serves what it imports, so nothing unverified may ride along.
    if (!Array.isArray(updates) || updates.some((u, i) => u?.epoch !== i + 1)) {
      throw new Error('expected the updates of epochs 1, 2, ... in order, each once');
    }
    chain = followMemberSetUpdates(chain, updates, nativeVerifier);
    if (updates.some((u) => u.header.height > header.height)) throw new Error('an update after the base block');
  } catch (e) {
    throw refuse('MEMBERS', `the member-set updates do not verify: ${(e as Error).message}`, e);
  }
  const epoch = memberSetForHeight(chain, header.height);
  try {
    verifyQuorumCertificate(qc, epoch.members, nativeVerifier, opts.genesis.chainId);
  } catch (e) {
    throw refuse(
      'CERTIFICATE',
      `the certificate of block ${header.height} does not verify against the member set of epoch ${epoch.epoch}: ${(e as Error).message}`,
      e,
    );
  }
  if (canonicalize(qc.checkpoint as never) !== canonicalize(checkpointOf(header) as never)) {
    throw refuse('CERTIFICATE', 'the certificate is over another checkpoint than the header');
  }

  // The log frontier must be exactly the peaks of logSize and fold to the certified log root.
  const peaks = logPeaks(header.logSize);
  const frontier = head.logFrontier;
  if (!Array.isArray(frontier) || frontier.length !== peaks.length) {
    throw refuse('FRONTIER', `expected ${peaks.length} log frontier hashes for log size ${header.logSize}`);
  }
  let hashes: Uint8Array[];
  try {
    hashes = frontier.map((h) => fromHex(h as string, 32));
  } catch (e) {
    throw refuse('FRONTIER', 'expected 32-byte hex hashes in the log frontier', e);
  }
  if (toHex(rootOfPeaks(hashes)) !== header.logRoot) {
    throw refuse('FRONTIER', `the log frontier does not hash to the certified log root at size ${header.logSize}`);
  }
  for (const [i, p] of peaks.entries()) writer.addLogNode(p.level, p.index, hashes[i]!);

  let rows = 0;
  let txs = 0;
  let prevKey: Buffer | undefined;
  let end: { rows?: unknown; txs?: unknown } | undefined;
  let prevLogIndex = -1;
  let stateEpoch: unknown = 0;
  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    if (end !== undefined) throw refuse('MALFORMED', 'data after the end line');
    const line = parseLine(next.value) as Record<string, unknown>;
    if (line.row !== undefined) {
      if (txs > 0) throw refuse('MALFORMED', 'a state row after the transactions');
      const row = line.row;
      if (!Array.isArray(row) || row.length !== 2 || typeof row[0] !== 'string' || typeof row[1] !== 'string') {
        throw refuse('MALFORMED', 'expected a row as [key, value] strings');
      }
      const key = Buffer.from(row[0], 'utf8');
      if (prevKey !== undefined && Buffer.compare(prevKey, key) >= 0) {
        throw refuse('ORDER', `state rows out of order or repeated at key ${JSON.stringify(row[0]).slice(0, 80)}`);
      }
      prevKey = key;
      if (++rows > MAX_ROWS) throw refuse('TOO_LARGE', `more than ${MAX_ROWS} state rows`);
      if (row[0] === MEMBER_SET_KEY) stateEpoch = (JSON.parse(row[1]) as { epoch?: unknown }).epoch;
      writer.addRow(row[0], row[1]);
    } else if (line.tx !== undefined) {
      const t = checkTx(line.tx, header, prevLogIndex);
      prevLogIndex = t.logIndex;
      if (++txs > MAX_TXS) throw refuse('TOO_LARGE', `more than ${MAX_TXS} transactions`);
      writer.addTx(t);
    } else if (line.end !== undefined) {
      end = line.end as { rows?: unknown; txs?: unknown };
    } else {
      throw refuse('MALFORMED', 'expected a row, tx or end line');
    }
  }
  if (end === undefined) throw refuse('TRUNCATED', 'the stream ended before its end line');
  if (end.rows !== rows || end.txs !== txs) {
    throw refuse(
      'TRUNCATED',
      `the end line counts ${String(end.rows)} rows and ${String(end.txs)} txs, got ${rows} and ${txs}`,
    );
  }
  if (prevLogIndex !== -1 && header.txCount > 0 && prevLogIndex !== header.logSize - 1) {
    throw refuse('TXS', `expected the base block's transactions up to log index ${header.logSize - 1}`);
  }
  const root = toHex(writer.stateRoot());
  if (root !== header.stateRoot) {
    throw refuse('STATE_ROOT', `the state rows rebuild root ${root}, the certificate says ${header.stateRoot}`);
  }
  const lastEpoch = chain.epochs[chain.epochs.length - 1]!.epoch;
  if (stateEpoch !== lastEpoch) {
    throw refuse(
      'MEMBERS',
      `the state is at member-set epoch ${String(stateEpoch)}, the snapshot's updates reach epoch ${lastEpoch}`,
    );
  }
  writer.finish({
    header,
    hash: head.hash,
    qc,
    genesisText: trusted,
    source: opts.sourceName ?? 'stream',
    meta: importedEpochRecords(updates),
  });
  log(`imported snapshot at height ${header.height}: ${rows} state rows, ${txs} recent transactions`);
  return { height: header.height, hash: head.hash, stateRoot: root, rows, txs };
}

/** A transaction line, checked: its id is its body's hash and its log entry is in the certified log. */
function checkTx(raw: unknown, header: BlockHeader, prevLogIndex: number): StoredTxRow {
  const t = raw as Record<string, unknown>;
  const ints = ['logIndex', 'height', 'index', 'expiresAt', 'time'] as const;
  if (typeof t !== 'object' || t === null || !ints.every((k) => Number.isSafeInteger(t[k]))) {
    throw refuse('TXS', 'malformed transaction line');
  }
  const logIndex = t.logIndex as number;
  if (logIndex <= prevLogIndex || logIndex >= header.logSize || (t.height as number) > header.height) {
    throw refuse('TXS', `transaction at log index ${logIndex} out of order or beyond the base block`);
  }
  if (typeof t.tx !== 'string' || typeof t.code !== 'string' || !Array.isArray(t.proof)) {
    throw refuse('TXS', `malformed transaction at log index ${logIndex}`);
  }
  let txId: string;
  let proof: Uint8Array[];
  // A body pruned after an erasure (store/prune.ts) travels as its marker: the id is then the one
  // the line names, and the inclusion proof below is what vouches for it.
  const pruned = isPrunedBody(t.tx);
  try {
    txId = pruned ? String(t.txId) : parseTx(JSON.parse(t.tx)).txId;
    if (pruned) prunedAt(t.tx);
    proof = (t.proof as unknown[]).map((h) => fromHex(h as string, 32));
  } catch (e) {
    throw refuse('TXS', `malformed transaction at log index ${logIndex}`, e);
  }
  if (txId !== t.txId || !/^[0-9a-f]{64}$/.test(txId)) {
    throw refuse('TXS', `transaction at log index ${logIndex} does not hash to its id`);
  }
  const leaf = leafHash(
    logEntryBytes({
      txId,
      height: t.height as number,
      index: t.index as number,
      time: t.time as number,
      code: t.code as ResultCode,
    }),
  );
  try {
    verifyInclusion(leaf, logIndex, header.logSize, proof, fromHex(header.logRoot, 32));
  } catch (e) {
    throw refuse('TXS', `transaction at log index ${logIndex} is not in the certified log`, e);
  }
  return {
    logIndex,
    txId,
    height: t.height as number,
    index: t.index as number,
    code: t.code,
    expiresAt: t.expiresAt as number,
    tx: t.tx,
  };
}

function parseLine(bytes: Uint8Array): unknown {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected an object');
    return v;
  } catch (e) {
    throw refuse('MALFORMED', `a line is not a JSON object: ${(e as Error).message}`, e);
  }
}

/** Lines of at most MAX_SNAPSHOT_LINE bytes from chunks split anywhere. */
async function* splitLines(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(0);
  for await (const chunk of source) {
    let data = buf.length === 0 ? chunk : concat(buf, chunk);
    let at = data.indexOf(10);
    while (at >= 0) {
      yield data.subarray(0, at);
      data = data.subarray(at + 1);
      at = data.indexOf(10);
    }
    if (data.length > MAX_SNAPSHOT_LINE) throw refuse('TOO_LARGE', `a line over ${MAX_SNAPSHOT_LINE} bytes`);
    buf = data.slice();
  }
  if (buf.length > 0) yield buf;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * The snapshot a peer serves at `url` (its base URL) as a byte source, bounded by `maxBytes`.
 *
 * @example
 * await importSnapshot({ source: await fetchSnapshot('http://peer:7070'), dbPath, genesis });
 */
export async function fetchSnapshot(
  url: string,
  opts: { height?: number; maxBytes?: number; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<AsyncIterable<Uint8Array>> {
  const q = opts.height === undefined ? '' : `?height=${opts.height}`;
  const target = `${url.replace(/\/+$/, '')}/v1/snapshot${q}`;
  // The snapshot is for the consortium's peers: `headers` carry a member credential (an API token with `replica`).
  const r = await fetch(target, {
    headers: opts.headers ?? {},
    signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000),
  });
  if (!r.ok || r.body === null) {
    const text = new TextDecoder().decode(await readBounded(r, 64 * 1024, target).catch(() => new Uint8Array()));
    throw new NodeError('CATCH_UP_FAILED', `${target}: HTTP ${r.status} ${text.slice(0, 300)}`);
  }
  const max = opts.maxBytes ?? MAX_SNAPSHOT_BYTES;
  const body = r.body;
  return (async function* bounded() {
    let total = 0;
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > max) throw refuse('TOO_LARGE', `the snapshot is over ${max} bytes`);
      yield chunk;
    }
  })();
}
