/**
 * The state tree's storage layout: nodes keyed by key-hash prefix then depth (a path's nodes share
 * pages), leaves without their values (the state table holds them), and stores written in the
 * earlier layout (tree_nodes by NodePath, leaves with values) moved over on open with every root,
 * proof and audit unchanged.
 */
import { join } from 'node:path';
import { sha256 } from '@custos/protocol/crypto';
import { fromHex, toHex, utf8 } from '@custos/protocol/encoding';
import type { BlockHeader } from '@custos/protocol/ledger';
import { isValidConsistency } from '@custos/protocol/merkle';
import { parseStateProof, verifyStateProof } from '@custos/protocol/state';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';
import { auditChain } from '../src/peer/audit.js';
import { consistencyProof, inclusionProof } from '../src/proofs.js';
import { SqliteStore } from '../src/store/sqlite.js';

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

const bitOf = (h: Uint8Array, i: number) => ((h[i >> 3] as number) >> (7 - (i % 8))) & 1;

/** NodePath of the binary layouts: 2-byte depth, then the first `depth` bits of `kh`, zero-padded. */
function binaryPath(kh: Uint8Array, depth: number): Buffer {
  const bytes = (depth + 7) >> 3;
  const path = Buffer.alloc(2 + bytes);
  path.writeUInt16BE(depth, 0);
  for (let i = 0; i < bytes; i++) path[2 + i] = kh[i] as number;
  if (depth % 8 !== 0) path[1 + bytes] = (path[1 + bytes] as number) & ((0xff << (8 - (depth % 8))) & 0xff);
  return path;
}

/**
 * The binary tree of the layouts before the 16-way one, written from scratch: one node per bit
 * level, internal = 0x01 || left || right, leaf = 0x00 || keyHash || valueHash. Returns the root.
 */
function binaryNodes(
  entries: readonly [Uint8Array, Buffer][],
  depth: number,
  out: [path: Buffer, node: Buffer, value: Buffer | null][],
): Uint8Array {
  if (entries.length === 0) return new Uint8Array(32);
  const first = entries[0]!;
  if (entries.length === 1) {
    const vh = sha256(first[1]);
    out.push([binaryPath(first[0], depth), Buffer.concat([Buffer.from([0]), first[0], vh]), first[1]]);
    return sha256(Buffer.concat([Buffer.from([0]), first[0], vh]));
  }
  const l = binaryNodes(
    entries.filter(([kh]) => bitOf(kh, depth) === 0),
    depth + 1,
    out,
  );
  const r = binaryNodes(
    entries.filter(([kh]) => bitOf(kh, depth) === 1),
    depth + 1,
    out,
  );
  out.push([binaryPath(first[0], depth), Buffer.concat([Buffer.from([1]), l, r]), null]);
  return sha256(Buffer.concat([Buffer.from([1]), l, r]));
}

/**
 * Rewrites a store's tree into one of the binary layouts before the 16-way tree: `tree_nodes`
 * keyed by NodePath with each leaf followed by its value (the first), or `state_nodes` keyed by
 * prefix then depth with leaves of hashes only (the second). Returns the number of leaves.
 */
