/**
 * RFC 9162 (Certificate Transparency 2.0) section 2.1 Merkle tree: the history log's leaf and node
 * hashes, inclusion and consistency proofs (generation and verification), and `MerkleLog`, an
 * append-only log kept as perfect-subtree hashes in a `LogStore` that serves proofs for any past size.
 */
import { equalBytes } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';

/** Longest inclusion or consistency proof accepted: 53 levels fit any size up to 2^53, with margin. */
export const MAX_PROOF_LENGTH = 64;

/** Largest tree size (and so largest index + 1) accepted: beyond it JavaScript numbers lose integers. */
export const MAX_TREE_SIZE = 2 ** 53;

const HASH_SIZE = 32;

/** One 65-byte preimage reused for every node hash (RFC 9162: 0x01 || left || right); never escapes. */
const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/** Node hash of two 32-byte hashes without allocating a preimage (the verifiers' hot path). */
function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

let emptyRootCache: Uint8Array | undefined;

/** MTH({}) = SHA-256(""), the root of the empty tree (a fresh copy). */
export function emptyRoot(): Uint8Array {
  emptyRootCache ??= sha256(new Uint8Array(0));
  return new Uint8Array(emptyRootCache);
}

/** Leaf hash, SHA-256(0x00 || leaf). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + leaf.length);
  input.set(leaf, 1);
  return sha256(input);
}

/** Interior node hash, SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) return hashChildren(left, right);
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

// ---------------------------------------------------------------------------------------------
// Input checks: every failure is BAD_PROOF with a message saying what was expected and what came.

function fail(message: string): never {
  throw new ProtocolError('BAD_PROOF', message);
}

function what(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'number') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v;
}

function checkCount(name: string, n: unknown, max: number): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    fail(`expected ${name} to be an integer from 0 to ${max}, got ${what(n)}`);
  }
}

function checkHash(name: string, h: unknown): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) fail(`expected ${name} of 32 bytes, got ${what(h)}`);
}

function checkBytes(name: string, b: unknown): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) fail(`expected ${name} as bytes, got ${what(b)}`);
}

/** Checks the shape of a proof: an array of at most 64 hashes of 32 bytes each. */
function checkProof(proof: unknown): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) fail(`expected the proof as an array of hashes, got ${what(proof)}`);
  if (proof.length > MAX_PROOF_LENGTH) {
    fail(`expected a proof of at most ${MAX_PROOF_LENGTH} hashes, got ${proof.length}`);
  }
  for (let i = 0; i < proof.length; i++) checkHash(`proof[${i}]`, proof[i]);
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** Largest power of two strictly below `n` (n >= 2): the RFC's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// ---------------------------------------------------------------------------------------------
// Verification, RFC 9162 sections 2.1.3.2 and 2.1.4.2, step by step. Sizes and indexes go up to
// 2^53, beyond 32-bit bitwise operators, so shifts are divisions and LSB is `% 2`.

