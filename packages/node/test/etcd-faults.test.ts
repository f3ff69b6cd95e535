/**
 * Fault injection for the etcd orderer, on real three-member etcd clusters under load: SIGKILL of the
 * etcd leader, loss of a minority and of a majority of members, and SIGKILL of the proposing orderer
 * (a child process). Throughout, every peer must deliver the same sequence of batches, each height
 * once and each accepted transaction exactly once, and ordering must resume once a quorum is back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { waitFor } from '@custos/test-utils';
import { EtcdCluster, needsEtcd, parsePending } from '@custos/test-utils/etcd';
import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { EtcdOrderer } from '../src/ordering/etcd.js';
import { pendingTxs } from './conformance/orderer.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const FAST = { maxTxs: 50, maxWaitMs: 10, electionTtlSec: 2, callTimeoutMs: 2000 };

interface Peer {
  id: string;
  orderer: EtcdOrderer;
  /** txIds of each delivered batch, in delivery order. */
  batches: string[][];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const delivered = (p: Peer) => p.batches.flat();

async function startPeer(endpoints: string[], prefix: string, id: string): Promise<Peer> {
  const log = process.env.CUSTOS_TEST_LOG ? (m: string) => console.log(`[${id}] ${m}`) : undefined;
  const orderer = new EtcdOrderer({
    endpoints,
    prefix,
    peerId: id,
    parse: parsePending,
    ...FAST,
    ...(log ? { log } : {}),
  });
  const peer: Peer = { id, orderer, batches: [] };
  await orderer.start((b) => {
    peer.batches.push(b.txs.map((t) => t.parsed.txId));
  }, 0);
  return peer;
}

/** Submits `perTick` transactions every `tickMs`, round-robin, every fifth chunk to two peers. */
class Load {
  readonly accepted = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private tick = 0;

  constructor(private readonly peers: Peer[]) {}

