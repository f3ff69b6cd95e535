/**
 * Receipt proofs of an EVM chain (docs/interop.md, Design): that a transaction's receipt, with its
 * logs, is in a block, proven against the block header's `receiptsRoot` with the block's
 * receipts trie (Merkle-Patricia, key `rlp(transactionIndex)`, value the consensus encoding of the
 * receipt, EIP-2718 typed). First part of the EVM light client: the header itself still has to be
 * attested by a quorum of members, which is not built yet.
 */
import { createMerkleProof, createMPT, verifyMerkleProof } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import {
  bytesToHex,
  createPublicClient,
  decodeEventLog,
  type Hex,
  hexToBytes,
  http,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';
import { NodeError } from '../../errors.js';
import { CustosParticipant } from './contracts/artifacts.generated.js';

/** Bounds on a proof from outside: nodes on the path, and bytes over all of them. */
export const MAX_PROOF_NODES = 16;
export const MAX_PROOF_BYTES = 64 * 1024;

export interface ReceiptProof {
  blockHash: Hex;
  blockNumber: number;
  receiptsRoot: Hex;
  /** Index of the transaction in its block. */
  index: number;
  /** Trie nodes from the root to the receipt's leaf. */
  proof: Hex[];
}

export interface ProvenLog {
  address: Hex;
  topics: Hex[];
  data: Hex;
}

export interface ProvenReceipt {
  /** EIP-2718 type (0 for a legacy transaction). */
  type: number;
  status: 0 | 1;
  logs: ProvenLog[];
}

const TYPES: Record<string, number> = { legacy: 0, eip2930: 1, eip1559: 2, eip4844: 3, eip7702: 4 };

/** The consensus encoding of a receipt: `type || rlp([status, cumulativeGas, bloom, logs])`. */
export function encodeReceipt(r: TransactionReceipt): Uint8Array {
  const type = TYPES[r.type];
  if (type === undefined) throw new NodeError('BAD_REQUEST', `receipt type ${String(r.type)} is not supported`);
  const body = RLP.encode([
    r.status === 'success' ? Uint8Array.of(1) : new Uint8Array(0),
    uint(r.cumulativeGasUsed),
    hexToBytes(r.logsBloom),
    r.logs.map((l) => [hexToBytes(l.address), l.topics.map((t) => hexToBytes(t)), hexToBytes(l.data)]),
  ]);
  return type === 0 ? body : new Uint8Array([type, ...body]);
}

/** A block's receipts trie, rebuilt from RPC reads and checked against the block's `receiptsRoot`. */
export interface BlockReceipts {
  blockHash: Hex;
  blockNumber: number;
  receiptsRoot: Hex;
  /** The block's transaction hashes, in order. */
  transactions: Hex[];
  trie: Awaited<ReturnType<typeof createMPT>>;
}

/**
 * Reads every receipt of block `blockNumber` and rebuilds its receipts trie; refuses one that does
 * not hash to `receiptsRoot`. The receipts of `known` transactions (an event's, which names its
 * block) are asked for with the block, one round trip instead of two to an endpoint that batches
 * concurrent calls; the others once the block names them. A known one the block does not hold is
 * not used.
 */
export async function buildBlockReceipts(
  client: PublicClient,
  blockNumber: bigint,
  known: readonly Hex[] = [],
): Promise<BlockReceipts> {
  const early = new Map(known.map((hash) => [hash, client.getTransactionReceipt({ hash })]));
  // One the block does not hold is never awaited: its failure is no one's.
  for (const r of early.values()) r.catch(() => {});
  const block = await client.getBlock({ blockNumber });
  const receipts = await Promise.all(
    block.transactions.map((hash) => early.get(hash) ?? client.getTransactionReceipt({ hash })),
  );
  const trie = await createMPT();
  for (const [i, r] of receipts.entries()) await trie.put(RLP.encode(i), encodeReceipt(r));
  const root = bytesToHex(trie.root());
  if (root !== block.receiptsRoot) {
    throw new NodeError('BAD_REQUEST', `the receipts of block ${block.number} do not hash to its receiptsRoot`);
  }
  return {
    blockHash: block.hash,
    blockNumber: Number(block.number),
    receiptsRoot: block.receiptsRoot,
    transactions: [...block.transactions],
    trie,
  };
}

/** The proof of transaction `txHash`'s receipt in a block whose receipts are rebuilt. */
export async function receiptProofIn(b: BlockReceipts, txHash: Hex): Promise<ReceiptProof> {
  const index = b.transactions.indexOf(txHash);
  if (index < 0) throw new NodeError('NOT_FOUND', `transaction ${txHash} is not in block ${b.blockNumber}`);
  const proof = await createMerkleProof(b.trie, RLP.encode(index));
  return {
    blockHash: b.blockHash,
    blockNumber: b.blockNumber,
    receiptsRoot: b.receiptsRoot,
    index,
    proof: proof.map((n) => bytesToHex(n)),
  };
}

/**
 * Builds the proof of `txHash`'s receipt from an RPC endpoint: reads every receipt of its block,
 * rebuilds the receipts trie and checks its root against the block's `receiptsRoot`.
 */
export async function buildReceiptProof(rpcUrl: string, txHash: Hex): Promise<ReceiptProof> {
  const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 1 }) }) as PublicClient;
  const receipt = await client.getTransactionReceipt({ hash: txHash });
  return receiptProofIn(await buildBlockReceipts(client, receipt.blockNumber), txHash);
}

