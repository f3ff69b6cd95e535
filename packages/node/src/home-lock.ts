/**
 * One home, one node: a running node holds an exclusive lock on `<home>/node.lock`, a small SQLite
 * database opened in `locking_mode=EXCLUSIVE` with a write and no busy timeout. SQLite takes the
 * lock with POSIX advisory locks (fcntl), which the kernel releases when the process exits for any
 * reason (clean exit, crash, SIGKILL), so a stale lock never blocks a restart. A second node on the
 * same home (in another process or this one) fails at once with HOME_IN_USE.
 *
 * The store itself (`node.db`) is not locked this way: `custos backup` reads it online through a
 * second connection.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NodeError } from './errors.js';

export const LOCK_FILE = 'node.lock';

export interface HomeLock {
  /** Releases the lock (idempotent). Exiting the process releases it too. */
  release(): void;
}

/** Takes the home's exclusive lock, or throws HOME_IN_USE naming the holder's pid when it is known. */
export function lockHome(home: string): HomeLock {
  const path = join(home, LOCK_FILE);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 0 });
  } catch (cause) {
    throw new NodeError('BAD_REQUEST', `cannot open the home lock ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    db.pragma('journal_mode = MEMORY');
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept until the connection closes.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)');
    db.transaction(() => {
      db.prepare('DELETE FROM holder').run();
      db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, new Date().toISOString());
    })();
  } catch (cause) {
    db.close();
    if (
      (cause as { code?: string }).code?.startsWith('SQLITE_BUSY') ||
      (cause as { code?: string }).code === 'SQLITE_LOCKED'
    ) {
      throw new NodeError(
        'HOME_IN_USE',
        `another node is running on the home ${home} (it holds ${LOCK_FILE}); one home serves one node: stop that node first, or start this one with another --home`,
        { cause },
      );
    }
    throw new NodeError('INTERNAL', `cannot take the home lock ${path}: ${(cause as Error).message}`, { cause });
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}
