/**
 * The ledger's authenticated state map: a compressed binary sparse Merkle tree over SHA-256(key)
 * (the binary form of Diem's Jellyfish Merkle tree). Its root commits to the whole map, and it
 * proves a key's value or its absence with one path of sibling hashes. See docs/adr/0002-state-map.md.
 *
 * Shape: an empty subtree is nothing (hash 32 zero bytes); a subtree holding one entry is that
 * leaf, at the top of the subtree; a subtree holding two or more is an internal node. So the shape,
 * and the root, depend only on the map's contents, never on the order of updates.
 *
 * Storage (docs/adr/0013-hexary-state-tree.md): the binary tree is stored 16-way, as Diem's JMT
 * does: one node per nibble level holds up to 16 child hashes, and its hash is the binary
 * subtree those children span, recomputed on the fly. Roots and proofs are the binary tree's;
 * a path at a million keys is 5-6 stored nodes instead of ~21.
 */
import { describe, equalBytes, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import {
  childHash,
  compareBytes,
  emptyStateRoot,
  type NodePath,
  nibbleAt,
  nodePath,
  STATE_HASH_SIZE,
  STATE_MAX_DEPTH,
  STATE_NIBBLE_BITS,
  type StateInternalNode,
  type StateLeafNode,
  type StateNode,
  type StateNodeStore,
  type StateNodeWrite,
  stateInternalNodeHash,
  stateLeafHash,
  stateNodeHash,
  stateSubtreeHash,
} from './node.js';
import type { StateProof } from './proof.js';

/** New root after a batch, and the node writes that take the store there. */
export interface StateUpdate {
  readonly root: Uint8Array;
  readonly writes: readonly StateNodeWrite[];
}

/** One change of a batch: `value` null deletes the key. */
export type StateChange = readonly [key: Uint8Array, value: Uint8Array | null];

const ROOT_PATH: NodePath = nodePath(new Uint8Array(STATE_HASH_SIZE), 0);

/**
 * The state map over a `StateNodeStore`. Holds nothing itself: every read goes to the store,
 * so a rolled-back database transaction leaves nothing stale behind.
 *
 * @example
 * const tree = new StateTree(new MemoryStateNodeStore());
 * const { root } = tree.apply([[utf8('kv/ns/a'), utf8('{"x":1}')]]);
 * verifyStateProof(root, utf8('kv/ns/a'), utf8('{"x":1}'), tree.prove(utf8('kv/ns/a')));
 * verifyStateProof(root, utf8('kv/ns/b'), null, tree.prove(utf8('kv/ns/b')));
 */
export class StateTree {
  readonly #store: StateNodeStore;

  constructor(store: StateNodeStore) {
    this.#store = store;
  }

  /** Root hash of the map (32 zero bytes when empty). */
  root(): Uint8Array {
    const node = this.#store.get(ROOT_PATH);
    return node === undefined ? emptyStateRoot() : stateNodeHash(node);
  }

  /** Value of `key`, or undefined if absent. */
  get(key: Uint8Array): Uint8Array | undefined {
    return this.getByHash(sha256(checkBytes('key', key)));
  }

  /** Value of the key whose SHA-256 is `keyHash`, or undefined if absent. */
  getByHash(keyHash: Uint8Array): Uint8Array | undefined {
    const leaf = this.#walk(checkKeyHash(keyHash), undefined);
    return leaf !== undefined && equalBytes(leaf.keyHash, keyHash) ? new Uint8Array(leaf.value) : undefined;
  }

  /** Proof of `key`'s current value, or of its absence; check it with `verifyStateProof`. */
  prove(key: Uint8Array): StateProof {
    return this.proveByHash(sha256(checkBytes('key', key)));
  }

  /** `prove` for the key whose SHA-256 is `keyHash`. */
  proveByHash(keyHash: Uint8Array): StateProof {
    const siblings: Uint8Array[] = [];
    const leaf = this.#walk(checkKeyHash(keyHash), siblings);
    return {
      siblings: siblings.map((s) => new Uint8Array(s)),
      leaf:
        leaf === undefined
          ? null
          : { keyHash: new Uint8Array(leaf.keyHash), valueHash: new Uint8Array(leaf.valueHash) },
    };
  }

  /**
   * Applies a batch of changes (later changes of a key win; null deletes) and writes the result to
   * the store in one `write`. Returns the new root and those writes. Each node on a changed path is
   * read once and hashed once per batch, however many changes fall below it.
   */
  apply(changes: Iterable<StateChange>): StateUpdate {
    return this.#commit(this.computeUpdate(changes));
  }

  /** `apply` for changes keyed by SHA-256(key). */
  applyHashed(changes: Iterable<StateChange>): StateUpdate {
    return this.#commit(this.computeUpdateHashed(changes));
  }

  /**
   * What `apply` would do, without writing: the new root and the writes. Valid only until the
   * store changes; pass `writes` to the store's `write` to commit them.
   */
  computeUpdate(changes: Iterable<StateChange>): StateUpdate {
    return this.#update(changes, false);
  }

  /** `computeUpdate` for changes keyed by SHA-256(key). */
  computeUpdateHashed(changes: Iterable<StateChange>): StateUpdate {
    return this.#update(changes, true);
  }

  /**
   * `computeUpdate` for changes given as [SHA-256(key), SHA-256(value) or null]: for a store
   * that keeps the values elsewhere, so its leaves carry none (`value` is empty). Same root and
   * nodes as `computeUpdate` but for the leaves' values. The arrays are kept, not copied.
   */
  computeUpdateOfHashes(changes: Iterable<StateChange>): StateUpdate {
    return this.#update(changes, 'hashes');
  }

  #commit(update: StateUpdate): StateUpdate {
    if (update.writes.length > 0) this.#store.write(update.writes);
    return update;
  }

  #update(changes: Iterable<StateChange>, hashed: boolean | 'hashes'): StateUpdate {
    const list = normalize(changes, hashed);
    if (list.length === 0) return { root: this.root(), writes: [] };
    const batch = new Batch(this.#store);
    const result = batch.update(0, this.#store.get(ROOT_PATH), list, 0, list.length);
    let root: Uint8Array;
    if (result === null) root = emptyStateRoot();
    else if (result instanceof Uint8Array) root = result;
    else root = batch.place(result, ROOT_PATH);
    return { root, writes: batch.writes() };
  }

  /**
   * Follows `keyHash` from the root down the binary map the 16-way nodes encode, to where the
   * lookup stops; returns the leaf there, if any, and collects the binary sibling hashes on the
   * way (root first) when asked: the same proof as the binary tree's.
   */
  #walk(keyHash: Uint8Array, siblings: Uint8Array[] | undefined): StateLeafNode | undefined {
    let node = this.#store.get(ROOT_PATH);
    for (let n = 0; node !== undefined; n++) {
      if (node.kind === 'leaf') return node;
      if (n >= STATE_MAX_NIBBLES) throw corrupt(nodePath(keyHash, n * 4), 'an internal node below depth 256');
      const nibble = nibbleAt(keyHash, n);
      let lo = 0;
      for (let size = 16; ; size >>>= 1) {
        // What children [lo, lo + size) hold, from the masks alone: nothing, one leaf, or more.
        const inRange = node.mask & (((1 << size) - 1) << lo);
        if (inRange === 0) return undefined;
        if ((inRange & (inRange - 1)) === 0 && (node.leaves & inRange) !== 0) {
          const slot = 31 - Math.clz32(inRange);
          const at = childPathNibble(keyHash, n, slot);
          const leaf = read(this.#store, at);
          if (leaf.kind !== 'leaf') throw corrupt(at, 'an internal node marked as a leaf');
          return leaf;
        }
        if (size === 1) break;
        const half = size >>> 1;
        const right = nibble >= lo + half;
        if (siblings !== undefined) {
          const other = stateSubtreeHash(node, right ? lo : lo + half, half);
          siblings.push(other === null ? EMPTY : other.hash);
        }
        if (right) lo += half;
      }
      node = read(this.#store, nodePath(keyHash, (n + 1) * 4));
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array))
    throw new ProtocolError('BAD_ENCODING', `expected the ${name} as bytes, got ${describe(v)}`);
  return v;
}

function checkKeyHash(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== STATE_HASH_SIZE) {
    throw new ProtocolError('BAD_ENCODING', `expected a key hash of 32 bytes, got ${describe(v)}`);
  }
  return v;
}

function checkValueHash(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== STATE_HASH_SIZE) {
    throw new ProtocolError('BAD_ENCODING', `expected a value hash of 32 bytes, got ${describe(v)}`);
  }
  return v;
}