/**
 * Checks that `leafHash` is the leaf at `index` in the tree of `treeSize` leaves whose root is
 * `root` (RFC 9162 section 2.1.3.2). Throws `BAD_PROOF` on any failure.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkCount('the tree size', treeSize, MAX_TREE_SIZE);
  checkCount('the leaf index', index, MAX_TREE_SIZE);
  if (index >= treeSize) fail(`expected a leaf index below the tree size ${treeSize}, got ${index}`);
  checkHash('a leaf hash', leafHash);
  checkHash('a root', root);
  checkProof(proof);
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) fail(`inclusion proof has ${proof.length} hashes, more than a tree of ${treeSize} needs`);
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail(`inclusion proof has ${proof.length} hashes, fewer than a tree of ${treeSize} needs`);
  if (!equalBytes(r, root))
    fail(`inclusion proof of leaf ${index} does not lead to the given root of tree ${treeSize}`);
}

/**
 * Checks that the tree of `newSize` leaves with root `newRoot` extends the tree of `oldSize` leaves
 * with root `oldRoot` (RFC 9162 section 2.1.4.2). Equal sizes need equal roots and an empty proof;
 * the empty tree's root must be SHA-256(""); a proof from the empty tree proves nothing and is
 * rejected. Throws `BAD_PROOF` on any failure.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  checkCount('the old tree size', oldSize, MAX_TREE_SIZE);
  checkCount('the new tree size', newSize, MAX_TREE_SIZE);
  if (oldSize > newSize) fail(`expected the old size ${oldSize} to be at most the new size ${newSize}`);
  checkBytes('the old root', oldRoot);
  checkBytes('the new root', newRoot);
  checkProof(proof);
  if (oldSize === newSize) {
    if (proof.length !== 0) fail(`expected an empty proof between equal sizes, got ${proof.length} hashes`);
    if (!equalBytes(oldRoot, newRoot)) fail(`the two roots of tree ${oldSize} differ`);
    if (oldSize === 0 && !equalBytes(oldRoot, emptyRoot())) fail('the root of the empty tree must be SHA-256("")');
    return;
  }
  if (oldSize === 0) fail('a consistency proof from the empty tree proves nothing');
  if (proof.length === 0) fail(`expected a non-empty proof from size ${oldSize} to ${newSize}`);
  checkHash('the old root', oldRoot);
  checkHash('the new root', newRoot);

  // Step 2: when the old size is a power of two the old root is the proof's implicit first node.
  const implicitFirst = isPowerOfTwo(oldSize);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  const first = implicitFirst ? oldRoot : (proof[0] as Uint8Array);
  let fr = first;
  let sr = first;
  for (let i = implicitFirst ? 0 : 1; i < proof.length; i++) {
    const c = proof[i] as Uint8Array;
    if (sn === 0) fail(`consistency proof has ${proof.length} hashes, more than ${oldSize} to ${newSize} needs`);
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail(`consistency proof has ${proof.length} hashes, fewer than ${oldSize} to ${newSize} needs`);
  if (!equalBytes(fr, oldRoot)) fail(`consistency proof does not lead to the old root of tree ${oldSize}`);
  if (!equalBytes(sr, newRoot)) fail(`consistency proof does not lead to the new root of tree ${newSize}`);
}

function isBadProof(e: unknown): boolean {
  return e instanceof ProtocolError && e.code === 'BAD_PROOF';
}

/** `verifyInclusion` as a boolean. */
export function isValidInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    verifyInclusion(leafHash, index, treeSize, proof, root);
    return true;
  } catch (e) {
    if (isBadProof(e)) return false;
    throw e;
  }
}

/** `verifyConsistency` as a boolean. */
export function isValidConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  try {
    verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof);
    return true;
  } catch (e) {
    if (isBadProof(e)) return false;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Reference generation from a list of leaf hashes: the RFC's recursive definitions, word for word.
// O(n) per proof; for tests and small logs. `MerkleLog` below computes the same from stored nodes.

/** MTH(D[lo:hi]) of a list of leaf hashes. */
function mth(leafHashes: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 0) return emptyRoot();
  if (n === 1) return leafHashes[lo] as Uint8Array;
  const k = splitPoint(n);
  return nodeHash(mth(leafHashes, lo, lo + k), mth(leafHashes, lo + k, hi));
}

/** Root (MTH) of the tree whose leaves have these hashes; SHA-256("") for none. */
export function rootFromLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  return mth(hashes, 0, hashes.length);
}

