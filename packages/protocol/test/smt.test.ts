/**
 * State map (compressed binary sparse Merkle tree): the root depends only on the map's contents;
 * inclusion and non-inclusion proofs verify; a proof that verifies always states the truth (any
 * mutation, wrong key, value or root fails with BAD_PROOF); deep shared prefixes down to 256 bits.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, toHex, utf8 } from '../src/bytes.js';
import { ProtocolError } from '../src/errors.js';
import { setSha256, sha256 } from '../src/hash.js';
import { MemoryStateNodeStore } from '../src/state/memory-node-store.js';
import {
  decodeStateNode,
  encodeStateNode,
  type NodePath,
  nodePath,
  pathDepth,
  type StateNode,
  type StateNodeStore,
  type StateNodeWrite,
} from '../src/state/node.js';
import {
  encodeStateProof,
  isValidStateProof,
  parseStateProof,
  type StateProof,
  verifyStateProof,
  verifyStateProofHashed,
} from '../src/state/proof.js';
import { StateTree } from '../src/state/smt.js';

const ZERO = new Uint8Array(32);

function badProof(fn: () => void): ProtocolError | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (!(e instanceof ProtocolError) || e.code !== 'BAD_PROOF') {
      throw new Error(`expected a BAD_PROOF ProtocolError, got ${String(e)}`, { cause: e });
    }
    return e;
  }
}

function expectBadProof(fn: () => void): void {
  expect(badProof(fn)).toBeInstanceOf(ProtocolError);
}

// ---------------------------------------------------------------------------------------------
// Reference: the root straight from the definition, over (keyHash, value) pairs, written apart
// from the implementation (plain concatenation, no shared helpers).

const refLeaf = (kh: Uint8Array, vh: Uint8Array) => sha256(concatBytes(new Uint8Array([0]), kh, vh));
const refNode = (l: Uint8Array, r: Uint8Array) => sha256(concatBytes(new Uint8Array([1]), l, r));
const bit = (h: Uint8Array, i: number) => ((h[i >> 3] as number) >> (7 - (i % 8))) & 1;

/** Root of the canonical binary tree over `entries` (distinct key hashes), and the count of its stored 16-way nodes. */
function reference(
  entries: readonly (readonly [Uint8Array, Uint8Array])[],
  depth = 0,
): { root: Uint8Array; nodes: number } {
  if (entries.length === 0) return { root: ZERO, nodes: 0 };
  if (entries.length === 1) {
    const [kh, v] = entries[0] as readonly [Uint8Array, Uint8Array];
    return { root: refLeaf(kh, sha256(v)), nodes: 1 };
  }
  const l = reference(
    entries.filter(([kh]) => bit(kh, depth) === 0),
    depth + 1,
  );
  const r = reference(
    entries.filter(([kh]) => bit(kh, depth) === 1),
    depth + 1,
  );
  // Stored 16-way: a node per subtree of two or more entries at a nibble boundary, and the leaves.
  return { root: refNode(l.root, r.root), nodes: l.nodes + r.nodes + (depth % 4 === 0 ? 1 : 0) };
}

type Model = Map<string, Uint8Array>; // key as hex -> value

function referenceOf(model: Model, hashed: boolean): { root: Uint8Array; nodes: number } {
  return reference(
    [...model].map(([k, v]) => {
      const key = Uint8Array.from(Buffer.from(k, 'hex'));
      return [hashed ? key : sha256(key), v] as const;
    }),
  );
}

function keyOf(i: number): Uint8Array {
  return utf8(`kv/test/${i}`);
}

function newTree(): { tree: StateTree; store: MemoryStateNodeStore } {
  const store = new MemoryStateNodeStore();
  return { tree: new StateTree(store), store };
}

/** Checks that proving and verifying agree with the model for `key`. */
function checkProof(tree: StateTree, root: Uint8Array, key: Uint8Array, model: Model): StateProof {
  const value = model.get(toHex(key)) ?? null;
  const proof = tree.prove(key);
  verifyStateProof(root, key, value, proof);
  const viaJson = parseStateProof(JSON.parse(JSON.stringify(encodeStateProof(proof))));
  verifyStateProof(root, key, value, viaJson);
  expect(tree.get(key) ?? null).toEqual(value);
  return proof;
}

