/**
 * An EVM block header's RLP rebuilt from the JSON an RPC endpoint serves (`eth_getBlockByNumber`),
 * with the fields of each fork by presence: London's `baseFeePerGas`, Shanghai's
 * `withdrawalsRoot`, Cancun's `blobGasUsed`, `excessBlobGas` and `parentBeaconBlockRoot`, Prague's
 * `requestsHash`. The result is checked to hash to the block's hash before anyone signs it, so an
 * endpoint that serves a block whose fields do not match its hash (or a fork this code does not
 * know) is refused here, not attested.
 */
import { decodeEvmHeaderBytes, type EvmHeader } from '@custos/protocol/interop';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex, type Hex, hexToBytes } from 'viem';
import { NodeError } from '../../errors.js';

/** The header fields of an RPC block (hex strings), as `eth_getBlockByNumber` returns them. */
export type RpcBlock = Record<string, unknown>;

const BASE = [
  ['parentHash', 'bytes'],
  ['sha3Uncles', 'bytes'],
  ['miner', 'bytes'],
  ['stateRoot', 'bytes'],
  ['transactionsRoot', 'bytes'],
  ['receiptsRoot', 'bytes'],
  ['logsBloom', 'bytes'],
  ['difficulty', 'uint'],
  ['number', 'uint'],
  ['gasLimit', 'uint'],
  ['gasUsed', 'uint'],
  ['timestamp', 'uint'],
  ['extraData', 'bytes'],
  ['mixHash', 'bytes'],
  ['nonce', 'bytes'],
] as const;
/** Fork fields in header order; each is present from its fork on. */
const OPTIONAL = [
  ['baseFeePerGas', 'uint'],
  ['withdrawalsRoot', 'bytes'],
  ['blobGasUsed', 'uint'],
  ['excessBlobGas', 'uint'],
  ['parentBeaconBlockRoot', 'bytes'],
  ['requestsHash', 'bytes'],
] as const;

/** The header's RLP (`0x` hex) and its checked fields; `BAD_REQUEST` if it does not hash to `block.hash`. */
export function encodeEvmHeader(block: RpcBlock): { rlp: Hex; header: EvmHeader } {
  const fields: Uint8Array[] = [];
  const field = (name: string, kind: 'bytes' | 'uint') => {
    const v = block[name];
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]*$/.test(v)) {
      throw new NodeError('BAD_REQUEST', `block field ${name}: expected hex`);
    }
    if (kind === 'uint') {
      const h = BigInt(v).toString(16);
      fields.push(h === '0' ? new Uint8Array(0) : hexToBytes(`0x${h.length % 2 === 1 ? '0' : ''}${h}`));
    } else {
      fields.push(hexToBytes(v as Hex));
    }
  };
  for (const [name, kind] of BASE) field(name, kind);
  let missing = false;
  for (const [name, kind] of OPTIONAL) {
    if (block[name] === undefined || block[name] === null) {
      missing = true;
      continue;
    }
    if (missing) throw new NodeError('BAD_REQUEST', `block field ${name} present after a missing earlier fork field`);
    field(name, kind);
  }
  const bytes = RLP.encode(fields);
  let header: EvmHeader;
  try {
    // Checked as the decision chain will decode it, from the bytes (no round trip through hex).
    header = decodeEvmHeaderBytes(bytes);
  } catch (e) {
    throw new NodeError('BAD_REQUEST', `block ${String(block.number)}: ${(e as Error).message}`, { cause: e });
  }
  if (header.hash !== String(block.hash).toLowerCase()) {
    throw new NodeError(
      'BAD_REQUEST',
      `block ${String(block.number)}: its header fields do not hash to its hash (an unknown fork, or a lying endpoint)`,
    );
  }
  return { rlp: bytesToHex(bytes), header };
}