/** Inclusion proof of leaf `index` (RFC 9162 section 2.1.3.1, PATH) in the tree of these leaves. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  checkCount('the leaf index', index, MAX_TREE_SIZE);
  if (index >= leafHashes.length) fail(`expected a leaf index below ${leafHashes.length}, got ${index}`);
  const path = (m: number, lo: number, hi: number): Uint8Array[] => {
    const n = hi - lo;
    if (n === 1) return [];
    const k = splitPoint(n);
    if (m < k) return [...path(m, lo, lo + k), mth(leafHashes, lo + k, hi)];
    return [...path(m - k, lo + k, hi), mth(leafHashes, lo, lo + k)];
  };
  return path(index, 0, leafHashes.length);
}

/**
 * Consistency proof from the first `oldSize` leaves to all of them (RFC 9162 section 2.1.4.1,
 * PROOF). Empty when `oldSize` is the full size; `BAD_PROOF` for 0 (nothing to prove).
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number): Uint8Array[] {
  checkCount('the old tree size', oldSize, leafHashes.length);
  if (oldSize === leafHashes.length) return [];
  if (oldSize === 0) fail('a consistency proof from the empty tree proves nothing');
  const subproof = (m: number, lo: number, hi: number, b: boolean): Uint8Array[] => {
    const n = hi - lo;
    if (m === n) return b ? [] : [mth(leafHashes, lo, hi)];
    const k = splitPoint(n);
    if (m <= k) return [...subproof(m, lo, lo + k, b), mth(leafHashes, lo + k, hi)];
    return [...subproof(m - k, lo + k, hi, false), mth(leafHashes, lo, lo + k)];
  };
  return subproof(oldSize, 0, leafHashes.length, true);
}

// ---------------------------------------------------------------------------------------------
// MerkleLog: the node's history log.

/**
 * Where a `MerkleLog` keeps its perfect subtrees: node (level, index) is the root of leaves
 * [index * 2^level, (index + 1) * 2^level). The node implements it on SQLite; `MemoryLogStore`
 * keeps it in memory. `setSize` is the commit point: nodes at or beyond the stored size may be
 * overwritten, so a crash between `putNode` and `setSize` leaves the log at its old size.
 */
export interface LogStore {
  getNode(level: number, index: number): Uint8Array | undefined;
  putNode(level: number, index: number, hash: Uint8Array): void;
  size(): number;
  setSize(n: number): void;
}

/** A perfect subtree of the tree of some size: `count` = 2^level leaves from `start`. */
interface Peak {
  readonly level: number;
  readonly start: number;
}

/**
 * Append-only RFC 9162 log over a `LogStore`. Appending writes 2 nodes per leaf on average;
 * `root`, `inclusionProof` and `consistencyProof` work for any size up to the current one and
 * read O(log n) stored nodes, never the leaves. Hashes it returns are copies, so a caller may
 * mutate them without touching the store.
 *
 * @example
 * const log = new MerkleLog(new MemoryLogStore());
 * log.append(utf8('first event'));
 * verifyInclusion(leafHash(utf8('first event')), 0, log.size, log.inclusionProof(0, log.size), log.root());
 */
export class MerkleLog {
  readonly #store: LogStore;

  constructor(store: LogStore) {
    this.#store = store;
  }

  /** Number of leaves. */
  get size(): number {
    return this.#store.size();
  }

  /** Appends a leaf (hashing it as RFC 9162 does); returns its index. */
  append(leaf: Uint8Array): number {
    return this.#appendHash(leafHash(leaf));
  }

  /** Appends leaves in order (one block's worth); returns the index of the first. */
  appendAll(leaves: Iterable<Uint8Array>): number {
    const first = this.size;
    for (const leaf of leaves) this.append(leaf);
    return first;
  }

  /** Appends a leaf already hashed with `leafHash`; returns its index. */
  appendLeafHash(hash: Uint8Array): number {
    checkHash('a leaf hash', hash);
    return this.#appendHash(new Uint8Array(hash));
  }

  #appendHash(hash: Uint8Array): number {
    const index = this.size;
    if (index >= MAX_TREE_SIZE) throw new RangeError(`the log is full at ${MAX_TREE_SIZE} leaves`);
    this.#store.putNode(0, index, hash);
    // Each completed pair of perfect subtrees becomes one at the level above.
    let level = 0;
    let i = index;
    let h = hash;
    while (isOdd(i)) {
      h = nodeHash(this.#node(level, i - 1), h);
      i = (i - 1) / 2;
      level++;
      this.#store.putNode(level, i, h);
    }
    this.#store.setSize(index + 1);
    return index;
  }