  start(perTick = 10, tickMs = 20): void {
    this.timer = setInterval(() => {
      const txs = pendingTxs(perTick, `load${this.tick}`);
      const targets = this.tick % 5 === 0 ? [this.tick, this.tick + 1] : [this.tick];
      for (const t of targets) {
        try {
          this.peers[t % this.peers.length]!.orderer.submit(txs);
          for (const tx of txs) this.accepted.add(tx.parsed.txId);
        } catch {}
      }
      this.tick++;
    }, tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Waits until every peer delivered at least 3 more batches than it had when called. */
function progressed(peers: Peer[], timeoutMs: number): Promise<boolean> {
  const start = peers.map((p) => p.batches.length);
  return waitFor(() => peers.every((p, i) => p.batches.length >= start[i]! + 3), timeoutMs);
}

/** No peer delivered anything another did not: batch sequences are prefixes of one another. */
function expectConsistent(peers: Peer[]): void {
  const longest = peers.reduce((a, b) => (b.batches.length > a.batches.length ? b : a));
  for (const p of peers) {
    expect(p.batches.map((b) => b.join(','))).toEqual(
      longest.batches.slice(0, p.batches.length).map((b) => b.join(',')),
    );
    expect(new Set(delivered(p)).size).toBe(delivered(p).length);
    expect(p.orderer.deliveredHeight()).toBe(p.batches.length);
  }
}

/** Waits until every peer delivered every accepted transaction, then checks each did so exactly once. */
async function expectConverged(peers: Peer[], accepted: Set<string>, timeoutMs = 30_000): Promise<void> {
  const ok = await waitFor(() => peers.every((p) => delivered(p).length >= accepted.size), timeoutMs);
  const counts = peers.map((p) => `${p.id}: ${delivered(p).length}/${accepted.size}`).join(', ');
  expect(ok, `not converged: ${counts}`).toBe(true);
  await sleep(200);
  expectConsistent(peers);
  for (const p of peers) {
    expect(delivered(p).length).toBe(accepted.size);
    expect(new Set(delivered(p))).toEqual(accepted);
  }
}

let cluster: EtcdCluster | undefined;
let peers: Peer[] = [];
let child: ChildProcess | undefined;

afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await Promise.all(peers.map((p) => p.orderer.stop().catch(() => {})));
  peers = [];
  await cluster?.close();
  cluster = undefined;
});

const CHILD_SCRIPT = `
const { EtcdOrderer } = await import(process.env.ORDERER_URL);
const { parseTx, verifyTxSignature } = await import(process.env.PROTOCOL_URL);
const { nativeVerifier } = await import(process.env.NATIVE_URL);
const orderer = new EtcdOrderer({
  ...JSON.parse(process.env.ORDERER_OPTIONS),
  parse: (raw) => { const parsed = parseTx(raw); return { parsed, sigOk: verifyTxSignature(parsed, nativeVerifier) }; },
});
await orderer.start((b) => { process.stdout.write('BATCH ' + b.txs.map((t) => t.parsed.txId).join(',') + '\\n'); }, 0);
const timer = setInterval(() => { if (orderer.isProposer()) { process.stdout.write('LEADER\\n'); clearInterval(timer); } }, 10);
`;

/** An orderer instance in its own process (built code from dist/), reporting its batches on stdout. */
function spawnOrderer(
  endpoints: string[],
  prefix: string,
  peerId: string,
): { proc: ChildProcess; peer: Peer; leader: Promise<void> } {
  const url = (rel: string) => {
    const u = new URL(rel, import.meta.url);
    if (!existsSync(fileURLToPath(u))) throw new Error(`${fileURLToPath(u)} is missing: run npm run build first`);
    return u.href;
  };
  const proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT], {
    env: {
      ...process.env,
      ORDERER_URL: url('../dist/ordering/etcd.js'),
      // The protocol package as installed (its package name), not its folder.
      PROTOCOL_URL: pathToFileURL(createRequire(import.meta.url).resolve('@custos/protocol')).href,
      NATIVE_URL: url('../dist/crypto/native.js'),
      ORDERER_OPTIONS: JSON.stringify({ endpoints, prefix, peerId, ...FAST }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const peer: Peer = { id: peerId, orderer: undefined as unknown as EtcdOrderer, batches: [] };
  let onLeader!: () => void;
  let onExit!: (e: Error) => void;
  const leader = new Promise<void>((res, rej) => {
    onLeader = res;
    onExit = rej;
  });
  let buf = '';
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'LEADER') onLeader();
      else if (line.startsWith('BATCH ')) peer.batches.push(line.slice(6).split(','));
    }
  });
  proc.once('exit', (code, signal) =>
    onExit(new Error(`orderer process exited (${code ?? signal}): ${stderr.slice(0, 2000)}`)),
  );
  return { proc, peer, leader };
}

