/**
 * Durability off the commit path (store/wal-pipeline.ts): a block commits without an fsync, its
 * transactions are acknowledged only once the write-ahead log is synced, one sync covers every
 * block committed while the previous one ran, a failed sync stops the node, and checkpoints run in
 * a worker thread, leaving no WAL behind after a clean close.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitResult } from '@custos/protocol/ledger';
import { waitUntil } from '@custos/test-utils';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';

const tmp = tempDir('custos-durability-');
afterAll(() => tmp.cleanup());

/** A WAL sync the test completes by hand. */
function heldSync() {
  const pending: ((err: Error | null) => void)[] = [];
  return {
    calls: 0,
    pending,
    /** Once set, every sync completes at once (to close the node). */
    auto: false,
    syncWal(_fd: number, done: (err: Error | null) => void) {
      this.calls++;
      if (this.auto) done(null);
      else pending.push(done);
    },
    release(err: Error | null = null) {
      pending.shift()?.(err);
    },
  };
}

function settled<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (v) => Object.assign(s, { done: true, value: v }),
    (e) => Object.assign(s, { done: true, error: e }),
  );
  return s;
}

async function openWith(name: string, sync: ReturnType<typeof heldSync>) {
  const f = fixture(['bank'], { blockMaxTxs: 10, blockMaxMs: 1 });
  return CustosNode.open({
    dbPath: join(tmp.dir, name),
    genesis: f.genesis,
    signers: [f.orgs.bank!],
    verifyThreads: 1,
    syncWal: (fd, done) => sync.syncWal(fd, done),
  });
}

describe('durability pipeline', () => {
  it('acknowledges a block only once the log sync covering it completes, and shares one sync between the blocks committed meanwhile', async () => {
    const sync = heldSync();
    const node = await openWith('held.db', sync);
    const user = userSigner();
    try {
      const start = node.latest().height;
      const first = settled(node.submit(tx(user, 'kv.put', { ns: 'd', key: 'a', value: 1 })).committed);
      await waitUntil(async () => node.latest().height === start + 1, 5_000);
      // Committed to SQLite (readable) but not yet on disk: not acknowledged.
      expect(node.store.getState('kv/d/a')).toBeDefined();
      await waitUntil(async () => sync.calls === 1, 5_000);
      expect(first.done).toBe(false);

      // Two more blocks commit while that sync runs; they wait for the next sync, which covers both.
      const second = settled(node.submit(tx(user, 'kv.put', { ns: 'd', key: 'b', value: 2 })).committed);
      await waitUntil(async () => node.latest().height === start + 2, 5_000);
      const third = settled(node.submit(tx(user, 'kv.put', { ns: 'd', key: 'c', value: 3 })).committed);
      await waitUntil(async () => node.latest().height === start + 3, 5_000);
      expect(sync.calls).toBe(1);

      sync.release();
      await waitUntil(async () => first.done, 5_000);
      expect((first.value as CommitResult).code).toBe('OK');
      expect(second.done || third.done).toBe(false);
      await waitUntil(async () => sync.calls === 2, 5_000);
      sync.release();
      await waitUntil(async () => second.done && third.done, 5_000);
      expect([(second.value as CommitResult).code, (third.value as CommitResult).code]).toEqual(['OK', 'OK']);
      expect(sync.calls).toBe(2);
    } finally {
      sync.auto = true;
      while (sync.pending.length > 0) sync.release();
      await node.close();
    }
  });

  it('stops the node when the log cannot be synced, and tells the waiting clients their block is not durable', async () => {
    const sync = heldSync();
    const node = await openWith('failing.db', sync);
    try {
      const sub = settled(node.submit(tx(userSigner(), 'kv.put', { ns: 'd', key: 'x', value: 1 })).committed);
      await waitUntil(async () => sync.calls === 1, 5_000);
      sync.release(new Error('EIO: i/o error'));
      await waitUntil(async () => sub.done, 5_000);
      expect(sub.error).toMatchObject({
        code: 'INTERNAL',
        message: expect.stringMatching(/could not be made durable/),
      });
      expect(node.fatalError()).toBeDefined();
      expect(() => node.submit(tx(userSigner(), 'kv.put', { ns: 'd', key: 'y', value: 1 }))).toThrow(/stopping/);
    } finally {
      await node.close();
    }
  });

  it('copies the log into the database file in a worker thread, and leaves no log after a clean close', async () => {
    const f = fixture(['bank'], { blockMaxTxs: 50, blockMaxMs: 2 });
    const dbPath = join(tmp.dir, 'checkpoint.db');
    const node = await CustosNode.open({ dbPath, genesis: f.genesis, signers: [f.orgs.bank!], verifyThreads: 1 });
    const user = userSigner();
    const initial = statSync(dbPath).size;
    // About 8 MB of log (each value is in the transaction and in the state): past the 4 MB from which a checkpoint is asked for.
    const big = 'x'.repeat(4000);
    const subs = Array.from(
      { length: 1500 },
      (_, i) => node.submit(tx(user, 'kv.put', { ns: 'c', key: `k${i}`, value: big })).committed,
    );
    const results = await Promise.all(subs);
    expect(results.filter((r) => r.code !== 'OK')).toEqual([]);
    // The node's own connection never checkpoints (wal_autocheckpoint = 0): the file grows only by the worker's copy.
    await waitUntil(async () => statSync(dbPath).size > initial + 4 * 1024 * 1024, 10_000);
    await node.close();
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
    const again = await CustosNode.open({ dbPath, verifyThreads: 1 });
    expect(JSON.parse(again.store.getState('kv/c/k1499')!)).toMatchObject({ value: big });
    await again.close();
  });
});