function toBinaryLayout(dbPath: string, layout: 'tree_nodes' | 'state_nodes'): number {
  const db = new Database(dbPath);
  const entries: [Uint8Array, Buffer][] = [];
  for (const r of db.prepare<[], { key: string; value: string }>('SELECT key, value FROM state').iterate()) {
    entries.push([sha256(utf8(r.key)), Buffer.from(r.value)]);
  }
  const out: [Buffer, Buffer, Buffer | null][] = [];
  const root = binaryNodes(entries, 0, out);
  const head = db.prepare<[], { header: string }>('SELECT header FROM blocks ORDER BY height DESC LIMIT 1').get()!;
  expect(toHex(root), "the binary tree has the chain's state root").toBe(JSON.parse(head.header).stateRoot);
  db.exec('DELETE FROM state_nodes');
  db.prepare("DELETE FROM meta WHERE key = 'stateTreeLayout'").run();
  if (layout === 'tree_nodes') {
    db.exec('CREATE TABLE tree_nodes (path BLOB PRIMARY KEY, node BLOB NOT NULL) STRICT, WITHOUT ROWID');
    db.exec('DROP TABLE state_nodes');
    const insert = db.prepare('INSERT INTO tree_nodes (path, node) VALUES (?, ?)');
    for (const [path, node, value] of out) insert.run(path, value === null ? node : Buffer.concat([node, value]));
  } else {
    const insert = db.prepare('INSERT INTO state_nodes (k, node) VALUES (?, ?)');
    for (const [path, node] of out) insert.run(Buffer.concat([path.subarray(2), path.subarray(0, 2)]), node);
  }
  db.close();
  return out.filter(([, , v]) => v !== null).length;
}

describe('state tree storage', () => {
  it('stores 16-way nodes and leaves with their hashes only, keyed so that a node sorts before the nodes below it', async () => {
    const dbPath = join(tmp.dir, 'layout.db');
    await chainWithState(dbPath, 20);
    const db = new Database(dbPath, { readonly: true });
    const rows = db.prepare<[], { k: Buffer; node: Buffer }>('SELECT k, node FROM state_nodes').all();
    const stateRows = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM state').get()!.n;
    const leaves = rows.filter((r) => r.node[0] === 0x00);
    const internals = rows.filter((r) => r.node[0] === 0x02);
    expect(leaves.length + internals.length).toBe(rows.length);
    // One leaf per state row, 65 bytes (tag, key hash, value hash: no value).
    expect(leaves.length).toBe(stateRows);
    expect(leaves.every((r) => r.node.length === 65)).toBe(true);
    // 16-way nodes: tag, child mask, leaf mask, one hash per child; only at nibble depths.
    for (const r of internals) {
      const mask = r.node.readUInt16BE(1);
      let children = 0;
      for (let m = mask; m !== 0; m &= m - 1) children++;
      expect(r.node.length).toBe(5 + 32 * children);
      expect(r.k.readUInt16BE(r.k.length - 2) % 4).toBe(0);
    }
    // Each node's subtree holds at least two entries (a subtree of one entry is that leaf): a node
    // has two children or more, or one child that is itself a node (two keys whose hashes share
    // the next nibble too), never a lone leaf. So there are fewer nodes than leaves, whatever the
    // key hashes; and each sits at a nibble depth (above).
    expect(internals.length).toBeLessThan(stateRows);
    for (const r of internals) {
      const mask = r.node.readUInt16BE(1);
      if ((mask & (mask - 1)) === 0) expect(r.node.readUInt16BE(3) & mask).toBe(0);
    }
    expect(db.prepare("SELECT value FROM meta WHERE key = 'stateTreeLayout'").get()).toEqual({ value: '16-way' });
    // The key is the prefix then the depth: the root (depth 0, no prefix) is the 2-byte key 0x0000.
    const root = db.prepare<[], { k: Buffer }>('SELECT k FROM state_nodes WHERE length(k) = 2').all();
    expect(root.map((r) => r.k.toString('hex'))).toEqual(['0000']);
    db.close();
  });

  it.each(['tree_nodes', 'state_nodes'] as const)(
    'converts a store of a binary layout (%s) on open: same roots, proofs verify, the audit passes, and the chain goes on',
    async (layout) => {
      const dbPath = join(tmp.dir, `earlier-${layout}.db`);
      const before = await chainWithState(dbPath, 30);
      const rows = new Database(dbPath, { readonly: true });
      const stateRows = rows.prepare<[], { n: number }>('SELECT count(*) AS n FROM state').get()!.n;
      rows.close();
      // One leaf per state row (29 kv keys left, plus the chain's own entries).
      expect(stateRows).toBeGreaterThan(29);
      expect(toBinaryLayout(dbPath, layout)).toBe(stateRows);

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
      const kinds = db
        .prepare<[], { tag: string }>('SELECT DISTINCT hex(substr(node, 1, 1)) AS tag FROM state_nodes')
        .all();
      expect(kinds.map((k) => k.tag).sort()).toEqual(['00', '02']);
      db.close();
      const report = auditChain(dbPath);
      expect(report.problems).toEqual([]);
      expect(report.stateRoot).toBe(after);
    },
  );

  it("refuses to convert a binary store whose state table does not give the chain's root, and leaves it unchanged", async () => {
    const dbPath = join(tmp.dir, 'mismatch.db');
    await chainWithState(dbPath, 10);
    toBinaryLayout(dbPath, 'state_nodes');
    const db = new Database(dbPath);
    db.prepare("UPDATE state SET value = '\"tampered\"' WHERE key = 'kv/layout/k3'").run();
    const before = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM state_nodes').get()!.n;
    db.close();
    await expect(CustosNode.open({ dbPath, verifyThreads: 1 })).rejects.toThrow(
      /16-way layout .* state table and the tree disagree/,
    );
    const after = new Database(dbPath, { readonly: true });
    expect(after.prepare<[], { n: number }>('SELECT count(*) AS n FROM state_nodes').get()!.n).toBe(before);
    after.close();
  });
});