// ---------------------------------------------------------------------------------------------

describe('state map basics', () => {
  it('empty map: zero root, empty proofs of absence', () => {
    const { tree, store } = newTree();
    expect(toHex(tree.root())).toBe(toHex(ZERO));
    expect(tree.get(keyOf(1))).toBeUndefined();
    const proof = tree.prove(keyOf(1));
    expect(proof).toEqual({ siblings: [], leaf: null });
    verifyStateProof(ZERO, keyOf(1), null, proof);
    expectBadProof(() => verifyStateProof(ZERO, keyOf(1), utf8('x'), proof));
    expect(tree.apply([])).toEqual({ root: ZERO, writes: [] });
    expect(tree.apply([[keyOf(1), null]]).writes).toEqual([]);
    expect(store.size).toBe(0);
  });

  it('single key: the root is its leaf; other keys are proved absent by it', () => {
    const { tree, store } = newTree();
    const v = utf8('{"a":1}');
    const { root } = tree.apply([[keyOf(1), v]]);
    expect(toHex(root)).toBe(toHex(refLeaf(sha256(keyOf(1)), sha256(v))));
    expect(store.size).toBe(1);
    const proof = tree.prove(keyOf(1));
    expect(proof.siblings).toEqual([]);
    verifyStateProof(root, keyOf(1), v, proof);
    const absent = tree.prove(keyOf(2));
    expect(absent.leaf?.keyHash).toEqual(sha256(keyOf(1)));
    verifyStateProof(root, keyOf(2), null, absent);
    expectBadProof(() => verifyStateProof(root, keyOf(1), null, proof));
    expectBadProof(() => verifyStateProof(root, keyOf(1), utf8('{"a":2}'), proof));
    const { root: after } = tree.apply([[keyOf(1), null]]);
    expect(toHex(after)).toBe(toHex(ZERO));
    expect(store.size).toBe(0);
  });

  it('later changes of a key in one batch win; computeUpdate writes nothing', () => {
    const { tree, store } = newTree();
    const preview = tree.computeUpdate([
      [keyOf(1), utf8('a')],
      [keyOf(2), utf8('b')],
      [keyOf(1), utf8('c')],
      [keyOf(2), null],
    ]);
    expect(store.size).toBe(0);
    store.write(preview.writes);
    expect(toHex(tree.root())).toBe(toHex(preview.root));
    expect(tree.get(keyOf(1))).toEqual(utf8('c'));
    expect(tree.get(keyOf(2))).toBeUndefined();
    expect(toHex(preview.root)).toBe(toHex(refLeaf(sha256(keyOf(1)), sha256(utf8('c')))));
  });

  it('copies what it is given and what it returns', () => {
    const { tree } = newTree();
    const key = keyOf(3);
    const value = utf8('value');
    tree.apply([[key, value]]);
    value.fill(0);
    key.fill(0);
    expect(tree.get(keyOf(3))).toEqual(utf8('value'));
    tree.get(keyOf(3))?.fill(0);
    expect(tree.get(keyOf(3))).toEqual(utf8('value'));
  });

  it('rejects changes that are not [bytes, bytes | null]', () => {
    const { tree } = newTree();
    for (const bad of [[['k', utf8('v')]], [[utf8('k'), 'v']], [[utf8('k')]], ['kv']]) {
      expect(() => tree.apply(bad as never)).toThrow(ProtocolError);
    }
    expect(() => tree.applyHashed([[new Uint8Array(31), null]])).toThrow(ProtocolError);
  });

  it('encodes nodes for a database and decodes them back', () => {
    const leaf: StateNode = {
      kind: 'leaf',
      keyHash: sha256(utf8('k')),
      valueHash: sha256(utf8('v')),
      value: utf8('v'),
    };
    const internal: StateNode = {
      kind: 'internal',
      mask: 0b1000_0000_0000_0101,
      leaves: 0b0000_0000_0000_0100,
      hashes: concatBytes(sha256(utf8('a')), sha256(utf8('b')), sha256(utf8('c'))),
    };
    expect(decodeStateNode(encodeStateNode(leaf))).toEqual(leaf);
    expect(decodeStateNode(encodeStateNode(internal))).toEqual(internal);
    expect(encodeStateNode(internal).length).toBe(5 + 3 * 32);
    for (const bad of [
      new Uint8Array(64),
      // A 16-way node whose hashes do not match its mask, one with a leaf outside its mask, an empty one.
      concatBytes(new Uint8Array([2, 0, 3, 0, 0]), new Uint8Array(32)),
      concatBytes(new Uint8Array([2, 0, 1, 0, 2]), new Uint8Array(32)),
      new Uint8Array([2, 0, 0, 0, 0]),
      // A binary node of the layout before (0x01 || left || right): refused, not misread.
      new Uint8Array(65).fill(1, 0, 1),
      new Uint8Array(66).fill(3, 0, 1),
    ]) {
      expect(() => decodeStateNode(bad)).toThrow(ProtocolError);
    }
  });

  it('paths: depth first, prefix bits after, unused bits zero', () => {
    const h = new Uint8Array(32).fill(0xff);
    expect(toHex(nodePath(h, 0))).toBe('0000');
    expect(toHex(nodePath(h, 3))).toBe('0003e0');
    expect(toHex(nodePath(h, 8))).toBe('0008ff');
    expect(toHex(nodePath(h, 256))).toBe(`0100${'ff'.repeat(32)}`);
    expect(pathDepth(nodePath(h, 200))).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------

/** A batch: (key index, value or null for delete). Small key space so keys collide across batches. */
const batchArb = fc.array(fc.tuple(fc.nat(40), fc.option(fc.string({ maxLength: 12 }), { nil: null })), {
  maxLength: 25,
});

function applyToModel(model: Model, batch: readonly (readonly [number, string | null])[]): void {
  for (const [k, v] of batch) {
    if (v === null) model.delete(toHex(keyOf(k)));
    else model.set(toHex(keyOf(k)), utf8(v));
  }
}

const toChanges = (batch: readonly (readonly [number, string | null])[]) =>
  batch.map(([k, v]) => [keyOf(k), v === null ? null : utf8(v)] as const);

describe('state map properties', () => {
  it('the root depends only on the contents, never on the history', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { maxLength: 12 }), fc.integer(), (batches, seed) => {
        const { tree, store } = newTree();
        const model: Model = new Map();
        for (const batch of batches) {
          const { root } = tree.apply(toChanges(batch));
          applyToModel(model, batch);
          expect(toHex(root)).toBe(toHex(tree.root()));
        }
        const ref = referenceOf(model, false);
        expect(toHex(tree.root())).toBe(toHex(ref.root));
        expect(store.size).toBe(ref.nodes);

        // The same contents built fresh, in a shuffled order, one key per batch and all at once.
        const entries = [...model];
        const shuffled =
          fc.sample(fc.shuffledSubarray(entries, { minLength: entries.length }), { numRuns: 1, seed })[0] ?? [];
        const one = newTree();
        for (const [k, v] of shuffled) one.tree.apply([[Uint8Array.from(Buffer.from(k, 'hex')), v]]);
        const all = newTree();
        all.tree.apply(shuffled.map(([k, v]) => [Uint8Array.from(Buffer.from(k, 'hex')), v] as const));
        expect(toHex(one.tree.root())).toBe(toHex(ref.root));
        expect(toHex(all.tree.root())).toBe(toHex(ref.root));
        expect(one.store.size).toBe(ref.nodes);
        expect(all.store.size).toBe(ref.nodes);
      }),
      { numRuns: 200 },
    );
  });

  it('changes given as key and value hashes build the same tree, with leaves that carry no value', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { maxLength: 8 }), (batches) => {
        const plain = newTree();
        const hashes = newTree();
        const model: Model = new Map();
        for (const batch of batches) {
          const { root } = plain.tree.apply(toChanges(batch));
          const update = hashes.tree.computeUpdateOfHashes(
            toChanges(batch).map(([k, v]) => [sha256(k), v === null ? null : sha256(v)] as const),
          );
          hashes.store.write(update.writes);
          applyToModel(model, batch);
          expect(toHex(update.root)).toBe(toHex(root));
          for (const w of update.writes) if (w.node?.kind === 'leaf') expect(w.node.value.length).toBe(0);
        }
        expect(hashes.store.size).toBe(plain.store.size);
        const root = hashes.tree.root();
        for (let k = 0; k <= 45; k++) {
          const proof = hashes.tree.prove(keyOf(k));
          expect(encodeStateProof(proof)).toEqual(encodeStateProof(plain.tree.prove(keyOf(k))));
          verifyStateProof(root, keyOf(k), model.get(toHex(keyOf(k))) ?? null, proof);
        }
      }),
      { numRuns: 100 },
    );
    const { tree } = newTree();
    expect(() => tree.computeUpdateOfHashes([[sha256(keyOf(1)), new Uint8Array(31)]])).toThrow(
      /expected a value hash of 32 bytes/,
    );
    expect(() => tree.computeUpdateOfHashes([[keyOf(1), null]])).toThrow(/expected a key hash of 32 bytes/);
  });

  it('proves every present key and every absent key', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { maxLength: 6 }), (batches) => {
        const { tree } = newTree();
        const model: Model = new Map();
        for (const batch of batches) {
          tree.apply(toChanges(batch));
          applyToModel(model, batch);
        }
        const root = tree.root();
        for (let k = 0; k <= 45; k++) checkProof(tree, root, keyOf(k), model);
      }),
      { numRuns: 100 },
    );
  });

  it('a proof that verifies states the truth; anything else is BAD_PROOF', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(255) }),
      fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      }),
      fc.record({ kind: fc.constant('insertEmpty' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('leafKey' as const), bit: fc.nat(255) }),
      fc.record({ kind: fc.constant('leafValue' as const), bit: fc.nat(255) }),
      fc.record({ kind: fc.constant('dropLeaf' as const) }),
      fc.record({ kind: fc.constant('otherLeaf' as const), key: fc.nat(45) }),
      fc.record({ kind: fc.constant('none' as const) }),
    );
    const flip = (h: Uint8Array, b: number) => {
      const out = new Uint8Array(h);
      out[b >>> 3] = (out[b >>> 3] as number) ^ (0x80 >>> (b & 7));
      return out;
    };
    fc.assert(
      fc.property(
        fc.array(batchArb, { minLength: 1, maxLength: 5 }),
        fc.nat(45),
        fc.nat(45),
        fc.option(fc.string({ maxLength: 12 }), { nil: null }),
        mutation,
        fc.option(fc.nat(255), { nil: null }),
        (batches, proved, claimed, claimedValue, m, rootBit) => {
          const { tree } = newTree();
          const model: Model = new Map();
          for (const batch of batches) {
            tree.apply(toChanges(batch));
            applyToModel(model, batch);
          }
          const truth = tree.root();
          const p = tree.prove(keyOf(proved));
          let siblings = p.siblings.map((s) => new Uint8Array(s));
          let leaf = p.leaf;
          const at = (n: number) => (siblings.length === 0 ? 0 : n % siblings.length);
          switch (m.kind) {
            case 'flip':
              if (siblings.length > 0) siblings[at(m.at)] = flip(siblings[at(m.at)] as Uint8Array, m.bit);
              break;
            case 'remove':
              siblings.splice(at(m.at), 1);
              break;
            case 'insert':
              siblings.splice(m.at % (siblings.length + 1), 0, m.hash);
              break;
            case 'insertEmpty':
              siblings = [
                ...siblings.slice(0, m.at % (siblings.length + 1)),
                ZERO,
                ...siblings.slice(m.at % (siblings.length + 1)),
              ];
              break;
            case 'leafKey':
              if (leaf !== null) leaf = { keyHash: flip(leaf.keyHash, m.bit), valueHash: leaf.valueHash };
              break;
            case 'leafValue':
              if (leaf !== null) leaf = { keyHash: leaf.keyHash, valueHash: flip(leaf.valueHash, m.bit) };
              break;
            case 'dropLeaf':
              leaf = null;
              break;
            case 'otherLeaf':
              leaf = { keyHash: sha256(keyOf(m.key)), valueHash: sha256(model.get(toHex(keyOf(m.key))) ?? utf8('')) };
              break;
            case 'none':
              break;
          }
          const root = rootBit === null ? truth : flip(truth, rootBit);
          const value = claimedValue === null ? null : utf8(claimedValue);
          const truthful = (key: number, v: Uint8Array | null) => {
            const actual = model.get(toHex(keyOf(key))) ?? null;
            return rootBit === null && (v === null ? actual === null : actual !== null && equalBytes(actual, v));
          };
          const proof = { siblings, leaf };
          // The honest statement about the proved key, its negation, then claimed ones (wrong key and/or value).
          const honest = model.get(toHex(keyOf(proved))) ?? null;
          for (const [key, v] of [
            [proved, honest],
            [proved, honest === null ? utf8('present') : null],
            [proved, value],
            [claimed, value],
            [claimed, model.get(toHex(keyOf(claimed))) ?? null],
          ] as const) {
            const err = badProof(() => verifyStateProof(root, keyOf(key), v, proof));
            if (err === null) expect(truthful(key, v)).toBe(true);
            expect(isValidStateProof(root, keyOf(key), v, proof)).toBe(err === null);
          }
          // Unmutated proofs of the truth always verify.
          if (m.kind === 'none' && rootBit === null) verifyStateProof(root, keyOf(proved), honest, proof);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws anything but BAD_PROOF on arbitrary input', () => {
    const { tree } = newTree();
    const { root } = tree.apply([0, 1, 2, 3].map((i) => [keyOf(i), utf8(`${i}`)] as const));
    const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
    const proofArb = fc.oneof(
      fc.record({
        siblings: fc.array(hash, { maxLength: 300 }),
        leaf: fc.oneof(fc.constant(null), fc.record({ keyHash: hash, valueHash: hash })),
      }),
      fc.record({ siblings: fc.anything(), leaf: fc.anything() }),
      fc.anything(),
    );
    fc.assert(
      fc.property(
        proofArb,
        fc.oneof(fc.constant(root), fc.anything()),
        fc.anything(),
        fc.anything(),
        (proof, r, k, v) => {
          badProof(() => verifyStateProof(r as Uint8Array, keyOf(1), utf8('1'), proof as StateProof));
          badProof(() => verifyStateProof(root, k as Uint8Array, v as Uint8Array, proof as StateProof));
          badProof(() => verifyStateProofHashed(root, k as Uint8Array, v as Uint8Array, proof as StateProof));
          badProof(() => parseStateProof(proof));
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Key hashes chosen directly (applyHashed / proveByHash) to force long shared prefixes, down to
// two keys that differ only in their last bit.

const BASE = sha256(utf8('base'));

/** BASE with the given bits flipped: keys sharing long prefixes when the bits are high. */
function keyHashWith(bits: readonly number[]): Uint8Array {
  const h = new Uint8Array(BASE);
  for (const b of bits) h[b >>> 3] = (h[b >>> 3] as number) ^ (0x80 >>> (b & 7));
  return h;
}

describe('deep shared prefixes', () => {
  it('two keys differing only in bit 255 sit at depth 256 and collapse back', () => {
    const { tree, store } = newTree();
    const a = keyHashWith([]);
    const b = keyHashWith([255]);
    const { root } = tree.applyHashed([
      [a, utf8('A')],
      [b, utf8('B')],
    ]);
    expect(store.size).toBe(64 + 2); // a 16-way node every 4 bits down to depth 252, and the two leaves
    const ref = reference([
      [a, utf8('A')],
      [b, utf8('B')],
    ]);
    expect(toHex(root)).toBe(toHex(ref.root));
    const proof = tree.proveByHash(a);
    expect(proof.siblings.length).toBe(256);
    expect(proof.siblings.slice(0, 255).every((s) => s.every((x) => x === 0))).toBe(true);
    verifyStateProofHashed(root, a, sha256(utf8('A')), proof);
    verifyStateProof(root, utf8('whatever'), null, tree.prove(utf8('whatever')));
    // A key sharing 200 bits: its lookup ends in the empty side of the chain at depth 201.
    const c = keyHashWith([200]);
    const absent = tree.proveByHash(c);
    expect(absent.siblings.length).toBe(201);
    expect(absent.leaf).toBeNull();
    verifyStateProofHashed(root, c, null, absent);
    expect(parseStateProof(JSON.parse(JSON.stringify(encodeStateProof(proof))))).toEqual(proof);

    const after = tree.applyHashed([[b, null]]);
    expect(toHex(after.root)).toBe(toHex(refLeaf(a, sha256(utf8('A')))));
    expect(store.size).toBe(1);
    expect(tree.getByHash(a)).toEqual(utf8('A'));
    expect(tree.proveByHash(a)).toEqual({ siblings: [], leaf: { keyHash: a, valueHash: sha256(utf8('A')) } });
  });

  it('any history over deep-prefix keys gives the canonical tree, and proofs verify', () => {
    const keyArb = fc.uniqueArray(fc.integer({ min: 190, max: 255 }), { maxLength: 3 });
    const batch = fc.array(fc.tuple(keyArb, fc.option(fc.nat(5), { nil: null })), { maxLength: 12 });
    fc.assert(
      fc.property(fc.array(batch, { maxLength: 8 }), (batches) => {
        const { tree, store } = newTree();
        const model: Model = new Map();
        const seen = new Set<string>();
        for (const b of batches) {
          const changes = b.map(([bits, v]) => [keyHashWith(bits), v === null ? null : utf8(`v${v}`)] as const);
          tree.applyHashed(changes);
          for (const [kh, v] of changes) {
            seen.add(toHex(kh));
            if (v === null) model.delete(toHex(kh));
            else model.set(toHex(kh), v);
          }
        }
        const ref = referenceOf(model, true);
        const root = tree.root();
        expect(toHex(root)).toBe(toHex(ref.root));
        expect(store.size).toBe(ref.nodes);
        for (const k of [...seen, toHex(keyHashWith([254, 253])), toHex(BASE)]) {
          const kh = Uint8Array.from(Buffer.from(k, 'hex'));
          const v = model.get(k) ?? null;
          verifyStateProofHashed(root, kh, v === null ? null : sha256(v), tree.proveByHash(kh));
          expect(tree.getByHash(kh) ?? null).toEqual(v);
        }
      }),
      // Each run walks ~256-level paths; 100 random histories per run keep the unit tier fast.
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** Counts reads and writes of a store. */
class CountingStore implements StateNodeStore {
  reads = 0;
  writes = 0;
  constructor(readonly inner: StateNodeStore) {}
  get(path: NodePath): StateNode | undefined {
    this.reads++;
    return this.inner.get(path);
  }
  write(writes: readonly StateNodeWrite[]): void {
    this.writes++;
    this.inner.write(writes);
  }
}

describe('batches', () => {
  afterEach(() => setSha256((d) => nobleSha256(d)));

  it('hash each internal node once per batch, and cost O(log n) per change', () => {
    const { tree, store } = newTree();
    tree.apply(Array.from({ length: 2000 }, (_, i) => [keyOf(i), utf8(`v${i}`)] as const));
    const preimages = new Map<string, number>();
    let hashes = 0;
    setSha256((d) => {
      hashes++;
      if (d.length === 65 && d[0] === 1) preimages.set(toHex(d), (preimages.get(toHex(d)) ?? 0) + 1);
      return nobleSha256(d);
    });
    const changes = Array.from({ length: 200 }, (_, i) => [keyOf(i * 7), utf8(`w${i}`)] as const);
    const update = tree.apply(changes);
    expect([...preimages.values()].every((n) => n === 1)).toBe(true);
    // 2 hashes per change (key, value), then one per written leaf and at most 15 per written
    // 16-way node (the binary subtree over its children).
    const puts = update.writes.filter((w) => w.node !== null);
    const internals = puts.filter((w) => w.node?.kind === 'internal').length;
    expect(hashes).toBeLessThanOrEqual(2 * changes.length + (puts.length - internals) + 15 * internals);
    // A path at 2000 keys is about log16(2000) + 1 = 4 nodes.
    expect(puts.length).toBeLessThan(200 * (Math.log2(2000) / 4 + 2));
    // Same keys, so the same shape: the node count does not depend on values.
    const shape = reference(Array.from({ length: 2000 }, (_, i) => [sha256(keyOf(i)), ZERO] as const));
    expect(store.size).toBe(shape.nodes);
  });

  it('reads each node on a changed path once, and writes once per batch', () => {
    const inner = new MemoryStateNodeStore();
    new StateTree(inner).apply(Array.from({ length: 1000 }, (_, i) => [keyOf(i), utf8(`v${i}`)] as const));
    const store = new CountingStore(inner);
    const tree = new StateTree(store);
    const { writes } = tree.apply([
      [keyOf(1), utf8('x')],
      [keyOf(2), null],
      [keyOf(5000), utf8('new')],
    ]);
    expect(store.writes).toBe(1);
    expect(store.reads).toBeLessThanOrEqual(3 * 20 + 3);
    expect(writes.length).toBeGreaterThan(0);
    // A reopened tree over the same store sees the same map.
    expect(toHex(new StateTree(inner).root())).toBe(toHex(tree.root()));
  });
});

describe('MemoryStateNodeStore', () => {
  it('keeps every value through overwrites, deletes and arena compaction', () => {
    const { tree } = newTree();
    const big = (i: number, round: number) => utf8(`${round}:${i}:`.padEnd(700, String.fromCharCode(97 + (i % 26))));
    const model = new Map<number, Uint8Array>();
    for (let round = 0; round < 4; round++) {
      const changes = Array.from({ length: 1500 }, (_, i) => {
        const value = (i + round) % 5 === 0 ? null : big(i, round);
        if (value === null) model.delete(i);
        else model.set(i, value);
        return [keyOf(i), value] as const;
      });
      tree.apply(changes);
    }
    // Compared as hex strings: one assertion over all 1,500 values instead of 1,500 byte-by-byte deep-equals.
    const hexOrNull = (v: Uint8Array | null | undefined) => (v ? toHex(v) : null);
    const keys = Array.from({ length: 1500 }, (_, i) => i);
    expect(keys.map((i) => hexOrNull(tree.get(keyOf(i))))).toEqual(keys.map((i) => hexOrNull(model.get(i))));
    const ref = reference([...model].map(([i, v]) => [sha256(keyOf(i)), v] as const));
    expect(toHex(tree.root())).toBe(toHex(ref.root));
  });
});

describe('parseStateProof', () => {
  const hex = 'ab'.repeat(32);
  it('accepts exactly the JSON form', () => {
    expect(parseStateProof({ siblings: [hex], leaf: null }).siblings[0]).toEqual(new Uint8Array(32).fill(0xab));
    expect(parseStateProof({ siblings: [], leaf: { keyHash: hex, valueHash: hex } }).leaf?.valueHash.length).toBe(32);
  });

  it('rejects anything else with BAD_PROOF', () => {
    const bad: unknown[] = [
      null,
      [],
      'proof',
      {},
      { siblings: [] },
      { siblings: [], leaf: null, extra: 1 },
      { siblings: 'ab', leaf: null },
      { siblings: [hex.toUpperCase()], leaf: null },
      { siblings: [`${hex}00`], leaf: null },
      { siblings: [hex.slice(2)], leaf: null },
      { siblings: [1], leaf: null },
      { siblings: Array(257).fill(hex), leaf: null },
      { siblings: Array(1e6).fill(0), leaf: null },
      { siblings: [], leaf: { keyHash: hex } },
      { siblings: [], leaf: { keyHash: hex, valueHash: hex, value: 'x' } },
      { siblings: [], leaf: { keyHash: hex, valueHash: 'zz'.repeat(32) } },
      { siblings: [], leaf: [hex, hex] },
      { siblings: [], leaf: 'leaf' },
    ];
    for (const b of bad) expectBadProof(() => parseStateProof(b));
  });
});
