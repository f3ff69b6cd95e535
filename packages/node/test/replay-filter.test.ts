/**
 * The replay probe answered from memory (store/replay-filter.ts): never a false "no" for a
 * committed transaction, few false "maybe"s, and transactions committed before a restart are
 * still refused at admission.
 */

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MAX_TTL_MS } from '@custos/protocol/ledger';
import { expectCode } from '@custos/test-utils';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';
import { ReplayFilter } from '../src/store/replay-filter.js';

const tmp = tempDir('custos-replay-');
afterAll(() => tmp.cleanup());

const id = () => randomBytes(32).toString('hex');

describe('replay filter', () => {
  it('says "maybe" for every committed id, and "no" for nearly all others', () => {
    const f = new ReplayFilter(0);
    const now = 1_800_000_000_000;
    const added = Array.from({ length: 50_000 }, () => [id(), now + Math.floor(Math.random() * MAX_TTL_MS)] as const);
    for (const [t, e] of added) f.add(t, e);
    expect(added.every(([t, e]) => f.mayContain(t, e))).toBe(true);
    let falseMaybe = 0;
    for (let i = 0; i < 50_000; i++) if (f.mayContain(id(), now + Math.floor(Math.random() * MAX_TTL_MS))) falseMaybe++;
    expect(falseMaybe).toBeLessThan(50);
  });

  it('says "maybe" for anything expiring by the newest transaction stored before the store was opened', () => {
    const f = new ReplayFilter(1_800_000_000_000);
    expect(f.mayContain(id(), 1_800_000_000_000)).toBe(true);
    expect(f.mayContain(id(), 1_800_000_000_001)).toBe(false);
  });

  it('refuses a replay at admission, in the same run and after a restart', async () => {
    const f = fixture(['bank'], { blockMaxTxs: 10, blockMaxMs: 1 });
    const dbPath = join(tmp.dir, 'replay.db');
    const open = () => CustosNode.open({ dbPath, genesis: f.genesis, signers: [f.orgs.bank!], verifyThreads: 1 });
    const user = userSigner();
    const first = tx(user, 'kv.put', { ns: 'r', key: 'a', value: 1 });
    let node = await open();
    expect((await node.submitAndWait(first)).code).toBe('OK');
    expectCode(() => node.submit(first), 'TX_REPLAYED');
    await node.close();
    node = await open();
    try {
      expectCode(() => node.submit(first), 'TX_REPLAYED');
      const second = tx(user, 'kv.put', { ns: 'r', key: 'b', value: 2 }, { ttlMs: MAX_TTL_MS });
      expect((await node.submitAndWait(second)).code).toBe('OK');
      expectCode(() => node.submit(second), 'TX_REPLAYED');
    } finally {
      await node.close();
    }
  });
});
