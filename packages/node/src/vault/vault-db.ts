/**
 * The vault's SQLite file: created owner-only, opened so that an erasure reaches the disk and leaves
 * no readable bytes behind, its schema, and the statements the vault runs on it.
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { NodeError } from '../errors.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS subjects (
  subject TEXT PRIMARY KEY, key_ref TEXT NOT NULL UNIQUE, wrapped_key BLOB NOT NULL, created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
  ref TEXT PRIMARY KEY, key_ref TEXT NOT NULL, wrapped_key BLOB NOT NULL, sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS records_by_key ON records (key_ref);
CREATE TABLE IF NOT EXISTS erased (ref TEXT PRIMARY KEY, erased_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shredded (key_ref TEXT PRIMARY KEY, erased_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (ref TEXT PRIMARY KEY, tx_id TEXT, until INTEGER NOT NULL) STRICT, WITHOUT ROWID;
`;

export interface RecordRow {
  key_ref: string;
  wrapped_key: Buffer;
  sealed: Buffer;
  subject_key: Buffer | null;
}

/**
 * Opens (creating if missing) a vault file with `secure_delete` (deleted bytes are zeroed in the
 * file), the rollback journal in DELETE mode (a WAL file would keep deleted pages until a
 * checkpoint) and `synchronous = FULL`; `check` looks at its meta table before it is used.
 */
export function openVaultDb(path: string, check: (db: Database.Database) => void): Database.Database {
  // Create the file owner-only; SQLite gives its journal the same permissions.
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const db = new Database(path);
  try {
    const mode = db.pragma('journal_mode = DELETE', { simple: true });
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('temp_store = MEMORY'); // no temporary files holding plaintext-adjacent pages
    if (mode !== 'delete' || db.pragma('secure_delete', { simple: true }) !== 1) {
      throw new NodeError('INTERNAL', `expected journal_mode=delete and secure_delete=1, got ${mode}`);
    }
    db.exec(SCHEMA);
    check(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** The prepared statements of a vault (the type spelled out: declaration files cannot name the inferred one). */
export interface VaultQueries {
  subject: Database.Statement<[string], { key_ref: string; wrapped_key: Buffer }>;
  insertSubject: Database.Statement;
  deleteSubject: Database.Statement;
  deleteSubjectByKey: Database.Statement;
  subjectByKey: Database.Statement<[string], { subject: string; wrapped_key: Buffer; created_at: number }>;
  wrappedOf: Database.Statement<[string], { ref: string; wrapped_key: Buffer }>;
  rewrap: Database.Statement;
  record: Database.Statement<[string], RecordRow>;
  recordKeyRef: Database.Statement<[string], { key_ref: string }>;
  insertRecord: Database.Statement;
  updateRecord: Database.Statement;
  deleteRecord: Database.Statement;
  refsOf: Database.Statement<[string], { ref: string }>;
  recordsOf: Database.Statement<[string], { ref: string; created_at: number; updated_at: number }>;
  tombstone: Database.Statement<[string], { erased_at: number }>;
  insertTombstone: Database.Statement;
  tombstoneAll: Database.Statement;
  deleteAllOf: Database.Statement;
  insertShredded: Database.Statement;
  deleteShredded: Database.Statement;
  allShredded: Database.Statement<[], { key_ref: string; erased_at: number }>;
  insertPending: Database.Statement;
  setPendingTx: Database.Statement;
  deletePending: Database.Statement;
  allPending: Database.Statement<[], { ref: string; tx_id: string | null; until: number }>;
  count: {
    subjects: Database.Statement<[], { n: number }>;
    records: Database.Statement<[], { n: number }>;
    erased: Database.Statement<[], { n: number }>;
    shredded: Database.Statement<[], { n: number }>;
  };
}

/** Prepares the statements of a vault on its open file. */
export function prepareQueries(db: Database.Database): VaultQueries {
  return {
    subject: db.prepare<[string], { key_ref: string; wrapped_key: Buffer }>(
      'SELECT key_ref, wrapped_key FROM subjects WHERE subject = ?',
    ),
    insertSubject: db.prepare('INSERT INTO subjects (subject, key_ref, wrapped_key, created_at) VALUES (?, ?, ?, ?)'),
    deleteSubject: db.prepare('DELETE FROM subjects WHERE subject = ?'),
    deleteSubjectByKey: db.prepare('DELETE FROM subjects WHERE key_ref = ?'),
    subjectByKey: db.prepare<[string], { subject: string; wrapped_key: Buffer; created_at: number }>(
      'SELECT subject, wrapped_key, created_at FROM subjects WHERE key_ref = ?',
    ),
    wrappedOf: db.prepare<[string], { ref: string; wrapped_key: Buffer }>(
      'SELECT ref, wrapped_key FROM records WHERE key_ref = ?',
    ),
    rewrap: db.prepare('UPDATE records SET key_ref = ?, wrapped_key = ? WHERE ref = ?'),
    record: db.prepare<[string], RecordRow>(
      `SELECT r.key_ref, r.wrapped_key, r.sealed, s.wrapped_key AS subject_key
       FROM records r LEFT JOIN subjects s ON s.key_ref = r.key_ref WHERE r.ref = ?`,
    ),
    recordKeyRef: db.prepare<[string], { key_ref: string }>('SELECT key_ref FROM records WHERE ref = ?'),
    insertRecord: db.prepare(
      'INSERT INTO records (ref, key_ref, wrapped_key, sealed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    updateRecord: db.prepare('UPDATE records SET wrapped_key = ?, sealed = ?, updated_at = ? WHERE ref = ?'),
    deleteRecord: db.prepare('DELETE FROM records WHERE ref = ?'),
    refsOf: db.prepare<[string], { ref: string }>('SELECT ref FROM records WHERE key_ref = ? ORDER BY ref'),
    recordsOf: db.prepare<[string], { ref: string; created_at: number; updated_at: number }>(
      `SELECT r.ref, r.created_at, r.updated_at FROM subjects s JOIN records r ON r.key_ref = s.key_ref
       WHERE s.subject = ? ORDER BY r.created_at, r.ref`,
    ),
    tombstone: db.prepare<[string], { erased_at: number }>('SELECT erased_at FROM erased WHERE ref = ?'),
    insertTombstone: db.prepare('INSERT OR IGNORE INTO erased (ref, erased_at) VALUES (?, ?)'),
    tombstoneAll: db.prepare(
      'INSERT OR IGNORE INTO erased (ref, erased_at) SELECT ref, ? FROM records WHERE key_ref = ?',
    ),
    deleteAllOf: db.prepare('DELETE FROM records WHERE key_ref = ?'),
    insertShredded: db.prepare('INSERT OR REPLACE INTO shredded (key_ref, erased_at) VALUES (?, ?)'),
    deleteShredded: db.prepare('DELETE FROM shredded WHERE key_ref = ?'),
    allShredded: db.prepare<[], { key_ref: string; erased_at: number }>('SELECT key_ref, erased_at FROM shredded'),
    insertPending: db.prepare('INSERT INTO pending (ref, tx_id, until) VALUES (?, NULL, ?)'),
    setPendingTx: db.prepare('UPDATE pending SET tx_id = ? WHERE ref = ?'),
    deletePending: db.prepare('DELETE FROM pending WHERE ref = ?'),
    allPending: db.prepare<[], { ref: string; tx_id: string | null; until: number }>(
      'SELECT ref, tx_id, until FROM pending ORDER BY until',
    ),
    count: {
      subjects: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM subjects'),
      records: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM records'),
      erased: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM erased'),
      shredded: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM shredded'),
    },
  };
}
