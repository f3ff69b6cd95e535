/**
 * A local consortium on one machine, for trying Custos and for tests: a 3-member (or 1-member) etcd
 * cluster on 127.0.0.1 with free ports, mutual TLS on its client and peer ports (a CA made for the
 * network, see pki.ts), and one peer process per org, each with its own home (its own key only, the
 * shared genesis, its etcd client certificate, a consortium.json). `network.json` in the directory
 * records ports and processes: `down` stops them (peers first, gracefully, then etcd) and checks
 * they are gone; `up` on a stopped network starts it again on its own data and ports.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { didFromPublicKey, publicKeyOf, randomSecretKey } from '@custos/protocol/crypto';
import { NodeError } from '../errors.js';
import { makeGenesis } from '../genesis.js';
import { GENESIS_FILE, KEYS_DIR, PASSPHRASE_FILE } from '../home.js';
import { writeKeystore } from '../keys/keystore.js';
import { writeConsortiumConfig } from './config.js';
import {
  type EtcdMember,
  etcdMarker,
  NETWORK_FILE,
  type NetworkState,
  readNetwork,
  runningPids,
  writeNetwork,
} from './network-file.js';
import { startPeerAndWait } from './peer-process.js';
import { findOpenssl, LocalCa } from './pki.js';
import {
  checkInterrupted,
  freePorts,
  getJson,
  logTail,
  ownsPid,
  portsInUse,
  sleep,
  stopPid,
  whileWatchingSignals,
} from './processes.js';

/** Files of the etcd TLS client identity in a peer's home (named in its consortium.json). */
export const ETCD_CA_FILE = 'etcd-ca.crt';
export const ETCD_CLIENT_CERT_FILE = 'etcd-client.crt';
export const ETCD_CLIENT_KEY_FILE = 'etcd-client.key';

export interface UpOptions {
  dir: string;
  orgs: number;
  chainId?: string;
  /** Path of the custos CLI script; default the built one beside this module. */
  cli?: string;
  log?: (line: string) => void;
}

const ORG_NAMES = ['bank', 'insurer', 'retailer', 'telco', 'utility', 'hospital', 'airline'];
const ETCD_HEALTH_MS = 30_000;

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

/**
 * Starts a local consortium, or starts a stopped one again on its own data (same ports, same
 * certificates). Resolves once every peer answers /readyz. If anything fails, every process this
 * call started is stopped before it throws.
 */
export async function networkUp(opts: UpOptions): Promise<NetworkState> {
  const dir = resolve(opts.dir);
  const log = opts.log ?? (() => {});
  const cli = opts.cli ?? defaultCli();
  if (existsSync(join(dir, NETWORK_FILE))) {
    const state = readNetwork(dir);
    const running = runningPids(state);
    if (running.length > 0) {
      throw new NodeError(
        'ALREADY_INITIALIZED',
        `the network in ${dir} is running (pids ${running.join(', ')}); run \`custos network down --dir ${opts.dir}\` first`,
      );
    }
    if (state.status === 'starting' || state.status === 'failed') {
      throw new NodeError(
        'ALREADY_INITIALIZED',
        `the first \`network up\` in ${dir} did not complete (logs in ${state.etcd.dataDir} and <home>/peer.log); remove ${dir} and run \`network up\` again`,
      );
    }
    log(`starting the stopped network in ${dir} again`);
    return whileWatchingSignals(() => resume(dir, state, cli, log));
  }
  if (!Number.isSafeInteger(opts.orgs) || opts.orgs < 1 || opts.orgs > ORG_NAMES.length) {
    throw new NodeError('BAD_REQUEST', `expected --orgs between 1 and ${ORG_NAMES.length}`);
  }
  if (existsSync(join(dir, 'etcd'))) {
    throw new NodeError(
      'ALREADY_INITIALIZED',
      `${dir} holds etcd data but no ${NETWORK_FILE}; remove ${dir} or use another --dir`,
    );
  }
  return whileWatchingSignals(() => fresh(dir, opts, cli, log));
}

