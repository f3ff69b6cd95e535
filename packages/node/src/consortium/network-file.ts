/** `network.json`: the record of a local consortium's ports, processes and status (see launcher.ts). */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NodeError } from '../errors.js';
import { ownsPid } from './processes.js';

export const NETWORK_FILE = 'network.json';
const MAX_NETWORK_FILE_BYTES = 1024 * 1024;

export interface EtcdMember {
  name: string;
  /** Client port (https, client certificates required). */
  client: number;
  /** Peer port (https, peer certificates required). */
  peer: number;
  /** Metrics and /health port (http, loopback, no data). */
  metrics: number;
}

export interface NetworkState {
  chainId: string;
  /**
   * `running` after a complete `up`; `stopped` after `down` (or a failed resume): `up` starts it
   * again on its data; `failed` when the first `up` did not complete (remove the directory).
   */
  status: 'starting' | 'running' | 'stopped' | 'failed';
  etcd: {
    endpoints: string[];
    pids: number[];
    dataDir: string;
    members: EtcdMember[];
    token: string;
    /** The CA certificate of the etcd cluster (client and peer TLS). */
    ca: string;
  };
  /** `pid` 0: not running. */
  peers: { org: string; home: string; url: string; pid: number }[];
}

export function readNetwork(dir: string): NetworkState {
  const path = join(resolve(dir), NETWORK_FILE);
  if (!existsSync(path)) throw new NodeError('NOT_FOUND', `no network in ${dir} (${NETWORK_FILE} missing)`);
  if (statSync(path).size > MAX_NETWORK_FILE_BYTES) throw new NodeError('BAD_REQUEST', `${path} is larger than 1 MiB`);
  let s: NetworkState;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as NetworkState;
  } catch (cause) {
    throw new NodeError('BAD_REQUEST', `cannot read ${path} as JSON`, { cause });
  }
  if (!Array.isArray(s?.etcd?.members) || !Array.isArray(s.peers) || !Array.isArray(s.etcd.pids)) {
    throw new NodeError(
      'BAD_REQUEST',
      `${path} is not a network file of this version of custos (expected etcd.members and peers)`,
    );
  }
  return s;
}

export function writeNetwork(dir: string, state: NetworkState): void {
  const path = join(dir, NETWORK_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** The command-line marker of etcd member `i` (its data directory), to recognise its process. */
export function etcdMarker(state: NetworkState, i: number): string {
  const m = state.etcd.members[i];
  return `--data-dir=${join(state.etcd.dataDir, m?.name ?? `m${i}`)}`;
}

/** The pids recorded in `state` that still run this network's processes. */
export function runningPids(state: NetworkState): number[] {
  return [
    ...state.peers.filter((p) => p.pid !== 0 && ownsPid(p.pid, p.home)).map((p) => p.pid),
    ...state.etcd.pids.filter((pid, i) => ownsPid(pid, etcdMarker(state, i))),
  ];
}
