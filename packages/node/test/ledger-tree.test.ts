/**
 * The peer's state tree over SQLite (store/authenticated.ts): what its node cache answers, warm
 * after the blocks that wrote the nodes, is what a cold tree reads back from the store: the same
 * root and the same proofs, for every key: those near the top of the tree and those deep enough
 * (two key hashes sharing their first 24 bits) that the cache keys their nodes differently.
 */
import { join } from 'node:path';
import { sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import { parseStateProof, verifyStateProof } from '@custos/protocol/state';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { installNativeCrypto } from '../src/crypto/native.js';
import { LedgerTree } from '../src/store/authenticated.js';
import { SqliteStore } from '../src/store/sqlite.js';

installNativeCrypto();
const tmp = tempDir('custos-ledger-tree-');
afterAll(() => tmp.cleanup());

const KEYS = 8_000;
const keyOf = (i: number) => `kv/n${i % 64}/k${i}`;
const valueAt = (i: number, round: number) => `{"round":${round},"value":${i}}`;

/** Applies `writes` as one block: the tree's node rows in one SQLite transaction, then the cache. */
function block(store: SqliteStore, tree: LedgerTree, writes: Map<string, string | null>): Uint8Array {
  const update = tree.apply(writes);
  store.db.transaction(() => store.writeTreeNodes(update.writes))();
  tree.commit();
  return update.root;
}

describe('state tree over SQLite', () => {
  it('answers from its warm cache what a cold tree reads from the store, deep paths included', () => {
    const store = new SqliteStore(join(tmp.dir, 'tree.db'), { synchronous: 'NORMAL' });
    try {
      const warm = LedgerTree.load(store);
      let root: Uint8Array = new Uint8Array(32);
      for (let from = 0; from < KEYS; from += 2000) {
        const writes = new Map<string, string | null>();
        for (let i = from; i < from + 2000; i++) writes.set(keyOf(i), valueAt(i, 0));
        root = block(store, warm, writes);
      }
      // Rewrite some keys and delete others, so cached nodes are replaced and removed.
      const later = new Map<string, string | null>();
      for (let i = 0; i < KEYS; i += 7) later.set(keyOf(i), i % 2 === 0 ? valueAt(i, 1) : null);
      root = block(store, warm, later);
      const valueNow = (i: number) => (i % 7 !== 0 ? valueAt(i, 0) : i % 2 === 0 ? valueAt(i, 1) : null);

      // Keys whose hashes share their first 24 bits sit below depth 24: find them.
      const byPrefix = new Map<string, number[]>();
      for (let i = 0; i < KEYS; i++) {
        const prefix = toHex(sha256(utf8(keyOf(i))).subarray(0, 3));
        byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), i]);
      }
      expect([...byPrefix.values()].some((list) => list.length > 1)).toBe(true);

      const cold = LedgerTree.load(store);
      expect(toHex(cold.root())).toBe(toHex(root));
      expect(toHex(warm.root())).toBe(toHex(root));
      for (let i = 0; i < KEYS; i++) {
        const proof = warm.prove(keyOf(i));
        expect(cold.prove(keyOf(i))).toEqual(proof);
        const value = valueNow(i);
        verifyStateProof(root, utf8(keyOf(i)), value === null ? null : utf8(value), parseStateProof(proof));
      }
    } finally {
      store.close();
    }
  });
});
