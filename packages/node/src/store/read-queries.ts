/**
 * Indexed reads for API routes that would otherwise scan a whole table (trust #6). The indexes are
 * created with the store's schema (`sqlite.ts`): `state_open_requests` holds the open requests by
 * deadline, so the overdue list reads only what is overdue, a page at a time.
 */
import type Database from 'better-sqlite3';

/** Open requests (optionally of one org) whose deadline is before `now`, by deadline then key, after a cursor. */
export const OVERDUE_SQL = `SELECT key, value, json_extract(value, '$.deadline') AS deadline FROM state
  WHERE key >= 'request/' AND key < 'request0' AND json_extract(value, '$.status') = 'open'
    AND key >= @lo AND key < @hi
    AND json_extract(value, '$.deadline') < @now
    AND (json_extract(value, '$.deadline') > @afterDeadline OR (json_extract(value, '$.deadline') = @afterDeadline AND key > @afterKey))
  ORDER BY json_extract(value, '$.deadline'), key
  LIMIT @limit`;

const statements = new WeakMap<Database.Database, Database.Statement>();

export interface OverdueRow {
  key: string;
  value: string;
  deadline: number;
}

/**
 * A page of overdue requests: `org` limits it to one org's; `after` is the last row's
 * `[deadline, key]` of the previous page.
 */
export function overdueRequests(
  db: Database.Database,
  opts: { now: number; org?: string; after?: [number, string]; limit: number },
): OverdueRow[] {
  let stmt = statements.get(db);
  if (stmt === undefined) {
    stmt = db.prepare(OVERDUE_SQL);
    statements.set(db, stmt);
  }
  const lo = opts.org === undefined ? 'request/' : `request/${opts.org}/`;
  const hi = opts.org === undefined ? 'request0' : `request/${opts.org}0`;
  const [afterDeadline, afterKey] = opts.after ?? [-1, ''];
  return stmt.all({ lo, hi, now: opts.now, afterDeadline, afterKey, limit: opts.limit }) as OverdueRow[];
}
