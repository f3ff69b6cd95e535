/**
 * In-memory `LogStore` for a `MerkleLog` (tests, browsers, benchmarks): one array of hashes per
 * level, so a log of n leaves holds about 2n hashes.
 */
import type { LogStore } from './rfc9162.js';

export class MemoryLogStore implements LogStore {
  readonly #levels: Uint8Array[][] = [];
  #size = 0;

  getNode(level: number, index: number): Uint8Array | undefined {
    return this.#levels[level]?.[index];
  }

  putNode(level: number, index: number, hash: Uint8Array): void {
    while (this.#levels.length <= level) this.#levels.push([]);
    (this.#levels[level] as Uint8Array[])[index] = hash;
  }

  size(): number {
    return this.#size;
  }

  setSize(n: number): void {
    this.#size = n;
  }
}
