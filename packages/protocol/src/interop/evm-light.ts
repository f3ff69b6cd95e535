/**
 * The EVM light client's checks (docs/interop.md, "Vote: EVM to Custos"): a block header's RLP
 * hashed and checked against the attested block hash, a Merkle-Patricia proof of a receipt against
 * the header's `receiptsRoot`, the receipt's consensus encoding decoded, the participant
 * contract's `Voted` and `Decided` events read from it, and a leg's `legHash` as the contract
 * computes it. Synchronous and free of Node modules, so a peer's executor and a browser run the
 * same code.
 */
import { RLP } from '@ethereumjs/rlp';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes, describe, fromHex, toHex, utf8 } from '../bytes.js';
import { ProtocolError } from '../errors.js';

/** What a member attests about an EVM block, as the arguments of `evm.attestHeader`. */
export const EVM_HEADER_DOMAIN = 'custos/evm/header/v1';
/** Largest header RLP accepted (a Prague mainnet header is about 600 bytes). */
export const MAX_EVM_HEADER_BYTES = 2048;
/** Bounds on a receipt proof from outside: nodes on the path, and bytes over all of them. */
export const MAX_EVM_PROOF_NODES = 16;
export const MAX_EVM_PROOF_BYTES = 64 * 1024;
/**
 * The decision chain records COMMIT only while every EVM lock's deadline is at least this many
 * blocks after the highest attested block of its chain: the time left to deliver the certificate
 * before anyone may release the lock (the EVM counterpart of `XTX_FINALIZE_MARGIN_MS`).
 */
export const EVM_MARGIN_BLOCKS = 20;
/**
 * The decision chain records COMMIT of an EVM leg only while the newest attested header of its
 * chain is at most this much older (its timestamp) than the decision chain's block time: the margin
 * is counted from the highest attested block, so a view left behind by stopped attesters would let
 * it commit a lock that already expired. Until attesters catch up, `xtx.decide` waits (CONFLICT).
 */
export const EVM_MAX_VIEW_AGE_MS = 10 * 60 * 1000;
/** Header field counts accepted: pre-London 15, London 16, Shanghai 17, Cancun 20, Prague 21. */
const HEADER_FIELDS = new Set([15, 16, 17, 20, 21]);
/** Fixed sizes of header fields (by index); the others are integers (at most 32 bytes) or extraData. */
const FIXED: Record<number, number> = {
  0: 32,
  1: 32,
  2: 20,
  3: 32,
  4: 32,
  5: 32,
  6: 256,
  13: 32,
  14: 8,
  16: 32,
  19: 32,
  20: 32,
};
const EXTRA_DATA = 12;

export type Hex32 = `0x${string}`;

/** The parts of a verified header the light client keeps. */
export interface EvmHeader {
  hash: Hex32;
  parentHash: Hex32;
  number: number;
  receiptsRoot: Hex32;
  timestamp: number;
}

export interface EvmLog {
  address: string;
  topics: string[];
  data: string;
}

export interface EvmReceipt {
  /** EIP-2718 type (0 for a legacy transaction). */
  type: number;
  status: 0 | 1;
  logs: EvmLog[];
}

/** A leg of an EVM participant: `amount` (decimal string, uint256) of ERC-20 `token` from `from` to `to`. */
export interface EvmLeg {
  token: string;
  from: string;
  to: string;
  amount: string;
}

/** `keccak256(abi.encode(token, from, to, amount))`, the contract's `legHash`, as 0x hex. */
export function evmLegHash(leg: EvmLeg): Hex32 {
  return `0x${toHex(keccak_256(concatBytes(word(leg.token, 20), word(leg.from, 20), word(leg.to, 20), amountWord(leg.amount))))}`;
}

/**
 * Decodes an untrusted header RLP (`0x` hex), checks its shape field by field and returns its hash
 * (keccak-256 of the RLP) with the fields the client keeps. Throws `BAD_PROOF` naming what is wrong.
 */
export function decodeEvmHeader(rlpHex: unknown): EvmHeader {
  return decodeEvmHeaderBytes(hexBytes(rlpHex, 'header', MAX_EVM_HEADER_BYTES));
}