async function fresh(dir: string, opts: UpOptions, cli: string, log: (l: string) => void): Promise<NetworkState> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const chainId = opts.chainId ?? 'local';
  const orgs = ORG_NAMES.slice(0, opts.orgs);
  const etcdBin = findEtcdBinary();
  findOpenssl();
  const etcdSize = opts.orgs >= 3 ? 3 : 1;
  const ports = await freePorts(3 * etcdSize + orgs.length);
  const etcdDir = join(dir, 'etcd');
  const tlsDir = join(etcdDir, 'tls');
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const members: EtcdMember[] = Array.from({ length: etcdSize }, (_, i) => ({
    name: `m${i}`,
    client: ports[3 * i]!,
    peer: ports[3 * i + 1]!,
    metrics: ports[3 * i + 2]!,
  }));
  const peerUrls = orgs.map((_, i) => `http://127.0.0.1:${ports[3 * etcdSize + i]}`);
  const state: NetworkState = {
    chainId,
    status: 'starting',
    etcd: {
      endpoints: members.map((m) => `https://127.0.0.1:${m.client}`),
      pids: [],
      dataDir: etcdDir,
      members,
      token: `custos-${randomBytes(6).toString('hex')}`,
      ca: join(tlsDir, 'ca.crt'),
    },
    peers: [],
  };
  writeNetwork(dir, state);

  // One key per org, each written only into its own org's home; the genesis is shared.
  const keys = orgs.map((id) => {
    const sk = randomSecretKey();
    return { id, sk, did: didFromPublicKey(publicKeyOf(sk)), passphrase: randomBytes(24).toString('base64url') };
  });
  const genesis = makeGenesis({
    chainId,
    members: keys.map((k) => ({ id: k.id, name: k.id[0]!.toUpperCase() + k.id.slice(1), keys: [k.did] })),
  });

  // The etcd PKI: server and peer certificates per etcd member, a client certificate per peer (its
  // key encrypted with that peer's keystore passphrase). The CA key is destroyed afterwards.
  const ca = LocalCa.create(tlsDir);
  try {
    for (const m of members) {
      for (const use of ['server', 'peer'] as const) {
        ca.issue({
          cn: `${m.name}-${use}`,
          kind: 'server',
          certPath: join(tlsDir, `${m.name}-${use}.crt`),
          keyPath: join(tlsDir, `${m.name}-${use}.key`),
        });
      }
    }
    for (const [i, k] of keys.entries()) {
      const home = join(dir, k.id);
      mkdirSync(join(home, KEYS_DIR), { recursive: true, mode: 0o700 });
      writeFileSync(join(home, PASSPHRASE_FILE), `${k.passphrase}\n`, { mode: 0o600 });
      writeKeystore(join(home, KEYS_DIR, `${k.id}.json`), k.sk, k.passphrase);
      writeFileSync(join(home, GENESIS_FILE), `${JSON.stringify(genesis, null, 2)}\n`);
      copyFileSync(ca.certPath, join(home, ETCD_CA_FILE));
      ca.issue({
        cn: k.id,
        kind: 'client',
        certPath: join(home, ETCD_CLIENT_CERT_FILE),
        keyPath: join(home, ETCD_CLIENT_KEY_FILE),
        keyPassphrase: k.passphrase,
      });
      writeConsortiumConfig(home, {
        peerId: k.id,
        etcd: {
          endpoints: state.etcd.endpoints,
          prefix: `/custos/${chainId}`,
          tls: { ca: ETCD_CA_FILE, cert: ETCD_CLIENT_CERT_FILE, key: ETCD_CLIENT_KEY_FILE },
        },
        peers: peerUrls.filter((_, j) => j !== i),
      });
      state.peers.push({ org: k.id, home, url: peerUrls[i]!, pid: 0 });
    }
  } finally {
    ca.destroy();
  }
  writeNetwork(dir, state);
  try {
    await startAll(dir, state, etcdBin, 'new', cli, log);
  } catch (e) {
    await stopAll(dir, state);
    state.status = 'failed';
    writeNetwork(dir, state);
    throw e;
  }
  return state;
}

