/**
 * A local consortium on one machine, for trying Custos and for tests: a 3-member (or n-member) etcd
 * cluster on 127.0.0.1 with free ports, and one peer process per org, each with its own home (its
 * own key only, the shared genesis, a consortium.json). `network.json` in the directory records
 * the processes so that `down` can stop them: peers first (gracefully), then etcd.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { didFromPublicKey, publicKeyOf, randomSecretKey } from '@custos/protocol';
import { NodeError } from '../errors.js';
import { makeGenesis } from '../genesis.js';
import { GENESIS_FILE, KEYS_DIR, PASSPHRASE_FILE, writeConsortiumConfig } from '../home.js';
import { writeKeystore } from '../keys/keystore.js';

export const NETWORK_FILE = 'network.json';

export interface NetworkState {
  chainId: string;
  etcd: { endpoints: string[]; pids: number[]; dataDir: string };
  peers: { org: string; home: string; url: string; pid: number }[];
}

export interface UpOptions {
  dir: string;
  orgs: number;
  chainId?: string;
  /** Path of the custos CLI script; default the built one beside this module. */
  cli?: string;
  log?: (line: string) => void;
}

const ORG_NAMES = ['bank', 'insurer', 'retailer', 'telco', 'utility', 'hospital', 'airline'];

/** The etcd binary on the PATH (`$ETCD_BIN` first). */
export function findEtcdBinary(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = env.ETCD_BIN ? [env.ETCD_BIN] : (env.PATH ?? '').split(delimiter).map((d) => join(d, 'etcd'));
  for (const c of candidates) if (existsSync(c)) return c;
  throw new NodeError('NOT_FOUND', 'no etcd binary on the PATH (Debian: apt-get install etcd-server)');
}

export function defaultCli(): string {
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? fileURLToPath(new URL('../../dist/bin/custos.js', here))
    : fileURLToPath(new URL('../bin/custos.js', here));
}