/** Every inclusion proof of the log's entries, and consistency proofs between block heights, as JSON text. */
function logProofs(node: CustosNode): string {
  const size = node.latest().logSize;
  const out: unknown[] = [];
  for (let i = 0; i < size; i++) out.push(inclusionProof(node, node.store.getTxByLogIndex(i)!.txId));
  const height = node.latest().height;
  for (let from = 1; from < height; from += 3) out.push(consistencyProof(node, from, height));
  return JSON.stringify(out);
}

/** The layout before log_chunks, written from a store's chunks: one log_nodes row per node. */
function toNodeRows(dbPath: string): number {
  const db = new Database(dbPath);
  const chunks = db
    .prepare<[], { level: number; chunk: number; lo: number; hashes: Buffer }>('SELECT * FROM log_chunks')
    .all();
  db.exec(
    'CREATE TABLE log_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) STRICT, WITHOUT ROWID',
  );
  const insert = db.prepare('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)');
  let n = 0;
  for (const c of chunks) {
    for (let i = 0; i * 32 < c.hashes.length; i++, n++) {
      insert.run(c.level, c.chunk * 16 + c.lo + i, c.hashes.subarray(i * 32, i * 32 + 32));
    }
  }
  db.exec('DROP TABLE log_chunks');
  db.close();
  return n;
}

