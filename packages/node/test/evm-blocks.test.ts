/**
 * An EVM chain with a block period instead of automine (HardhatChain's `blockIntervalMs`), as the
 * chains alliances run cut blocks (Besu/QBFT, Quorum, rollups): it cuts a block every period, empty
 * or not, with every transaction sent meanwhile, and cross-chain transactions whose locks share
 * blocks commit on both sides end to end, with the members' duties and a relayer reading receipts
 * that come a period later. It refuses a period out of bounds, and keeping blocks over a restart
 * (for automining chains only).
 */
import { codeChecker } from '@custos/test-utils';
import { tempDir } from '@custos/test-utils/node';
import type { Address, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeError } from '../src/errors.js';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';
import { HardhatChain, MAX_BLOCK_INTERVAL_MS } from '../src/interop/evm/hardhat.js';
import {
  balance,
  duties,
  type EvmWorld,
  evmRelayer,
  evmXtx,
  lockStatus,
  openEvmWorld,
  outcomeOf,
  prepareOnD,
} from './evm-xtx-helpers.js';
import { kvValue } from './xtx-helpers.js';

const BLOCK_MS = 500;
const expectCode = codeChecker(NodeError);
let tmp: ReturnType<typeof tempDir>;
let w: EvmWorld;

beforeAll(async () => {
  tmp = tempDir();
  w = await openEvmWorld(tmp.dir, 'alpha', { blockIntervalMs: BLOCK_MS });
}, 180_000);

afterAll(async () => {
  await w?.evm.close();
  await w?.d.node.close();
  tmp?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an EVM chain with a block period', () => {
  it('refuses a period that is not an integer from 0 to the bound, and keeping blocks over a restart', async () => {
    for (const blockIntervalMs of [-1, 1.5, MAX_BLOCK_INTERVAL_MS + 1, Number.NaN]) {
      const e = await HardhatChain.start({ blockIntervalMs }).catch((x: unknown) => x);
      expectCode(() => {
        throw e;
      }, 'BAD_REQUEST');
    }
    const e = await w.evm.chain.killKeepingBlocks().catch((x: unknown) => x);
    expectCode(() => {
      throw e;
    }, 'BAD_REQUEST');
    expect(w.evm.chain.running).toBe(true);
  });

  it('cuts blocks without transactions, and one block holds the transactions sent together', async () => {
    expect(w.evm.chain.blockIntervalMs).toBe(BLOCK_MS);
    const pub = w.evm.publicClient;
    const h0 = await pub.getBlockNumber();
    for (let i = 0; i < 200 && (await pub.getBlockNumber()) < h0 + 2n; i++) await sleep(BLOCK_MS / 5);
    expect(await pub.getBlockNumber()).toBeGreaterThanOrEqual(h0 + 2n);
    const [from, to] = [w.evm.accounts[7] as Address, w.evm.accounts[8] as Address];
    const hashes = await Promise.all(
      [1n, 2n, 3n, 4n, 5n, 6n].map((value) =>
        w.evm.walletClient.sendTransaction({ account: from, to, value, chain: null }),
      ),
    );
    const receipts = await Promise.all(hashes.map((hash) => pub.waitForTransactionReceipt({ hash })));
    expect(receipts.every((r) => r.status === 'success')).toBe(true);
    // Sent within a period: one block, or two if a period ended while they were being sent.
    const blocks = new Set(receipts.map((r) => r.blockNumber));
    expect(blocks.size).toBeLessThanOrEqual(2);
    const most = Math.max(...[...blocks].map((b) => receipts.filter((r) => r.blockNumber === b).length));
    expect(most).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('commits cross-chain transactions end to end whose locks, sent together, share blocks', async () => {
    const batch = Array.from({ length: 4 }, () => evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500 }));
    const before = await balance(w, w.receiver);
    for (const t of batch) expect(await prepareOnD(w, t.xtx)).toBe('OK');
    await w.evm.write(
      { address: w.token, abi: LoyaltyToken.abi, functionName: 'approve', args: [w.participant, 40n] },
      w.customer,
    );
    const deadline = (await w.evm.publicClient.getBlockNumber()) + 200n;
    const hashes = await Promise.all(
      batch.map((t) =>
        w.evm.walletClient.writeContract({
          address: w.participant,
          abi: CustosParticipant.abi,
          functionName: 'prepare',
          args: [`0x${t.xtxId}` as Hex, { ...t.leg, amount: BigInt(t.leg.amount) } as never, deadline],
          account: w.customer,
          chain: null,
        }),
      ),
    );
    const receipts = await Promise.all(hashes.map((hash) => w.evm.publicClient.waitForTransactionReceipt({ hash })));
    expect(receipts.every((r) => r.status === 'success')).toBe(true);
    expect(new Set(receipts.map((r) => r.blockNumber)).size).toBeLessThanOrEqual(2);

    // The members' duties and a relayer, pass after pass, until every outcome is proven on D: each
    // step that needs an EVM block (the votes' blocks, the decides mined) waits for the next period.
    const relayer = evmRelayer(w, w.evm.accounts[5] as Address);
    const done = () => batch.every((t) => outcomeOf(w, t.xtxId).evm !== undefined);
    for (let i = 0; i < 600 && !done(); i++) {
      await duties(w);
      await relayer.step();
      if (!done()) await sleep(BLOCK_MS / 5);
    }
    for (const t of batch) {
      expect(outcomeOf(w, t.xtxId)).toEqual({
        decision: 'COMMIT',
        reason: 'all-yes',
        custos: 'committed',
        evm: 'committed',
      });
      expect(kvValue(w.d, t.key)).toBe(t.key);
      expect(await lockStatus(w, t.xtxId, t.leg)).toBe(3);
    }
    expect(await balance(w, w.receiver)).toBe(before + 40n);
  }, 180_000);
});
