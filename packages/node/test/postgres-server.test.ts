/**
 * The one PostgreSQL launcher (src/connectors/postgres-server.ts), used by the tests' fixture, the
 * benchmarks and the demo: a clear error naming the package when the binaries are missing; a named
 * cluster directory kept across stops and reused with its password (the demo's); a database made
 * once; a stale server left on the directory by a killed process stopped before the next start.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needsPostgres } from '@custos/test-utils/postgres';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { findPostgresBinaries, PostgresServer, requirePostgresBinaries } from '../src/connectors/postgres-server.js';
import { NodeError } from '../src/errors.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'custos-pgtest-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('finding the PostgreSQL binaries', () => {
  it('answers undefined, and NOT_FOUND naming the Debian package, where they are not', () => {
    const empty = tempDir();
    expect(findPostgresBinaries({ PG_BIN: empty })).toBeUndefined();
    let err: unknown;
    try {
      requirePostgresBinaries({ PG_BIN: empty });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NodeError);
    expect((err as NodeError).code).toBe('NOT_FOUND');
    expect((err as Error).message).toContain('apt-get install postgresql');
  });

  it('refuses to reuse a cluster directory without its password', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'data', 'PG_VERSION'), '15\n');
    await expect(PostgresServer.start({ dir, bin: tempDir() })).rejects.toThrow(/expected the password/);
  });
});

async function count(url: string, sql: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>(sql);
    return Number(r.rows[0]!.n);
  } finally {
    await c.end();
  }
}

describe.skipIf(!needsPostgres(import.meta.url))('a PostgreSQL server', () => {
  it('a temporary cluster: a database made once, the directory removed by stop', async () => {
    const server = await PostgresServer.start();
    try {
      const url = await server.createDatabase('crm_test');
      expect(await server.createDatabase('crm_test')).toBe(url);
      expect(await count(url, 'SELECT count(*) AS n FROM pg_database WHERE datname = current_database()')).toBe(1);
      await expect(server.createDatabase('bad-name')).rejects.toThrow(/expected a database name/);
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
  });

  it('a named cluster keeps its data across a stop and starts again with its password', async () => {
    const dir = join(tempDir(), 'pg');
    const first = await PostgresServer.start({ dir });
    const password = first.password;
    let url: string;
    try {
      url = await first.createDatabase('kept');
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query('CREATE TABLE t AS SELECT 1 AS x UNION ALL SELECT 2');
      await c.end();
    } finally {
      await first.stop();
    }
    const second = await PostgresServer.start({ dir, password });
    try {
      url = second.url('kept');
      expect(await count(url, 'SELECT count(*) AS n FROM t')).toBe(2);
    } finally {
      await second.stop();
      // As root the cluster may live in the temp directory instead (named after `dir`).
      rmSync(second.dir, { recursive: true, force: true });
    }
    expect(second.dir).toBe(first.dir);
  });

  it('stops a server a killed process left running on the directory before starting', async () => {
    const dir = join(tempDir(), 'pg');
    const first = await PostgresServer.start({ dir });
    // As if the process that started `first` had been killed: its server still runs on the directory.
    const second = await PostgresServer.start({ dir, password: first.password });
    try {
      expect(first.running).toBe(false);
      expect(await count(second.url(), 'SELECT 1 AS n')).toBe(1);
    } finally {
      await second.stop();
      await first.halt();
      rmSync(second.dir, { recursive: true, force: true });
    }
  });
});
