/**
 * State proofs (see smt.ts): the sibling hashes from the root down to where a key's lookup stops,
 * and what it found there. Verification, and a JSON form (hex strings) with a strict parser for
 * proofs that arrive from outside.
 */
import { describe, equalBytes, fromHex, isHex, toHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { sha256 } from '../hash.js';
import { bitAt, isEmptyHash, STATE_HASH_SIZE, STATE_MAX_DEPTH, samePrefix, stateLeafHash } from './node.js';

/** The leaf where a lookup stopped: the key's own (inclusion) or another key's sharing its path. */
export interface StateProofLeaf {
  readonly keyHash: Uint8Array;
  readonly valueHash: Uint8Array;
}

/**
 * `siblings[i]` is the hash beside the path at depth i + 1 (root first); `leaf` is null when the
 * path ends in an empty subtree.
 */
export interface StateProof {
  readonly siblings: readonly Uint8Array[];
  readonly leaf: StateProofLeaf | null;
}

/** JSON form of a `StateProof`: lower-case hex. */
export interface StateProofJson {
  readonly siblings: readonly string[];
  readonly leaf: { readonly keyHash: string; readonly valueHash: string } | null;
}

/** Preimage of internal node hashes, 0x01 || left || right, reused by every verification. */
const internalInput = new Uint8Array(1 + 2 * STATE_HASH_SIZE);
internalInput[0] = 0x01;

/** The empty-subtree hash; only ever read. */
const EMPTY = new Uint8Array(STATE_HASH_SIZE);

function fail(message: string): never {
  throw new ProtocolError('BAD_PROOF', message);
}

function isHash(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length === STATE_HASH_SIZE;
}

/**
 * Checks that in the map with root `root`, `key` has `value`, or is absent when `value` is null.
 * Throws `BAD_PROOF` on any failure.
 *
 * @example
 * verifyStateProof(header.stateRoot, utf8('kv/consent/42'), canonicalBytes(consent), proof);
 */
export function verifyStateProof(root: Uint8Array, key: Uint8Array, value: Uint8Array | null, proof: StateProof): void {
  if (!(key instanceof Uint8Array)) fail(`expected the key as bytes, got ${describe(key)}`);
  if (value !== null && !(value instanceof Uint8Array))
    fail(`expected the value as bytes or null, got ${describe(value)}`);
  verifyStateProofHashed(root, sha256(key), value === null ? null : sha256(value), proof);
}

/**
 * `verifyStateProof` given SHA-256(key) and SHA-256(value) (null: absent). Costs one hash per
 * sibling plus one for the leaf, if any, and allocates nothing else.
 */
export function verifyStateProofHashed(
  root: Uint8Array,
  keyHash: Uint8Array,
  valueHash: Uint8Array | null,
  proof: StateProof,
): void {
  if (!isHash(root)) fail(`expected a state root of 32 bytes, got ${describe(root)}`);
  if (!isHash(keyHash)) fail(`expected a key hash of 32 bytes, got ${describe(keyHash)}`);
  if (valueHash !== null && !isHash(valueHash)) fail(`expected a value hash of 32 bytes, got ${describe(valueHash)}`);
  if (typeof proof !== 'object' || proof === null) fail(`expected a state proof object, got ${describe(proof)}`);
  const { siblings, leaf } = proof;
  if (!Array.isArray(siblings)) fail(`expected the proof's siblings as an array, got ${describe(siblings)}`);
  const depth = siblings.length;
  if (depth > STATE_MAX_DEPTH) fail(`expected at most ${STATE_MAX_DEPTH} siblings, got ${depth}`);

  let h: Uint8Array;
  if (leaf === null) {
    if (valueHash !== null) fail('proof shows the key absent, but a value was expected');
    h = EMPTY;
  } else {
    if (typeof leaf !== 'object' || !isHash(leaf.keyHash) || !isHash(leaf.valueHash)) {
      fail('expected the proof leaf as { keyHash, valueHash } of 32 bytes each');
    }
    if (!samePrefix(leaf.keyHash, keyHash, depth)) fail(`proof leaf is not on the key's path at depth ${depth}`);
    const same = equalBytes(leaf.keyHash, keyHash);
    if (valueHash === null) {
      if (same) fail('proof shows the key present, but its absence was expected');
    } else {
      if (!same) fail('proof shows the key absent, but a value was expected');
      if (!equalBytes(leaf.valueHash, valueHash)) fail('proof shows the key with a different value');
    }
    h = stateLeafHash(leaf.keyHash, leaf.valueHash);
  }
  // A lone entry or an empty subtree below an internal node has a non-empty sibling, or its
  // parent would not exist: anything else is not a proof from a well-formed tree.
  if (depth > 0 && isHash(siblings[depth - 1]) && isEmptyHash(siblings[depth - 1] as Uint8Array)) {
    fail('proof ends beside an empty subtree, which a well-formed tree never has');
  }
  // The hot loop: one 65-byte preimage buffer, refilled in place; no other allocation.
  const input = internalInput;
  for (let i = depth - 1; i >= 0; i--) {
    const s: unknown = siblings[i];
    if (!(s instanceof Uint8Array) || s.length !== STATE_HASH_SIZE) {
      fail(`expected proof sibling ${i} of 32 bytes, got ${describe(s)}`);
    }
    if (bitAt(keyHash, i) === 0) {
      input.set(h, 1);
      input.set(s, 1 + STATE_HASH_SIZE);
    } else {
      input.set(s, 1);
      input.set(h, 1 + STATE_HASH_SIZE);
    }
    h = sha256(input);
  }
  if (!equalBytes(h, root)) fail('state proof does not lead to the given root');
}

function isBadProof(e: unknown): boolean {
  return e instanceof ProtocolError && e.code === 'BAD_PROOF';
}

/** `verifyStateProof` as a boolean. */
export function isValidStateProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | null,
  proof: StateProof,
): boolean {
  try {
    verifyStateProof(root, key, value, proof);
    return true;
  } catch (e) {
    if (isBadProof(e)) return false;
    throw e;
  }
}

