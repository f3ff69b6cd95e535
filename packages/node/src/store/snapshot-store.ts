/**
 * Store-level halves of state sync (docs/adr/0009-consortium-finality.md, "State sync"): a pinned
 * read of one peer's store for export, and a fresh store that starts at a snapshot's height for
 * import. The schema is SqliteStore's (it creates the file); rows are written here with
 * better-sqlite3 directly, since a snapshot's base block does not follow a block at height - 1.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { utf8 } from '@custos/protocol/encoding';
import { canonicalize } from '@custos/protocol/jcs';
import type { BlockHeader, QuorumCertificate } from '@custos/protocol/ledger';
import {
  decodeStateNode,
  type NodePath,
  type StateNode,
  type StateNodeStore,
  type StateNodeWrite,
  StateTree,
} from '@custos/protocol/state';
import Database from 'better-sqlite3';
import { NodeError } from '../errors.js';
import { encodeStoredNode } from './authenticated.js';
import { type LogChunkStatements, logChunkStatements, readLogNode } from './log-chunks.js';
import { SqliteStore } from './sqlite.js';

/** A read transaction on a second connection: every read sees the store as of its start. */
const TX_COLUMNS = 'log_index AS logIndex, tx_id AS txId, height, idx AS "index", code, expires_at AS expiresAt, tx';
/**
 * Transactions from a log index on, or not yet expired at a time: two index searches (the primary
 * key and `txs_by_expiry`), never a scan of the whole history (trust #6).
 */
export const RECENT_TXS_SQL = `SELECT ${TX_COLUMNS} FROM txs WHERE log_index >= @from UNION SELECT ${TX_COLUMNS} FROM txs INDEXED BY txs_by_expiry WHERE expires_at > @time ORDER BY logIndex`;

export class PinnedRead {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    this.db.exec('BEGIN');
    // The snapshot of a WAL reader is taken at its first read, not at BEGIN.
    this.head = this.readHead();
  }

  readonly head: { header: BlockHeader; hash: string };

  private readHead(): { header: BlockHeader; hash: string } {
    const row = this.db.prepare('SELECT header, hash FROM blocks ORDER BY height DESC LIMIT 1').get() as
      | { header: string; hash: string }
      | undefined;
    if (row === undefined) throw new NodeError('NOT_INITIALIZED', 'the store holds no block');
    return { header: JSON.parse(row.header) as BlockHeader, hash: row.hash };
  }

  meta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  /** State rows in key order (SQLite's BINARY order, i.e. UTF-8 byte order). */
  *stateRows(): IterableIterator<[string, string]> {
    const it = this.db.prepare('SELECT key, value FROM state ORDER BY key').raw().iterate() as IterableIterator<
      [string, string]
    >;
    for (const r of it) yield r;
  }

  private logChunks: LogChunkStatements | undefined;

  /** The hash of the log node (level, index), if stored. */
  logNode(level: number, index: number): Uint8Array | undefined {
    this.logChunks ??= logChunkStatements(this.db);
    const hash = readLogNode(this.logChunks, level, index);
    return hash === undefined ? undefined : new Uint8Array(hash);
  }

  /** Transactions whose log index is at least `fromLogIndex` or that have not expired at `time`, by log index. */
  recentTxs(fromLogIndex: number, time: number): StoredTxRow[] {
    return this.db.prepare(RECENT_TXS_SQL).all({ from: fromLogIndex, time }) as StoredTxRow[];
  }

  blockTime(height: number): number | undefined {
    const r = this.db.prepare('SELECT header FROM blocks WHERE height = ?').get(height) as
      | { header: string }
      | undefined;
    return r === undefined ? undefined : (JSON.parse(r.header) as BlockHeader).time;
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.db.exec('COMMIT');
    } catch {}
    this.db.close();
  }
}

export interface StoredTxRow {
  logIndex: number;
  txId: string;
  height: number;
  index: number;
  code: string;
  expiresAt: number;
  /** The signed transaction's canonical JSON. */
  tx: string;
}

/** State-tree nodes read from and written to the store being built, in the store's own layout. */
class StoreNodes implements StateNodeStore {
  constructor(private readonly store: SqliteStore) {}

