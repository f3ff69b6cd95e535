/**
 * The crash window of a request's step (issue 16, point 4): a connector's transaction commits in the
 * org's system, then the node records `request.step` on the ledger. A node killed between the two
 * would, on the re-run, find nothing left to erase and record 0 rows, or correct rows already
 * corrected and record the wrong "before". The journal closes that window: the step's outcome (row
 * count and salted digest, never a row) is written here, in the node's own SQLite database, before
 * the system's transaction commits, with the connector's token to ask later whether that transaction
 * committed (PostgreSQL: its transaction id, `txid_status`). The next run of the request asks: if it
 * committed, the journal's outcome is recorded on the ledger and the system is not touched again; if
 * it rolled back, the step runs again. Entries go once their `request.step` is on the ledger.
 *
 * Holds no personal data: ids of the org, request and system, a count, a salted digest, a token.
 */
import type Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS request_step_journal (
  org TEXT NOT NULL,
  request TEXT NOT NULL,
  system TEXT NOT NULL,
  step TEXT NOT NULL,
  rows INTEGER NOT NULL,
  digest TEXT NOT NULL,
  settle TEXT,
  written_at INTEGER NOT NULL,
  PRIMARY KEY (org, request, system)
) STRICT;
`;

export interface JournalEntry {
  org: string;
  request: string;
  system: string;
  step: string;
  rows: number;
  digest: string;
  /** The connector's token to ask whether the transaction committed; null: it had committed when written. */
  settle: string | null;
  writtenAt: number;
}

interface Row {
  org: string;
  request: string;
  system: string;
  step: string;
  rows: number;
  digest: string;
  settle: string | null;
  written_at: number;
}

export class StepJournal {
  private readonly q;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.q = {
      put: db.prepare(
        `INSERT OR REPLACE INTO request_step_journal (org, request, system, step, rows, digest, settle, written_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare<[string, string, string], Row>(
        'SELECT * FROM request_step_journal WHERE org = ? AND request = ? AND system = ?',
      ),
      drop: db.prepare('DELETE FROM request_step_journal WHERE org = ? AND request = ? AND system = ?'),
    };
  }

  /** Writes (or replaces) the outcome of one system's step; durable once this returns (SQLite commit). */
  put(e: Omit<JournalEntry, 'writtenAt'>, now = Date.now()): void {
    this.q.put.run(e.org, e.request, e.system, e.step, e.rows, e.digest, e.settle, now);
  }

  get(org: string, request: string, system: string): JournalEntry | undefined {
    const r = this.q.get.get(org, request, system);
    if (r === undefined) return undefined;
    return {
      org: r.org,
      request: r.request,
      system: r.system,
      step: r.step,
      rows: r.rows,
      digest: r.digest,
      settle: r.settle,
      writtenAt: r.written_at,
    };
  }

  drop(org: string, request: string, system: string): void {
    this.q.drop.run(org, request, system);
  }
}

const journals = new WeakMap<Database.Database, StepJournal>();

/** The step journal of a node's database (its table created on first use). */
export function stepJournalOf(db: Database.Database): StepJournal {
  let j = journals.get(db);
  if (j === undefined) {
    j = new StepJournal(db);
    journals.set(db, j);
  }
  return j;
}
