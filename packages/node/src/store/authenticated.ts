/**
 * The peer's two authenticated structures on top of SQLite: the RFC 9162 history log and the state
 * tree. Changes of a block are staged in memory, handed to `SqliteStore.commitBlock` with the rest
 * of the block, and made visible (`commit`) or dropped (`rollback`) afterwards.
 */
import { hash } from 'node:crypto';
import { utf8 } from '@custos/protocol/encoding';
import { type LogStore, MerkleLog } from '@custos/protocol/merkle';
import {
  decodeStateNode,
  encodeStateNode,
  encodeStateProof,
  type NodePath,
  STATE_INTERNAL_TAG,
  type StateNode,
  type StateNodeStore,
  type StateNodeWrite,
  type StateProofJson,
  StateTree,
} from '@custos/protocol/state';
import type { SqliteStore } from './sqlite.js';

/** Bytes of every state-map hash (SHA-256). */
const STATE_HASH_SIZE = 32;

class StagedLogStore implements LogStore {
  readonly staged = new Map<number, [number, number, Uint8Array]>();
  committedSize: number;
  stagedSize: number;

  constructor(private readonly store: SqliteStore) {
    this.committedSize = store.latestHeader()?.logSize ?? 0;
    this.stagedSize = this.committedSize;
  }

  getNode(level: number, index: number): Uint8Array | undefined {
    return this.staged.get(index * 64 + level)?.[2] ?? this.store.getLogNode(level, index);
  }

  putNode(level: number, index: number, hash: Uint8Array): void {
    this.staged.set(index * 64 + level, [level, index, hash]);
  }

  size(): number {
    return this.stagedSize;
  }

  setSize(n: number): void {
    this.stagedSize = n;
  }
}

/** The history log: one leaf per transaction, across all blocks. */
export class LedgerLog {
  private readonly staging: StagedLogStore;
  private readonly log: MerkleLog;

  constructor(store: SqliteStore) {
    this.staging = new StagedLogStore(store);
    this.log = new MerkleLog(this.staging);
  }

  /** Stages leaves; returns the new root and the nodes to persist with the block. */
  append(leaves: Uint8Array[]): { root: Uint8Array; nodes: Iterable<[number, number, Uint8Array]> } {
    this.log.appendAll(leaves);
    return { root: this.log.root(), nodes: [...this.staging.staged.values()] };
  }

  commit(): void {
    this.staging.staged.clear();
    this.staging.committedSize = this.staging.stagedSize;
  }

  rollback(): void {
    this.staging.staged.clear();
    this.staging.stagedSize = this.staging.committedSize;
  }

  size(): number {
    return this.staging.committedSize;
  }

  root(size: number = this.staging.committedSize): Uint8Array {
    return this.log.root(size);
  }

  inclusionProof(index: number, size: number): Uint8Array[] {
    return this.log.inclusionProof(index, size);
  }

  /** Consistency path; empty from the empty log (every log extends it). */
  consistencyProof(oldSize: number, newSize: number): Uint8Array[] {
    return oldSize === 0 ? [] : this.log.consistencyProof(oldSize, newSize);
  }
}

/**
 * One generation of the node cache, packed: every node's encoded bytes (a leaf without its
 * value) in one growing buffer, found through a Map from path id to a slot number, whose offset
 * and length sit in typed arrays (-1: known absent). The collector sees one Map entry per node
 * with small-integer keys and values (no string or boxed number per node, see `pathId`) and a
 * few buffers, not an object and two or three typed arrays per node; a node is decoded when read.
 */
class PackedGeneration {
  readonly index = new Map<PathId, number>();
  private bytes = new Uint8Array(1 << 20);
  private used = 0;
  private offsets = new Int32Array(1024);
  private lengths = new Uint16Array(1024);
  private slots = 0;

  get size(): number {
    return this.index.size;
  }

  /** The node, null when known absent, undefined when not in this generation. */
  get(id: PathId): StateNode | null | undefined {
    const raw = this.raw(id);
    return raw === undefined || raw === null ? raw : decodeStateNode(raw);
  }

  /** Raw entry (for moving a node to the younger generation without decoding it). */
  raw(id: PathId): Uint8Array | null | undefined {
    const slot = this.index.get(id);
    if (slot === undefined) return undefined;
    if (slot < 0) return null;
    const from = this.offsets[slot] as number;
    return this.bytes.subarray(from, from + (this.lengths[slot] as number));
  }

