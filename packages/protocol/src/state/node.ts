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

/**
 * A 16-way node over a subtree with two or more entries, at a depth that is a multiple of 4 bits
 * (a nibble): `mask` has bit i set when child i (the subtree whose next nibble is i) is non-empty,
 * `leaves` has bit i set when that child is a single entry (a leaf), and `hashes` packs the hashes
 * of the non-empty children in nibble order, 32 bytes each. Its hash is the hash of the binary
 * subtree the 16 children span (see `stateInternalNodeHash`): the root is the binary map's.
 */
export interface StateInternalNode {
  readonly kind: 'internal';
  readonly mask: number;
  readonly leaves: number;
  readonly hashes: Uint8Array;
}

/** Bits per level of the 16-way tree. */
export const STATE_NIBBLE_BITS = 4;

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
  return node.kind === 'leaf' ? stateLeafHash(node.keyHash, node.valueHash) : stateInternalNodeHash(node);
}

/** Number of set bits of a 16-bit mask. */
export function popcount16(mask: number): number {
  let m = mask - ((mask >>> 1) & 0x5555);
  m = (m & 0x3333) + ((m >>> 2) & 0x3333);
  m = (m + (m >>> 4)) & 0x0f0f;
  return (m + (m >>> 8)) & 0x1f;
}

/** Hash of child `i` of a 16-way node (a view into `hashes`); undefined when the child is empty. */
export function childHash(node: StateInternalNode, i: number): Uint8Array | undefined {
  if (((node.mask >>> i) & 1) === 0) return undefined;
  const at = popcount16(node.mask & ((1 << i) - 1)) * STATE_HASH_SIZE;
  return node.hashes.subarray(at, at + STATE_HASH_SIZE);
}

/**
 * Hash of the binary subtree over children [lo, lo + size) of a 16-way node, as the compressed
 * binary map defines it: empty (null) when they all are, the hash of a lone leaf when it is the
 * only entry (it sits at the top of the subtree), else H(0x01 || left || right).
 * `single` tells the caller whether the result is a lone leaf.
 */
export function stateSubtreeHash(
  node: StateInternalNode,
  lo: number,
  size: number,
): { hash: Uint8Array; single: boolean } | null {
  const bits = ((1 << size) - 1) << lo;
  if ((node.mask & bits) === 0) return null;
  if (size === 1) return { hash: childHash(node, lo) as Uint8Array, single: ((node.leaves >>> lo) & 1) === 1 };
  const half = size >>> 1;
  const l = stateSubtreeHash(node, lo, half);
  const r = stateSubtreeHash(node, lo + half, half);
  if (l === null) {
    const only = r as { hash: Uint8Array; single: boolean };
    return only.single ? only : { hash: stateInternalHash(EMPTY_HASH, only.hash), single: false };
  }
  if (r === null) return l.single ? l : { hash: stateInternalHash(l.hash, EMPTY_HASH), single: false };
  return { hash: stateInternalHash(l.hash, r.hash), single: false };
}

const EMPTY_HASH = new Uint8Array(STATE_HASH_SIZE);

/** Hash of a 16-way node: the binary subtree over its 16 children (15 hashes at most). */
export function stateInternalNodeHash(node: StateInternalNode): Uint8Array {
  const h = stateSubtreeHash(node, 0, 16);
  if (h === null) throw new Error('state store is inconsistent: an internal node without children');
  return h.hash;
}

/** Nibble `n` of a key hash (high nibble of byte 0 first). */
export function nibbleAt(hash: Uint8Array, n: number): number {
  const b = hash[n >>> 1] as number;
  return (n & 1) === 0 ? b >>> 4 : b & 0x0f;
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

/** Tag of a 16-way internal node's encoding (0x01 was the binary node of the layout before). */
export const STATE_INTERNAL_TAG = 0x02;

/**
 * Bytes of a node for a database: internal = 0x02 || mask (2 bytes, big-endian) || leaves (2
 * bytes) || the children's hashes (32 bytes each, nibble order); leaf = 0x00 || keyHash ||
 * valueHash || value.
 */
export function encodeStateNode(node: StateNode): Uint8Array {
  if (node.kind === 'internal') {
    const out = new Uint8Array(5 + node.hashes.length);
    out[0] = STATE_INTERNAL_TAG;
    out[1] = node.mask >>> 8;
    out[2] = node.mask & 0xff;
    out[3] = node.leaves >>> 8;
    out[4] = node.leaves & 0xff;
    out.set(node.hashes, 5);
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
  if (!(bytes instanceof Uint8Array) || bytes.length < 1) {
    throw new ProtocolError('BAD_ENCODING', 'expected a state node of at least 1 byte');
  }
  if (bytes[0] === STATE_INTERNAL_TAG) {
    const mask = bytes.length >= 5 ? ((bytes[1] as number) << 8) | (bytes[2] as number) : 0;
    const leaves = bytes.length >= 5 ? ((bytes[3] as number) << 8) | (bytes[4] as number) : 0;
    const expected = 5 + popcount16(mask) * STATE_HASH_SIZE;
    if (bytes.length !== expected || mask === 0 || (leaves & ~mask) !== 0) {
      throw new ProtocolError(
        'BAD_ENCODING',
        `expected a 16-way state node of ${expected} bytes with leaves within its mask`,
      );
    }
    // Copies into a plain Uint8Array: a database driver may hand out a Buffer, whose slice is a view.
    return { kind: 'internal', mask, leaves, hashes: new Uint8Array(bytes.subarray(5)) };
  }
  const min = 1 + 2 * STATE_HASH_SIZE;
  if (bytes[0] === 0x00 && bytes.length >= min) {
    const a = new Uint8Array(bytes.subarray(1, 1 + STATE_HASH_SIZE));
    const b = new Uint8Array(bytes.subarray(1 + STATE_HASH_SIZE, min));
    return { kind: 'leaf', keyHash: a, valueHash: b, value: new Uint8Array(bytes.subarray(min)) };
  }
  if (bytes[0] === 0x01) {
    throw new ProtocolError(
      'BAD_ENCODING',
      'a binary state node of the layout before the 16-way tree: convert the store (opening it with this version does)',
    );
  }
  throw new ProtocolError(
    'BAD_ENCODING',
    `expected a state node tag 0 (leaf, at least ${min} bytes) or 2, got ${bytes[0]}`,
  );
}