async function resume(dir: string, state: NetworkState, cli: string, log: (l: string) => void): Promise<NetworkState> {
  const etcdBin = findEtcdBinary();
  try {
    await startAll(dir, state, etcdBin, 'existing', cli, log);
  } catch (e) {
    await stopAll(dir, state);
    state.status = 'stopped';
    writeNetwork(dir, state);
    throw e;
  }
  return state;
}

/** Starts the etcd members, waits until healthy, then starts the peers one by one, each until ready. */
async function startAll(
  dir: string,
  state: NetworkState,
  etcdBin: string,
  clusterState: 'new' | 'existing',
  cli: string,
  log: (l: string) => void,
): Promise<void> {
  const etcdDir = state.etcd.dataDir;
  const tlsDir = join(etcdDir, 'tls');
  const cluster = state.etcd.members.map((m) => `${m.name}=https://127.0.0.1:${m.peer}`).join(',');
  const exits = new Map<string, string>();
  const all = [
    ...state.etcd.members.map((m) => m.client),
    ...state.etcd.members.map((m) => m.peer),
    ...state.etcd.members.map((m) => m.metrics),
    ...state.peers.map((p) => Number(new URL(p.url).port)),
  ];
  const taken = await portsInUse(all);
  if (taken.length > 0) {
    throw new NodeError(
      'BAD_REQUEST',
      `ports ${taken.join(', ')} of the network in ${dir} are in use by other processes; stop them first`,
    );
  }
  state.etcd.pids = [];
  for (const m of state.etcd.members) {
    const logFd = openSync(join(etcdDir, `${m.name}.log`), 'a');
    const tls = (f: string) => join(tlsDir, f);
    const p = spawn(
      etcdBin,
      [
        `--name=${m.name}`,
        `--data-dir=${join(etcdDir, m.name)}`,
        `--listen-client-urls=https://127.0.0.1:${m.client}`,
        `--advertise-client-urls=https://127.0.0.1:${m.client}`,
        `--listen-peer-urls=https://127.0.0.1:${m.peer}`,
        `--initial-advertise-peer-urls=https://127.0.0.1:${m.peer}`,
        `--listen-metrics-urls=http://127.0.0.1:${m.metrics}`,
        `--initial-cluster=${cluster}`,
        `--initial-cluster-token=${state.etcd.token}`,
        `--initial-cluster-state=${clusterState}`,
        '--client-cert-auth',
        `--trusted-ca-file=${state.etcd.ca}`,
        `--cert-file=${tls(`${m.name}-server.crt`)}`,
        `--key-file=${tls(`${m.name}-server.key`)}`,
        '--peer-client-cert-auth',
        `--peer-trusted-ca-file=${state.etcd.ca}`,
        `--peer-cert-file=${tls(`${m.name}-peer.crt`)}`,
        `--peer-key-file=${tls(`${m.name}-peer.key`)}`,
        '--max-txn-ops=4096',
        '--max-request-bytes=10485760',
        '--logger=zap',
        '--log-level=warn',
      ],
      { detached: true, stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd);
    p.once('exit', (code, signal) => exits.set(m.name, signal ?? `exit code ${code}`));
    p.unref();
    if (p.pid !== undefined) state.etcd.pids.push(p.pid);
  }
  writeNetwork(dir, state);
  const deadline = Date.now() + ETCD_HEALTH_MS;
  for (;;) {
    if (exits.size > 0) {
      const [name, how] = [...exits][0]!;
      throw new NodeError(
        'INTERNAL',
        `etcd member ${name} exited (${how}): ${logTail(join(etcdDir, `${name}.log`), 0)}`,
      );
    }
    const h = await Promise.all(state.etcd.members.map((m) => getJson(`http://127.0.0.1:${m.metrics}/health`)));
    if (h.every((x) => (x as { health?: string } | undefined)?.health === 'true')) break;
    if (Date.now() > deadline) {
      throw new NodeError(
        'INTERNAL',
        `etcd did not become healthy within ${ETCD_HEALTH_MS / 1000} s (logs in ${etcdDir})`,
      );
    }
    checkInterrupted();
    await sleep(100);
  }
  log(`etcd is healthy (${state.etcd.members.length} members, mutual TLS)`);
  for (const p of state.peers) {
    p.pid = await startPeerAndWait(cli, p.org, p.home, p.url);
    writeNetwork(dir, state);
    log(`peer ${p.org} is ready`);
  }
  state.status = 'running';
  writeNetwork(dir, state);
}

/**
 * Starts one peer of a running network again: a live peer is stopped first (a clean restart);
 * resolves with the new pid once it answers /readyz; on failure nothing is left running and the
 * reason is thrown.
 */
export async function restartPeer(
  dir: string,
  org: string,
  cli = defaultCli(),
  log: (l: string) => void = () => {},
): Promise<NetworkState['peers'][number]> {
  const state = readNetwork(dir);
  const p = state.peers.find((x) => x.org === org);
  if (p === undefined) {
    throw new NodeError(
      'NOT_FOUND',
      `no peer '${org.slice(0, 40)}' in ${dir} (peers: ${state.peers.map((x) => x.org).join(', ')})`,
    );
  }
  const etcdRunning = state.etcd.pids.filter((pid, i) => ownsPid(pid, etcdMarker(state, i)));
  if (state.status !== 'running' || etcdRunning.length === 0) {
    throw new NodeError(
      'NOT_READY',
      `the network in ${dir} is not running; start it with \`custos network up --dir ${dir}\``,
    );
  }
  if (p.pid !== 0 && ownsPid(p.pid, p.home)) {
    log(`stopping peer ${org} (pid ${p.pid})`);
    await stopPid(p.pid, 15_000);
  }
  p.pid = 0;
  writeNetwork(dir, state);
  p.pid = await whileWatchingSignals(() => startPeerAndWait(cli, org, p.home, p.url));
  writeNetwork(dir, state);
  return p;
}

/**
 * Stops the peers (SIGTERM, then SIGKILL after 15 s), then etcd, and checks that every process is
 * gone; network.json stays (status `stopped`) so that `up` starts the network again on its data.
 */
export async function networkDown(dir: string, log: (line: string) => void = () => {}): Promise<void> {
  const abs = resolve(dir);
  const state = readNetwork(abs);
  await stopAll(abs, state, log);
  state.status = 'stopped';
  writeNetwork(abs, state);
}

async function stopAll(dir: string, state: NetworkState, log: (line: string) => void = () => {}): Promise<void> {
  await Promise.all(
    state.peers.map(async (p) => {
      if (p.pid !== 0 && ownsPid(p.pid, p.home)) {
        await stopPid(p.pid, 15_000);
        log(`stopped peer ${p.org}`);
      }
    }),
  );
  await Promise.all(
    state.etcd.pids.map((pid, i) => (ownsPid(pid, etcdMarker(state, i)) ? stopPid(pid, 10_000) : undefined)),
  );
  log('stopped etcd');
  const left = [
    ...state.peers.map((p, i) => ({ pid: p.pid, marker: p.home, i })),
    ...state.etcd.pids.map((pid, i) => ({ pid, marker: etcdMarker(state, i), i })),
  ]
    .filter((x) => x.pid !== 0 && ownsPid(x.pid, x.marker))
    .map((x) => x.pid);
  if (left.length > 0)
    throw new NodeError('INTERNAL', `processes ${left.join(', ')} of the network in ${dir} did not stop`);
  for (const p of state.peers) p.pid = 0;
  state.etcd.pids = [];
}