  set(id: PathId, encoded: Uint8Array | null): void {
    if (encoded === null) {
      this.index.set(id, -1);
      return;
    }
    if (this.used + encoded.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + encoded.length));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    if (this.slots === this.offsets.length) {
      const offsets = new Int32Array(this.slots * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
      const lengths = new Uint16Array(this.slots * 2);
      lengths.set(this.lengths);
      this.lengths = lengths;
    }
    this.bytes.set(encoded, this.used);
    this.offsets[this.slots] = this.used;
    this.lengths[this.slots] = encoded.length;
    this.index.set(id, this.slots);
    this.slots++;
    this.used += encoded.length;
  }
}

/**
 * Read-through cache of state-tree nodes over SQLite; writes go to SQLite with the block. Bounded
 * whatever the size of the state: two packed generations of at most `GENERATION` nodes each; a
 * node read from the older one moves to the younger, and when the younger is full the older is
 * dropped. The nodes every block touches (the top of the tree) so stay cached, and memory does
 * not grow with the number of keys.
 */
class CachedStateNodeStore implements StateNodeStore {
  static readonly GENERATION = 250_000;
  private young = new PackedGeneration();
  private old = new PackedGeneration();

  constructor(private readonly store: SqliteStore) {}

  get(path: NodePath): StateNode | undefined {
    const id = pathId(path);
    const hit = this.young.get(id);
    if (hit !== undefined) return hit ?? undefined;
    const older = this.old.raw(id);
    if (older !== undefined) {
      this.remember(id, older);
      return older === null ? undefined : decodeStateNode(older);
    }
    const bytes = this.store.getTreeNode(path);
    this.remember(id, bytes ?? null);
    return bytes === undefined ? undefined : decodeStateNode(bytes);
  }

  /** Called only after the block holding these writes committed to SQLite. */
  write(writes: readonly StateNodeWrite[]): void {
    for (const w of writes) this.remember(pathId(w.path), w.node === null ? null : encodeStoredNode(w.node));
  }

  /**
   * `write` for nodes already encoded as the store keeps them (`encodeWrites`, the bytes the block
   * wrote to SQLite): the cache copies them instead of encoding every node a second time.
   */
  writeEncoded(writes: readonly (readonly [path: NodePath, encoded: Uint8Array | null])[]): void {
    for (const [path, encoded] of writes) this.remember(pathId(path), encoded);
  }

  private remember(id: PathId, encoded: Uint8Array | null): void {
    if (this.young.size >= CachedStateNodeStore.GENERATION) {
      this.old = this.young;
      this.young = new PackedGeneration();
    }
    this.young.set(id, encoded);
  }
}

const NO_VALUE = new Uint8Array(0);

/** A leaf as the store holds it: hashes only, the value is in the state table. */
function withoutValue(node: StateNode | null): StateNode | null {
  if (node === null || node.kind === 'internal' || node.value.length === 0) return node;
  return { kind: 'leaf', keyHash: node.keyHash, valueHash: node.valueHash, value: NO_VALUE };
}

/** Bytes of a node as the store keeps it (a leaf without its value): what `encodeWrites` packs. */
export function encodeStoredNode(node: StateNode): Uint8Array {
  return encodeStateNode(withoutValue(node) as StateNode);
}

/** A node path as a Map key: a small integer for the paths of the top 6 nibble levels, else a string. */
type PathId = number | string;

/**
 * Paths down to depth 24 bits (all but the deepest nodes below 16^6 keys) as depth * 2^24 plus
 * their up to 3 prefix bytes: at most 25 * 2^24, a small integer V8 keeps unboxed, so such a
 * cache entry costs the collector nothing of its own. Deeper paths as a one-char-per-byte string
 * (paths are short, so a JS loop beats a Buffer round trip); the two forms never collide.
 */
function pathId(path: NodePath): PathId {
  const depth = ((path[0] as number) << 8) | (path[1] as number);
  if (depth <= 24) {
    return depth * 0x1000000 + ((path[2] ?? 0) << 16) + ((path[3] ?? 0) << 8) + (path[4] ?? 0);
  }
  let s = '';
  for (let i = 0; i < path.length; i++) s += String.fromCharCode(path[i] as number);
  return s;
}

/**
 * Encodes node writes into ONE buffer, each write's bytes a view of it: a separate typed array
 * per node would be an off-heap allocation each (slow to make, and work for the GC). Same bytes
 * as `encodeStoredNode`.
 */
