/**
 * A participant contract's `Voted`, `Decided` and `Lapsed` events as a relayer reads them pass after
 * pass: the blocks read before are not read again (a pass used to read every event since the
 * contract's first block, so its cost grew with the chain's history), except the last
 * `REREAD_BLOCKS`, read again so that a shallow reorganization replaces what it undid. A chain that
 * no longer has the block last read (a deeper reorganization, a restarted chain) is read again
 * from the start. A cache only: a relayer that loses it reads everything again.
 */
import type { Address, Hex, PublicClient } from 'viem';
import { CustosParticipant } from './contracts/artifacts.generated.js';

/** The transaction that emitted an event, and its block. */
export interface EventAt {
  txHash: Hex;
  blockNumber: number;
}

/** Recent blocks read again every pass. */
const REREAD_BLOCKS = 64n;
/** Events kept at most; past it the index starts again from the contract's first block. */
const MAX_EVENTS = 200_000;

export class ContractEvents {
  private index = new Map<string, EventAt>();
  /** The last block read, with its hash (to notice a chain that changed under it). */
  private scanned: { number: bigint; hash: Hex } | undefined;

  constructor(
    private readonly pub: PublicClient,
    private readonly contract: Address,
    private readonly fromBlock: bigint,
  ) {}

  /** The events up to the chain's head by `<event>/<xtxId>/<legHash>` (hex id without `0x`), first one kept. */
  async read(): Promise<Map<string, EventAt>> {
    const last = this.scanned;
    const [head, still] = await Promise.all([
      this.pub.getBlock({ blockTag: 'latest' }),
      last === undefined
        ? undefined
        : this.pub.getBlock({ blockNumber: last.number }).then(
            (b) => b.hash,
            () => undefined,
          ),
    ]);
    if (head.number === null || head.hash === null) throw new Error('the EVM endpoint returned a pending block');
    const known = last !== undefined && still === last.hash && this.index.size < MAX_EVENTS;
    const from = known ? maxOf(this.fromBlock, last.number - REREAD_BLOCKS + 1n) : this.fromBlock;
    const logs =
      from > head.number
        ? []
        : await this.pub.getContractEvents({
            address: this.contract,
            abi: CustosParticipant.abi,
            fromBlock: from,
            toBlock: head.number,
          });
    const index = known ? this.index : new Map<string, EventAt>();
    for (const [key, at] of index) if (BigInt(at.blockNumber) >= from) index.delete(key);
    for (const l of logs) {
      const { xtxId, legHash } = l.args as { xtxId?: string; legHash?: string };
      if (xtxId === undefined || legHash === undefined || l.transactionHash == null || l.blockNumber == null) continue;
      const key = `${l.eventName}/${xtxId.slice(2)}/${legHash}`;
      if (!index.has(key)) index.set(key, { txHash: l.transactionHash, blockNumber: Number(l.blockNumber) });
    }
    this.index = index;
    this.scanned = { number: head.number, hash: head.hash };
    return index;
  }
}

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
