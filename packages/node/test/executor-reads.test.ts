/**
 * The executor reads each committed key once per block: what the store answers cannot change while
 * a block executes, so a key many transactions read (a customer's consents, an org's profile) costs
 * one store read, while writes earlier in the block and the next block's state are still seen.
 * The keys a block's actions name up front (kv.put's entry) are read in one query before it runs.
 */
import { join } from 'node:path';
import { didFromPublicKey, randomSecretKey } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { parseTx, signTx } from '@custos/protocol/ledger';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { Executor, type StateReader } from '../src/exec/executor.js';
import { kvModule } from '../src/modules/kv.js';
import { SqliteStore } from '../src/store/sqlite.js';

const alice = nativeSigner(randomSecretKey());
const bob = nativeSigner(randomSecretKey());

/** Committed state in memory that counts the store reads of each key. */
function countingState(entries: Record<string, JsonValue>) {
  const m = new Map(Object.entries(entries).map(([k, v]) => [k, JSON.stringify(v)]));
  const reads = new Map<string, number>();
  const reader: StateReader = {
    getState: (k) => {
      reads.set(k, (reads.get(k) ?? 0) + 1);
      return m.get(k);
    },
    hasCommittedTx: () => false,
  };
  return { reader, reads, m };
}

/** `countingState` that also answers many keys in one read, recording each such read's keys. */
function batchReadingState(entries: Record<string, JsonValue>) {
  const counting = countingState(entries);
  const batches: string[][] = [];
  const reader: StateReader = {
    ...counting.reader,
    getStates: (keys) => {
      batches.push([...keys]);
      const out = new Map<string, string>();
      for (const k of keys) {
        const v = counting.m.get(k);
        if (v !== undefined) out.set(k, v);
      }
      return out;
    },
  };
  return { ...counting, reader, batches };
}

const tmp = tempDir('custos-exec-reads-');
afterAll(() => tmp.cleanup());

const executor = new Executor([kvModule]);
/** One block time for every block here, so two runs of the same block write the same bytes. */
const NOW = Date.now();

function block(state: StateReader, height: number, puts: { by: typeof alice; key: string; value: number }[]) {
  const parsed = puts.map((p) =>
    parseTx(signTx({ chainId: 'c', type: 'kv.put', args: { ns: 'n', key: p.key, value: p.value } }, p.by)),
  );
  return executor.execute({ chainId: 'c', height, time: NOW, txs: parsed, sigOk: parsed.map(() => true) }, state);
}

describe('executor reads', () => {
  it('reads a key every transaction of a block checks once, and sees the block and the next block change it', () => {
    const owner = { value: 0, owner: didFromPublicKey(bob.publicKey), updatedAt: 1 };
    const { reader, reads, m } = countingState({ 'kv/n/a': owner });
    // Three writes by a signer who does not own the key: each reads the committed owner.
    const first = block(reader, 1, [
      { by: alice, key: 'a', value: 1 },
      { by: alice, key: 'a', value: 2 },
      { by: alice, key: 'a', value: 3 },
      // The owner writes it, and then the others see the owner's write of this block.
      { by: bob, key: 'a', value: 4 },
      { by: alice, key: 'a', value: 5 },
      // A key absent from the store: read once, then this block's write is what is seen.
      { by: alice, key: 'b', value: 6 },
      { by: bob, key: 'b', value: 7 },
    ]);
    expect(first.results).toEqual([
      'UNAUTHORIZED',
      'UNAUTHORIZED',
      'UNAUTHORIZED',
      'OK',
      'UNAUTHORIZED',
      'OK',
      'UNAUTHORIZED',
    ]);
    expect(reads.get('kv/n/a')).toBe(1);
    expect(reads.get('kv/n/b')).toBe(1);

    // The block is committed: the next block reads the store again and sees alice owns b now.
    for (const [k, v] of first.writes) if (v !== null) m.set(k, v);
    const second = block(reader, 2, [
      { by: alice, key: 'b', value: 8 },
      { by: bob, key: 'b', value: 9 },
    ]);
    expect(second.results).toEqual(['OK', 'UNAUTHORIZED']);
    expect(reads.get('kv/n/b')).toBe(2);
  });

  it("reads the keys of a block's kv writes in one read up front, with the same results as one read each", () => {
    const owner = { value: 0, owner: didFromPublicKey(bob.publicKey), updatedAt: 1 };
    const puts = [
      { by: alice, key: 'a', value: 1 },
      { by: bob, key: 'a', value: 2 },
      { by: alice, key: 'a', value: 3 },
      { by: alice, key: 'b', value: 4 },
      { by: bob, key: 'b', value: 5 },
      { by: bob, key: 'c', value: 6 },
    ];
    const oneByOne = block(countingState({ 'kv/n/a': owner }).reader, 1, puts);
    const { reader, reads, batches } = batchReadingState({ 'kv/n/a': owner });
    const batched = block(reader, 1, puts);
    expect(batched.results).toEqual(['UNAUTHORIZED', 'OK', 'UNAUTHORIZED', 'OK', 'UNAUTHORIZED', 'OK']);
    expect(batched.results).toEqual(oneByOne.results);
    expect([...batched.writes]).toEqual([...oneByOne.writes]);
    // One read for the block, and no read of a key it already answered, present or absent.
    expect(batches).toEqual([['kv/n/a', 'kv/n/a', 'kv/n/a', 'kv/n/b', 'kv/n/b', 'kv/n/c']]);
    expect(reads.get('kv/n/a')).toBeUndefined();
    expect(reads.get('kv/n/b')).toBeUndefined();
  });

  it('names no key for arguments an action refuses, which then fail as before', () => {
    const { reader, batches } = batchReadingState({});
    const parsed = [
      parseTx(signTx({ chainId: 'c', type: 'kv.put', args: { ns: 'n/x', key: 'a', value: 1 } }, alice)),
      parseTx(signTx({ chainId: 'c', type: 'kv.put', args: { ns: 'n', key: 7, value: 1 } }, alice)),
      parseTx(signTx({ chainId: 'c', type: 'kv.put', args: { ns: 'n', key: 'ok', value: 1 } }, alice)),
    ];
    const out = executor.execute(
      { chainId: 'c', height: 1, time: Date.now(), txs: parsed, sigOk: [true, true, false] },
      reader,
    );
    expect(out.results).toEqual(['INVALID_ARGS', 'INVALID_ARGS', 'BAD_SIGNATURE']);
    // Nothing to read up front: not even the well-formed key of a transaction whose signature failed.
    expect(batches).toEqual([]);
  });

  it('SQLite answers many state keys in one query: those present, none absent, past one batch', () => {
    const store = new SqliteStore(join(tmp.dir, 'reads.db'), { synchronous: 'NORMAL' });
    try {
      const insert = store.db.prepare('INSERT INTO state (key, value) VALUES (?, ?)');
      store.db.transaction(() => {
        for (let i = 0; i < 5000; i += 2) insert.run(`kv/n/k${i}`, `{"value":${i}}`);
      })();
      const keys = Array.from({ length: 5000 }, (_, i) => `kv/n/k${i}`);
      const found = store.getStates(keys);
      expect(found.size).toBe(2500);
      expect(found.get('kv/n/k4998')).toBe('{"value":4998}');
      expect(found.has('kv/n/k4999')).toBe(false);
      for (const k of ['kv/n/k0', 'kv/n/k1', 'kv/n/k2']) expect(found.get(k)).toBe(store.getState(k));
      expect(store.getStates([]).size).toBe(0);
    } finally {
      store.close();
    }
  });
});