describe('history log storage', () => {
  it('stores the log 16 nodes of a level per row, every node of a complete subtree once', async () => {
    const dbPath = join(tmp.dir, 'log-chunks.db');
    await chainWithState(dbPath, 70);
    const db = new Database(dbPath, { readonly: true });
    const head = JSON.parse(
      db.prepare<[], { header: string }>('SELECT header FROM blocks ORDER BY height DESC LIMIT 1').get()!.header,
    ) as { logSize: number };
    const rows = db
      .prepare<[], { level: number; chunk: number; lo: number; hashes: Buffer }>(
        'SELECT * FROM log_chunks ORDER BY level, chunk',
      )
      .all();
    db.close();
    expect(head.logSize).toBeGreaterThan(70);
    // Level l holds floor(size / 2^l) nodes (the complete subtrees), in ceil(that / 16) rows.
    for (let level = 0; 2 ** level <= head.logSize; level++) {
      const nodes = Math.floor(head.logSize / 2 ** level);
      const at = rows.filter((r) => r.level === level);
      expect(at.map((r) => r.chunk)).toEqual(Array.from({ length: Math.ceil(nodes / 16) }, (_, i) => i));
      expect(at.every((r) => r.lo === 0)).toBe(true);
      expect(at.reduce((n, r) => n + r.hashes.length, 0)).toBe(nodes * 32);
    }
    expect(rows.length).toBeLessThan(head.logSize / 4);
  });

  it('converts a store with one row per log node on open: byte-identical proofs, the audit passes, the chain goes on', async () => {
    const dbPath = join(tmp.dir, 'log-rows.db');
    await chainWithState(dbPath, 40);
    let node = await CustosNode.open({ dbPath, verifyThreads: 1 });
    const before = logProofs(node);
    const size = node.latest().logSize;
    const oldRoot = fromHex(node.latest().logRoot);
    await node.close();
    expect(toNodeRows(dbPath)).toBeGreaterThan(2 * size - 10);

    node = await CustosNode.open({ dbPath, verifyThreads: 1 });
    try {
      expect(logProofs(node)).toBe(before);
      const r = await node.submitAndWait(tx(userSigner(), 'kv.put', { ns: 'layout', key: 'after', value: 1 }));
      expect(r.code).toBe('OK');
      // The new block extends the converted log: its root and a consistency proof from the old size.
      const head = node.latest();
      expect(toHex(node.logView.root())).toBe(head.logRoot);
      const proof = node.logView.consistencyProof(size, head.logSize);
      expect(isValidConsistency(size, head.logSize, oldRoot, fromHex(head.logRoot), proof)).toBe(true);
    } finally {
      await node.close();
    }
    const db = new Database(dbPath, { readonly: true });
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'").all();
    expect(tables.map((t) => t.name)).not.toContain('log_nodes');
    db.close();
    expect(auditChain(dbPath).problems).toEqual([]);
  });

  it('refuses a log write that would leave a gap in a chunk, and writes nothing of it', () => {
    const store = new SqliteStore(join(tmp.dir, 'log-gap.db'), { synchronous: 'NORMAL' });
    try {
      const h = (b: number) => new Uint8Array(32).fill(b);
      store.writeLogNodes([
        [0, 0, h(1)],
        [0, 1, h(2)],
      ]);
      expect(() =>
        store.writeLogNodes([
          [0, 2, h(3)],
          [0, 4, h(5)],
        ]),
      ).toThrow(/log node 4 at level 0 would follow a missing node 3/);
      expect(store.getLogNode(0, 1)).toEqual(h(2));
      expect(store.getLogNode(0, 2)).toBeUndefined();
      expect(() => store.writeLogNodes([[0, 2, new Uint8Array(31)]])).toThrow(/32 bytes/);
    } finally {
      store.close();
    }
  });
});

