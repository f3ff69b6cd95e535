/**
 * The history log's nodes in the store: 16 consecutive nodes of one level per `log_chunks` row
 * (level, chunk, offset of the first node in the chunk, packed 32-byte hashes), so a block of n
 * transactions writes about n/8 rows instead of one per node. The table is created with the rest
 * of the schema (sqlite.ts).
 */
import type Database from 'better-sqlite3';
import { NodeError } from '../errors.js';

/** History-log nodes per `log_chunks` row. */
const LOG_CHUNK = 16;
const LOG_HASH = 32;

interface LogChunkRow {
  lo: number;
  hashes: Buffer;
}

export interface LogChunkStatements {
  get: Database.Statement<[number, number], LogChunkRow>;
  set: Database.Statement<[number, number, number, Uint8Array]>;
}

export function logChunkStatements(db: Database.Database): LogChunkStatements {
  return {
    get: db.prepare<[number, number], LogChunkRow>('SELECT lo, hashes FROM log_chunks WHERE level = ? AND chunk = ?'),
    set: db.prepare(
      'INSERT INTO log_chunks (level, chunk, lo, hashes) VALUES (?, ?, ?, ?) ON CONFLICT(level, chunk) DO UPDATE SET lo = excluded.lo, hashes = excluded.hashes',
    ),
  };
}

/** The hash of the log node (level, index), if stored: a view into the row read. */
export function readLogNode(q: LogChunkStatements, level: number, index: number): Uint8Array | undefined {
  const row = q.get.get(level, Math.floor(index / LOG_CHUNK));
  if (row === undefined) return undefined;
  const at = ((index % LOG_CHUNK) - row.lo) * LOG_HASH;
  if (at < 0 || at + LOG_HASH > row.hashes.length) return undefined;
  return new Uint8Array(row.hashes.buffer, row.hashes.byteOffset + at, LOG_HASH);
}

/**
 * Merges log nodes into their chunk rows, one upsert per chunk touched. The log only appends, so
 * a chunk's nodes are one run of consecutive indexes; a write that would leave a gap (a node
 * without its left neighbour in the chunk) means the caller is broken, and nothing is written.
 */
export function writeLogChunks(
  q: LogChunkStatements,
  nodes: Iterable<[level: number, index: number, hash: Uint8Array]>,
): void {
  const chunks = new Map<number, { level: number; chunk: number; slots: (Uint8Array | undefined)[] }>();
  for (const [level, index, hash] of nodes) {
    if (hash.length !== LOG_HASH) throw new NodeError('STORE_CORRUPT', `a log node is 32 bytes, got ${hash.length}`);
    const chunk = Math.floor(index / LOG_CHUNK);
    const id = chunk * 64 + level;
    let c = chunks.get(id);
    if (c === undefined) {
      c = { level, chunk, slots: new Array<Uint8Array | undefined>(LOG_CHUNK) };
      chunks.set(id, c);
    }
    c.slots[index % LOG_CHUNK] = hash;
  }
  const writes: [number, number, number, Buffer][] = [];
  for (const c of chunks.values()) {
    const old = q.get.get(c.level, c.chunk);
    if (old !== undefined) {
      for (let i = 0; i * LOG_HASH < old.hashes.length; i++) {
        const slot = old.lo + i;
        c.slots[slot] ??= old.hashes.subarray(i * LOG_HASH, (i + 1) * LOG_HASH);
      }
    }
    let lo = 0;
    while (c.slots[lo] === undefined) lo++;
    let hi = lo;
    while (hi < LOG_CHUNK && c.slots[hi] !== undefined) hi++;
    for (let i = hi; i < LOG_CHUNK; i++) {
      if (c.slots[i] !== undefined) {
        throw new NodeError(
          'STORE_CORRUPT',
          `log node ${c.chunk * LOG_CHUNK + i} at level ${c.level} would follow a missing node ${c.chunk * LOG_CHUNK + hi}`,
        );
      }
    }
    writes.push([c.level, c.chunk, lo, Buffer.concat(c.slots.slice(lo, hi) as Uint8Array[])]);
  }
  for (const w of writes) q.set.run(...w);
}

/** Rows of the old `log_nodes` table read per step of the conversion. */
const LOG_CONVERT_BATCH = 16 * 4096;

/**
 * Stores made before the chunked log layout kept one log_nodes row per log node: moved once on
 * open, in one transaction, into log_chunks (the same hashes, so every root and proof is unchanged).
 */
export function convertLogNodes(db: Database.Database): void {
  const old = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'log_nodes'").get();
  if (old === undefined) return;
  const page = db.prepare<[number, number, number], { level: number; idx: number; hash: Buffer }>(
    'SELECT level, idx, hash FROM log_nodes WHERE (level, idx) > (?, ?) ORDER BY level, idx LIMIT ?',
  );
  const q = logChunkStatements(db);
  db.transaction(() => {
    let after: [number, number] = [-1, -1];
    for (;;) {
      const rows = page.all(after[0], after[1], LOG_CONVERT_BATCH);
      if (rows.length === 0) break;
      writeLogChunks(
        q,
        rows.map((r) => [r.level, r.idx, r.hash] as [number, number, Uint8Array]),
      );
      const last = rows[rows.length - 1] as { level: number; idx: number };
      after = [last.level, last.idx];
    }
    db.exec('DROP TABLE log_nodes');
  })();
}
