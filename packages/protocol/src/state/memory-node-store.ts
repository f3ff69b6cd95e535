/**
 * In-memory `StateNodeStore` (tests, browsers, benchmarks). Every node is kept encoded
 * (`encodeStateNode`) in one append-only arena, found through a Map from its path (as a
 * one-byte-per-char string) to a slot holding its offset and length. A JavaScript object per
 * node, with its hashes and value as separate typed arrays, costs several hundred bytes of heap
 * and makes every garbage collection of a million-key map slow; here the collector sees one Map
 * entry per node and a handful of large buffers.
 */
import {
  decodeStateNode,
  encodeStateNode,
  type NodePath,
  type StateNode,
  type StateNodeStore,
  type StateNodeWrite,
} from './node.js';

function keyOf(path: NodePath): string {
  return String.fromCharCode.apply(null, path as unknown as number[]);
}

export class MemoryStateNodeStore implements StateNodeStore {
  readonly #slots = new Map<string, number>();
  /** Where each node's bytes are in the arena, by slot. */
  #at = new Float64Array(1024);
  #length = new Uint32Array(1024);
  #arena = new Uint8Array(64 * 1024);
  #arenaUsed = 0;
  /** Arena bytes no longer referenced (overwritten or deleted nodes), reclaimed by compaction. */
  #arenaWasted = 0;
  readonly #free: number[] = [];
  #used = 0;

  /** Number of stored nodes. */
  get size(): number {
    return this.#slots.size;
  }

  get(path: NodePath): StateNode | undefined {
    const slot = this.#slots.get(keyOf(path));
    if (slot === undefined) return undefined;
    const from = this.#at[slot] as number;
    return decodeStateNode(this.#arena.subarray(from, from + (this.#length[slot] as number)));
  }

  write(writes: readonly StateNodeWrite[]): void {
    for (const w of writes) {
      const key = keyOf(w.path);
      let slot = this.#slots.get(key);
      if (w.node === null) {
        if (slot === undefined) continue;
        this.#slots.delete(key);
        this.#arenaWasted += this.#length[slot] as number;
        this.#free.push(slot);
        continue;
      }
      if (slot === undefined) {
        slot = this.#free.pop() ?? this.#grow();
        this.#slots.set(key, slot);
      } else {
        this.#arenaWasted += this.#length[slot] as number;
      }
      this.#store(slot, encodeStateNode(w.node));
    }
    if (this.#arenaWasted > 1024 * 1024 && this.#arenaWasted * 2 > this.#arenaUsed) this.#compact();
  }

  #store(slot: number, bytes: Uint8Array): void {
    if (this.#arenaUsed + bytes.length > this.#arena.length) {
      const arena = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaUsed + bytes.length));
      arena.set(this.#arena.subarray(0, this.#arenaUsed));
      this.#arena = arena;
    }
    this.#arena.set(bytes, this.#arenaUsed);
    this.#at[slot] = this.#arenaUsed;
    this.#length[slot] = bytes.length;
    this.#arenaUsed += bytes.length;
  }

  /** Copies the live nodes into a fresh arena. */
  #compact(): void {
    const old = this.#arena;
    this.#arena = new Uint8Array(Math.max(64 * 1024, this.#arenaUsed - this.#arenaWasted));
    this.#arenaUsed = 0;
    this.#arenaWasted = 0;
    for (const slot of this.#slots.values()) {
      const from = this.#at[slot] as number;
      this.#store(slot, old.subarray(from, from + (this.#length[slot] as number)));
    }
  }

  /** A new slot at the end, doubling the slot arrays when full. */
  #grow(): number {
    const slot = this.#used++;
    if (slot >= this.#length.length) {
      const at = new Float64Array(this.#at.length * 2);
      at.set(this.#at);
      this.#at = at;
      const length = new Uint32Array(this.#length.length * 2);
      length.set(this.#length);
      this.#length = length;
    }
    return slot;
  }
}