  get(path: NodePath): StateNode | undefined {
    const bytes = this.store.getTreeNode(path);
    return bytes === undefined ? undefined : decodeStateNode(bytes);
  }

  write(writes: readonly StateNodeWrite[]): void {
    this.store.writeTreeNodes(writes.map((w) => [w.path, w.node === null ? null : encodeStoredNode(w.node)]));
  }
}

const ROW_BATCH = 10_000;

/**
 * A store under construction at `<path>.partial`: state rows (rebuilding the state tree as they
 * come), log frontier, recent transactions, then the base block. `finish` moves it to `path` only
 * when everything was written; `abort` removes it.
 */
export class SnapshotStoreWriter {
  private readonly partial: string;
  private readonly store: SqliteStore;
  private readonly tree: StateTree;
  private batch: [Uint8Array, Uint8Array][] = [];
  private readonly stateQ;

  constructor(private readonly path: string) {
    if (existsSync(path)) throw new NodeError('ALREADY_INITIALIZED', `${path} already exists; import into a new store`);
    this.partial = `${path}.partial`;
    for (const f of [this.partial, `${this.partial}-wal`, `${this.partial}-shm`]) rmSync(f, { force: true });
    // SqliteStore creates the schema; the import itself needs no WAL or per-row fsync.
    this.store = new SqliteStore(this.partial, { synchronous: 'NORMAL' });
    this.store.db.pragma('synchronous = OFF');
    this.store.db.exec('BEGIN');
    this.tree = new StateTree(new StoreNodes(this.store));
    this.stateQ = this.store.db.prepare('INSERT INTO state (key, value) VALUES (?, ?)');
  }

  addRow(key: string, value: string): void {
    this.stateQ.run(key, value);
    this.batch.push([utf8(key), utf8(value)]);
    if (this.batch.length >= ROW_BATCH) this.flushRows();
  }

  private flushRows(): void {
    if (this.batch.length === 0) return;
    this.tree.apply(this.batch);
    this.batch = [];
  }

  /** Root of the state tree rebuilt from the rows added so far. */
  stateRoot(): Uint8Array {
    this.flushRows();
    return this.tree.root();
  }

  addLogNode(level: number, index: number, hash: Uint8Array): void {
    this.store.writeLogNodes([[level, index, hash]]);
  }

  addTx(t: StoredTxRow): void {
    this.store.db
      .prepare('INSERT INTO txs (log_index, tx_id, height, idx, code, expires_at, tx) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(t.logIndex, t.txId, t.height, t.index, t.code, t.expiresAt, t.tx);
  }

  /** Writes the base block and the chain's metadata, commits, and moves the file into place. */
  finish(base: {
    header: BlockHeader;
    hash: string;
    qc: QuorumCertificate;
    genesisText: string;
    source: string;
    /** More meta rows (the member-set updates the snapshot carried). */
    meta?: readonly [string, string][];
  }): void {
    const db = this.store.db;
    db.prepare('INSERT INTO blocks (height, hash, header, qc) VALUES (?, ?, ?, ?)').run(
      base.header.height,
      base.hash,
      canonicalize(base.header as never),
      canonicalize(base.qc as never),
    );
    const meta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    meta.run('genesis', base.genesisText);
    meta.run('chainId', base.header.chainId);
    meta.run('snapshot', canonicalize({ height: base.header.height, hash: base.hash, source: base.source }));
    for (const [k, v] of base.meta ?? []) meta.run(k, v);
    db.exec('COMMIT');
    db.pragma('wal_checkpoint(TRUNCATE)');
    this.store.close();
    renameSync(this.partial, this.path);
    for (const f of [`${this.partial}-wal`, `${this.partial}-shm`]) rmSync(f, { force: true });
  }

  abort(): void {
    try {
      if (this.store.db.inTransaction) this.store.db.exec('ROLLBACK');
    } catch {}
    this.store.close();
    for (const f of [this.partial, `${this.partial}-wal`, `${this.partial}-shm`]) rmSync(f, { force: true });
  }
}
