/**
 * The embedded store: one SQLite file per peer (better-sqlite3, WAL). Blocks, transactions with
 * their result codes, the history log's nodes, the state and the state tree's nodes. A block and
 * all of its effects commit in one SQLite transaction, so a crash never leaves half a block.
 */

import { toHex, utf8 } from '@custos/protocol/encoding';
import { canonicalize } from '@custos/protocol/jcs';
import type { Block, BlockHeader, QuorumCertificate, ResultCode, SignedTx } from '@custos/protocol/ledger';
import {
  decodeStateNode,
  encodeStateNode,
  type StateNode,
  type StateNodeStore,
  type StateNodeWrite,
  StateTree,
} from '@custos/protocol/state';
import Database from 'better-sqlite3';
import { NodeError } from '../errors.js';
import { convertLogNodes, logChunkStatements, readLogNode, writeLogChunks } from './log-chunks.js';
import { isPrunedBody, type PruneStatements, pruneStatements, truncateWal, writeMentionsAndPrune } from './prune.js';
import { ReplayFilter } from './replay-filter.js';
import { type CommittedTx, txOfRow as rowToTx } from './tx-rows.js';
import { WalPipeline } from './wal-pipeline.js';

export type { CommittedTx } from './tx-rows.js';

/** Everything one block changes, written atomically by `commitBlock`. */
export interface BlockCommit {
  header: BlockHeader;
  hash: string;
  txs: { txId: string; json: string; expiresAt: number }[];
  results: ResultCode[];
  stateWrites: Map<string, string | null>;
  logNodes: Iterable<[level: number, index: number, hash: Uint8Array]>;
  treeWrites: Iterable<[path: Uint8Array, node: Uint8Array | null]>;
  qc: QuorumCertificate | null;
  /** (subject pseudonym, log index) pairs: which transactions belong to which data subject's history. */
  subjectIndex?: Iterable<[subject: string, logIndex: number]>;
  /** Meta rows written with the block (e.g. the proof of a member-set change). */
  meta?: Iterable<[key: string, value: string]> | undefined;
  /** Subjects the block forgot, each with the last log index to prune (the block's last; store/prune.ts). */
  forgotten?: readonly { subject: string; upTo: number }[];
}