function corrupt(path: NodePath, what: string): Error {
  return new Error(`state store is inconsistent: ${what} at path ${toHex(path)}`);
}

function read(store: StateNodeStore, path: NodePath): StateNode {
  const node = store.get(path);
  if (node === undefined) throw corrupt(path, 'no node under a non-empty hash');
  return node;
}

/** A change with its key hashed; `leaf` null deletes. */
interface Change {
  readonly keyHash: Uint8Array;
  readonly leaf: StateLeafNode | null;
}

const NO_VALUE = new Uint8Array(0);

/**
 * Hashes keys and values, sorts by key hash, keeps the last change of each key. `hashed`: keys
 * are given hashed; 'hashes': keys and values are (leaves without values).
 */
function normalize(changes: Iterable<StateChange>, hashed: boolean | 'hashes'): Change[] {
  const list: Change[] = [];
  for (const change of changes) {
    if (!Array.isArray(change) || change.length !== 2) {
      throw new ProtocolError('BAD_ENCODING', `expected a change as [key, value], got ${describe(change)}`);
    }
    const [key, value] = change;
    if (hashed === 'hashes') {
      const keyHash = checkKeyHash(key);
      const leaf: StateLeafNode | null =
        value === null ? null : { kind: 'leaf', keyHash, valueHash: checkValueHash(value), value: NO_VALUE };
      list.push({ keyHash, leaf });
      continue;
    }
    const keyHash = hashed ? new Uint8Array(checkKeyHash(key)) : sha256(checkBytes('key', key));
    let leaf: StateLeafNode | null = null;
    if (value !== null) {
      const copy = new Uint8Array(checkBytes('value', value));
      leaf = { kind: 'leaf', keyHash, valueHash: sha256(copy), value: copy };
    }
    list.push({ keyHash, leaf });
  }
  list.sort((a, b) => compareBytes(a.keyHash, b.keyHash)); // stable: a key's changes stay in order
  const out: Change[] = [];
  for (let i = 0; i < list.length; i++) {
    const next = list[i + 1];
    const c = list[i] as Change;
    if (next === undefined || !equalBytes(next.keyHash, c.keyHash)) out.push(c);
  }
  return out;
}

