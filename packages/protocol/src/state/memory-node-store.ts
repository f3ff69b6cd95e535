/**
 * In-memory `StateNodeStore` (tests, browsers, benchmarks). Nodes live in one packed buffer, 64
 * bytes per node (left || right, or keyHash || valueHash), leaf values in one append-only arena,
 * found through a Map from each path (as a one-byte-per-char string) to its slot. A JavaScript
 * object per node, with its hashes and value as separate typed arrays, costs about 500 bytes of
 * heap and makes every garbage collection of a million-key map slow; this costs about 150.
 */
import { type NodePath, STATE_HASH_SIZE, type StateNode, type StateNodeStore, type StateNodeWrite } from './node.js';

const SLOT = 2 * STATE_HASH_SIZE;
const INTERNAL = 0;
const LEAF = 1;

function keyOf(path: NodePath): string {
  return String.fromCharCode.apply(null, path as unknown as number[]);
}

export class MemoryStateNodeStore implements StateNodeStore {
  readonly #slots = new Map<string, number>();
  #bytes = new Uint8Array(SLOT * 1024);
  #kinds = new Uint8Array(1024);
  /** Where each leaf's value is in the arena, by slot. */
  #valueAt = new Float64Array(1024);
  #valueLength = new Uint32Array(1024);
  #arena = new Uint8Array(64 * 1024);
  #arenaUsed = 0;
  /** Arena bytes no longer referenced (overwritten or deleted values), reclaimed by compaction. */
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
    const at = slot * SLOT;
    const a = this.#bytes.slice(at, at + STATE_HASH_SIZE);
    const b = this.#bytes.slice(at + STATE_HASH_SIZE, at + SLOT);
    if (this.#kinds[slot] === INTERNAL) return { kind: 'internal', left: a, right: b };
    const from = this.#valueAt[slot] as number;
    return {
      kind: 'leaf',
      keyHash: a,
      valueHash: b,
      value: this.#arena.slice(from, from + (this.#valueLength[slot] as number)),
    };
  }

  write(writes: readonly StateNodeWrite[]): void {
    for (const w of writes) {
      const key = keyOf(w.path);
      let slot = this.#slots.get(key);
      if (w.node === null) {
        if (slot === undefined) continue;
        this.#slots.delete(key);
        this.#dropValue(slot);
        this.#free.push(slot);
        continue;
      }
      if (slot === undefined) {
        slot = this.#free.pop() ?? this.#grow();
        this.#slots.set(key, slot);
      } else {
        this.#dropValue(slot);
      }
      const at = slot * SLOT;
      if (w.node.kind === 'internal') {
        this.#kinds[slot] = INTERNAL;
        this.#bytes.set(w.node.left, at);
        this.#bytes.set(w.node.right, at + STATE_HASH_SIZE);
      } else {
        this.#kinds[slot] = LEAF;
        this.#bytes.set(w.node.keyHash, at);
        this.#bytes.set(w.node.valueHash, at + STATE_HASH_SIZE);
        this.#storeValue(slot, w.node.value);
      }
    }
    if (this.#arenaWasted > 1024 * 1024 && this.#arenaWasted * 2 > this.#arenaUsed) this.#compact();
  }

  #dropValue(slot: number): void {
    if (this.#kinds[slot] === LEAF) this.#arenaWasted += this.#valueLength[slot] as number;
    this.#kinds[slot] = INTERNAL;
  }

  #storeValue(slot: number, value: Uint8Array): void {
    if (this.#arenaUsed + value.length > this.#arena.length) {
      const arena = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaUsed + value.length));
      arena.set(this.#arena.subarray(0, this.#arenaUsed));
      this.#arena = arena;
    }
    this.#arena.set(value, this.#arenaUsed);
    this.#valueAt[slot] = this.#arenaUsed;
    this.#valueLength[slot] = value.length;
    this.#arenaUsed += value.length;
  }

  /** Copies the live values into a fresh arena. */
  #compact(): void {
    const old = this.#arena;
    this.#arena = new Uint8Array(Math.max(64 * 1024, this.#arenaUsed - this.#arenaWasted));
    this.#arenaUsed = 0;
    this.#arenaWasted = 0;
    for (const slot of this.#slots.values()) {
      if (this.#kinds[slot] !== LEAF) continue;
      const from = this.#valueAt[slot] as number;
      this.#storeValue(slot, old.subarray(from, from + (this.#valueLength[slot] as number)));
    }
  }

  /** A new slot at the end, doubling the buffers when full. */
  #grow(): number {
    const slot = this.#used++;
    if (slot >= this.#kinds.length) {
      const bytes = new Uint8Array(this.#bytes.length * 2);
      bytes.set(this.#bytes);
      this.#bytes = bytes;
      const kinds = new Uint8Array(this.#kinds.length * 2);
      kinds.set(this.#kinds);
      this.#kinds = kinds;
      const valueAt = new Float64Array(this.#valueAt.length * 2);
      valueAt.set(this.#valueAt);
      this.#valueAt = valueAt;
      const valueLength = new Uint32Array(this.#valueLength.length * 2);
      valueLength.set(this.#valueLength);
      this.#valueLength = valueLength;
    }
    return slot;
  }
}
