/**
 * A real PostgreSQL server for tests: the node's one launcher (`PostgresServer` of @custos/node:
 * initdb into a temp dir, postgres on 127.0.0.1 on a free port with password authentication,
 * stopped and removed after; halt and resume for fault tests). Without the binaries a test file
 * gated by `needsPostgres` is skipped with one line, except under CI=true, where it fails.
 */
import { findPostgresBinaries, PostgresServer } from '@custos/node';
import { gate } from './gate.js';

export { PostgresServer };

/** The directory holding `initdb` and `postgres`: `$PG_BIN`, Debian's newest version, or the PATH. */
export function findPostgres(): string | undefined {
  return findPostgresBinaries();
}

/**
 * True if this file's PostgreSQL tests can run; otherwise prints `SKIPPED: <file>: needs the
 * postgresql package` (or, with CI=true, throws). Pass the test file's `import.meta.url`.
 */
export function needsPostgres(fileUrl: string): boolean {
  return gate(findPostgres() !== undefined, fileUrl, 'postgresql');
}

/** The node's connectors and data-map helpers, for test suites outside the node package (the web app's). */
export { PostgresConnector, parseDataMap, publishArgs, VaultConnector } from '@custos/node';