if (HAVE_ETCD) {
  describe('etcd orderer under faults', () => {
    it('survives SIGKILL of the etcd leader under load: ordering resumes, nothing lost or repeated', async () => {
      cluster = await EtcdCluster.start(3);
      for (const id of ['a', 'b', 'c']) peers.push(await startPeer(cluster.endpoints, '/faults/leader', id));
      const load = new Load(peers);
      load.start();
      await sleep(1500);
      const leader = await cluster.leader();
      await cluster.kill(leader);
      // Ordering resumes under the new etcd leader, on every peer, while the old one is still down.
      expect(await progressed(peers, 10_000), 'no progress after the etcd leader was killed').toBe(true);
      await sleep(1000);
      await cluster.restart(leader);
      await sleep(1000);
      load.stop();
      expect(load.accepted.size).toBeGreaterThan(1000);
      await expectConverged(peers, load.accepted);
    }, 60_000);

    it('keeps ordering with a minority of members down, and stalls without divergence with a majority down', async () => {
      cluster = await EtcdCluster.start(3);
      for (const id of ['a', 'b', 'c']) peers.push(await startPeer(cluster.endpoints, '/faults/quorum', id));
      const leader = await cluster.leader();
      const follower = (leader + 1) % 3;
      const other = (leader + 2) % 3;

      // Minority: one follower down; transactions keep flowing.
      await cluster.stop(follower);
      const load = new Load(peers);
      load.start();
      // At least 2 s of load and at least 11 batches on every peer (a loaded machine orders fewer per second).
      await sleep(2000);
      const flowing = await waitFor(() => peers.every((p) => p.batches.length > 10), 20_000);
      load.stop();
      expect(flowing, 'fewer than 11 batches ordered with one follower down').toBe(true);
      await expectConverged(peers, load.accepted, 15_000);
      const baseline = peers.map((p) => p.batches.length);

      // Majority: the leader down too; nothing is ordered, and nobody delivers anything different.
      await cluster.stop(leader);
      const stalled = new Load(peers);
      stalled.start(5, 50);
      // Longer than twice the election TTL: the proposer's campaign is lost, and won again later.
      await sleep(5000);
      stalled.stop();
      expect(peers.map((p) => p.batches.length)).toEqual(baseline);
      expectConsistent(peers);

      // Quorum back: ordering resumes and every peer converges on the same sequence.
      await cluster.restart(leader);
      await cluster.restart(follower);
      const after = new Load(peers);
      after.start();
      await sleep(1000);
      after.stop();
      const all = new Set([...load.accepted, ...stalled.accepted, ...after.accepted]);
      await expectConverged(peers, all, 40_000);
      expect(cluster.isRunning(other)).toBe(true);
    }, 100_000);

    it('stalls for seconds, not for good, when the etcd leader hangs (SIGSTOP) under load', async () => {
      cluster = await EtcdCluster.start(3);
      for (const id of ['a', 'b', 'c']) peers.push(await startPeer(cluster.endpoints, '/faults/frozen', id));
      const load = new Load(peers);
      load.start();
      await sleep(1000);
      const leader = await cluster.leader();
      cluster.freeze(leader);
      // Calls to the frozen member time out (2 s) and go elsewhere; gRPC pings (every 6 s, 2 s timeout)
      // move the watch stream off it.
      expect(await progressed(peers, 15_000), 'no progress while the etcd leader hung').toBe(true);
      await sleep(1000);
      cluster.thaw(leader);
      load.stop();
      await expectConverged(peers, load.accepted);
    }, 60_000);

    it('hands over when the proposing orderer process is SIGKILLed; no height delivered twice', async () => {
      cluster = await EtcdCluster.start(3);
      const prefix = '/faults/proposer';
      const proposer = spawnOrderer(cluster.endpoints, prefix, 'child');
      child = proposer.proc;
      await proposer.leader;
      for (const id of ['a', 'b']) peers.push(await startPeer(cluster.endpoints, prefix, id));
      const load = new Load(peers);
      load.start();
      await sleep(1500);
      const exited = new Promise((r) => proposer.proc.once('exit', r));
      proposer.proc.kill('SIGKILL');
      await exited;
      child = undefined;
      expect(await progressed(peers, 15_000), 'no progress after the proposer was killed').toBe(true);
      await sleep(1000);
      load.stop();
      await expectConverged(peers, load.accepted);
      expect(peers.filter((p) => p.orderer.isProposer()).length).toBe(1);
      // The killed process delivered a prefix of the same sequence.
      expect(proposer.peer.batches.length).toBeGreaterThan(0);
      expect(proposer.peer.batches.map((b) => b.join(','))).toEqual(
        peers[0]!.batches.slice(0, proposer.peer.batches.length).map((b) => b.join(',')),
      );
      // In etcd: one block per height, cut by the child first and by a surviving peer after.
      const raw = new Etcd3({ hosts: cluster.endpoints });
      try {
        const blocks = await raw.namespace(`${prefix}/`).getAll().prefix('blocks/').json();
        const proposers = Object.values(blocks).map((b) => (b as { proposer: string }).proposer);
        expect(proposers.length).toBe(peers[0]!.batches.length);
        const firstOther = proposers.findIndex((p) => p !== 'child');
        expect(firstOther).toBeGreaterThan(0);
        expect(proposers.slice(firstOther).includes('child')).toBe(false);
      } finally {
        raw.close();
      }
    }, 60_000);
  });
} else {
  it.skip('etcd orderer faults (etcd-server not installed)', () => {});
}