function encodeWrites(writes: readonly StateNodeWrite[]): [Uint8Array, Uint8Array | null][] {
  let size = 0;
  for (const w of writes) if (w.node !== null) size += encodedSize(w.node);
  const buf = new Uint8Array(size);
  const out: [Uint8Array, Uint8Array | null][] = new Array(writes.length);
  let at = 0;
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i] as StateNodeWrite;
    const node = w.node;
    if (node === null) {
      out[i] = [w.path, null];
      continue;
    }
    const start = at;
    if (node.kind === 'internal') {
      buf[at] = STATE_INTERNAL_TAG;
      buf[at + 1] = node.mask >>> 8;
      buf[at + 2] = node.mask & 0xff;
      buf[at + 3] = node.leaves >>> 8;
      buf[at + 4] = node.leaves & 0xff;
      buf.set(node.hashes, at + 5);
      at += 5 + node.hashes.length;
    } else {
      // The leaf's value is not stored again: the state table holds it (see LedgerTree).
      buf[at] = 0x00;
      buf.set(node.keyHash, at + 1);
      buf.set(node.valueHash, at + 1 + STATE_HASH_SIZE);
      at += 1 + 2 * STATE_HASH_SIZE;
    }
    out[i] = [w.path, buf.subarray(start, at)];
  }
  return out;
}

function encodedSize(node: StateNode): number {
  return node.kind === 'internal' ? 5 + node.hashes.length : 1 + 2 * STATE_HASH_SIZE;
}

/**
 * SHA-256 of texts (of their UTF-8 bytes, as `sha256(utf8(text))`), each digest a 32-byte view of
 * one buffer per batch: a Buffer per digest would be an off-heap allocation each (see
 * crypto/native.ts). node:crypto encodes the text itself.
 */
class TextDigests {
  private readonly buf: Buffer;
  private used = 0;

  constructor(count: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1, count) * STATE_HASH_SIZE);
  }

  next(text: string): Uint8Array {
    const at = this.used;
    this.buf.write(hash('sha256', text, 'binary'), at, STATE_HASH_SIZE, 'latin1');
    this.used += STATE_HASH_SIZE;
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + at, STATE_HASH_SIZE);
  }
}

/**
 * The state map: every state key with the SHA-256 of its canonical JSON value, as a sparse Merkle
 * tree. Its stored leaves carry the key and value hashes only (their `value` is empty): the value
 * itself is in the state table, so it is written once per change, not twice.
 */
export class LedgerTree {
  private staged: readonly StateNodeWrite[] = [];
  /** The staged writes encoded (the rows the block writes), for the cache at `commit`. */
  private stagedEncoded: [Uint8Array, Uint8Array | null][] = [];

  private constructor(
    private readonly nodes: CachedStateNodeStore,
    private readonly tree: StateTree,
  ) {}

  static load(store: SqliteStore): LedgerTree {
    const nodes = new CachedStateNodeStore(store);
    return new LedgerTree(nodes, new StateTree(nodes));
  }

  /** Stages a block's writes; returns the new root and the encoded node writes to persist with the block. */
  apply(writes: Map<string, string | null>): { root: Uint8Array; writes: [Uint8Array, Uint8Array | null][] } {
    // The tree's leaves carry hashes only, so the keys and values are hashed as text, straight
    // from the strings: no UTF-8 copy of each and no copy of each value kept in a leaf.
    const digests = new TextDigests(2 * writes.size);
    const changes: [Uint8Array, Uint8Array | null][] = [];
    for (const [k, v] of writes) changes.push([digests.next(k), v === null ? null : digests.next(v)]);
    const update = this.tree.computeUpdateOfHashes(changes);
    this.staged = update.writes;
    this.stagedEncoded = encodeWrites(update.writes);
    return { root: update.root, writes: this.stagedEncoded };
  }

  commit(): void {
    this.nodes.writeEncoded(this.stagedEncoded);
    this.staged = [];
    this.stagedEncoded = [];
  }

  rollback(): void {
    this.staged = [];
    this.stagedEncoded = [];
  }

  root(): Uint8Array {
    return this.tree.root();
  }

  prove(key: string): StateProofJson {
    return encodeStateProof(this.tree.prove(utf8(key)));
  }

  /** Proof of `key` against the staged (applied, not yet committed) root: for records kept with the block. */
  proveStaged(key: string): StateProofJson {
    const staged = new Map<PathId, StateNode | null>();
    for (const w of this.staged) staged.set(pathId(w.path), w.node);
    const nodes = this.nodes;
    const overlay: StateNodeStore = {
      get: (path) => {
        const id = pathId(path);
        if (staged.has(id)) return staged.get(id) ?? undefined;
        return nodes.get(path);
      },
      write: () => {
        throw new Error('read-only overlay');
      },
    };
    return encodeStateProof(new StateTree(overlay).prove(utf8(key)));
  }
}
