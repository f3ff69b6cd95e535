/**
 * One launcher of a local PostgreSQL server (Debian package `postgresql`), for the tests' fixture,
 * the benchmarks and `custos demo`: `initdb` into a directory, `postgres` on 127.0.0.1 on a free
 * port with password (SCRAM) authentication, a database, stop. The data directory is either a fresh
 * temporary one (removed by `stop`) or one the caller names (kept, and reused by the next start:
 * the demo's). As root (a CI container), the server runs as the `postgres` system user, which
 * PostgreSQL requires. It can be halted and resumed on the same port and data (fault tests).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { freePorts, ownsPid } from '../consortium/processes.js';
import { NodeError } from '../errors.js';

const START_TIMEOUT_MS = 30_000;
/** The line every caller prints when the binaries are missing. */
export const POSTGRES_HINT = 'install the Debian package postgresql (apt-get install postgresql)';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The directory holding `initdb`, `postgres` and `pg_isready`: `$PG_BIN`, else Debian's newest
 * version under /usr/lib/postgresql, else the PATH; undefined when PostgreSQL is not installed.
 */
export function findPostgresBinaries(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs: string[] = [];
  if (env.PG_BIN) dirs.push(env.PG_BIN);
  else {
    try {
      const versions = readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a));
      for (const v of versions) dirs.push(join('/usr/lib/postgresql', v, 'bin'));
    } catch {}
    dirs.push(...(env.PATH ?? '').split(delimiter).filter((d) => d.length > 0));
  }
  return dirs.find((d) => ['initdb', 'postgres', 'pg_isready'].every((b) => executable(join(d, b))));
}

/** The binaries' directory, or NOT_FOUND naming the package to install. */
export function requirePostgresBinaries(env: NodeJS.ProcessEnv = process.env): string {
  const bin = findPostgresBinaries(env);
  if (bin === undefined) {
    throw new NodeError(
      'NOT_FOUND',
      `PostgreSQL is not installed (no initdb, postgres and pg_isready in $PG_BIN, /usr/lib/postgresql/*/bin or the PATH): ${POSTGRES_HINT}`,
    );
  }
  return bin;
}

/** uid and gid of the `postgres` user, when this process is root (PostgreSQL refuses to run as root). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (line === undefined) {
    throw new NodeError('NOT_FOUND', 'running as root, and there is no postgres user to run the server as');
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Where a named cluster lives: `dir`, unless this process is root and the `postgres` user cannot
 * reach it (a home under a private directory); then a directory in the system's temp directory
 * named after `dir`'s path, so the same `dir` always opens the same cluster.
 */
function reachableDir(dir: string, runAs: { uid: number; gid: number } | undefined): string {
  if (runAs === undefined) return dir;
  const parent = dirname(resolve(dir));
  mkdirSync(parent, { recursive: true });
  try {
    execFileSync('test', ['-w', parent, '-a', '-x', parent], { stdio: 'ignore', ...runAs });
    return dir;
  } catch {
    return relocatedClusterDir(dir);
  }
}

/** The directory in the system's temp directory that stands for the cluster directory `dir` (above). */
export function relocatedClusterDir(dir: string): string {
  const name = createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 16);
  return join(tmpdir(), `custos-pg-${name}`);
}

export interface PostgresServerOptions {
  /**
   * The cluster's directory: made and initialized if it holds no cluster yet, reused (same
   * password) if it does, kept by `stop`. Default: a fresh temporary directory, removed by `stop`.
   * As root, a directory the `postgres` user cannot reach is replaced by one in the temp directory
   * named after it (`dir` of the started server tells which).
   */
  dir?: string;
  /** The password of the `custos` superuser. Required with a `dir` that already holds a cluster. */
  password?: string;
  /**
   * Durable settings (PostgreSQL's defaults: fsync, full page writes, synchronous commit), for a
   * benchmark that measures what a commit costs. Default false: tests and the demo run without fsync.
   */
  durable?: boolean;
  /** Where the binaries are (default `requirePostgresBinaries()`). */
  bin?: string;
}

