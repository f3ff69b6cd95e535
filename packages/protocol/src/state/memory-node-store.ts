/**
 * In-memory `StateNodeStore` (tests, browsers, benchmarks): a Map from each path, as a one-byte-per-
 * char string, to its node.
 */
import type { NodePath, StateNode, StateNodeStore, StateNodeWrite } from './node.js';

function keyOf(path: NodePath): string {
  let s = '';
  for (let i = 0; i < path.length; i++) s += String.fromCharCode(path[i] as number);
  return s;
}

/**
 * Hashes are copied into fresh 32-byte arrays, which V8 keeps inside its heap: a native hash
 * returns every digest in its own ArrayBuffer, and millions of those make each garbage collection
 * slow. Values are kept as given (`StateTree` already holds its own copy).
 */
function compact(node: StateNode): StateNode {
  if (node.kind === 'internal') return { kind: 'internal', left: new Uint8Array(node.left), right: new Uint8Array(node.right) };
  return { kind: 'leaf', keyHash: new Uint8Array(node.keyHash), valueHash: new Uint8Array(node.valueHash), value: node.value };
}

export class MemoryStateNodeStore implements StateNodeStore {
  readonly #nodes = new Map<string, StateNode>();

  /** Number of stored nodes. */
  get size(): number {
    return this.#nodes.size;
  }

  get(path: NodePath): StateNode | undefined {
    return this.#nodes.get(keyOf(path));
  }

  write(writes: readonly StateNodeWrite[]): void {
    for (const w of writes) {
      if (w.node === null) this.#nodes.delete(keyOf(w.path));
      else this.#nodes.set(keyOf(w.path), compact(w.node));
    }
  }
}
