/**
 * The loops a deployment runs (docs/interop.md#benchmark): each member's EVM duties (`EvmDuties`,
 * as a peer started with `evm.json` runs them) and a relayer (`Relayer.run`), left running. They
 * wake on the decision chain's next block and, for the attesters, on the EVM chain's next head,
 * so a transaction does not wait for their interval at each of its steps: here the interval is a
 * minute and transactions still commit on both sides within seconds. And a relayer does not pay
 * twice for a `decide` that is sent but not yet mined (a chain with block times, not automine).
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { EvmDuties } from '../src/interop/evm/evm-duties.js';
import { Relayer } from '../src/interop/relayer.js';
import {
  balance,
  duties as dutiesOnce,
  evmRelayer,
  evmXtx,
  lockStatus,
  outcomeOf,
  prepareOnD,
  prepareOnEvm,
  runUntilDone,
  stateOf,
  useEvmWorld,
} from './evm-xtx-helpers.js';

const w = useEvmWorld();

const MINUTE = 60_000;
const COMMITTED = 3;

/** Resolves once `done()` holds, checking every 50 ms; rejects after `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`not done within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the duties and the relayer as loops', () => {
  it('carry transactions to commit on both sides without waiting for their one-minute interval', async () => {
    const logs: string[] = [];
    const duties = new EvmDuties(w.attesters, w.signers, MINUTE, (m) => logs.push(m), w.ep);
    const stop = new AbortController();
    const relayer = new Relayer({
      chains: [w.ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { address: w.evm.accounts[5] as Address } }],
    });
    const before = await balance(w, w.receiver);
    duties.start();
    const relaying = relayer.run({ intervalMs: MINUTE, signal: stop.signal });
    try {
      // The loops' first passes find nothing: from then on only new blocks start them.
      await new Promise((r) => setTimeout(r, 300));
      // One after the other, each locked by its holder while the decision chain is quiet: the
      // attesters learn of the vote, and later of the contract's `Decided`, from the EVM head alone.
      const txs = [];
      for (let i = 0; i < 2; i++) {
        const t = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500 });
        expect(await prepareOnD(w, t.xtx)).toBe('OK');
        await new Promise((r) => setTimeout(r, 300));
        await prepareOnEvm(w, t.xtxId, t.leg);
        await until(() => outcomeOf(w, t.xtxId).evm !== undefined, 20_000);
        txs.push(t);
      }
      for (const t of txs) {
        expect(outcomeOf(w, t.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
        expect(await lockStatus(w, t.xtxId, t.leg)).toBe(COMMITTED);
      }
      expect(await balance(w, w.receiver)).toBe(before + 20n);
      expect(logs).toEqual([]);
    } finally {
      stop.abort();
      await relaying;
      await duties.stop();
    }
  }, 120_000);

  it('a decide sent and not yet mined is not sent again by the passes after it', async () => {
    const payer = w.evm.accounts[6] as Address;
    const relayer = evmRelayer(w, payer);
    const t = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500 });
    expect(await prepareOnD(w, t.xtx)).toBe('OK');
    await prepareOnEvm(w, t.xtxId, t.leg);
    const signed = () => {
      const rec = stateOf(w, `xtxevmd/${t.xtxId}/${w.pid}`) as { signatures: unknown[]; threshold: number } | null;
      return rec !== null && rec.signatures.length >= rec.threshold;
    };
    for (let i = 0; i < 10 && !signed(); i++) {
      await dutiesOnce(w);
      // Only up to the signatures: the decide goes out below, with the chain no longer mining.
      if (!signed()) await relayer.step();
    }
    expect(signed()).toBe(true);
    const sentBefore = await w.evm.publicClient.getTransactionCount({ address: payer, blockTag: 'pending' });
    await w.evm.testClient.setAutomine(false);
    try {
      for (let i = 0; i < 3; i++) await relayer.step();
      const pending = await w.evm.publicClient.getTransactionCount({ address: payer, blockTag: 'pending' });
      expect(pending - sentBefore).toBe(1);
    } finally {
      await w.evm.testClient.setAutomine(true);
    }
    await w.evm.mine(1);
    await runUntilDone(w, relayer, t.xtxId);
    expect(outcomeOf(w, t.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    expect(await lockStatus(w, t.xtxId, t.leg)).toBe(COMMITTED);
    expect(await w.evm.publicClient.getTransactionCount({ address: payer })).toBe(sentBefore + 1);
  }, 120_000);
});