export class PostgresServer {
  readonly user = 'custos';
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  private constructor(
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
    readonly password: string,
    private readonly temporary: boolean,
    private readonly durable: boolean,
    private readonly runAs: { uid: number; gid: number } | undefined,
  ) {}

  /** Starts a server: a new cluster, or the one `opts.dir` holds. Throws NOT_FOUND without the binaries. */
  static async start(opts: PostgresServerOptions = {}): Promise<PostgresServer> {
    const bin = opts.bin ?? requirePostgresBinaries();
    const runAs = serverUser();
    const temporary = opts.dir === undefined;
    const dir = opts.dir === undefined ? mkdtempSync(join(tmpdir(), 'custos-pg-')) : reachableDir(opts.dir, runAs);
    const exists = existsSync(join(dir, 'data', 'PG_VERSION'));
    if (exists && opts.password === undefined) {
      throw new NodeError('BAD_REQUEST', `expected the password of the PostgreSQL cluster in ${dir}`);
    }
    const password = opts.password ?? randomBytes(18).toString('base64url');
    const [port] = await freePorts(1);
    const server = new PostgresServer(bin, dir, port!, password, temporary, opts.durable === true, runAs);
    try {
      if (!exists) server.init();
      else await server.stopStale();
      await server.resume();
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  /** postgres://custos:<password>@127.0.0.1:<port>/<db> (holds the password: never log it). */
  url(db = 'postgres'): string {
    return `postgres://${this.user}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${db}`;
  }

  /** Creates database `name` (letters, digits, `_`) unless it exists; answers its URL. */
  async createDatabase(name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
      throw new NodeError('BAD_REQUEST', 'expected a database name of 1-63 lower-case letters, digits or _');
    }
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (r.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  private init(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const pwfile = join(this.dir, 'pwfile');
    writeFileSync(pwfile, `${this.password}\n`, { mode: 0o600 });
    if (this.runAs) {
      chownSync(this.dir, this.runAs.uid, this.runAs.gid);
      chownSync(pwfile, this.runAs.uid, this.runAs.gid);
    }
    try {
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
          '--locale=C',
          ...(this.durable ? [] : ['--no-sync']),
        ],
        { stdio: 'pipe', ...(this.runAs ?? {}) },
      );
    } catch (e) {
      const stderr = String((e as { stderr?: unknown }).stderr ?? '').slice(-500);
      throw new NodeError('INTERNAL', `initdb failed in ${this.dir}: ${stderr || (e as Error).message}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  /** A server left running on this directory by a process that died (its pid file): stopped first. */
  private async stopStale(): Promise<void> {
    const pidFile = join(this.dir, 'data', 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (ownsPid(pid, 'postgres')) {
      process.kill(pid, 'SIGINT');
      const deadline = Date.now() + 10_000;
      while (ownsPid(pid, 'postgres') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Starts the server (again) on the same port and data; resolves once it accepts connections. */
  async resume(): Promise<void> {
    this.log = '';
    const settings = this.durable
      ? []
      : ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off'];
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
        'max_connections=20',
        ...settings,
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
      if (proc.exitCode !== null) throw new NodeError('INTERNAL', `postgres exited at start: ${this.log.slice(-1000)}`);
      try {
        execFileSync(join(this.bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(this.port), '-q'], {
          stdio: 'ignore',
        });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new NodeError(
      'TIMEOUT',
      `postgres did not accept connections within ${START_TIMEOUT_MS} ms: ${this.log.slice(-1000)}`,
    );
  }

  /** Whether the server process runs. */
  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null;
  }

  /** Stops the server now (fast shutdown: open transactions are rolled back), keeping its data. */
  async halt(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    const p = this.proc;
    if (p === undefined || p.exitCode !== null) return;
    p.kill(signal);
    await this.exited;
    this.proc = undefined;
  }

  /** Stops the server; a temporary cluster's directory is removed, a named one kept. */
  async stop(): Promise<void> {
    await this.halt();
    if (this.temporary) rmSync(this.dir, { recursive: true, force: true });
  }
}