/** Starts etcd and the peers; resolves once every peer answers /readyz. */
export async function networkUp(opts: UpOptions): Promise<NetworkState> {
  const dir = resolve(opts.dir);
  const log = opts.log ?? (() => {});
  if (existsSync(join(dir, NETWORK_FILE))) {
    throw new NodeError('ALREADY_INITIALIZED', `${dir} already holds a network; run \`custos network down\` first`);
  }
  if (!Number.isSafeInteger(opts.orgs) || opts.orgs < 1 || opts.orgs > ORG_NAMES.length) {
    throw new NodeError('BAD_REQUEST', `expected --orgs between 1 and ${ORG_NAMES.length}`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const chainId = opts.chainId ?? 'local';
  const orgs = ORG_NAMES.slice(0, opts.orgs);
  const etcdBin = findEtcdBinary();
  const etcdSize = opts.orgs >= 3 ? 3 : 1;
  const ports = await freePorts(2 * etcdSize + orgs.length);
  const etcdDir = join(dir, 'etcd');
  mkdirSync(etcdDir, { recursive: true });
  const members = Array.from({ length: etcdSize }, (_, i) => ({
    name: `m${i}`,
    client: ports[2 * i]!,
    peer: ports[2 * i + 1]!,
  }));
  const cluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const token = `custos-${randomBytes(6).toString('hex')}`;
  const etcdPids: number[] = [];
  for (const m of members) {
    const logFd = openSync(join(etcdDir, `${m.name}.log`), 'a');
    const p = spawn(
      etcdBin,
      [
        `--name=${m.name}`,
        `--data-dir=${join(etcdDir, m.name)}`,
        `--listen-client-urls=http://127.0.0.1:${m.client}`,
        `--advertise-client-urls=http://127.0.0.1:${m.client}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-cluster=${cluster}`,
        `--initial-cluster-token=${token}`,
        '--initial-cluster-state=new',
        '--max-txn-ops=4096',
        '--max-request-bytes=10485760',
        '--logger=zap',
        '--log-level=warn',
      ],
      { detached: true, stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd);
    p.unref();
    etcdPids.push(p.pid!);
  }
  const endpoints = members.map((m) => `http://127.0.0.1:${m.client}`);
  const peerUrls = orgs.map((_, i) => `http://127.0.0.1:${ports[2 * etcdSize + i]}`);
  const state: NetworkState = { chainId, etcd: { endpoints, pids: etcdPids, dataDir: etcdDir }, peers: [] };
  writeFileSync(join(dir, NETWORK_FILE), `${JSON.stringify(state, null, 2)}\n`);
  await waitFor(async () => {
    const h = await Promise.all(endpoints.map((e) => getJson(`${e}/health`)));
    return h.every((x) => (x as { health?: string } | undefined)?.health === 'true');
  }, 20_000).catch((e) => {
    throw new NodeError('INTERNAL', `etcd did not become healthy (logs in ${etcdDir})`, { cause: e });
  });
  log(`etcd: ${endpoints.join(' ')}`);

  // One key per org, each written only into its own org's home; the genesis is shared.
  const keys = orgs.map((id) => {
    const sk = randomSecretKey();
    return { id, sk, did: didFromPublicKey(publicKeyOf(sk)) };
  });
  const genesis = makeGenesis({
    chainId,
    members: keys.map((k) => ({ id: k.id, name: k.id[0]!.toUpperCase() + k.id.slice(1), keys: [k.did] })),
  });
  const cli = opts.cli ?? defaultCli();
  for (const [i, k] of keys.entries()) {
    const home = join(dir, k.id);
    mkdirSync(join(home, KEYS_DIR), { recursive: true, mode: 0o700 });
    const passphrase = randomBytes(24).toString('base64url');
    writeFileSync(join(home, PASSPHRASE_FILE), `${passphrase}\n`, { mode: 0o600 });
    writeKeystore(join(home, KEYS_DIR, `${k.id}.json`), k.sk, passphrase);
    writeFileSync(join(home, GENESIS_FILE), `${JSON.stringify(genesis, null, 2)}\n`);
    writeConsortiumConfig(home, {
      peerId: k.id,
      etcd: { endpoints, prefix: `/custos/${chainId}` },
      peers: peerUrls.filter((_, j) => j !== i),
    });
    const url = peerUrls[i]!;
    const pid = startPeerProcess(cli, home, Number(new URL(url).port));
    state.peers.push({ org: k.id, home, url, pid });
    writeFileSync(join(dir, NETWORK_FILE), `${JSON.stringify(state, null, 2)}\n`);
  }
  for (const p of state.peers) {
    await waitFor(async () => (await getJson(`${p.url}/readyz`)) !== undefined, 30_000).catch((e) => {
      throw new NodeError('INTERNAL', `peer ${p.org} did not start (log in ${join(p.home, 'peer.log')})`, { cause: e });
    });
    log(`peer ${p.org}: ${p.url}`);
  }
  return state;
}

/** Starts (or restarts) one peer process on its home; its output goes to `<home>/peer.log`. */
export function startPeerProcess(cli: string, home: string, port: number): number {
  const logFd = openSync(join(home, 'peer.log'), 'a');
  const p: ChildProcess = spawn(process.execPath, [cli, 'node', 'start', '--home', home, '--port', String(port)], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, CUSTOS_PASSPHRASE: '', CUSTOS_HOME: '' },
  });
  closeSync(logFd);
  p.unref();
  return p.pid!;
}

export function readNetwork(dir: string): NetworkState {
  const path = join(resolve(dir), NETWORK_FILE);
  if (!existsSync(path)) throw new NodeError('NOT_FOUND', `no network in ${dir} (${NETWORK_FILE} missing)`);
  return JSON.parse(readFileSync(path, 'utf8')) as NetworkState;
}

/** Stops the peers (SIGTERM, then SIGKILL after 15 s), then etcd; removes network.json (the data stays). */
export async function networkDown(dir: string, log: (line: string) => void = () => {}): Promise<void> {
  const state = readNetwork(dir);
  await Promise.all(state.peers.map((p) => stopPid(p.pid, 15_000).then(() => log(`stopped peer ${p.org}`))));
  await Promise.all(state.etcd.pids.map((pid) => stopPid(pid, 10_000)));
  log('stopped etcd');
  const archived = join(resolve(dir), `${NETWORK_FILE}.down`);
  copyFileSync(join(resolve(dir), NETWORK_FILE), archived);
  const { rmSync } = await import('node:fs');
  rmSync(join(resolve(dir), NETWORK_FILE));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${timeoutMs} ms`);
}

async function getJson(url: string): Promise<unknown> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((res, rej) => {
          const s = createServer();
          s.once('error', rej);
          s.listen(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