/** `decodeEvmHeader` of the RLP as bytes (an attester checks the header it built without hex). */
export function decodeEvmHeaderBytes(bytes: Uint8Array): EvmHeader {
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_EVM_HEADER_BYTES) {
    throw bad(`header: expected at most ${MAX_EVM_HEADER_BYTES} bytes`);
  }
  let decoded: unknown;
  try {
    decoded = RLP.decode(bytes);
  } catch (cause) {
    throw new ProtocolError('BAD_PROOF', 'header: not valid RLP', { cause });
  }
  if (!Array.isArray(decoded) || !HEADER_FIELDS.has(decoded.length)) {
    throw bad(`header: expected a list of ${[...HEADER_FIELDS].join(', ')} fields (a pre-London to Prague header)`);
  }
  const fields = decoded as unknown[];
  for (const [i, f] of fields.entries()) {
    if (!(f instanceof Uint8Array)) throw bad(`header: field ${i} is a list, expected bytes`);
    const size = FIXED[i];
    if (size !== undefined && f.length !== size)
      throw bad(`header: field ${i} has ${f.length} bytes, expected ${size}`);
    if (size === undefined && i !== EXTRA_DATA && (f.length > 32 || (f.length > 0 && f[0] === 0))) {
      throw bad(`header: field ${i} is not a canonical integer`);
    }
  }
  const f = fields as Uint8Array[];
  return {
    hash: `0x${toHex(keccak_256(bytes))}`,
    parentHash: `0x${toHex(f[0] as Uint8Array)}`,
    number: safeInt(f[8] as Uint8Array, 'number'),
    receiptsRoot: `0x${toHex(f[5] as Uint8Array)}`,
    timestamp: safeInt(f[11] as Uint8Array, 'timestamp'),
  };
}

/**
 * The receipt at `index` in the receipts trie of `receiptsRoot`, from a proof (trie nodes from the
 * root, `0x` hex). Throws `BAD_PROOF` for a proof that does not lead there, or proves no receipt.
 */
export function verifyEvmReceiptProof(receiptsRoot: string, index: number, proof: unknown): EvmReceipt {
  if (!Number.isSafeInteger(index) || index < 0) throw bad('index: expected a non-negative integer');
  if (!Array.isArray(proof) || proof.length === 0 || proof.length > MAX_EVM_PROOF_NODES) {
    throw bad(`proof: expected 1 to ${MAX_EVM_PROOF_NODES} trie nodes`);
  }
  let total = 0;
  const nodes = proof.map((n, i) => {
    const b = hexBytes(n, `proof[${i}]`, MAX_EVM_PROOF_BYTES);
    total += b.length;
    return b;
  });
  if (total > MAX_EVM_PROOF_BYTES) throw bad(`proof: more than ${MAX_EVM_PROOF_BYTES} bytes`);
  const value = trieGet(hexBytes(receiptsRoot, 'receiptsRoot', 32), RLP.encode(index), nodes);
  if (value === null) throw bad(`proof: no receipt at index ${index}`);
  return decodeEvmReceipt(value);
}

/** A receipt's consensus encoding: `type || rlp([status, cumulativeGas, bloom, logs])` (legacy: no type byte). */
export function decodeEvmReceipt(value: Uint8Array): EvmReceipt {
  const first = value[0];
  if (first === undefined) throw bad('receipt: empty');
  const type = first < 0x7f ? first : 0;
  let decoded: unknown;
  try {
    decoded = RLP.decode(type === 0 ? value : value.subarray(1));
  } catch (cause) {
    throw new ProtocolError('BAD_PROOF', 'receipt: not valid RLP', { cause });
  }
  if (!Array.isArray(decoded) || decoded.length !== 4 || !Array.isArray(decoded[3])) {
    throw bad('receipt: expected [status, cumulativeGasUsed, logsBloom, logs]');
  }
  const status = decoded[0];
  if (!(status instanceof Uint8Array)) throw bad('receipt: expected a status, not a pre-Byzantium state root list');
  const logs = (decoded[3] as unknown[]).map((l, i) => {
    if (!Array.isArray(l) || l.length !== 3) throw bad(`receipt: log ${i} is not [address, topics, data]`);
    const [address, topics, data] = l as unknown[];
    if (!(address instanceof Uint8Array) || address.length !== 20 || !(data instanceof Uint8Array)) {
      throw bad(`receipt: log ${i} has a malformed address or data`);
    }
    if (
      !Array.isArray(topics) ||
      topics.length > 4 ||
      !topics.every((t) => t instanceof Uint8Array && t.length === 32)
    ) {
      throw bad(`receipt: log ${i} has malformed topics`);
    }
    return {
      address: `0x${toHex(address)}`,
      topics: (topics as Uint8Array[]).map((t) => `0x${toHex(t)}`),
      data: `0x${toHex(data)}`,
    };
  });
  return { type, status: status.length === 1 && status[0] === 1 ? 1 : 0, logs };
}