/** A stored block: a transaction pruned after an erasure is null (its id and code stay in the log). */
export type StoredBlock = Omit<Block, 'txs'> & { txs: (SignedTx | null)[]; hash: string; qc: QuorumCertificate | null };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS blocks (
  height INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, header TEXT NOT NULL, qc TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS txs (
  log_index INTEGER PRIMARY KEY, tx_id TEXT NOT NULL, height INTEGER NOT NULL, idx INTEGER NOT NULL,
  code TEXT NOT NULL, expires_at INTEGER NOT NULL, tx TEXT NOT NULL
) STRICT;
-- Lookup by id on the id's first 16 hex digits (64 bits): a third of the entry size of the whole id,
-- so a block's inserts at random places dirty fewer pages; queries compare the whole id after it.
-- Stores made before it had the index on the whole id (txs_by_id), dropped on open.
DROP INDEX IF EXISTS txs_by_id;
CREATE INDEX IF NOT EXISTS txs_by_id_prefix ON txs (substr(tx_id, 1, 16));
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID;
-- The history log's nodes, 16 consecutive nodes of one level per row (logNodeIn): far fewer rows
-- to write per transaction than one per node. lo is the first node's offset in its chunk (0 but
-- for the frontier rows a snapshot import starts with).
CREATE TABLE IF NOT EXISTS log_chunks (
  level INTEGER NOT NULL, chunk INTEGER NOT NULL, lo INTEGER NOT NULL, hashes BLOB NOT NULL, PRIMARY KEY (level, chunk)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subject_index (subject TEXT NOT NULL, log_index INTEGER NOT NULL, PRIMARY KEY (subject, log_index)) STRICT, WITHOUT ROWID;
-- State-tree nodes by storage key (treeKey): a node's key-hash prefix first, then its depth, so the
-- nodes on one path down the tree sit next to each other and a transaction touches few pages.
CREATE TABLE IF NOT EXISTS state_nodes (k BLOB PRIMARY KEY, node BLOB NOT NULL) STRICT, WITHOUT ROWID;
-- Read indexes (trust #6): the snapshot's replay window, and open requests by deadline (read-queries.ts).
CREATE INDEX IF NOT EXISTS txs_by_expiry ON txs (expires_at);
CREATE INDEX IF NOT EXISTS state_open_requests ON state (json_extract(value, '$.deadline'), key)
  WHERE key >= 'request/' AND key < 'request0' AND json_extract(value, '$.status') = 'open';
`;

export interface StoreOptions {
  /** `FULL` (default) syncs the WAL at every block: durable across power loss. `NORMAL`: across process crashes. */
  synchronous?: 'FULL' | 'NORMAL';
  readonly?: boolean;
  /** How the write-ahead log is synced to disk (default `fs.fsync`); tests pass one they control. */
  syncWal?: (fd: number, done: (err: Error | null) => void) => void;
}

/** A tree key per path length (2 to 34 bytes), reused: SQLite copies a bound blob (SQLITE_TRANSIENT). */
const TREE_KEY_SCRATCH = Array.from({ length: 35 }, (_, n) => new Uint8Array(n));
/** Keys per `getStates` query: bounds the JSON text one statement binds. */
const STATE_READ_BATCH = 4096;

export class SqliteStore {
  readonly db: Database.Database;
  private readonly q;
  /** With `synchronous: 'FULL'`: blocks commit without an fsync, `durable()` syncs them (wal-pipeline.ts). */
  private readonly wal: WalPipeline | undefined;
  /** Ids of the transactions committed since open, so that most replay probes need no read. */
  private readonly replay: ReplayFilter;
  private readonly prune: PruneStatements | undefined;
  /** A block forgot a subject and the WAL still holds page images from before: truncate it. */
  private scrubPending = false;

  constructor(path: string, opts: StoreOptions = {}) {
    this.db = new Database(path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      this.db.exec(SCHEMA);
      migrateTreeNodes(this.db);
      convertLogNodes(this.db);
      convertTreeToSixteenWay(this.db);
    } else if (this.db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'log_chunks'").get() === undefined) {
      this.db.close();
      throw new NodeError(
        'STORE_CORRUPT',
        `${path} has no log_chunks table: a store of an earlier version is converted when a node opens it for writing, and cannot be read before`,
      );
    }
    const newest = this.db.prepare<[], { e: number | null }>('SELECT max(expires_at) AS e FROM txs').get();
    this.replay = new ReplayFilter(newest?.e ?? 0);
    this.wal =
      !opts.readonly && (opts.synchronous ?? 'FULL') === 'FULL'
        ? WalPipeline.open(this.db, path, opts.syncWal)
        : undefined;
    this.db.pragma('cache_size = -65536');
    // FAST: freed cells and reused pages are zeroed at no extra I/O, so an updated or deleted row
    // leaves no stale bytes in its page (a forgotten subject's pseudonym; store/prune.ts).
    if (!opts.readonly) this.db.pragma('secure_delete = FAST');
    this.prune = opts.readonly ? undefined : pruneStatements(this.db);
    const db = this.db;
    this.q = {
      metaGet: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      metaSet: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      lastBlock: db.prepare<[], { header: string }>('SELECT header FROM blocks ORDER BY height DESC LIMIT 1'),
      block: db.prepare<[number], { header: string; hash: string; qc: string | null }>(
        'SELECT header, hash, qc FROM blocks WHERE height = ?',
      ),
      // A block's transactions are the log entries [logSize - txCount, logSize): no index by height needed.
      blockTxs: db.prepare<[number, number], { tx: string; code: string }>(
        'SELECT tx, code FROM txs WHERE log_index >= ? AND log_index < ? ORDER BY log_index',
      ),
      insertBlock: db.prepare('INSERT INTO blocks (height, hash, header, qc) VALUES (?, ?, ?, ?)'),
      setQc: db.prepare('UPDATE blocks SET qc = ? WHERE height = ?'),
      insertTx: db.prepare(
        'INSERT INTO txs (log_index, tx_id, height, idx, code, expires_at, tx) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      txById: db.prepare<
        [string, string],
        { tx: string; tx_id: string; height: number; idx: number; log_index: number; code: string }
      >(
        "SELECT * FROM txs WHERE substr(tx_id, 1, 16) = substr(?, 1, 16) AND tx_id = ? ORDER BY (code = 'BAD_SIGNATURE' OR code = 'WRONG_CHAIN'), log_index LIMIT 1",
      ),
      txByLogIndex: db.prepare<
        [number],
        { tx: string; tx_id: string; height: number; idx: number; log_index: number; code: string }
      >('SELECT * FROM txs WHERE log_index = ?'),
      committed: db.prepare<[string, string], { one: number }>(
        "SELECT 1 AS one FROM txs WHERE substr(tx_id, 1, 16) = substr(?, 1, 16) AND tx_id = ? AND code NOT IN ('BAD_SIGNATURE', 'WRONG_CHAIN') LIMIT 1",
      ),
      committedAmong: db.prepare<[string], { tx_id: string }>(
        "SELECT DISTINCT t.tx_id FROM json_each(?) AS j JOIN txs AS t ON substr(t.tx_id, 1, 16) = substr(j.value, 1, 16) AND t.tx_id = j.value WHERE t.code NOT IN ('BAD_SIGNATURE', 'WRONG_CHAIN')",
      ),
      stateGet: db.prepare<[string], { value: string }>('SELECT value FROM state WHERE key = ?'),
      // Many keys in one statement: a point read costs ~2 µs of statement overhead, a key here ~0.2.
      stateGetMany: db
        .prepare<[string], [string, string]>(
          'SELECT s.key, s.value FROM json_each(?) AS j JOIN state AS s ON s.key = j.value',
        )
        .raw(),
      stateSet: db.prepare(
        'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      stateDel: db.prepare('DELETE FROM state WHERE key = ?'),
      stateFrom: db.prepare<[string, string, number], { key: string; value: string }>(
        "SELECT key, value FROM state WHERE key >= ? AND key < CAST(? AS BLOB) || x'ff' ORDER BY key LIMIT ?",
      ),
      stateAfter: db.prepare<[string, string, number], { key: string; value: string }>(
        "SELECT key, value FROM state WHERE key > ? AND key < CAST(? AS BLOB) || x'ff' ORDER BY key LIMIT ?",
      ),
      log: logChunkStatements(db),
      subjectAdd: db.prepare('INSERT OR IGNORE INTO subject_index (subject, log_index) VALUES (?, ?)'),
      subjectList: db.prepare<[string, number, number], { log_index: number }>(
        'SELECT log_index FROM subject_index WHERE subject = ? AND log_index > ? ORDER BY log_index LIMIT ?',
      ),
      treeGet: db.prepare<[Uint8Array], { node: Buffer }>('SELECT node FROM state_nodes WHERE k = ?'),
      // An upsert rewrites the row in place; OR REPLACE would delete it and insert it again.
      treeSet: db.prepare(
        'INSERT INTO state_nodes (k, node) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET node = excluded.node',
      ),
      treeDel: db.prepare('DELETE FROM state_nodes WHERE k = ?'),
    };
  }

  getMeta(key: string): string | undefined {
    return this.q.metaGet.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.q.metaSet.run(key, value);
  }

  latestHeader(): BlockHeader | null {
    const row = this.q.lastBlock.get();
    return row ? (JSON.parse(row.header) as BlockHeader) : null;
  }

  getHeader(height: number): { header: BlockHeader; hash: string; qc: QuorumCertificate | null } | null {
    const row = this.q.block.get(height);
    if (!row) return null;
    return {
      header: JSON.parse(row.header) as BlockHeader,
      hash: row.hash,
      qc: row.qc ? (JSON.parse(row.qc) as QuorumCertificate) : null,
    };
  }

  getBlock(height: number): StoredBlock | null {
    const h = this.getHeader(height);
    if (!h) return null;
    const rows = this.q.blockTxs.all(h.header.logSize - h.header.txCount, h.header.logSize);
    return {
      header: h.header,
      hash: h.hash,
      qc: h.qc,
      txs: rows.map((r) => (isPrunedBody(r.tx) ? null : (JSON.parse(r.tx) as SignedTx))),
      results: rows.map((r) => r.code as ResultCode),
    };
  }

  /** The committed transaction with this id (the first with a valid signature, if there are several entries). */
  getTx(txId: string): CommittedTx | null {
    const r = this.q.txById.get(txId, txId);
    return r ? rowToTx(r) : null;
  }

  getTxByLogIndex(logIndex: number): CommittedTx | null {
    const r = this.q.txByLogIndex.get(logIndex);
    return r ? rowToTx(r) : null;
  }

  hasCommittedTx(txId: string): boolean {
    return this.q.committed.get(txId, txId) !== undefined;
  }

  /** `hasCommittedTx` for a transaction expiring at `expiresAt`, mostly answered from memory (replay-filter.ts). */
  isCommitted(txId: string, expiresAt: number): boolean {
    return this.replay.mayContain(txId, expiresAt) && this.hasCommittedTx(txId);
  }

  /**
   * Of `txIds`, those `hasCommittedTx` is true for, in one query. With `expiresAt` (of each id's
   * body), only the ids the replay filter cannot rule out are looked up: none, in the common case.
   */
  committedAmong(txIds: readonly string[], expiresAt?: readonly number[]): Set<string> {
    const out = new Set<string>();
    const probe =
      expiresAt === undefined ? txIds : txIds.filter((id, i) => this.replay.mayContain(id, expiresAt[i] ?? 0));
    if (probe.length === 0) return out;
    for (const r of this.q.committedAmong.all(JSON.stringify(probe))) out.add(r.tx_id);
    return out;
  }

  getState(key: string): string | undefined {
    return this.q.stateGet.get(key)?.value;
  }

  /** The values of those of `keys` in the state, in one query per STATE_READ_BATCH keys. */
  getStates(keys: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += STATE_READ_BATCH) {
      const batch = JSON.stringify(keys.length <= STATE_READ_BATCH ? keys : keys.slice(i, i + STATE_READ_BATCH));
      for (const [key, value] of this.q.stateGetMany.all(batch)) out.set(key, value);
    }
    return out;
  }

  /** Up to `limit` state entries with keys starting with `prefix`, after `after` (exclusive). */
  listState(prefix: string, after: string | undefined, limit: number): { key: string; value: string }[] {
    // SQLite compares keys as UTF-8 bytes (BINARY collation): every key starting with `prefix` sorts
    // at or after it and before `prefix` followed by the byte 0xFF, which no UTF-8 text contains.
    if (after !== undefined && after >= prefix) return this.q.stateAfter.all(after, prefix, limit);
    return this.q.stateFrom.all(prefix, prefix, limit);
  }

  /** Log indexes of a subject's history after `after` (exclusive), oldest first. */
  subjectHistory(subject: string, after: number, limit: number): number[] {
    return this.q.subjectList.all(subject, after, limit).map((r) => r.log_index);
  }

  getLogNode(level: number, index: number): Uint8Array | undefined {
    return readLogNode(this.q.log, level, index);
  }

  /** Writes history-log nodes (level, index, hash) into their chunk rows; `commitBlock` calls it inside the block's transaction. */
  writeLogNodes(nodes: Iterable<[level: number, index: number, hash: Uint8Array]>): void {
    writeLogChunks(this.q.log, nodes);
  }

  /** The encoded state-tree node at `path` (a protocol NodePath). */
  getTreeNode(path: Uint8Array): Uint8Array | undefined {
    const r = this.q.treeGet.get(treeKey(path, TREE_KEY_SCRATCH[path.length]));
    return r ? new Uint8Array(r.node.buffer, r.node.byteOffset, r.node.length) : undefined;
  }

  /** Writes (or, for null, deletes) encoded state-tree nodes by path; `commitBlock` calls it inside the block's transaction. */
  writeTreeNodes(writes: Iterable<[path: Uint8Array, node: Uint8Array | null]>): void {
    const q = this.q;
    for (const [path, node] of writes) {
      const key = treeKey(path, TREE_KEY_SCRATCH[path.length]);
      if (node === null) q.treeDel.run(key);
      else q.treeSet.run(key, node);
    }
  }

  /**
   * Writes a block and all of its effects in one SQLite transaction. With `synchronous: 'FULL'` it
   * is on disk only once `durable()` resolves: acknowledge nothing of it before.
   */
  commitBlock(c: BlockCommit): void {
    const q = this.q;
    const write = () => {
      const prev = this.latestHeader();
      const expected = prev === null ? 0 : prev.height + 1;
      if (c.header.height !== expected) {
        throw new NodeError('STORE_CORRUPT', `expected to commit height ${expected}, got ${c.header.height}`);
      }
      q.insertBlock.run(c.header.height, c.hash, canonicalize(c.header), c.qc ? canonicalize(c.qc) : null);
      const base = c.header.logSize - c.header.txCount;
      for (let i = 0; i < c.txs.length; i++) {
        const t = c.txs[i]!;
        q.insertTx.run(base + i, t.txId, c.header.height, i, c.results[i]!, t.expiresAt, t.json);
        // A filter entry for a block that then fails to commit only costs a read later.
        this.replay.add(t.txId, t.expiresAt);
      }
      for (const [k, v] of c.stateWrites) {
        if (v === null) q.stateDel.run(k);
        else q.stateSet.run(k, v);
      }
      writeLogChunks(q.log, c.logNodes);
      for (const [subject, logIndex] of c.subjectIndex ?? []) q.subjectAdd.run(subject, logIndex);
      if (this.prune) {
        const failed = c.txs.flatMap((t, i) => (c.results[i] === 'OK' ? [] : [[base + i, t.json] as [number, string]]));
        writeMentionsAndPrune(this.prune, c.header.height, failed, c.forgotten ?? []);
      }
      this.writeTreeNodes(c.treeWrites);
      for (const [key, value] of c.meta ?? []) this.setMeta(key, value);
    };
    // A block that forgets a subject zeroes what it frees (secure_delete), then empties the WAL.
    const forgets = (c.forgotten?.length ?? 0) > 0;
    if (forgets) this.db.pragma('secure_delete = ON');
    try {
      if (this.wal) this.wal.commit(write);
      else this.db.transaction(write)();
    } finally {
      if (forgets) this.db.pragma('secure_delete = FAST');
    }
    if (forgets) this.scrubPending = true;
    if (this.scrubPending && !this.db.inTransaction) this.scrubPending = !truncateWal(this.db);
  }

  /** Resolves once every block committed so far is on disk (at once where the store does not sync, `synchronous: 'NORMAL'`). */
  durable(): Promise<void> {
    return this.wal ? this.wal.durable() : Promise.resolve();
  }

  setQc(height: number, qc: QuorumCertificate): void {
    this.q.setQc.run(canonicalize(qc), height);
  }

  /** Consistent online copy of the database (SQLite backup API) while the node runs. */
  async backup(destination: string): Promise<void> {
    await this.db.backup(destination);
  }

  /** Closes at once; a running checkpoint is abandoned (SQLite finishes it at the next open). */
  close(): void {
    this.wal?.closeNow();
    if (this.db.open) this.db.close();
  }

  /** Waits for the pending fsync and the checkpointer, then closes: the WAL is folded into the database file. */
  async closeDurably(): Promise<void> {
    await this.wal?.close();
    if (this.scrubPending && this.db.open) truncateWal(this.db);
    if (this.db.open) this.db.close();
  }
}

/**
 * Storage key of a tree node: the protocol's NodePath is depth (2 bytes) then key-hash prefix; the
 * store keys by prefix then depth, so a node sorts next to the nodes below it. Nodes on one path
 * from the root share pages, and a block's writes touch few pages (WAL bytes per transaction).
 */
function treeKey(path: Uint8Array, key = new Uint8Array(path.length)): Uint8Array {
  for (let i = 2; i < path.length; i++) key[i - 2] = path[i] as number;
  key[path.length - 2] = path[0] as number;
  key[path.length - 1] = path[1] as number;
  return key;
}

/** Bytes of a stored tree node's tag and two hashes; leaf values are not kept in the tree (the state table holds them). */
const TREE_NODE_BYTES = 65;

/**
 * Stores made before the state_nodes layout kept nodes in tree_nodes by NodePath, leaves with
 * their values: moved once, in one transaction, to state_nodes (key by treeKey, leaf value dropped).
 */
function migrateTreeNodes(db: Database.Database): void {
  const old = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'tree_nodes'").get();
  if (old === undefined) return;
  // In one statement, so SQLite streams the rows (no iteration over a statement while writing).
  db.function('custos_tree_key', { deterministic: true }, (path: unknown) => treeKey(path as Uint8Array));
  db.transaction(() => {
    db.prepare(
      `INSERT OR REPLACE INTO state_nodes (k, node) SELECT custos_tree_key(path), substr(node, 1, ${TREE_NODE_BYTES}) FROM tree_nodes`,
    ).run();
    db.exec('DROP TABLE tree_nodes');
  })();
}

/** Meta row naming the state tree's node layout; stores without it hold the binary layout, if any nodes. */
const TREE_LAYOUT_KEY = 'stateTreeLayout';
const TREE_LAYOUT = '16-way';
/** State rows read per step of a conversion (reads and writes on one connection cannot interleave). */
const CONVERT_BATCH = 10_000;

/**
 * Stores made before the 16-way tree (docs/adr/0013-hexary-state-tree.md) hold one binary node
 * per bit level (tag 0x01). Converted once on open, in one transaction: the nodes are rebuilt
 * from the state table, and the rebuilt root must equal the latest block's state root (the
 * 16-way tree has the binary tree's root), else the open fails and nothing changes.
 */
function convertTreeToSixteenWay(db: Database.Database): void {
  const layout = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(TREE_LAYOUT_KEY);
  if (layout?.value === TREE_LAYOUT) return;
  const getNode = db.prepare<[Uint8Array], { node: Buffer }>('SELECT node FROM state_nodes WHERE k = ?');
  const root = getNode.get(treeKey(new Uint8Array(2)));
  db.transaction(() => {
    if (root !== undefined && root.node[0] === 0x01) {
      db.exec('DELETE FROM state_nodes');
      const setNode = db.prepare(
        'INSERT INTO state_nodes (k, node) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET node = excluded.node',
      );
      const delNode = db.prepare('DELETE FROM state_nodes WHERE k = ?');
      const nodes: StateNodeStore = {
        get: (path) => {
          const r = getNode.get(treeKey(path));
          return r === undefined ? undefined : decodeStateNode(r.node);
        },
        write: (writes: readonly StateNodeWrite[]) => {
          for (const w of writes) {
            if (w.node === null) delNode.run(treeKey(w.path));
            else setNode.run(treeKey(w.path), encodeStateNode(storedForm(w.node)));
          }
        },
      };
      const tree = new StateTree(nodes);
      const page = db.prepare<[string, number], { key: string; value: string }>(
        'SELECT key, value FROM state WHERE key > ? ORDER BY key LIMIT ?',
      );
      let after = '';
      for (;;) {
        const rows = page.all(after, CONVERT_BATCH);
        if (rows.length === 0) break;
        tree.apply(rows.map((r) => [utf8(r.key), utf8(r.value)] as const));
        after = (rows[rows.length - 1] as { key: string }).key;
      }
      const head = db.prepare<[], { header: string }>('SELECT header FROM blocks ORDER BY height DESC LIMIT 1').get();
      const expected = head === undefined ? undefined : (JSON.parse(head.header) as BlockHeader).stateRoot;
      const got = toHex(tree.root());
      if (expected !== undefined && got !== expected) {
        throw new NodeError(
          'STORE_CORRUPT',
          `converting the state tree to the 16-way layout gave root ${got}, but the latest block has ${expected}: the state table and the tree disagree`,
        );
      }
    }
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
      TREE_LAYOUT_KEY,
      TREE_LAYOUT,
    );
  })();
}

/** A leaf as the store keeps it, without its value (the state table holds it). */
function storedForm(node: StateNode): StateNode {
  return node.kind === 'leaf'
    ? { kind: 'leaf', keyHash: node.keyHash, valueHash: node.valueHash, value: new Uint8Array(0) }
    : node;
}
