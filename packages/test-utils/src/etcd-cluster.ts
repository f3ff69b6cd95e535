/**
 * Real etcd clusters for tests: 1 or 3 members on 127.0.0.1 with free ports and their data in a temp
 * dir; members can be killed, stopped and restarted. Without the etcd binary (Debian package
 * `etcd-server`) a test file gated by `needsEtcd` is skipped with one line, except under CI=true,
 * where it fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { nativeVerifier, type PendingTx } from '@custos/node';
import { parseTx, verifyTxSignature } from '@custos/protocol';
import { gate } from './gate.js';

const START_ATTEMPTS = 3;
const HEALTH_TIMEOUT_MS = 20_000;

/** The etcd binary: `$ETCD_BIN`, else `etcd` on the PATH. */
export function findEtcd(): string | undefined {
  const candidates = process.env.ETCD_BIN
    ? [process.env.ETCD_BIN]
    : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'etcd'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return undefined;
}

/**
 * True if this file's etcd tests can run; otherwise prints `SKIPPED: <file>: needs the etcd-server
 * package` (or, with CI=true, throws). Pass the test file's `import.meta.url`.
 */
export function needsEtcd(fileUrl: string): boolean {
  return gate(findEtcd() !== undefined, fileUrl, 'etcd-server');
}

/** How the tests (and the node) turn a stored transaction into a PendingTx: shape, then signature. */
export function parsePending(raw: unknown): PendingTx {
  const parsed = parseTx(raw);
  return { parsed, sigOk: verifyTxSignature(parsed, nativeVerifier) };
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess | undefined;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export class EtcdCluster {
  private constructor(
    private readonly bin: string,
    readonly dir: string,
    private readonly members: Member[],
    private readonly token: string,
    private readonly extraArgs: readonly string[],
  ) {}

  /** Starts a new cluster and waits until it has a leader; `args` go to every member (e.g. `--max-txn-ops=4096`). */
  static async start(size: 1 | 3, opts: { args?: string[] } = {}): Promise<EtcdCluster> {
    const bin = findEtcd();
    if (bin === undefined) throw new Error('no etcd binary');
    let lastError: unknown;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'custos-etcd-'));
      const ports = await freePorts(2 * size);
      const members = Array.from({ length: size }, (_, i) => ({
        name: `m${i}`,
        clientPort: ports[2 * i]!,
        peerPort: ports[2 * i + 1]!,
        dataDir: join(dir, `m${i}`),
        proc: undefined,
      }));
      const token = `custos-${process.pid}-${Date.now()}-${attempt}`;
      const cluster = new EtcdCluster(bin, dir, members, token, opts.args ?? []);
      try {
        for (let i = 0; i < size; i++) cluster.spawnMember(i, 'new');
        await cluster.waitHealthy();
        return cluster;
      } catch (e) {
        lastError = e;
        await cluster.close();
      }
    }
    throw new Error(`etcd cluster did not start: ${String(lastError)}`);
  }

  /** Client URLs of all members. */
  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  get size(): number {
    return this.members.length;
  }

  isRunning(i: number): boolean {
    return this.members[i]?.proc !== undefined;
  }

  /** SIGKILLs member `i` and waits for it to exit. */
  kill(i: number): Promise<void> {
    return this.signal(i, 'SIGKILL');
  }

  /** Stops member `i` cleanly (SIGTERM) and waits for it to exit. */
  stop(i: number): Promise<void> {
    return this.signal(i, 'SIGTERM');
  }

  /** Freezes member `i` (SIGSTOP): its connections stay open but nothing answers, as in a partition. */
  freeze(i: number): void {
    this.members[i]?.proc?.kill('SIGSTOP');
  }

  /** Resumes a frozen member (SIGCONT). */
  thaw(i: number): void {
    this.members[i]?.proc?.kill('SIGCONT');
  }

  /** Starts a stopped member again on its data dir; resolves once it serves its client port. */
  async restart(i: number): Promise<void> {
    if (this.isRunning(i)) return;
    this.spawnMember(i, 'existing');
    const m = this.members[i]!;
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (m.proc === undefined) throw new Error(`etcd member ${m.name} exited on restart (see ${this.dir})`);
      const r = await get(`http://127.0.0.1:${m.clientPort}/version`);
      if (r !== undefined) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`etcd member ${m.name} did not come back`);
  }

  /** Index of the Raft leader, asked of the running members. */
  async leader(): Promise<number> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      for (const m of this.members) {
        if (m.proc === undefined) continue;
        const status = await post(`http://127.0.0.1:${m.clientPort}/v3/maintenance/status`);
        const leader = (status as { leader?: string } | undefined)?.leader;
        if (leader === undefined || leader === '0') continue;
        for (let j = 0; j < this.members.length; j++) {
          const other = this.members[j]!;
          if (other.proc === undefined) continue;
          const s = await post(`http://127.0.0.1:${other.clientPort}/v3/maintenance/status`);
          if ((s as { header?: { member_id?: string } } | undefined)?.header?.member_id === leader) return j;
        }
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('no etcd leader');
  }

  /** Waits until the running members report a healthy cluster (a leader, and a quorum). */
  async waitHealthy(timeoutMs = HEALTH_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const running = this.members.filter((m) => m.proc !== undefined);
      if (running.length === 0) throw new Error('no etcd member is running');
      const health = await Promise.all(running.map((m) => get(`http://127.0.0.1:${m.clientPort}/health`)));
      if (health.every((h) => (h as { health?: string } | undefined)?.health === 'true')) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`etcd cluster not healthy after ${timeoutMs} ms (logs in ${this.dir})`);
  }

  /** Kills every member and deletes the data. */
  async close(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawnMember(i: number, state: 'new' | 'existing'): void {
    const m = this.members[i]!;
    const peers = this.members.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(',');
    const proc = spawn(
      this.bin,
      [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-cluster=${peers}`,
        `--initial-cluster-token=${this.token}`,
        `--initial-cluster-state=${state}`,
        // Fast failure detection on loopback, so leader-change tests stay short.
        '--heartbeat-interval=50',
        '--election-timeout=500',
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=warn',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr!.pipe(createWriteStream(join(this.dir, `${m.name}.log`), { flags: 'a' }));
    live.add(proc);
    m.proc = proc;
    proc.once('exit', () => {
      live.delete(proc);
      if (m.proc === proc) m.proc = undefined;
    });
  }

  private async signal(i: number, sig: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const proc = this.members[i]?.proc;
    if (proc === undefined) return;
    const exited = new Promise<void>((res) => proc.once('exit', () => res()));
    proc.kill(sig);
    await exited;
  }
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function get(url: string): Promise<unknown> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

async function post(url: string): Promise<unknown> {
  try {
    const r = await fetch(url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}
