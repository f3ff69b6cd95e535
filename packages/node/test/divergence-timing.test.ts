/**
 * A divergence is caught whenever the others' signatures arrive (docs/security.md, finding 12).
 * They may already be on the exchange when a peer opens, so its first read of the exchange finds
 * the divergence before anything listens for the node's `fatal` event: the open fails with
 * DIVERGED and keeps the evidence, and a stop after the open but before a listener came reaches
 * `onFatal` all the same. They may arrive between the commit of this peer's block and its sync to
 * disk, before the block's round opens: they wait for it instead of being dropped.
 */
import { join } from 'node:path';
import { type Checkpoint, checkpointOf, signCheckpoint } from '@custos/protocol/ledger';
import { waitUntil } from '@custos/test-utils';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeError } from '../src/errors.js';
import { CustosNode } from '../src/node.js';
import type { CheckpointExchange } from '../src/peer/exchange.js';
import type { SignedCheckpoint } from '../src/peer/quorum.js';
import { SqliteStore } from '../src/store/sqlite.js';

/** An exchange in memory: `onStart` runs as the node starts it, with the node's receiving end. */
class MemoryExchange implements CheckpointExchange {
  receive: ((raws: unknown[]) => void) | undefined;
  /** The heights the node says it still waits on (what an exchange reads again). */
  waiting: (() => number[]) | undefined;
  readonly published: SignedCheckpoint[] = [];
  constructor(private readonly onStart: (receive: (raws: unknown[]) => void) => void = () => {}) {}
  async start(receive: (raws: unknown[]) => void, unfinal: () => number[]): Promise<void> {
    this.receive = receive;
    this.waiting = unfinal;
    this.onStart(receive);
  }
  publish(_memberId: string, signed: SignedCheckpoint): void {
    this.published.push(signed);
  }
  async stop(): Promise<void> {}
}