const VOTED_TOPIC = `0x${toHex(keccak_256(utf8('Voted(bytes32,bool,bytes32,uint64)')))}`;
const DECIDED_TOPIC = `0x${toHex(keccak_256(utf8('Decided(bytes32,bytes32,bool,uint64)')))}`;
const LAPSED_TOPIC = `0x${toHex(keccak_256(utf8('Lapsed(bytes32,bytes32)')))}`;

/** A `Voted(xtxId, yes, legHash, deadline)` event of the participant contract. */
export interface EvmVoteEvent {
  xtxId: string;
  yes: boolean;
  legHash: Hex32;
  deadline: number;
}

/** The `Voted` events emitted by `contract` in a successful receipt (none in a failed one). */
export function evmVotedEvents(receipt: EvmReceipt, contract: string): EvmVoteEvent[] {
  if (receipt.status !== 1) return [];
  const out: EvmVoteEvent[] = [];
  for (const log of receipt.logs) {
    if (log.address !== contract.toLowerCase() || log.topics[0] !== VOTED_TOPIC || log.topics.length !== 2) continue;
    const data = fromHex(log.data.slice(2), (log.data.length - 2) / 2);
    if (data.length !== 96) continue;
    const yes = uintOf(data.subarray(0, 32));
    const deadline = uintOf(data.subarray(64, 96));
    if (yes > 1n || deadline >= 1n << 64n) continue;
    out.push({
      xtxId: (log.topics[1] as string).slice(2),
      yes: yes === 1n,
      legHash: `0x${toHex(data.subarray(32, 64))}`,
      deadline: Number(deadline),
    });
  }
  return out;
}

/** The `Decided(xtxId, legHash, commit, epoch)` events emitted by `contract` in a successful receipt. */
export function evmDecidedEvents(
  receipt: EvmReceipt,
  contract: string,
): { xtxId: string; legHash: Hex32; commit: boolean; epoch: number }[] {
  if (receipt.status !== 1) return [];
  const out: { xtxId: string; legHash: Hex32; commit: boolean; epoch: number }[] = [];
  for (const log of receipt.logs) {
    if (log.address !== contract.toLowerCase() || log.topics[0] !== DECIDED_TOPIC || log.topics.length !== 2) continue;
    const data = fromHex(log.data.slice(2), (log.data.length - 2) / 2);
    if (data.length !== 96 || uintOf(data.subarray(32, 64)) > 1n) continue;
    const epoch = uintOf(data.subarray(64, 96));
    if (epoch > BigInt(Number.MAX_SAFE_INTEGER)) continue;
    out.push({
      xtxId: (log.topics[1] as string).slice(2),
      legHash: `0x${toHex(data.subarray(0, 32))}`,
      commit: uintOf(data.subarray(32, 64)) === 1n,
      epoch: Number(epoch),
    });
  }
  return out;
}

/** The `Lapsed(xtxId, legHash)` events (a lock released after its deadline) emitted by `contract` in a successful receipt. */
export function evmLapsedEvents(receipt: EvmReceipt, contract: string): { xtxId: string; legHash: Hex32 }[] {
  if (receipt.status !== 1) return [];
  const out: { xtxId: string; legHash: Hex32 }[] = [];
  for (const l of receipt.logs) {
    if (l.address !== contract.toLowerCase() || l.topics[0] !== LAPSED_TOPIC || l.topics.length !== 2) continue;
    if (l.data.length !== 2 + 64) continue;
    out.push({ xtxId: (l.topics[1] as string).slice(2), legHash: l.data as Hex32 });
  }
  return out;
}

/**
 * Walks a Merkle-Patricia proof from `root` along `key`: each node referenced by hash must hash to
 * its reference, nodes shorter than 32 bytes are inline. Returns the value, or null when the proof
 * shows the key absent. Every node given must be used.
 */
