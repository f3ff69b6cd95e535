/**
 * Nodes of the state map (see smt.ts): their hashes, where they are stored, their byte encoding,
 * and `StateNodeStore`, the interface a node's database implements to hold them.
 *
 * Hashes (all SHA-256, 65-byte preimages): leaf = H(0x00 || keyHash || valueHash), internal =
 * H(0x01 || left || right), empty subtree = 32 zero bytes. keyHash = H(key), valueHash = H(value).
 */
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';

/** Bytes in every hash of the state map. */
export const STATE_HASH_SIZE = 32;

/** Depth of the full binary tree over 256-bit key hashes: the longest possible path. */
export const STATE_MAX_DEPTH = 256;

/** A key's entry: stored at the top of the subtree it is alone in. */
export interface StateLeafNode {
  readonly kind: 'leaf';
  readonly keyHash: Uint8Array;
  readonly valueHash: Uint8Array;
  readonly value: Uint8Array;
}

/** A node over a subtree with two or more entries: its children's hashes (zeros for an empty child). */
export interface StateInternalNode {
  readonly kind: 'internal';
  readonly left: Uint8Array;
  readonly right: Uint8Array;
}

export type StateNode = StateLeafNode | StateInternalNode;

/**
 * Position of a node: 2-byte big-endian depth, then the first `depth` bits of the key hashes below
 * it, padded with zero bits to whole bytes. Unique per position and short (5 bytes around a
 * million entries), so a database can use it as the primary key.
 */
export type NodePath = Uint8Array;

/** One change to the stored nodes: `node` null deletes the node at `path`. */
export interface StateNodeWrite {
  readonly path: NodePath;
  readonly node: StateNode | null;
}

/**
 * Storage of the state map's nodes. `get` returns what the last `write` left; `write` applies
 * one batch, all or nothing (the node runs it inside the block's database transaction). Nodes,
 * once written or returned, are never mutated, by the store or by `StateTree`.
 */
export interface StateNodeStore {
  get(path: NodePath): StateNode | undefined;
  write(writes: readonly StateNodeWrite[]): void;
}

const leafInput = new Uint8Array(1 + 2 * STATE_HASH_SIZE);
const internalInput = new Uint8Array(1 + 2 * STATE_HASH_SIZE);
internalInput[0] = 0x01;

/** Leaf hash, H(0x00 || keyHash || valueHash). Both arguments must be 32 bytes. */
export function stateLeafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  leafInput.set(keyHash, 1);
  leafInput.set(valueHash, 1 + STATE_HASH_SIZE);
  return sha256(leafInput);
}

/** Internal node hash, H(0x01 || left || right). Both arguments must be 32 bytes. */
export function stateInternalHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  internalInput.set(left, 1);
  internalInput.set(right, 1 + STATE_HASH_SIZE);
  return sha256(internalInput);
}

/** Hash of a stored node. */
export function stateNodeHash(node: StateNode): Uint8Array {
  return node.kind === 'leaf' ? stateLeafHash(node.keyHash, node.valueHash) : stateInternalHash(node.left, node.right);
}

/** Root of the empty map: 32 zero bytes (a fresh copy). */
export function emptyStateRoot(): Uint8Array {
  return new Uint8Array(STATE_HASH_SIZE);
}

/** True for the empty-subtree hash (32 zero bytes). */
export function isEmptyHash(h: Uint8Array): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false;
  return true;
}

/** Bit `i` of a key hash, most significant bit of byte 0 first: 0 = left, 1 = right. */
export function bitAt(hash: Uint8Array, i: number): number {
  return ((hash[i >>> 3] as number) >>> (7 - (i & 7))) & 1;
}

/** True if `a` and `b` agree on their first `bits` bits. */
export function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >>> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((a[whole] as number) ^ (b[whole] as number)) & mask) === 0;
}

/** Byte-wise order of two hashes (the order of leaves from left to right). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Path of the node at `depth` on the way to `keyHash`. */
export function nodePath(keyHash: Uint8Array, depth: number): NodePath {
  const bytes = (depth + 7) >>> 3;
  const path = new Uint8Array(2 + bytes);
  path[0] = depth >>> 8;
  path[1] = depth & 0xff;
  for (let i = 0; i < bytes; i++) path[2 + i] = keyHash[i] as number;
  const rest = depth & 7;
  if (rest !== 0) path[1 + bytes] = (path[1 + bytes] as number) & ((0xff << (8 - rest)) & 0xff);
  return path;
}

/** Path of the child on side `bit` of the node at `depth` on the way to `keyHash`. */
export function childPath(keyHash: Uint8Array, depth: number, bit: number): NodePath {
  const path = nodePath(keyHash, depth + 1);
  const byte = 2 + (depth >>> 3);
  const mask = 0x80 >>> (depth & 7);
  path[byte] = bit === 1 ? (path[byte] as number) | mask : (path[byte] as number) & ~mask & 0xff;
  return path;
}

/** Depth encoded in a path. */
export function pathDepth(path: NodePath): number {
  return ((path[0] as number) << 8) | (path[1] as number);
}

/**
 * Bytes of a node for a database: internal = 0x01 || left || right (65 bytes), leaf = 0x00 ||
 * keyHash || valueHash || value.
 */
export function encodeStateNode(node: StateNode): Uint8Array {
  if (node.kind === 'internal') {
    const out = new Uint8Array(1 + 2 * STATE_HASH_SIZE);
    out[0] = 0x01;
    out.set(node.left, 1);
    out.set(node.right, 1 + STATE_HASH_SIZE);
    return out;
  }
  const out = new Uint8Array(1 + 2 * STATE_HASH_SIZE + node.value.length);
  out.set(node.keyHash, 1);
  out.set(node.valueHash, 1 + STATE_HASH_SIZE);
  out.set(node.value, 1 + 2 * STATE_HASH_SIZE);
  return out;
}

/** Inverse of `encodeStateNode`; throws `BAD_ENCODING` on anything else. */
export function decodeStateNode(bytes: Uint8Array): StateNode {
  const min = 1 + 2 * STATE_HASH_SIZE;
  if (!(bytes instanceof Uint8Array) || bytes.length < min) {
    throw new ProtocolError('BAD_ENCODING', `expected a state node of at least ${min} bytes`);
  }
  // Copies into plain Uint8Arrays: a database driver may hand out a Buffer, whose slice is a view.
  const a = new Uint8Array(bytes.subarray(1, 1 + STATE_HASH_SIZE));
  const b = new Uint8Array(bytes.subarray(1 + STATE_HASH_SIZE, min));
  if (bytes[0] === 0x01) {
    if (bytes.length !== min) {
      throw new ProtocolError('BAD_ENCODING', `expected an internal state node of ${min} bytes, got ${bytes.length}`);
    }
    return { kind: 'internal', left: a, right: b };
  }
  if (bytes[0] === 0x00) return { kind: 'leaf', keyHash: a, valueHash: b, value: new Uint8Array(bytes.subarray(min)) };
  throw new ProtocolError('BAD_ENCODING', `expected a state node tag 0 or 1, got ${bytes[0]}`);
}