describe('when a divergence is found', () => {
  const tmp = tempDir('custos-diverge-open-');
  const f = fixture(['bank', 'insurer', 'retailer']);
  const user = userSigner();
  afterAll(() => tmp.cleanup());

  /** The retailer's peer with one block committed that only its own key signed (not final yet). */
  async function peerWithUnfinalBlock(name: string): Promise<{ dbPath: string; forged: Checkpoint }> {
    const dbPath = join(tmp.dir, `${name}.db`);
    const node = await CustosNode.open({
      dbPath,
      genesis: f.genesis,
      signers: [f.orgs.retailer!],
      verifyThreads: 1,
      exchange: new MemoryExchange(),
    });
    try {
      const r = await node.submitAndWait(tx(user, 'kv.put', { ns: 'd', key: 'k', value: 1 }));
      expect(node.latestFinal()).toBeLessThan(r.height);
      const ours = checkpointOf(node.store.getHeader(r.height)!.header);
      return { dbPath, forged: { ...ours, stateRoot: 'ab'.repeat(32) } };
    } finally {
      await node.close();
    }
  }

  /** The other two members' signatures over `cp`, as their peers publish them. */
  const othersOver = (cp: Checkpoint) =>
    ['bank', 'insurer'].map((m) => ({ checkpoint: cp, signatures: [signCheckpoint(cp, f.orgs[m]!)] }));

  it('trust #12: a peer whose first read of the exchange shows a quorum over another checkpoint fails to open with DIVERGED and keeps the evidence', async () => {
    const { dbPath, forged } = await peerWithUnfinalBlock('first-read');
    const opening = CustosNode.open({
      dbPath,
      signers: [f.orgs.retailer!],
      verifyThreads: 1,
      exchange: new MemoryExchange((receive) => receive(othersOver(forged))),
    });
    const err = await opening.then(
      async (node) => {
        await node.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NodeError);
    expect((err as NodeError).code).toBe('DIVERGED');
    expect((err as NodeError).message).toMatch(/members bank, insurer signed another checkpoint at height 1/);
    const store = new SqliteStore(dbPath, { readonly: true });
    const evidence = JSON.parse(store.getMeta('divergence')!) as { height: number; theirs: { checkpoint: Checkpoint } };
    store.close();
    expect(evidence.height).toBe(1);
    expect(evidence.theirs.checkpoint.stateRoot).toBe(forged.stateRoot);
  });

  it('trust #12: onFatal reaches a listener added after the node stopped on a divergence, which fatal listeners miss', async () => {
    const { dbPath, forged } = await peerWithUnfinalBlock('late-listener');
    const exchange = new MemoryExchange();
    const node = await CustosNode.open({ dbPath, signers: [f.orgs.retailer!], verifyThreads: 1, exchange });
    try {
      // The exchange delivers the others' signatures before the caller (the peer process setting
      // up its server, say) listens.
      exchange.receive!(othersOver(forged));
      await expect(node.waitFinal(1, 5000)).rejects.toMatchObject({ code: 'NODE_STOPPED' });
      const viaEvent: unknown[] = [];
      node.on('fatal', (e) => viaEvent.push(e));
      const viaOnFatal: unknown[] = [];
      node.onFatal((e) => viaOnFatal.push(e));
      expect(viaEvent).toEqual([]);
      expect(viaOnFatal).toHaveLength(1);
      expect((viaOnFatal[0] as NodeError).code).toBe('DIVERGED');
    } finally {
      await node.close();
    }
  });

  it("trust #12: the others' signatures that arrive after this peer committed its block but before it reached the disk are counted once it has", async () => {
    // The write-ahead log's sync, held by the test: the block is committed, not yet durable.
    const held: ((err: Error | null) => void)[] = [];
    let hold = false;
    const exchange = new MemoryExchange();
    const node = await CustosNode.open({
      dbPath: join(tmp.dir, 'held-sync.db'),
      genesis: f.genesis,
      signers: [f.orgs.retailer!],
      verifyThreads: 1,
      exchange,
      syncWal: (_fd, done) => (hold ? held.push(done) : done(null)),
    });
    try {
      hold = true;
      const start = node.latest().height;
      const committed = node.submit(tx(user, 'kv.put', { ns: 'd', key: 'k', value: 1 })).committed;
      await waitUntil(() => node.latest().height === start + 1, 5000, 'the block committed');
      const forged = { ...checkpointOf(node.latest()), stateRoot: 'ab'.repeat(32) };
      exchange.receive!(othersOver(forged));
      // Let the node take them in (verified and counted on later turns of the event loop).
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      expect(node.fatalError()).toBeUndefined();
      hold = false;
      for (const done of held.splice(0)) done(null);
      await committed;
      await waitUntil(() => node.fatalError() !== undefined, 5000, 'the node stopped');
      expect((node.fatalError() as NodeError).code).toBe('DIVERGED');
      expect(JSON.parse(node.store.getMeta('divergence')!)).toMatchObject({ height: start + 1 });
    } finally {
      hold = false;
      for (const done of held.splice(0)) done(null);
      await node.close();
    }
  });

  it('trust #12: heights final through a later certificate leave the re-read of the exchange to the heights still waiting', async () => {
    const exchange = new MemoryExchange();
    const node = await CustosNode.open({
      dbPath: join(tmp.dir, 'reread.db'),
      genesis: f.genesis,
      signers: [f.orgs.retailer!],
      verifyThreads: 1,
      exchange,
    });
    try {
      // More blocks than the etcd exchange re-reads at a time (64) whose other signatures were
      // lost, then a quorum over the last of them: final, and every block before it through it.
      let last = 0;
      for (let i = 0; i < 65; i++) {
        last = (await node.submitAndWait(tx(user, 'kv.put', { ns: 'r', key: `k${i}`, value: i }))).height;
      }
      exchange.receive!(othersOver(checkpointOf(node.latest())));
      await node.waitFinal(last, 5000);
      const next = (await node.submitAndWait(tx(user, 'kv.put', { ns: 'r', key: 'next', value: 1 }))).height;
      expect(exchange.waiting!()).toEqual([next]);
    } finally {
      await node.close();
    }
  });
});