/** A subtree holding exactly one entry, whose position is decided by its parent. */
interface Floating {
  readonly leaf: StateLeafNode;
  /** Path key where this leaf is stored now, unchanged; null for a new or changed leaf. */
  readonly from: string | null;
  hash: Uint8Array | undefined;
}

/** A rebuilt subtree: empty, a single entry, or the hash of an internal node already written. */
type Sub = null | Floating | Uint8Array;

function pathKey(path: NodePath): string {
  let s = '';
  for (let i = 0; i < path.length; i++) s += String.fromCharCode(path[i] as number);
  return s;
}

/** The empty-subtree hash; only ever read. */
const EMPTY = new Uint8Array(STATE_HASH_SIZE);

/** Levels of the 16-way tree over 256-bit key hashes. */
const STATE_MAX_NIBBLES = STATE_MAX_DEPTH / STATE_NIBBLE_BITS;

/**
 * One batch (a block's changes): walks the changed paths once, recursively over the sorted
 * changes, and collects the writes; every node touched is built and hashed once. A node that
 * existed on a changed path is "stale" until it is written again; stale paths not rewritten are
 * deleted at the end.
 */
class Batch {
  readonly #store: StateNodeStore;
  readonly #puts = new Map<string, StateNodeWrite>();
  readonly #stale = new Map<string, NodePath>();

