// The processes of the `consortium` benchmark: one etcd member (the etcd binary the launcher finds,
// plain HTTP on 127.0.0.1 free ports) and one OS process per peer (bench/_consortium-peer.mjs).
// `stop()` stops every process started here, peers first (SIGTERM, SIGKILL after a grace period),
// then etcd; it is safe to call after a partial start and more than once.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findEtcdBinary } from '../packages/node/dist/consortium/launcher.js';
import { freePorts } from '../packages/node/dist/consortium/processes.js';

const PEER_SCRIPT = fileURLToPath(new URL('./_consortium-peer.mjs', import.meta.url));
const READY_MS = 60_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
function stopChild(child, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function logTail(path) {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-5).join(' | ').slice(-800);
  } catch {
    return '(no log)';
  }
}

export class Cluster {
  /** @param dir scratch directory (etcd data, stores, logs); @param cpuProfDir where peers write `--cpu-prof` profiles, if given */
  constructor(dir, { cpuProfDir } = {}) {
    this.dir = dir;
    this.cpuProfDir = cpuProfDir;
    this.children = [];
    this.etcd = undefined;
    this.etcdUrl = undefined;
    this.peers = [];
  }

  async startEtcd() {
    const [client, peer] = await freePorts(2);
    const logPath = join(this.dir, 'etcd.log');
    const logFd = openSync(logPath, 'a');
    const proc = spawn(
      findEtcdBinary(),
      [
        '--name=b0',
        `--data-dir=${join(this.dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${client}`,
        `--advertise-client-urls=http://127.0.0.1:${client}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=b0=http://127.0.0.1:${peer}`,
        '--max-txn-ops=4096',
        '--max-request-bytes=10485760',
        '--log-level=error',
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd);
    this.etcd = proc;
    const url = `http://127.0.0.1:${client}`;
    for (let i = 0; i < 300; i++) {
      if (proc.exitCode !== null) throw new Error(`etcd exited (${proc.exitCode}): ${logTail(logPath)}`);
      try {
        const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.ok && (await r.json()).health === 'true') {
          this.etcdUrl = url;
          return url;
        }
      } catch {}
      await sleep(100);
    }
    throw new Error(`etcd was not healthy within 30 s: ${logTail(logPath)}`);
  }

  /**
   * Starts one process per entry of `peers` ({id, secretKey (hex)}), all on `genesis`, and resolves
   * with their URLs once every one listens. Each knows the others' URLs (catch-up).
   */
  async startPeers(genesis, peers, { prefix, maxTxnOps = 4096 }) {
    const ports = await freePorts(peers.length);
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const started = peers.map((p, i) => {
      const configPath = join(this.dir, `${p.id}.json`);
      writeFileSync(
        configPath,
        JSON.stringify({
          dbPath: join(this.dir, `${p.id}.db`),
          genesis,
          secretKey: p.secretKey,
          port: ports[i],
          consortium: {
            peerId: p.id,
            etcd: { endpoints: [this.etcdUrl], prefix },
            peers: urls.filter((_, j) => j !== i),
            orderer: { maxTxnOps },
          },
        }),
        { mode: 0o600 },
      );
      const logPath = join(this.dir, `${p.id}.log`);
      const logFd = openSync(logPath, 'a');
      const prof = this.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${this.cpuProfDir}`];
      const child = spawn(process.execPath, [...prof, PEER_SCRIPT, configPath], {
        stdio: ['ignore', 'pipe', logFd],
      });
      closeSync(logFd);
      this.children.push(child);
      return { id: p.id, child, logPath, ready: ready(child, logPath, p.id) };
    });
    this.peers = await Promise.all(
      started.map(async (s) => ({ id: s.id, pid: s.child.pid, url: await s.ready, logPath: s.logPath })),
    );
    return this.peers;
  }

  /** Peers whose process has exited (a fatal error), with the end of their logs. */
  exited() {
    return this.children
      .map((c, i) => ({ c, p: this.peers[i] }))
      .filter(({ c }) => c.exitCode !== null || c.signalCode !== null)
      .map(({ c, p }) => `${p?.id ?? c.pid} exited (${c.exitCode ?? c.signalCode}): ${p ? logTail(p.logPath) : ''}`);
  }

  async stop() {
    const children = this.children;
    this.children = [];
    await Promise.all(children.map((c) => stopChild(c, 20_000)));
    const etcd = this.etcd;
    this.etcd = undefined;
    if (etcd) await stopChild(etcd, 10_000);
  }
}

/** Resolves with the URL a peer prints once listening; rejects if it exits first or takes too long. */
function ready(child, logPath, id) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`peer ${id} not ready in ${READY_MS} ms: ${logTail(logPath)}`)),
      READY_MS,
    );
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(JSON.parse(line).url);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`peer ${id} exited (${code ?? signal}) before it was ready: ${logTail(logPath)}`));
    });
  });
}
