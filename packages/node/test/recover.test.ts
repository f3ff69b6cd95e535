/**
 * Divergence as an operator-acknowledged, recoverable state (issue 11, trust #12): a peer whose
 * state was tampered with computes another checkpoint than the quorum certified, stops and keeps
 * the evidence; it refuses to open, saying what to do; `custos node recover` rebuilds its store
 * from its quorum-certified blocks (re-executed, so the tampered state is gone), keeps the
 * diverged store as evidence, and the peer then takes the blocks it lacks and agrees with the
 * quorum again.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverDivergedStore } from '../src/consortium/recover.js';
import { NodeError } from '../src/errors.js';
import { DB_FILE } from '../src/home.js';
import { CustosNode } from '../src/node.js';
import type { DeliverFn, Orderer, PendingTx } from '../src/ordering/orderer.js';
import { LedgerTree } from '../src/store/authenticated.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { CliHarness } from './fixtures/cli.js';

/** The follower orders nothing itself: it only applies certified blocks (as catch-up does). */
class Idle implements Orderer {
  async start(_d: DeliverFn, _t: number): Promise<void> {}
  submit(_txs: PendingTx[]): void {}
  pending(): number {
    return 0;
  }
  async stop(): Promise<void> {}
}

describe('trust #12: recovering a diverged peer', () => {
  const cli = new CliHarness('custos-recover-');
  const f = fixture(['bank', 'insurer', 'retailer']);
  let source: CustosNode;
  const user = userSigner();
  const dbPath = join(cli.home, DB_FILE);

  const openFollower = () =>
    CustosNode.open({ dbPath, genesis: f.genesis, signers: [f.orgs.retailer!], verifyThreads: 1, orderer: new Idle() });
  const put = (key: string, value: number) => source.submitAndWait(tx(user, 'kv.put', { ns: 'r', key, value }));
  async function follow(node: CustosNode, to: number): Promise<void> {
    for (let h = node.latest().height + 1; h <= to; h++) {
      const b = source.store.getBlock(h)!;
      await node.applyCertifiedBlock({ header: b.header, txs: b.txs, qc: b.qc, results: b.results });
    }
  }

  beforeAll(async () => {
    mkdirSync(cli.home, { recursive: true });
    source = await CustosNode.open({
      dbPath: join(cli.tmp.dir, 'source.db'),
      genesis: f.genesis,
      signers: Object.values(f.orgs),
      verifyThreads: 1,
    });
  });

  afterAll(async () => {
    await source?.close();
    await cli.cleanup();
  });

  it('trust #12: a diverged peer refuses to open, `custos node recover` rebuilds it from certified blocks, and it agrees with the quorum again', async () => {
    for (let i = 0; i < 4; i++) await put(`k${i}`, i);
    let follower = await openFollower();
    await follow(follower, source.latest().height);
    const certified = follower.latest().height;
    await follower.close();

    // An attacker (or a disk) changes a state value and its tree nodes, consistently.
    const store = new SqliteStore(dbPath);
    const tree = LedgerTree.load(store);
    const upd = tree.apply(new Map([['kv/r/k0', '{"owner":"x","value":"tampered"}']]));
    store.db.transaction(() => {
      store.db
        .prepare('INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)')
        .run('kv/r/k0', '{"owner":"x","value":"tampered"}');
      store.writeTreeNodes(upd.writes);
    })();
    store.close();

    // The next certified block shows the divergence: the follower stops and keeps the evidence.
    await put('k9', 9);
    follower = await openFollower();
    await expect(follow(follower, source.latest().height)).rejects.toMatchObject({ code: 'DIVERGED' });
    await follower.close();
    const err = await openFollower().then(
      async (n) => {
        await n.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NodeError);
    expect((err as NodeError).code).toBe('DIVERGED');
    expect((err as NodeError).message).toMatch(/run `custos node recover`/);

    // Without evidence there is nothing to recover: refused, unless forced.
    const clean = join(cli.tmp.dir, 'clean.db');
    const other = await CustosNode.open({ dbPath: clean, genesis: f.genesis, verifyThreads: 1, orderer: new Idle() });
    await other.close();
    await expect(recoverDivergedStore(clean)).rejects.toThrow(/no divergence evidence: nothing to recover/);

    // The operator acknowledges it.
    const r = await cli.run(['node', 'recover', '--json']);
    expect(r.stderr).toMatch(/rebuilt \d+ certified blocks/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { height: number; discarded: number; divergedAt: number; archived: string };
    expect(report).toMatchObject({ height: certified, discarded: 0, divergedAt: certified + 1 });
    expect(existsSync(report.archived)).toBe(true);

    // It opens again, recomputed (the tampered value is gone), takes the blocks it lacks, and
    // computes the certified state root.
    follower = await openFollower();
    try {
      expect(follower.store.getState('kv/r/k0')).toBe(source.store.getState('kv/r/k0'));
      await follow(follower, source.latest().height);
      expect(follower.latest().stateRoot).toBe(source.latest().stateRoot);
      expect(follower.store.getHeader(follower.latest().height)!.hash).toBe(
        source.store.getHeader(source.latest().height)!.hash,
      );
      expect(JSON.parse(follower.store.getMeta('recovered')!)).toMatchObject({ height: certified });
    } finally {
      await follower.close();
    }
  });
});
