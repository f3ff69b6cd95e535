/**
 * The last error message of each failed step, kept by the node that ran it (issue 16, point 4): the
 * ledger holds only the error's code (no free text on the ledger), so an operator who opens the
 * requests queue later still reads what went wrong ("crm: PostgreSQL 42501 (insufficient_privilege)
 * on crm.customers"). The connectors' messages name systems, tables, columns, SQLSTATEs and HTTP
 * statuses, never a value; each is bounded to 500 characters. In the node's own SQLite file, never
 * replicated; an entry goes once its step is done.
 */
import type Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS request_step_errors (
  org TEXT NOT NULL,
  request TEXT NOT NULL,
  system TEXT NOT NULL,
  message TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (org, request, system)
) STRICT;
`;

export const MAX_STEP_ERROR_CHARS = 500;

export class StepErrors {
  private readonly q;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.q = {
      put: db.prepare(
        'INSERT OR REPLACE INTO request_step_errors (org, request, system, message, at) VALUES (?, ?, ?, ?, ?)',
      ),
      get: db.prepare<[string, string, string], { message: string; at: number }>(
        'SELECT message, at FROM request_step_errors WHERE org = ? AND request = ? AND system = ?',
      ),
      drop: db.prepare('DELETE FROM request_step_errors WHERE org = ? AND request = ? AND system = ?'),
    };
  }

  put(org: string, request: string, system: string, message: string, now = Date.now()): void {
    this.q.put.run(org, request, system, message.slice(0, MAX_STEP_ERROR_CHARS), now);
  }

  get(org: string, request: string, system: string): { message: string; at: number } | undefined {
    return this.q.get.get(org, request, system);
  }

  drop(org: string, request: string, system: string): void {
    this.q.drop.run(org, request, system);
  }
}

const stores = new WeakMap<Database.Database, StepErrors>();

/** The step errors of a node's database (its table created on first use). */
export function stepErrorsOf(db: Database.Database): StepErrors {
  let s = stores.get(db);
  if (s === undefined) {
    s = new StepErrors(db);
    stores.set(db, s);
  }
  return s;
}
