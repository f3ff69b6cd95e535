/**
 * The orderer's batch parse (`Admission.parsePendingBatch`): for every item the same outcome as the
 * one-at-a-time parse (`parsePendingTx`), whether it is well formed, for another chain, or forged;
 * signatures not yet verified here go to the worker pool in one batch, and ones it verified (or
 * this node admitted) are not verified again.
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import { signTx } from '@custos/protocol/ledger';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { VerifyPool } from '../src/crypto/verify-pool.js';
import type { ParseOutcome } from '../src/ordering/orderer.js';
import { Admission, parsePendingTx } from '../src/peer/admission.js';
import type { SqliteStore } from '../src/store/sqlite.js';

const signer = nativeSigner(randomSecretKey());
const pool = new VerifyPool({ threads: 2 });

afterAll(() => pool.close());

function admission(): Admission {
  return new Admission({
    chainId: 'test',
    store: {} as SqliteStore,
    pool,
    now: Date.now,
    maxPending: 1000,
    stopping: () => false,
    order: () => {},
  });
}

const tx = (i: number, chainId = 'test') =>
  signTx({ chainId, type: 'kv.put', args: { ns: 'a', key: `k${i}`, value: i } }, signer) as unknown as {
    body: Record<string, unknown>;
    sig: string;
  };

/** Another valid-looking signature: the first character changed. */
const forge = (t: ReturnType<typeof tx>) => ({ ...t, sig: (t.sig[0] === 'A' ? 'B' : 'A') + t.sig.slice(1) });

/** The outcome of the one-at-a-time parse, in the batch parse's shape. */
function one(raw: unknown): ParseOutcome {
  try {
    return parsePendingTx(raw, 'test');
  } catch (error) {
    return { error };
  }
}

const view = (o: ParseOutcome) =>
  'error' in o ? { error: (o.error as { code?: string }).code } : { txId: o.parsed.txId, sigOk: o.sigOk };

describe('Admission.parsePendingBatch', () => {
  it('gives every item the outcome parsePendingTx gives it, in order, through the worker pool', async () => {
    const raws: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      const t = tx(i);
      if (i % 7 === 3) raws.push(forge(t));
      else if (i % 11 === 5) raws.push({ ...t, body: { ...t.body, extra: 1 } });
      else if (i % 13 === 6) raws.push(tx(i, 'other'));
      else raws.push(t);
    }
    raws.push(null, 'not a transaction');
    const a = admission();
    const spy = vi.spyOn(pool, 'verifyBatch');
    const got = await a.parsePendingBatch(raws);
    expect(got.map(view)).toEqual(raws.map((r) => view(one(r))));
    expect(got.filter((o) => 'parsed' in o && !o.sigOk)).toHaveLength(6);
    expect(got.filter((o) => 'error' in o).length).toBeGreaterThanOrEqual(5);
    // One batch for the pool: every well-formed transaction for this chain.
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toHaveLength(got.filter((o) => 'parsed' in o).length);
    spy.mockRestore();
  });

  it('does not verify again what it verified, nor what the synchronous parse verified; forged ones again', async () => {
    const a = admission();
    const good = Array.from({ length: 20 }, (_, i) => tx(100 + i));
    const forged = forge(tx(200));
    const single = tx(300);
    await a.parsePendingBatch([...good, forged]);
    a.parsePending(single);
    const spy = vi.spyOn(pool, 'verifyBatch');
    const again = await a.parsePendingBatch([...good, forged]);
    expect(again.map(view)).toEqual([...good, forged].map((r) => view(one(r))));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toHaveLength(1);
    spy.mockClear();
    await a.parsePendingBatch([single]);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('answers an empty batch, and one of only malformed items, without the pool', async () => {
    const spy = vi.spyOn(pool, 'verifyBatch');
    expect(await admission().parsePendingBatch([])).toEqual([]);
    expect((await admission().parsePendingBatch([{}, 42])).map(view)).toEqual([
      { error: 'BAD_TX' },
      { error: 'BAD_TX' },
    ]);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});