/** The receipt at `index` under `receiptsRoot`; throws BAD_REQUEST for a proof that does not prove one. */
export async function verifyReceiptProof(
  p: Pick<ReceiptProof, 'receiptsRoot' | 'index' | 'proof'>,
): Promise<ProvenReceipt> {
  if (!Array.isArray(p.proof) || p.proof.length === 0 || p.proof.length > MAX_PROOF_NODES) {
    throw new NodeError('BAD_REQUEST', `proof: expected 1 to ${MAX_PROOF_NODES} trie nodes`);
  }
  if (!Number.isSafeInteger(p.index) || p.index < 0) {
    throw new NodeError('BAD_REQUEST', 'index: expected a non-negative integer');
  }
  let bytes = 0;
  const nodes = p.proof.map((n) => {
    if (typeof n !== 'string' || !/^0x(?:[0-9a-fA-F]{2})+$/.test(n)) {
      throw new NodeError('BAD_REQUEST', 'proof: expected 0x-prefixed hex nodes');
    }
    bytes += (n.length - 2) / 2;
    return hexToBytes(n);
  });
  if (bytes > MAX_PROOF_BYTES) throw new NodeError('BAD_REQUEST', `proof: more than ${MAX_PROOF_BYTES} bytes`);
  if (typeof p.receiptsRoot !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(p.receiptsRoot)) {
    throw new NodeError('BAD_REQUEST', 'receiptsRoot: expected 0x and 64 hex digits');
  }
  let value: Uint8Array | null;
  try {
    value = await verifyMerkleProof(RLP.encode(p.index), nodes, { root: hexToBytes(p.receiptsRoot) });
  } catch (e) {
    throw new NodeError('BAD_REQUEST', 'proof: not a valid path from receiptsRoot', { cause: e });
  }
  if (value === null) throw new NodeError('BAD_REQUEST', `proof: no receipt at index ${p.index}`);
  return decodeReceipt(value);
}

/** The participant contract's `Voted` events among a proven receipt's logs emitted by `contract`. */
export function votedEvents(
  receipt: ProvenReceipt,
  contract: Hex,
): { xtxId: Hex; yes: boolean; legHash: Hex; deadline: bigint }[] {
  const out: { xtxId: Hex; yes: boolean; legHash: Hex; deadline: bigint }[] = [];
  if (receipt.status !== 1) return out;
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== contract.toLowerCase()) continue;
    try {
      const ev = decodeEventLog({ abi: CustosParticipant.abi, topics: log.topics as [Hex], data: log.data });
      if (ev.eventName === 'Voted' && ev.args !== undefined) out.push(ev.args);
    } catch {}
  }
  return out;
}

function decodeReceipt(value: Uint8Array): ProvenReceipt {
  const type = value[0]! < 0x7f ? value[0]! : 0;
  const decoded = RLP.decode(type === 0 ? value : value.subarray(1)) as unknown;
  if (!Array.isArray(decoded) || decoded.length !== 4 || !Array.isArray(decoded[3])) {
    throw new NodeError('BAD_REQUEST', 'proof: the proven value is not a receipt');
  }
  const status = decoded[0] as Uint8Array;
  const logs = (decoded[3] as unknown[]).map((l) => {
    const [address, topics, data] = l as [Uint8Array, Uint8Array[], Uint8Array];
    return { address: bytesToHex(address), topics: topics.map((t) => bytesToHex(t)), data: bytesToHex(data) };
  });
  return { type, status: status.length === 1 && status[0] === 1 ? 1 : 0, logs };
}

function uint(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0);
  const h = n.toString(16);
  return hexToBytes(`0x${h.length % 2 === 0 ? h : `0${h}`}`);
}
