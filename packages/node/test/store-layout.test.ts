/**
 * The state tree's storage layout: nodes keyed by key-hash prefix then depth (a path's nodes share
 * pages), leaves without their values (the state table holds them), and stores written in the
 * earlier layout (tree_nodes by NodePath, leaves with values) moved over on open with every root,
 * proof and audit unchanged.
 */
import { join } from 'node:path';
import { sha256 } from '@custos/protocol/crypto';
import { fromHex, toHex, utf8 } from '@custos/protocol/encoding';
import { parseStateProof, verifyStateProof } from '@custos/protocol/state';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';
import { auditChain } from '../src/peer/audit.js';

const tmp = tempDir('custos-layout-');
afterAll(() => tmp.cleanup());

async function chainWithState(dbPath: string, keys: number): Promise<{ stateRoot: string; height: number }> {
  const f = fixture(['bank'], { blockMaxTxs: 50, blockMaxMs: 2 });
  const node = await CustosNode.open({ dbPath, genesis: f.genesis, signers: [f.orgs.bank!], verifyThreads: 1 });
  const user = userSigner();
  const subs = [];
  for (let i = 0; i < keys; i++)
    subs.push(node.submit(tx(user, 'kv.put', { ns: 'layout', key: `k${i}`, value: { i } })).committed);
  // Overwrites and deletes too, so the tree has moved leaves and removed nodes.
  await Promise.all(subs);
  expect((await node.submitAndWait(tx(user, 'kv.put', { ns: 'layout', key: 'k1', value: 'again' }))).code).toBe('OK');
  expect((await node.submitAndWait(tx(user, 'kv.delete', { ns: 'layout', key: 'k2' }))).code).toBe('OK');
  const head = node.latest();
  await node.close();
  return { stateRoot: head.stateRoot, height: head.height };
}

/** Rewrites a store into the earlier layout: tree_nodes keyed by NodePath, each leaf followed by its value. */
function toEarlierLayout(dbPath: string): number {
  const db = new Database(dbPath);
  const valueByKeyHash = new Map<string, Buffer>();
  for (const r of db.prepare<[], { key: string; value: string }>('SELECT key, value FROM state').iterate()) {
    valueByKeyHash.set(toHex(sha256(utf8(r.key))), Buffer.from(r.value));
  }
  db.exec('CREATE TABLE tree_nodes (path BLOB PRIMARY KEY, node BLOB NOT NULL) STRICT, WITHOUT ROWID');
  const insert = db.prepare('INSERT INTO tree_nodes (path, node) VALUES (?, ?)');
  let leaves = 0;
  for (const r of db.prepare<[], { k: Buffer; node: Buffer }>('SELECT k, node FROM state_nodes').all()) {
    const path = Buffer.concat([r.k.subarray(r.k.length - 2), r.k.subarray(0, r.k.length - 2)]);
    let node = r.node;
    if (node[0] === 0x00) {
      const value = valueByKeyHash.get(toHex(node.subarray(1, 33)));
      expect(value, 'every leaf has its state row').toBeDefined();
      node = Buffer.concat([node, value!]);
      leaves++;
    }
    insert.run(path, node);
  }
  db.exec('DROP TABLE state_nodes');
  db.close();
  return leaves;
}

describe('state tree storage', () => {
  it('stores leaves with their hashes only, 65 bytes per node, keyed so that a node sorts before the nodes below it', async () => {
    const dbPath = join(tmp.dir, 'layout.db');
    await chainWithState(dbPath, 20);
    const db = new Database(dbPath, { readonly: true });
    const sizes = db
      .prepare<[], { n: number; len: number }>(
        'SELECT count(*) AS n, length(node) AS len FROM state_nodes GROUP BY length(node)',
      )
      .all();
    expect(sizes).toHaveLength(1);
    expect(sizes[0]!.len).toBe(65);
    // The key is the prefix then the depth: the root (depth 0, no prefix) is the 2-byte key 0x0000.
    const root = db.prepare<[], { k: Buffer }>('SELECT k FROM state_nodes WHERE length(k) = 2').all();
    expect(root.map((r) => r.k.toString('hex'))).toEqual(['0000']);
    db.close();
  });

  it('moves a store from the earlier layout on open: same roots, proofs verify, the audit passes, and the chain goes on', async () => {
    const dbPath = join(tmp.dir, 'earlier.db');
    const before = await chainWithState(dbPath, 30);
    const rows = new Database(dbPath, { readonly: true });
    const stateRows = rows.prepare<[], { n: number }>('SELECT count(*) AS n FROM state').get()!.n;
    rows.close();
    // One leaf per state row (29 kv keys left, plus the chain's own entries).
    expect(stateRows).toBeGreaterThan(29);
    expect(toEarlierLayout(dbPath)).toBe(stateRows);

    const node = await CustosNode.open({ dbPath, verifyThreads: 1 });
    let after = '';
    try {
      expect(node.latest().stateRoot).toBe(before.stateRoot);
      expect(toHex(node.treeView.root())).toBe(before.stateRoot);
      const root = fromHex(before.stateRoot);
      for (const key of ['kv/layout/k7', 'kv/layout/k1', 'kv/layout/k2']) {
        const text = node.store.getState(key);
        const proof = parseStateProof(node.treeView.prove(key));
        verifyStateProof(root, utf8(key), text === undefined ? null : utf8(text), proof);
      }
      // The chain goes on over the moved tree.
      const r = await node.submitAndWait(tx(userSigner(), 'kv.put', { ns: 'layout', key: 'after', value: 1 }));
      expect(r.code).toBe('OK');
      after = node.latest().stateRoot;
    } finally {
      await node.close();
    }
    const db = new Database(dbPath, { readonly: true });
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'").all();
    expect(tables.map((t) => t.name)).not.toContain('tree_nodes');
    db.close();
    const report = auditChain(dbPath);
    expect(report.problems).toEqual([]);
    expect(report.stateRoot).toBe(after);
  });
});