describe('transaction id lookup', () => {
  it('finds transactions through an index on the id prefix, tells ids sharing the prefix apart, and drops the old index', () => {
    const dbPath = join(tmp.dir, 'tx-ids.db');
    const old = new Database(dbPath);
    old.exec(
      'CREATE TABLE txs (log_index INTEGER PRIMARY KEY, tx_id TEXT NOT NULL, height INTEGER NOT NULL, idx INTEGER NOT NULL, code TEXT NOT NULL, expires_at INTEGER NOT NULL, tx TEXT NOT NULL) STRICT; CREATE INDEX txs_by_id ON txs (tx_id)',
    );
    old.close();
    const store = new SqliteStore(dbPath, { synchronous: 'NORMAL' });
    try {
      const prefix = 'ab'.repeat(8);
      const a = `${prefix}${'0'.repeat(48)}`;
      const b = `${prefix}${'1'.repeat(48)}`;
      const insert = store.db.prepare(
        'INSERT INTO txs (log_index, tx_id, height, idx, code, expires_at, tx) VALUES (?, ?, 1, ?, ?, 0, ?)',
      );
      // b twice: first with a bad signature, then valid; the lookup prefers the valid entry.
      insert.run(0, a, 0, 'OK', '{"n":0}');
      insert.run(1, b, 1, 'BAD_SIGNATURE', '{"n":1}');
      insert.run(2, b, 2, 'OK', '{"n":2}');
      expect(store.getTx(a)).toMatchObject({ logIndex: 0, tx: { n: 0 } });
      expect(store.getTx(b)).toMatchObject({ logIndex: 2, code: 'OK', tx: { n: 2 } });
      expect(store.getTx(`${prefix}${'2'.repeat(48)}`)).toBeNull();
      expect(store.hasCommittedTx(a)).toBe(true);
      expect(store.hasCommittedTx(`${prefix}${'3'.repeat(48)}`)).toBe(false);
      expect([...store.committedAmong([a, b, `${prefix}${'4'.repeat(48)}`])].sort()).toEqual([a, b]);
      const indexes = store.db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'txs'")
        .all()
        .map((r) => r.name);
      expect(indexes).toContain('txs_by_id_prefix');
      expect(indexes).not.toContain('txs_by_id');
      // Each lookup is an index search, never a scan of the history.
      const plan = store.db
        .prepare<[string, string], { detail: string }>(
          "EXPLAIN QUERY PLAN SELECT * FROM txs WHERE substr(tx_id, 1, 16) = substr(?, 1, 16) AND tx_id = ? ORDER BY (code = 'BAD_SIGNATURE' OR code = 'WRONG_CHAIN'), log_index LIMIT 1",
        )
        .all(a, a);
      expect(plan.map((r) => r.detail).join(' ')).toMatch(/SEARCH txs USING INDEX txs_by_id_prefix/);
    } finally {
      store.close();
    }
  });
});

describe('replay probe of a block', () => {
  it('answers from memory for transactions committed since open, and from SQLite for the rest', () => {
    const dbPath = join(tmp.dir, 'replay-probe.db');
    const id = (d: string) => d.repeat(64);
    let store = new SqliteStore(dbPath, { synchronous: 'NORMAL' });
    try {
      const header = { height: 0, logSize: 2, txCount: 2 } as unknown as BlockHeader;
      store.commitBlock({
        header,
        hash: 'h0',
        txs: [
          { txId: id('a'), json: '{"n":0}', expiresAt: 5_000 },
          { txId: id('b'), json: '{"n":1}', expiresAt: 5_000 },
        ],
        results: ['OK', 'BAD_SIGNATURE'],
        stateWrites: new Map(),
        logNodes: [],
        treeWrites: [],
        qc: null,
      });
      // A row the filter never saw (written behind the store's back).
      store.db
        .prepare(
          "INSERT INTO txs (log_index, tx_id, height, idx, code, expires_at, tx) VALUES (2, ?, 0, 2, 'OK', 5000, '{}')",
        )
        .run(id('c'));
      const ids = [id('a'), id('b'), id('c'), id('d')];
      const expires = [5_000, 5_000, 5_000, 5_000];
      expect([...store.committedAmong(ids, expires)]).toEqual([id('a')]);
      expect([...store.committedAmong(ids)].sort()).toEqual([id('a'), id('c')]);
      expect(store.committedAmong([], [])).toEqual(new Set());
    } finally {
      store.close();
    }
    // Reopened, every expiresAt up to the newest stored is "maybe": SQLite answers.
    store = new SqliteStore(dbPath, { synchronous: 'NORMAL' });
    try {
      expect([...store.committedAmong([id('a'), id('c'), id('d')], [5_000, 5_000, 5_000])].sort()).toEqual([
        id('a'),
        id('c'),
      ]);
    } finally {
      store.close();
    }
  });
});

describe('read-only opens', () => {
  it('refuses a store of the layout before log_chunks with a clear error instead of a missing-table failure', () => {
    const dbPath = join(tmp.dir, 'old-readonly.db');
    const db = new Database(dbPath);
    db.exec(
      'CREATE TABLE log_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) STRICT, WITHOUT ROWID',
    );
    db.close();
    expect(() => new SqliteStore(dbPath, { readonly: true })).toThrow(/converted when a node opens it for writing/);
  });
});
