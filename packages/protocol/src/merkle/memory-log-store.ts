/**
 * In-memory `LogStore` for a `MerkleLog` (tests, browsers, benchmarks): the hashes of each level
 * packed into one growable buffer, 32 bytes per node, so a log of n leaves holds about 64n bytes.
 * (One small array per hash would cost several times that, and a native hash returns every
 * digest in its own ArrayBuffer: millions of those make each garbage collection slow.)
 */
import type { LogStore } from './rfc9162.js';

const HASH = 32;

export class MemoryLogStore implements LogStore {
  /** Per level: packed hashes, and how many nodes from index 0 are filled. */
  readonly #levels: { bytes: Uint8Array; count: number }[] = [];
  #size = 0;

  /** The stored hash (a view into the store: callers copy before handing it out). */
  getNode(level: number, index: number): Uint8Array | undefined {
    const l = this.#levels[level];
    if (l === undefined || !Number.isInteger(index) || index < 0 || index >= l.count) return undefined;
    return l.bytes.subarray(index * HASH, (index + 1) * HASH);
  }

  /** Stores a hash; nodes of a level are written in index order, as `MerkleLog` does. */
  putNode(level: number, index: number, hash: Uint8Array): void {
    if (hash.length !== HASH) throw new RangeError(`expected a 32-byte hash, got ${hash.length} bytes`);
    while (this.#levels.length <= level) this.#levels.push({ bytes: new Uint8Array(HASH * 16), count: 0 });
    const l = this.#levels[level] as { bytes: Uint8Array; count: number };
    if (!Number.isInteger(index) || index < 0 || index > l.count) {
      throw new RangeError(`expected node index at most ${l.count} at level ${level}, got ${index}`);
    }
    if ((index + 1) * HASH > l.bytes.length) {
      const grown = new Uint8Array(l.bytes.length * 2);
      grown.set(l.bytes);
      l.bytes = grown;
    }
    l.bytes.set(hash, index * HASH);
    if (index === l.count) l.count++;
  }

  size(): number {
    return this.#size;
  }

  setSize(n: number): void {
    this.#size = n;
  }
}