/** JSON form of a proof. */
export function encodeStateProof(proof: StateProof): StateProofJson {
  return {
    siblings: proof.siblings.map(toHex),
    leaf: proof.leaf === null ? null : { keyHash: toHex(proof.leaf.keyHash), valueHash: toHex(proof.leaf.valueHash) },
  };
}

function plainObject(v: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail(`expected ${name} as an object, got ${describe(v)}`);
  const own = Object.keys(v);
  if (own.length !== keys.length || !keys.every((k) => Object.hasOwn(v, k))) {
    fail(`expected ${name} with exactly the fields ${keys.join(', ')}`);
  }
  return v as Record<string, unknown>;
}

function hexHash(v: unknown, name: string): Uint8Array {
  if (!isHex(v, STATE_HASH_SIZE)) fail(`expected ${name} as 64 lower-case hex digits, got ${describe(v)}`);
  return fromHex(v);
}

/**
 * Parses the JSON form of a proof from an untrusted source: exactly the fields of
 * `StateProofJson`, at most 256 siblings, 64 lower-case hex digits per hash. Throws `BAD_PROOF`.
 */
export function parseStateProof(json: unknown): StateProof {
  const o = plainObject(json, 'a state proof', ['siblings', 'leaf']);
  const siblings = o.siblings;
  if (!Array.isArray(siblings)) fail(`expected siblings as an array, got ${describe(siblings)}`);
  if (siblings.length > STATE_MAX_DEPTH) fail(`expected at most ${STATE_MAX_DEPTH} siblings, got ${siblings.length}`);
  const parsed = siblings.map((s: unknown, i) => hexHash(s, `sibling ${i}`));
  if (o.leaf === null) return { siblings: parsed, leaf: null };
  const leaf = plainObject(o.leaf, 'the proof leaf', ['keyHash', 'valueHash']);
  return {
    siblings: parsed,
    leaf: {
      keyHash: hexHash(leaf.keyHash, 'the leaf key hash'),
      valueHash: hexHash(leaf.valueHash, 'the leaf value hash'),
    },
  };
}
