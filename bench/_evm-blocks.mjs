// The bench's reads of an EVM chain with a block period (HardhatChain's `blockIntervalMs`): the
// receipts of many transactions in flight, and how the blocks of a sweep point were filled.
import { createPublicClient, http } from 'viem';

/** Blocks whose transaction hashes are remembered, for a hash registered after its block was read. */
const RECENT_BLOCKS = 64n;

/**
 * Receipts of transactions on a chain that cuts blocks every period: one poll of the head every
 * `pollMs` for all transactions waiting (a receipt comes with the next block, so each waiter
 * polling on its own would cost a request per transaction per poll), each new block's transaction
 * hashes read once, and a receipt read only for a transaction found in a block.
 */
export function receiptWaiter(pub, pollMs) {
  const waiting = new Map();
  /** Hash -> block number, for the last RECENT_BLOCKS blocks read. */
  const recent = new Map();
  let seen;
  let stopped = false;
  let timer;
  const settle = (hash) => {
    const ws = waiting.get(hash);
    if (ws === undefined) return;
    waiting.delete(hash);
    pub.getTransactionReceipt({ hash }).then(
      (r) => {
        for (const w of ws) w.resolve(r);
      },
      (e) => {
        for (const w of ws) w.reject(e);
      },
    );
  };
  const poll = async () => {
    try {
      const head = await pub.getBlockNumber({ cacheTime: 0 });
      if (seen === undefined) seen = head - 1n;
      const numbers = [];
      for (let n = seen + 1n; n <= head; n++) numbers.push(n);
      const blocks = await Promise.all(numbers.map((blockNumber) => pub.getBlock({ blockNumber })));
      for (const b of blocks) {
        for (const hash of b.transactions) {
          recent.set(hash, b.number);
          settle(hash);
        }
      }
      if (head > (seen ?? head)) seen = head;
      for (const [hash, n] of recent) if (n + RECENT_BLOCKS < head) recent.delete(hash);
    } catch (e) {
      // A poll still in flight when the waiter closed meets the chain stopping: not an error.
      if (!stopped) console.error(`receipts: ${e?.message}`);
    }
    if (!stopped) timer = setTimeout(poll, pollMs);
  };
  poll();
  return {
    wait(hash) {
      return new Promise((resolve, reject) => {
        const ws = waiting.get(hash) ?? [];
        ws.push({ resolve, reject });
        waiting.set(hash, ws);
        if (recent.has(hash)) settle(hash);
      });
    },
    close() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * The blocks after `from` up to `to`: how many, how many hold transactions, and their transactions
 * (read as JSON-RPC batches, after a sweep point, outside its timing).
 */
export async function blockFill(rpcUrl, from, to) {
  const pub = createPublicClient({
    transport: http(rpcUrl, { retryCount: 0, batch: { batchSize: 200 } }),
    cacheTime: 0,
  });
  const numbers = [];
  for (let n = from + 1n; n <= to; n++) numbers.push(n);
  const counts = await Promise.all(numbers.map((blockNumber) => pub.getBlockTransactionCount({ blockNumber })));
  return {
    blocks: numbers.length,
    withTxs: counts.filter((c) => c > 0).length,
    txs: counts.reduce((s, c) => s + c, 0),
  };
}