function trieGet(root: Uint8Array, key: Uint8Array, proof: Uint8Array[]): Uint8Array | null {
  const path: number[] = [];
  for (const b of key) path.push(b >> 4, b & 15);
  let used = 0;
  let pos = 0;
  const fetch = (ref: Uint8Array): unknown[] => {
    const node = proof[used++];
    if (node === undefined) throw bad('proof: a node on the path is missing');
    if (!equal(keccak_256(node), ref)) throw bad(`proof: node ${used - 1} does not hash to its reference`);
    return decodeNode(node);
  };
  const follow = (ref: unknown): unknown[] | null => {
    if (ref instanceof Uint8Array) {
      if (ref.length === 0) return null;
      if (ref.length !== 32) throw bad('proof: a child reference is neither a hash nor an inline node');
      return fetch(ref);
    }
    if (Array.isArray(ref)) return ref;
    throw bad('proof: malformed child reference');
  };
  let node: unknown[] | null = fetch(root);
  let value: Uint8Array | null = null;
  for (let steps = 0; node !== null && steps < 128; steps++) {
    if (node.length === 17) {
      if (pos === path.length) {
        value = asBytes(node[16]);
        break;
      }
      node = follow(node[path[pos++] as number]);
      continue;
    }
    if (node.length !== 2) throw bad('proof: a trie node is neither a branch, an extension nor a leaf');
    const encoded = asBytes(node[0]);
    const flag = (encoded[0] ?? 0) >> 4;
    if (flag > 3) throw bad('proof: bad hex-prefix flag');
    const nibbles: number[] = flag & 1 ? [(encoded[0] as number) & 15] : [];
    for (const b of encoded.subarray(1)) nibbles.push(b >> 4, b & 15);
    const matches = nibbles.every((n, i) => path[pos + i] === n);
    if (flag & 2) {
      value = matches && pos + nibbles.length === path.length ? asBytes(node[1]) : null;
      break;
    }
    if (!matches) break;
    pos += nibbles.length;
    node = follow(node[1]);
  }
  if (used !== proof.length) throw bad('proof: it has nodes off the path');
  return value === null || value.length === 0 ? null : value;
}

function decodeNode(bytes: Uint8Array): unknown[] {
  let d: unknown;
  try {
    d = RLP.decode(bytes);
  } catch (cause) {
    throw new ProtocolError('BAD_PROOF', 'proof: a node is not valid RLP', { cause });
  }
  if (!Array.isArray(d)) throw bad('proof: a node is not a list');
  return d;
}

function asBytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw bad('proof: expected bytes in a trie node');
  return v;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function uintOf(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${toHex(b)}`);
}

function safeInt(b: Uint8Array, what: string): number {
  const n = uintOf(b);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`header: ${what} is too large`);
  return Number(n);
}

function hexBytes(v: unknown, what: string, max: number): Uint8Array {
  if (typeof v !== 'string' || !/^0x(?:[0-9a-fA-F]{2})+$/.test(v)) {
    throw bad(`${what}: expected 0x-prefixed hex bytes, got ${describe(v)}`);
  }
  const n = (v.length - 2) / 2;
  if (n > max) throw bad(`${what}: more than ${max} bytes`);
  if (what === 'receiptsRoot' && n !== 32) throw bad('receiptsRoot: expected 32 bytes');
  return fromHex(v.slice(2).toLowerCase(), n);
}

function word(address: string, size: number): Uint8Array {
  if (typeof address !== 'string' || !/^0x[0-9a-f]{40}$/.test(address)) {
    throw new ProtocolError('BAD_ENCODING', `expected a lower-case 0x address, got ${describe(address)}`);
  }
  return concatBytes(new Uint8Array(32 - size), fromHex(address.slice(2), size));
}

function amountWord(amount: string): Uint8Array {
  if (typeof amount !== 'string' || !/^[1-9][0-9]{0,77}$/.test(amount) || BigInt(amount) >= 1n << 256n) {
    throw new ProtocolError('BAD_ENCODING', `expected amount as a positive decimal uint256, got ${describe(amount)}`);
  }
  return fromHex(BigInt(amount).toString(16).padStart(64, '0'), 32);
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_PROOF', message);
}
