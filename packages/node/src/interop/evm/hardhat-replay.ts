/**
 * A Hardhat chain's blocks kept across a restart of its process. Hardhat (EDR 0.x) keeps its chain
 * in memory only and has no `hardhat_dumpState` / `loadState` (NomicFoundation/hardhat#3599, open;
 * `evm_snapshot` lives in the same memory), so a restart would start a new chain from block 0.
 * Like a real node, which has its blocks on disk, `HardhatChain.restart({ keepBlocks: true })`
 * reads every block with its signed transactions before the process goes, and replays them into
 * the new process: each transaction as it was signed (`eth_sendRawTransaction`), each block mined
 * with its own timestamp and `prevRandao`. The genesis is pinned by `CUSTOS_EVM_GENESIS_TIME`, so
 * the rebuilt chain has the same block hashes; `replayBlocks` checks each one and throws otherwise.
 */
import { type Hex, serializeTransaction, type TransactionSerializable } from 'viem';
import { NodeError } from '../../errors.js';

/** A block as `eth_getBlockByNumber(n, true)` returns it (the fields the replay uses). */
export interface RpcBlock {
  number: Hex;
  hash: Hex;
  timestamp: Hex;
  mixHash: Hex;
  transactions: RpcTx[];
}

interface RpcTx {
  type: Hex;
  chainId?: Hex;
  nonce: Hex;
  to: Hex | null;
  value: Hex;
  input: Hex;
  gas: Hex;
  gasPrice?: Hex;
  maxFeePerGas?: Hex;
  maxPriorityFeePerGas?: Hex;
  accessList?: { address: Hex; storageKeys: Hex[] }[];
  r: Hex;
  s: Hex;
  v: Hex;
  yParity?: Hex;
}

/** At most this many blocks are kept across a restart (a test chain has far fewer). */
export const MAX_REPLAY_BLOCKS = 20_000;

export type Rpc = (method: string, params?: unknown[]) => Promise<unknown>;

/** A JSON-RPC caller of `url`; JSON-RPC errors are thrown with their message. */
export function rpcCaller(url: string): Rpc {
  let id = 0;
  return async (method, params = []) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
    if (body.error !== undefined) throw new Error(`${method}: ${String(body.error.message).slice(0, 300)}`);
    return body.result;
  };
}

/** Every block after genesis, with its transactions, from a running chain. */
export async function readBlocks(rpc: Rpc): Promise<RpcBlock[]> {
  const head = Number.parseInt((await rpc('eth_blockNumber')) as string, 16);
  if (head > MAX_REPLAY_BLOCKS) {
    throw new NodeError(
      'CONFLICT',
      `expected at most ${MAX_REPLAY_BLOCKS} blocks to keep across a restart, got ${head}`,
    );
  }
  const blocks: RpcBlock[] = [];
  for (let n = 1; n <= head; n++) {
    blocks.push((await rpc('eth_getBlockByNumber', [`0x${n.toString(16)}`, true])) as RpcBlock);
  }
  return blocks;
}

/** The transaction as it was signed, from its RPC fields (legacy, EIP-2930 and EIP-1559). */
function rawTx(tx: RpcTx, chainId: number): Hex {
  const common = {
    chainId,
    nonce: Number.parseInt(tx.nonce, 16),
    gas: BigInt(tx.gas),
    value: BigInt(tx.value),
    data: tx.input,
    ...(tx.to === null ? {} : { to: tx.to }),
  };
  const type = Number.parseInt(tx.type, 16);
  let unsigned: TransactionSerializable;
  if (type === 2) {
    unsigned = {
      ...common,
      type: 'eip1559',
      maxFeePerGas: BigInt(tx.maxFeePerGas as Hex),
      maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas as Hex),
      accessList: tx.accessList ?? [],
    };
  } else if (type === 1) {
    unsigned = { ...common, type: 'eip2930', gasPrice: BigInt(tx.gasPrice as Hex), accessList: tx.accessList ?? [] };
  } else if (type === 0) {
    unsigned = { ...common, type: 'legacy', gasPrice: BigInt(tx.gasPrice as Hex) };
  } else {
    throw new NodeError('CONFLICT', `expected transactions of type 0, 1 or 2 to replay, got type ${type}`);
  }
  const yParity = tx.yParity === undefined ? undefined : Number.parseInt(tx.yParity, 16);
  return serializeTransaction(unsigned, {
    r: tx.r,
    s: tx.s,
    ...(type === 0 ? { v: BigInt(tx.v) } : { yParity: yParity ?? Number(BigInt(tx.v) % 2n) }),
  });
}

/**
 * Rebuilds `blocks` on a fresh chain with the same genesis; throws `CONFLICT` at the first block
 * whose hash differs (then the chain is not the same, and the caller must not pretend it is).
 */
export async function replayBlocks(rpc: Rpc, chainId: number, blocks: RpcBlock[]): Promise<void> {
  if (blocks.length === 0) return;
  for (const [i, b] of blocks.entries()) {
    const prev = blocks[i - 1];
    if (prev !== undefined && BigInt(b.timestamp) < BigInt(prev.timestamp)) {
      // hardhat_mine with interval 0 makes such blocks; evm_mine refuses to.
      throw new NodeError(
        'CONFLICT',
        `cannot replay block ${Number.parseInt(b.number, 16)}: its timestamp is before its parent's`,
      );
    }
  }
  await rpc('evm_setAutomine', [false]);
  try {
    for (const b of blocks) {
      for (const tx of b.transactions) await rpc('eth_sendRawTransaction', [rawTx(tx, chainId)]);
      await rpc('hardhat_setPrevRandao', [b.mixHash]);
      await rpc('evm_mine', [Number.parseInt(b.timestamp, 16)]);
      const now = (await rpc('eth_getBlockByNumber', [b.number, false])) as { hash: Hex } | null;
      if (now?.hash !== b.hash) {
        throw new NodeError(
          'CONFLICT',
          `replaying block ${Number.parseInt(b.number, 16)} gave hash ${now?.hash ?? 'none'}, expected ${b.hash}`,
        );
      }
    }
  } finally {
    await rpc('evm_setAutomine', [true]);
  }
}
