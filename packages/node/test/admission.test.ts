/**
 * The orderer's batch parse (`Admission.parsePendingBatch`): for every item the same outcome as the
 * one-at-a-time parse (`parsePendingTx`), whether it is well formed, for another chain, or forged;
 * signatures not yet verified here go to the worker pool in one batch, and ones it verified (or
 * this node admitted) are not verified again. Admission of JSON texts (`Admission.submitText`, the
 * HTTP route's): the same answers as `submit`, parsed, canonicalised and verified on the pool.
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import { signTx } from '@custos/protocol/ledger';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { VerifyPool } from '../src/crypto/verify-pool.js';
import type { ParseOutcome, PendingTx } from '../src/ordering/orderer.js';
import { Admission, parsePendingTx, type Submission } from '../src/peer/admission.js';
import type { SqliteStore } from '../src/store/sqlite.js';

const signer = nativeSigner(randomSecretKey());
const pool = new VerifyPool({ threads: 2 });

afterAll(() => pool.close());

function admission(order: (txs: PendingTx[]) => void = () => {}, committed = new Set<string>()): Admission {
  return new Admission({
    chainId: 'test',
    store: { isCommitted: (txId: string) => committed.has(txId) } as unknown as SqliteStore,
    pool,
    now: Date.now,
    maxPending: 1000,
    stopping: () => false,
    order,
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

/** What admitting `raw` gave: the error code at once, or the txId and how its commit wait ended. */
async function outcome(submission: Promise<Submission>): Promise<Record<string, unknown>> {
  try {
    const s = await submission;
    const settled = await Promise.race([
      s.committed.then(
        () => 'committed',
        (e: { code?: string }) => e.code,
      ),
      new Promise((r) => setTimeout(() => r('waiting'), 200)),
    ]);
    return { txId: s.txId, settled };
  } catch (e) {
    return { error: (e as { code?: string }).code };
  }
}

describe('Admission.submitText', () => {
  const mixed = (base: number) => {
    const raws: unknown[] = [];
    // The first 64 of a turn are admitted on the main thread, the rest on the workers.
    for (let i = 0; i < 160; i++) {
      const t = tx(base + i);
      if (i % 7 === 3) raws.push(forge(t));
      else if (i % 11 === 5) raws.push({ ...t, body: { ...t.body, signer: 'did:key:nope' } });
      else if (i % 13 === 6) raws.push(tx(base + i, 'other'));
      // Text beyond ASCII: the workers get UTF-8 bytes, and must make the same canonical bytes.
      else if (i % 5 === 2)
        raws.push(
          signTx(
            { chainId: 'test', type: 'kv.put', args: { ns: 'a', key: `u${base + i}`, value: 'ünï ✓ 🙂' } },
            signer,
          ),
        );
      else raws.push(t);
    }
    raws.push(raws[0], tx(base + 999, 'test'));
    return raws;
  };

  it('answers a batch of texts as submit answers each, parsing and verifying them on the pool', async () => {
    const raws = mixed(1000);
    const replayed = tx(1999, 'test');
    const committed = new Set([parsePendingTx(replayed).parsed.txId]);
    raws[raws.length - 1] = replayed;
    // Reference: the synchronous submit, one at a time, on an admission of its own.
    const reference = admission(() => {}, committed);
    const want = await Promise.all(
      raws.map((r) => {
        try {
          return outcome(Promise.resolve(reference.submit(r)));
        } catch (e) {
          return outcome(Promise.reject(e));
        }
      }),
    );
    const ordered: PendingTx[] = [];
    const a = admission((txs) => ordered.push(...txs), committed);
    const parse = vi.spyOn(pool, 'parseBatch');
    const verify = vi.spyOn(pool, 'verifyBatch');
    const got = await Promise.all(raws.map((r) => outcome(a.submitText(r, JSON.stringify(r)))));
    // Ordered ones wait for a block no orderer here cuts: 'waiting'; forged ones fail at once.
    expect(got).toEqual(want);
    expect(got.filter((g) => g.settled === 'BAD_SIGNATURE').length).toBeGreaterThanOrEqual(18);
    expect(got.map((g) => g.error ?? 'admitted')).toContain('DUPLICATE_TX');
    expect(got.map((g) => g.error ?? 'admitted')).toContain('TX_REPLAYED');
    expect(got.map((g) => g.error ?? 'admitted')).toContain('WRONG_CHAIN');
    expect(got.map((g) => g.error ?? 'admitted')).toContain('BAD_TX');
    expect(ordered.map((p) => p.parsed.txId)).toEqual(got.filter((g) => g.settled === 'waiting').map((g) => g.txId));
    // The canonical bytes the workers made are the ones the main thread would have made.
    for (const p of ordered) expect(p.parsed.bodyBytes).toEqual(parsePendingTx(p.parsed.tx).parsed.bodyBytes);
    // One batch for the workers: what came after the first 64 of the turn.
    expect(parse).toHaveBeenCalledTimes(1);
    expect(parse.mock.calls[0]![0]).toHaveLength(raws.length - 64);
    parse.mockRestore();
    verify.mockRestore();
  });

  it('admits a few texts on the calling thread, with the same answers', async () => {
    const raws = [tx(3000), forge(tx(3001)), { body: {}, sig: 'x' }];
    const parse = vi.spyOn(pool, 'parseBatch');
    const got = await Promise.all(raws.map((r) => outcome(admission().submitText(r, JSON.stringify(r)))));
    expect(got.map((g) => g.error ?? g.settled)).toEqual(['waiting', 'BAD_SIGNATURE', 'BAD_TX']);
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
  });
});