  /** Leaf hash at `index`. */
  leafHash(index: number): Uint8Array {
    this.#checkIndex(index, this.size);
    return new Uint8Array(this.#node(0, index));
  }

  /** Root of the tree of the first `size` leaves (default: all). */
  root(size: number = this.size): Uint8Array {
    this.#checkSize('the tree size', size);
    if (size === 0) return emptyRoot();
    return new Uint8Array(this.#rangeRoot(peaksOf(size)));
  }

  /** Inclusion proof of leaf `index` in the tree of the first `size` leaves. */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.#checkSize('the tree size', size);
    this.#checkIndex(index, size);
    return this.#nodeInclusionPath(0, index, size).map((h) => new Uint8Array(h));
  }

  /**
   * Consistency proof from the tree of `oldSize` leaves to the tree of `newSize` leaves. Empty for
   * equal sizes; `BAD_PROOF` for an old size of 0 (nothing to prove).
   *
   * The proof is the biggest perfect subtree ending at `oldSize` (omitted when it is the whole
   * old tree, a power of two, whose root the verifier has) followed by that subtree's inclusion
   * path in the new tree: the same hashes, in the same order, as the RFC's SUBPROOF.
   */
  consistencyProof(oldSize: number, newSize: number = this.size): Uint8Array[] {
    this.#checkSize('the new tree size', newSize);
    this.#checkSize('the old tree size', oldSize);
    if (oldSize > newSize) fail(`expected the old size ${oldSize} to be at most the new size ${newSize}`);
    if (oldSize === newSize) return [];
    if (oldSize === 0) fail('a consistency proof from the empty tree proves nothing');
    let level = 0;
    let rest = oldSize;
    while (!isOdd(rest)) {
      rest /= 2;
      level++;
    }
    const index = rest - 1;
    const path = this.#nodeInclusionPath(level, index, newSize);
    return (index === 0 ? path : [this.#node(level, index), ...path]).map((h) => new Uint8Array(h));
  }

  /**
   * Inclusion path of the stored node (level, index) in the tree of `size` leaves, which must
   * contain it: siblings inside the peak holding it, then the hash of the smaller peaks to its
   * right, then the bigger peaks to its left, nearest first.
   */
  #nodeInclusionPath(level: number, index: number, size: number): Uint8Array[] {
    const start = index * 2 ** level;
    const peaks = peaksOf(size);
    const at = peaks.findIndex((p) => start >= p.start && start < p.start + 2 ** p.level);
    const peak = peaks[at];
    if (peak === undefined || peak.level < level) throw new RangeError('node is not inside the tree');
    const proof: Uint8Array[] = [];
    for (let l = level; l < peak.level; l++) {
      const i = Math.floor(start / 2 ** l);
      proof.push(this.#node(l, isOdd(i) ? i - 1 : i + 1));
    }
    if (at + 1 < peaks.length) proof.push(this.#rangeRoot(peaks.slice(at + 1)));
    for (let j = at - 1; j >= 0; j--) proof.push(this.#peakHash(peaks[j] as Peak));
    return proof;
  }

  /** Root over consecutive peaks: right-to-left fold, the shape MTH gives an aligned range. */
  #rangeRoot(peaks: readonly Peak[]): Uint8Array {
    let h = this.#peakHash(peaks[peaks.length - 1] as Peak);
    for (let j = peaks.length - 2; j >= 0; j--) h = nodeHash(this.#peakHash(peaks[j] as Peak), h);
    return h;
  }

  #peakHash(p: Peak): Uint8Array {
    return this.#node(p.level, p.start / 2 ** p.level);
  }

  #node(level: number, index: number): Uint8Array {
    const h = this.#store.getNode(level, index);
    if (h === undefined) throw new Error(`log store is missing node ${index} at level ${level}`);
    return h;
  }

  #checkSize(name: string, size: number): void {
    checkCount(name, size, MAX_TREE_SIZE);
    const current = this.size;
    if (size > current) fail(`expected ${name} to be at most the log size ${current}, got ${size}`);
  }

  #checkIndex(index: number, size: number): void {
    checkCount('the leaf index', index, MAX_TREE_SIZE);
    if (index >= size) fail(`expected a leaf index below the tree size ${size}, got ${index}`);
  }
}

/** Perfect subtrees that make up the tree of `size` leaves, biggest (leftmost) first. */
function peaksOf(size: number): Peak[] {
  const peaks: Peak[] = [];
  let start = 0;
  for (let level = 53; level >= 0; level--) {
    const count = 2 ** level;
    if (size - start >= count) {
      peaks.push({ level, start });
      start += count;
    }
  }
  return peaks;
}