  constructor(store: StateNodeStore) {
    this.#store = store;
  }

  /** Rebuilds the subtree at nibble depth `n` on the path of changes[lo] (all of [lo, hi) share that prefix). */
  update(n: number, existing: StateNode | undefined, changes: readonly Change[], lo: number, hi: number): Sub {
    const carrier = (changes[lo] as Change).keyHash;
    if (existing === undefined) {
      const entries: Floating[] = [];
      for (let i = lo; i < hi; i++) {
        const leaf = (changes[i] as Change).leaf;
        if (leaf !== null) entries.push({ leaf, from: null, hash: undefined });
      }
      return this.#build(n, entries, 0, entries.length);
    }
    const path = nodePath(carrier, n * 4);
    const key = pathKey(path);
    this.#stale.set(key, path);
    if (existing.kind === 'leaf') {
      const entries = mergeLeaf(existing, key, changes, lo, hi);
      return this.#build(n, entries, 0, entries.length);
    }
    if (n >= STATE_MAX_NIBBLES) throw corrupt(path, 'an internal node below depth 256');
    const children: (Sub | StoredChild)[] = new Array(16);
    for (let i = 0; i < 16; i++) {
      const h = childHash(existing, i);
      children[i] = h === undefined ? null : { stored: h, leaf: ((existing.leaves >>> i) & 1) === 1 };
    }
    let at = lo;
    while (at < hi) {
      const first = (changes[at] as Change).keyHash;
      const nibble = nibbleAt(first, n);
      let end = at + 1;
      while (end < hi && nibbleAt((changes[end] as Change).keyHash, n) === nibble) end++;
      const before = children[nibble] as Sub | StoredChild;
      const child = before === null ? undefined : read(this.#store, nodePath(first, (n + 1) * 4));
      children[nibble] = this.update(n + 1, child, changes, at, end);
      at = end;
    }
    return this.#combine(n, path, key, carrier, children, existing);
  }

  /** Places a single-entry subtree at `path` (writing it unless it is already there); its hash. */
  place(f: Floating, path: NodePath): Uint8Array {
    const key = pathKey(path);
    if (f.from === key) this.#stale.delete(key);
    else this.#puts.set(key, { path, node: f.leaf });
    f.hash ??= stateLeafHash(f.leaf.keyHash, f.leaf.valueHash);
    return f.hash;
  }

  /** Deletes of stale paths, then puts. */
  writes(): StateNodeWrite[] {
    const out: StateNodeWrite[] = [];
    for (const [key, path] of this.#stale) if (!this.#puts.has(key)) out.push({ path, node: null });
    for (const w of this.#puts.values()) out.push(w);
    return out;
  }

  /** Builds the subtree at nibble depth `n` from entries sorted by key hash; no nodes exist below it. */
  #build(n: number, entries: readonly Floating[], lo: number, hi: number): Sub {
    if (hi === lo) return null;
    const first = entries[lo] as Floating;
    if (hi - lo === 1) return first;
    if (n >= STATE_MAX_NIBBLES) throw new Error('two distinct entries share a 256-bit key hash');
    const children: Sub[] = new Array(16).fill(null);
    let at = lo;
    while (at < hi) {
      const nibble = nibbleAt((entries[at] as Floating).leaf.keyHash, n);
      let end = at + 1;
      while (end < hi && nibbleAt((entries[end] as Floating).leaf.keyHash, n) === nibble) end++;
      children[nibble] = this.#build(n + 1, entries, at, end);
      at = end;
    }
    const carrier = first.leaf.keyHash;
    const path = nodePath(carrier, n * 4);
    return this.#combine(n, path, pathKey(path), carrier, children, undefined);
  }

  /**
   * The subtree at `path` from its 16 children: empty if all are, the lone entry if only one
   * child is non-empty and it is a single entry (it moves up), else a 16-way node written here.
   */
  #combine(
    n: number,
    path: NodePath,
    key: string,
    carrier: Uint8Array,
    children: readonly (Sub | StoredChild)[],
    previous: StateInternalNode | undefined,
  ): Sub {
    let count = 0;
    let only = -1;
    for (let i = 0; i < 16; i++) {
      if (children[i] !== null) {
        count++;
        only = i;
      }
    }
    if (count === 0) return null;
    if (count === 1) {
      const c = children[only] as Floating | Uint8Array | StoredChild;
      if (!(c instanceof Uint8Array) && !('stored' in c)) return c;
      if (!(c instanceof Uint8Array) && c.leaf) {
        const at = childPathNibble(carrier, n, only);
        const node = read(this.#store, at);
        if (node.kind !== 'leaf') throw corrupt(at, 'an internal node marked as a leaf');
        const from = pathKey(at);
        this.#stale.set(from, at);
        return { leaf: node, from, hash: c.stored };
      }
    }
    let mask = 0;
    let leaves = 0;
    const hashes = new Uint8Array(count * STATE_HASH_SIZE);
    let at = 0;
    for (let i = 0; i < 16; i++) {
      const c = children[i] as Sub | StoredChild;
      if (c === null) continue;
      mask |= 1 << i;
      let h: Uint8Array;
      if (c instanceof Uint8Array) h = c;
      else if ('stored' in c) {
        h = c.stored;
        if (c.leaf) leaves |= 1 << i;
      } else {
        h = this.place(c, childPathNibble(c.leaf.keyHash, n, i));
        leaves |= 1 << i;
      }
      hashes.set(h, at);
      at += STATE_HASH_SIZE;
    }
    const node: StateInternalNode = { kind: 'internal', mask, leaves, hashes };
    if (
      previous !== undefined &&
      previous.mask === mask &&
      previous.leaves === leaves &&
      equalBytes(previous.hashes, hashes)
    ) {
      this.#stale.delete(key);
    } else {
      this.#puts.set(key, { path, node });
    }
    return stateInternalNodeHash(node);
  }
}

/** An untouched child of an existing internal node: its stored hash and whether it is a leaf. */
interface StoredChild {
  readonly stored: Uint8Array;
  readonly leaf: boolean;
}

/** Path of child `nibble` of the node at nibble depth `n` on the way to `keyHash`. */
function childPathNibble(keyHash: Uint8Array, n: number, nibble: number): NodePath {
  const path = nodePath(keyHash, (n + 1) * 4);
  const byte = 2 + (n >>> 1);
  if ((n & 1) === 0) path[byte] = (nibble << 4) | ((path[byte] as number) & 0x0f);
  else path[byte] = ((path[byte] as number) & 0xf0) | nibble;
  return path;
}

/** The existing leaf (at path key `from`) merged into the sorted changes: the entries left below. */
function mergeLeaf(
  existing: StateLeafNode,
  from: string,
  changes: readonly Change[],
  lo: number,
  hi: number,
): Floating[] {
  const out: Floating[] = [];
  let pending: Floating | null = { leaf: existing, from, hash: undefined };
  for (let i = lo; i < hi; i++) {
    const c = changes[i] as Change;
    if (pending !== null) {
      const order = compareBytes(c.keyHash, existing.keyHash);
      if (order > 0) {
        out.push(pending);
        pending = null;
      } else if (order === 0) {
        if (c.leaf !== null) out.push(equalBytes(c.leaf.valueHash, existing.valueHash) ? pending : fresh(c.leaf));
        pending = null;
        continue;
      }
    }
    if (c.leaf !== null) out.push(fresh(c.leaf));
  }
  if (pending !== null) out.push(pending);
  return out;
}

function fresh(leaf: StateLeafNode): Floating {
  return { leaf, from: null, hash: undefined };
}
