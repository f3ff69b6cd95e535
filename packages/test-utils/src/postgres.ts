/**
 * A real PostgreSQL server for tests (Debian package `postgresql`): `initdb` into a temp dir, then
 * `postgres` on 127.0.0.1 on a free port with password (SCRAM) authentication, stopped and removed
 * after. It can be stopped and started again on the same port and data (fault tests). As root (a CI
 * container), the server runs as the `postgres` system user, which PostgreSQL requires. Without the
 * binaries a test file gated by `needsPostgres` is skipped with one line, except under CI=true, where
 * it fails.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
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
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { gate } from './gate.js';

const START_TIMEOUT_MS = 30_000;

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The directory holding `initdb` and `postgres`: `$PG_BIN`, Debian's newest version, or the PATH. */
export function findPostgres(): string | undefined {
  const dirs: string[] = [];
  if (process.env.PG_BIN) dirs.push(process.env.PG_BIN);
  else {
    try {
      const versions = readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a));
      for (const v of versions) dirs.push(join('/usr/lib/postgresql', v, 'bin'));
    } catch {}
    dirs.push(...(process.env.PATH ?? '').split(delimiter));
  }
  return dirs.find((d) => executable(join(d, 'initdb')) && executable(join(d, 'postgres')));
}

/**
 * True if this file's PostgreSQL tests can run; otherwise prints `SKIPPED: <file>: needs the
 * postgresql package` (or, with CI=true, throws). Pass the test file's `import.meta.url`.
 */
export function needsPostgres(fileUrl: string): boolean {
  return gate(findPostgres() !== undefined, fileUrl, 'postgresql');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** uid and gid of the `postgres` user, when this process is root (PostgreSQL refuses to run as root). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (line === undefined) throw new Error('running as root, and there is no postgres user to run the server as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export class PostgresServer {
  readonly user = 'custos';
  readonly password: string;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  private constructor(
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
    private readonly runAs: { uid: number; gid: number } | undefined,
  ) {
    this.password = `pw-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  }

  /** A fresh cluster, started. */
  static async start(): Promise<PostgresServer> {
    const bin = findPostgres();
    if (bin === undefined) throw new Error('no PostgreSQL binaries (package postgresql)');
    const dir = mkdtempSync(join(tmpdir(), 'custos-pg-'));
    const runAs = serverUser();
    const server = new PostgresServer(bin, dir, await freePort(), runAs);
    try {
      server.init();
      await server.resume();
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  /** postgres://custos:<password>@127.0.0.1:<port>/<db> */
  url(db = 'postgres'): string {
    return `postgres://${this.user}:${this.password}@127.0.0.1:${this.port}/${db}`;
  }

  private init(): void {
    const pwfile = join(this.dir, 'pwfile');
    writeFileSync(pwfile, `${this.password}\n`, { mode: 0o600 });
    if (this.runAs) {
      chownSync(this.dir, this.runAs.uid, this.runAs.gid);
      chownSync(pwfile, this.runAs.uid, this.runAs.gid);
    }
    execFileSync(
      join(this.bin, 'initdb'),
      [
        '-D',
        join(this.dir, 'data'),
        '-U',
        this.user,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '-E',
        'UTF8',
        '--no-sync',
        '--locale=C',
      ],
      { stdio: 'pipe', ...(this.runAs ?? {}) },
    );
  }

  /** Starts the server (again) on the same port and data; resolves once it accepts connections. */
  async resume(): Promise<void> {
    this.log = '';
    const proc = spawn(
      join(this.bin, 'postgres'),
      [
        '-D',
        join(this.dir, 'data'),
        '-h',
        '127.0.0.1',
        '-p',
        String(this.port),
        '-k',
        this.dir,
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'max_connections=20',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(this.runAs ?? {}) },
    );
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const keep = (b: Buffer) => {
      this.log = (this.log + b.toString('utf8')).slice(-8000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`postgres exited at start: ${this.log}`);
      try {
        execFileSync(join(this.bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(this.port), '-q'], {
          stdio: 'ignore',
        });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms: ${this.log}`);
  }

  /** Stops the server now (fast shutdown: open transactions are rolled back), keeping its data. */
  async halt(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.exitCode !== null) return;
    p.kill(signal);
    await this.exited;
    this.proc = undefined;
  }

  /** Stops the server and removes its data. */
  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The node's connectors and data-map helpers, for test suites outside the node package (the web app's). */
export { PostgresConnector, parseDataMap, publishArgs, VaultConnector } from '@custos/node';
