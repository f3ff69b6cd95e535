// A PostgreSQL server for the `erasure-systems` benchmark (Debian package `postgresql`): initdb into a
// temp dir, postgres on 127.0.0.1 on a free port with a password (as the `postgres` user when run as
// root), durable settings left at their defaults so a DELETE's commit costs what it costs in
// production. `stop()` stops it and removes its data.
import { execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../packages/node/dist/consortium/processes.js';

/** The directory with `initdb` and `postgres` ($PG_BIN, else Debian's newest), or undefined. */
export function findPostgres() {
  const dirs = process.env.PG_BIN
    ? [process.env.PG_BIN]
    : (() => {
        try {
          return readdirSync('/usr/lib/postgresql')
            .filter((v) => /^\d+$/.test(v))
            .sort((a, b) => Number(b) - Number(a))
            .map((v) => join('/usr/lib/postgresql', v, 'bin'));
        } catch {
          return [];
        }
      })();
  return dirs.find((d) => {
    try {
      accessSync(join(d, 'initdb'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export async function startPostgres() {
  const bin = findPostgres();
  if (bin === undefined) throw new Error('erasure-systems needs PostgreSQL (Debian package postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-pg-'));
  const [port] = await freePorts(1);
  const password = `bench-${Date.now().toString(36)}`;
  let runAs = {};
  if (process.getuid?.() === 0) {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    const [, , uid, gid] = line.split(':');
    runAs = { uid: Number(uid), gid: Number(gid) };
    chownSync(dir, runAs.uid, runAs.gid);
  }
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) chownSync(pwfile, runAs.uid, runAs.gid);
  execFileSync(
    join(bin, 'initdb'),
    ['-D', join(dir, 'data'), '-U', 'custos', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C'],
    { stdio: 'pipe', ...runAs },
  );
  const proc = spawn(
    join(bin, 'postgres'),
    ['-D', join(dir, 'data'), '-h', '127.0.0.1', '-p', String(port), '-k', dir],
    { stdio: 'ignore', ...runAs },
  );
  const exited = new Promise((r) => proc.once('exit', r));
  for (let i = 0; ; i++) {
    try {
      execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q'], { stdio: 'ignore' });
      break;
    } catch {
      if (i > 300 || proc.exitCode !== null) throw new Error('postgres did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: `postgres://custos:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
