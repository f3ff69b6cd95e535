/**
 * An attester whose EVM chain ran far ahead of the decision chain's attested head (docs/interop.md,
 * "Attested headers"): with transactions in flight, automine makes a block of every prepare and
 * `decide`, and the head can run hundreds of blocks ahead. The attester still attests the head,
 * rather than re-reading, pass after pass, the blocks with events it already attested.
 */
import { describe, expect, it } from 'vitest';
import { EvmAttester } from '../src/interop/evm/member-duties.js';
import { evmXtx, prepareOnEvm, stateOf, useEvmWorld } from './evm-xtx-helpers.js';

const w = useEvmWorld();

describe('an attester far behind the EVM head', () => {
  it('attests the head in a few passes, however many event blocks it attested before', async () => {
    // Four blocks a pass, fewer than the blocks with the contract's events below.
    const attesters = await Promise.all(
      w.d.genesis.members.map((m) =>
        new EvmAttester({
          chain: w.ep,
          signer: w.d.orgs[m.id]!,
          rpcUrl: w.evm.chain.rpcUrl,
          confirmations: 0,
          headEvery: 1,
          maxPerStep: 4,
        }).init(),
      ),
    );
    for (let i = 0; i < 6; i++) {
      const t = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500, amount: 1n });
      await prepareOnEvm(w, t.xtxId, t.leg);
    }
    const highest = () => (stateOf(w, `evmlc/${w.evm.chain.chainId}`) as { highest: number } | null)?.highest;
    const head = async () => Number(await w.evm.publicClient.getBlockNumber());
    const pass = async () => {
      for (const a of attesters) await a.step();
    };
    for (let i = 0; i < 10 && highest() !== (await head()); i++) await pass();
    expect(highest()).toBe(await head());
    // The chain runs ahead by more than the attesters' look-back of 256 blocks.
    await w.evm.mine(300);
    for (let i = 0; i < 3; i++) await pass();
    expect(highest()).toBe(await head());
  }, 120_000);
});
