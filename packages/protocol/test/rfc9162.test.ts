/**
 * RFC 9162 section 2.1 Merkle tree: every transparency-dev vector (happy paths and must-fail
 * mutations), the RFC 6962 reference roots, and properties: `MerkleLog` proofs equal the RFC's
 * recursive definitions and verify; mutated proofs fail with BAD_PROOF and nothing else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/bytes.js';
import { ProtocolError } from '../src/errors.js';
import { MemoryLogStore } from '../src/merkle/memory-log-store.js';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  isValidConsistency,
  isValidInclusion,
  type LogStore,
  leafHash,
  MAX_TREE_SIZE,
  MerkleLog,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../src/merkle/rfc9162.js';
import { vectorsDir } from './vectors.js';

/** Runs `fn`; returns the BAD_PROOF error it threw, or null if it returned. Any other throw fails the test. */
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

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** The leaves of the RFC 6962 reference tests (certificate-transparency), whose roots are well known. */
const RFC6962_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => fromHex(h));
const RFC6962_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const RFC6962_HASHES = RFC6962_LEAVES.map(leafHash);

describe('RFC 9162 hashes', () => {
  it('hashes the empty tree, leaves and nodes as section 2.1.1 says', () => {
    expect(toHex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(rootFromLeafHashes([]))).toBe(toHex(emptyRoot()));
    expect(toHex(leafHash(new Uint8Array(0)))).toBe(RFC6962_ROOTS[0]);
    const [a, b] = RFC6962_HASHES as [Uint8Array, Uint8Array];
    expect(toHex(nodeHash(a, b))).toBe(RFC6962_ROOTS[1]);
  });

  it('gives the RFC 6962 reference roots from the list and from MerkleLog', () => {
    const log = new MerkleLog(new MemoryLogStore());
    for (const leaf of RFC6962_LEAVES) log.append(leaf);
    for (let n = 1; n <= 8; n++) {
      expect(toHex(rootFromLeafHashes(RFC6962_HASHES.slice(0, n)))).toBe(RFC6962_ROOTS[n - 1]);
      expect(toHex(log.root(n))).toBe(RFC6962_ROOTS[n - 1]);
    }
    expect(toHex(log.root(0))).toBe(toHex(emptyRoot()));
  });

  it('returns copies: mutating a returned hash does not touch the log', () => {
    const log = new MerkleLog(new MemoryLogStore());
    log.appendAll(RFC6962_LEAVES);
    const root = log.root();
    log.root().fill(0);
    log.leafHash(0).fill(0);
    for (const p of log.inclusionProof(3, 8)) p.fill(0);
    expect(toHex(log.root())).toBe(toHex(root));
    expect(toHex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

// ---------------------------------------------------------------------------------------------

interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

const vectors = vectorsDir('rfc9162');

/** Every .json file under `sub`, as paths relative to the vector folder. */
function jsonFiles(dir: URL, sub: string): string[] {
  return (readdirSync(new URL(`${sub}/`, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json'))
    .map((f) => `${sub}/${f}`)
    .sort();
}

describe('RFC 9162 vectors (transparency-dev/merkle testdata)', () => {
  const dir = vectors as URL;
  const read = <T>(f: string): T => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as T;
  const inclusion = jsonFiles(dir, 'inclusion');
  const consistency = jsonFiles(dir, 'consistency');

  it('finds the whole set', () => {
    expect(inclusion.length).toBeGreaterThanOrEqual(90);
    expect(consistency.length).toBeGreaterThanOrEqual(90);
    expect(inclusion.filter((f) => read<InclusionVector>(f).wantErr).length).toBeGreaterThan(60);
    expect(consistency.filter((f) => read<ConsistencyVector>(f).wantErr).length).toBeGreaterThan(60);
  });

  it.each(inclusion)('inclusion %s', (file) => {
    const v = read<InclusionVector>(file);
    const proof = (v.proof ?? []).map(b64);
    const run = () => verifyInclusion(b64(v.leafHash), v.leafIdx, v.treeSize, proof, b64(v.root));
    if (v.wantErr) expectBadProof(run);
    else expect(run).not.toThrow();
    expect(isValidInclusion(b64(v.leafHash), v.leafIdx, v.treeSize, proof, b64(v.root))).toBe(!v.wantErr);
  });

  it.each(consistency)('consistency %s', (file) => {
    const v = read<ConsistencyVector>(file);
    const proof = (v.proof ?? []).map(b64);
    const run = () => verifyConsistency(v.size1, v.size2, b64(v.root1), b64(v.root2), proof);
    if (v.wantErr) expectBadProof(run);
    else expect(run).not.toThrow();
    expect(isValidConsistency(v.size1, v.size2, b64(v.root1), b64(v.root2), proof)).toBe(!v.wantErr);
  });

  it('generates exactly the happy-path proofs over the RFC 6962 leaves', () => {
    const log = new MerkleLog(new MemoryLogStore());
    log.appendAll(RFC6962_LEAVES);
    let compared = 0;
    for (const file of inclusion) {
      const v = read<InclusionVector>(file);
      if (
        v.wantErr ||
        v.treeSize > 8 ||
        v.leafHash !== Buffer.from(RFC6962_HASHES[v.leafIdx] ?? []).toString('base64')
      ) {
        continue;
      }
      const want = (v.proof ?? []).map((p) => toHex(b64(p)));
      expect(inclusionProof(RFC6962_HASHES.slice(0, v.treeSize), v.leafIdx).map(toHex)).toEqual(want);
      expect(log.inclusionProof(v.leafIdx, v.treeSize).map(toHex)).toEqual(want);
      compared++;
    }
    for (const file of consistency) {
      const v = read<ConsistencyVector>(file);
      if (v.wantErr || v.size2 > 8 || v.size1 === 0 || toHex(b64(v.root2)) !== RFC6962_ROOTS[v.size2 - 1]) continue;
      const want = (v.proof ?? []).map((p) => toHex(b64(p)));
      expect(consistencyProof(RFC6962_HASHES.slice(0, v.size2), v.size1).map(toHex)).toEqual(want);
      expect(log.consistencyProof(v.size1, v.size2).map(toHex)).toEqual(want);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(8);
  });
});

// ---------------------------------------------------------------------------------------------

describe('RFC 9162 verifiers reject out-of-range input with BAD_PROOF', () => {
  const hashes = RFC6962_HASHES;
  const root = rootFromLeafHashes(hashes);
  const proof = inclusionProof(hashes, 2);
  const leaf = hashes[2] as Uint8Array;
  const junk: unknown[] = [
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    MAX_TREE_SIZE + 2,
    2 ** 64,
    '3',
    null,
    undefined,
    3n,
  ];

  it('rejects bad indexes and sizes', () => {
    for (const j of junk) {
      expectBadProof(() => verifyInclusion(leaf, j as number, 8, proof, root));
      expectBadProof(() => verifyInclusion(leaf, 2, j as number, proof, root));
      expectBadProof(() => verifyConsistency(j as number, 8, root, root, []));
      expectBadProof(() => verifyConsistency(3, j as number, root, root, []));
    }
    expectBadProof(() => verifyInclusion(leaf, 8, 8, proof, root));
    expectBadProof(() => verifyInclusion(leaf, 0, 0, [], emptyRoot()));
    expectBadProof(() => verifyConsistency(5, 4, root, root, []));
  });

  it('rejects malformed proofs, hashes and roots', () => {
    const long = Array.from({ length: 65 }, () => new Uint8Array(32));
    const bad: unknown[] = [null, 'proof', [new Uint8Array(31)], [new Uint8Array(33)], ['00'.repeat(32)], [null], long];
    for (const p of bad) {
      expectBadProof(() => verifyInclusion(leaf, 2, 8, p as Uint8Array[], root));
      expectBadProof(() => verifyConsistency(3, 8, rootFromLeafHashes(hashes.slice(0, 3)), root, p as Uint8Array[]));
    }
    for (const h of [new Uint8Array(31), null, 'ab', new Uint8Array(64)]) {
      expectBadProof(() => verifyInclusion(h as Uint8Array, 2, 8, proof, root));
      expectBadProof(() => verifyInclusion(leaf, 2, 8, proof, h as Uint8Array));
    }
    expectBadProof(() => verifyConsistency(3, 8, new Uint8Array(31), root, consistencyProof(hashes, 3)));
  });

  it('bounds the work: a maximal tree with a 64-hash proof ends quickly', () => {
    const p = Array.from({ length: 64 }, () => new Uint8Array(32));
    expectBadProof(() => verifyInclusion(leaf, MAX_TREE_SIZE - 1, MAX_TREE_SIZE, p, root));
    expectBadProof(() => verifyConsistency(MAX_TREE_SIZE - 1, MAX_TREE_SIZE, root, root, p));
    expectBadProof(() => verifyConsistency(1, MAX_TREE_SIZE, root, root, p));
  });

  it('generators reject sizes beyond the list', () => {
    expectBadProof(() => inclusionProof(hashes, 8));
    expectBadProof(() => inclusionProof(hashes, -1));
    expectBadProof(() => consistencyProof(hashes, 9));
    expectBadProof(() => consistencyProof(hashes, 0));
    expect(consistencyProof(hashes, 8)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Symbolic replay of the RFC verifiers: proof hashes become names, H(a, b) becomes "(a b)". Two
// (index, size) pairs whose replays are equal make the verifier compute the very same thing, so a
// proof for one verifies for the other: the signed checkpoint, not the proof, binds the size.

function symbolicInclusion(index: number, size: number, n: number): string | null {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = 'leaf';
  for (let i = 0; i < n; i++) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = `(p${i} ${r})`;
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else r = `(${r} p${i})`;
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

function symbolicConsistency(m: number, n: number, len: number): string | null {
  if (m === 0 || m >= n || len === 0) return null;
  const path =
    (m & (m - 1)) === 0
      ? ['old', ...Array.from({ length: len }, (_, i) => `p${i}`)]
      : Array.from({ length: len }, (_, i) => `p${i}`);
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as string;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      fr = `(${c} ${fr})`;
      sr = `(${c} ${sr})`;
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else sr = `(${sr} ${c})`;
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? `${fr}|${sr}` : null;
}

/** Leaves of a test log: distinct, derived from their index and a seed. */
function leavesOf(n: number, seed: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => utf8(`leaf ${seed}/${i}`));
}

const logCache = new Map<string, { log: MerkleLog; hashes: Uint8Array[] }>();
function logOf(n: number, seed: number): { log: MerkleLog; hashes: Uint8Array[] } {
  const k = `${n}/${seed}`;
  let entry = logCache.get(k);
  if (entry === undefined) {
    const log = new MerkleLog(new MemoryLogStore());
    const leaves = leavesOf(n, seed);
    log.appendAll(leaves);
    entry = { log, hashes: leaves.map(leafHash) };
    logCache.set(k, entry);
  }
  return entry;
}

/** Flips one bit of one proof element, removes one, or inserts one. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(255) }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** The mutated proof, or null when the mutation does not apply (nothing to flip or remove). */
function mutate(proof: readonly Uint8Array[], m: Mutation): Uint8Array[] | null {
  const out: Uint8Array[] = proof.map((p) => new Uint8Array(p));
  if (m.kind === 'insert') {
    out.splice(m.at % (out.length + 1), 0, m.hash);
    return out;
  }
  if (out.length === 0) return null;
  const at = m.at % out.length;
  if (m.kind === 'flip') {
    const p = out[at] as Uint8Array;
    p[m.bit >>> 3] = (p[m.bit >>> 3] as number) ^ (1 << (m.bit & 7));
  } else if (m.kind === 'remove') out.splice(at, 1);
  else out.splice(at, 0, out[at] as Uint8Array);
  return out;
}

describe('MerkleLog against the RFC definitions (properties)', () => {
  const sized = fc.integer({ min: 1, max: 300 }).chain((size) =>
    fc.record({
      size: fc.constant(size),
      seed: fc.integer({ min: 0, max: 3 }),
      index: fc.nat(size - 1),
      older: fc.integer({ min: 1, max: size }),
    }),
  );

  it('roots and inclusion proofs equal the reference and verify', () => {
    fc.assert(
      fc.property(sized, ({ size, seed, index }) => {
        const { log, hashes } = logOf(size, seed);
        const root = log.root();
        expect(toHex(root)).toBe(toHex(rootFromLeafHashes(hashes)));
        const proof = log.inclusionProof(index, size);
        expect(proof.map(toHex)).toEqual(inclusionProof(hashes, index).map(toHex));
        verifyInclusion(hashes[index] as Uint8Array, index, size, proof, root);
      }),
      { numRuns: 300 },
    );
  });

  it('roots and proofs at past sizes equal the reference and verify', () => {
    fc.assert(
      fc.property(sized, ({ size, seed, index, older }) => {
        const { log, hashes } = logOf(300, seed);
        const prefix = hashes.slice(0, size);
        const root = log.root(size);
        expect(toHex(root)).toBe(toHex(rootFromLeafHashes(prefix)));
        const proof = log.inclusionProof(index, size);
        expect(proof.map(toHex)).toEqual(inclusionProof(prefix, index).map(toHex));
        verifyInclusion(prefix[index] as Uint8Array, index, size, proof, root);
        const cproof = log.consistencyProof(older, size);
        expect(cproof.map(toHex)).toEqual(consistencyProof(prefix, older).map(toHex));
        verifyConsistency(older, size, log.root(older), root, cproof);
      }),
      { numRuns: 300 },
    );
  });

  it('a mutated inclusion proof fails with BAD_PROOF', () => {
    fc.assert(
      fc.property(sized, mutation, ({ size, seed, index }, m) => {
        const { log, hashes } = logOf(size, seed);
        const proof = mutate(log.inclusionProof(index, size), m);
        if (proof === null) return;
        expectBadProof(() => verifyInclusion(hashes[index] as Uint8Array, index, size, proof, log.root()));
      }),
      { numRuns: 400 },
    );
  });

  it('a wrong index or size fails with BAD_PROOF unless the verifier computes the very same thing', () => {
    fc.assert(
      fc.property(
        sized,
        fc.integer({ min: -3, max: 400 }),
        fc.integer({ min: -3, max: 400 }),
        (t, otherIndex, otherSize) => {
          const { log, hashes } = logOf(t.size, t.seed);
          const proof = log.inclusionProof(t.index, t.size);
          const leaf = hashes[t.index] as Uint8Array;
          const root = log.root();
          // Same size, another index: another leaf position, always rejected.
          if (otherIndex !== t.index) expectBadProof(() => verifyInclusion(leaf, otherIndex, t.size, proof, root));
          // Another size (and index): rejected unless the replay is identical.
          for (const [i, n] of [
            [t.index, otherSize],
            [otherIndex, otherSize],
          ] as const) {
            if (i === t.index && n === t.size) continue;
            const err = badProof(() => verifyInclusion(leaf, i, n, proof, root));
            if (err === null) {
              expect(symbolicInclusion(i, n, proof.length)).toBe(symbolicInclusion(t.index, t.size, proof.length));
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a mutated consistency proof, or wrong sizes, fail with BAD_PROOF', () => {
    fc.assert(
      fc.property(sized, mutation, fc.integer({ min: -3, max: 400 }), ({ size, seed, older }, m, other) => {
        if (older === size) return;
        const { log } = logOf(size, seed);
        const oldRoot = log.root(older);
        const root = log.root();
        const proof = log.consistencyProof(older, size);
        const mutated = mutate(proof, m);
        if (mutated !== null) expectBadProof(() => verifyConsistency(older, size, oldRoot, root, mutated));
        for (const [a, b] of [
          [other, size],
          [older, other],
        ] as const) {
          if (a === older && b === size) continue;
          const err = badProof(() => verifyConsistency(a, b, oldRoot, root, proof));
          if (err === null) {
            expect(symbolicConsistency(a, b, proof.length)).toBe(symbolicConsistency(older, size, proof.length));
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never throws anything but BAD_PROOF on arbitrary input', () => {
    const anyProof = fc.oneof(
      fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 70 }),
      fc.anything(),
    );
    const anyNumber = fc.oneof(
      fc.integer({ min: -5, max: 1000 }),
      fc.double(),
      fc.constant(MAX_TREE_SIZE),
      fc.anything(),
    );
    const anyHash = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array(), fc.anything());
    fc.assert(
      fc.property(anyHash, anyNumber, anyNumber, anyProof, anyHash, (h, i, n, p, r) => {
        badProof(() => verifyInclusion(h as Uint8Array, i as number, n as number, p as Uint8Array[], r as Uint8Array));
        badProof(() =>
          verifyConsistency(i as number, n as number, h as Uint8Array, r as Uint8Array, p as Uint8Array[]),
        );
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** Counts reads and writes of a store. */
class CountingStore implements LogStore {
  reads = 0;
  writes = 0;
  constructor(readonly inner: LogStore) {}
  getNode(level: number, index: number): Uint8Array | undefined {
    this.reads++;
    return this.inner.getNode(level, index);
  }
  putNode(level: number, index: number, hash: Uint8Array): void {
    this.writes++;
    this.inner.putNode(level, index, hash);
  }
  size(): number {
    return this.inner.size();
  }
  setSize(n: number): void {
    this.inner.setSize(n);
  }
}

describe('MerkleLog over a LogStore', () => {
  it('writes under 2 nodes per leaf and reads O(log n) nodes per proof', () => {
    const store = new CountingStore(new MemoryLogStore());
    const log = new MerkleLog(store);
    const n = 5000;
    log.appendAll(leavesOf(n, 9));
    expect(store.writes).toBeLessThan(2 * n);
    const bound = 2 * Math.ceil(Math.log2(n)) + 2;
    for (const size of [1, 2, 3, 1024, 1025, 4095, 4999, 5000]) {
      store.reads = 0;
      log.root(size);
      expect(store.reads).toBeLessThanOrEqual(bound);
      for (const index of [0, size >> 1, size - 1]) {
        store.reads = 0;
        log.inclusionProof(index, size);
        expect(store.reads).toBeLessThanOrEqual(bound);
      }
      for (const older of [1, size >> 1, size - 1]) {
        if (older < 1 || older >= size) continue;
        store.reads = 0;
        log.consistencyProof(older, size);
        expect(store.reads).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('reopens on the same store and keeps appending', () => {
    const store = new MemoryLogStore();
    const leaves = leavesOf(77, 5);
    const first = new MerkleLog(store);
    first.appendAll(leaves.slice(0, 40));
    const reopened = new MerkleLog(store);
    expect(reopened.size).toBe(40);
    expect(reopened.appendAll(leaves.slice(40))).toBe(40);
    expect(toHex(reopened.root())).toBe(toHex(rootFromLeafHashes(leaves.map(leafHash))));
    expect(toHex(reopened.leafHash(12))).toBe(toHex(leafHash(leaves[12] as Uint8Array)));
  });

  it('rejects proofs beyond its size with BAD_PROOF', () => {
    const log = new MerkleLog(new MemoryLogStore());
    log.appendAll(leavesOf(10, 1));
    expectBadProof(() => log.root(11));
    expectBadProof(() => log.inclusionProof(10, 10));
    expectBadProof(() => log.inclusionProof(3, 11));
    expectBadProof(() => log.inclusionProof(-1, 5));
    expectBadProof(() => log.consistencyProof(6, 5));
    expectBadProof(() => log.consistencyProof(0, 5));
    expectBadProof(() => log.consistencyProof(3, 11));
    expect(log.consistencyProof(5, 5)).toEqual([]);
    expectBadProof(() => log.appendLeafHash(new Uint8Array(31)));
  });
});
