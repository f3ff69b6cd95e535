/**
 * The relayer's fallback for EVM outcomes (docs/interop.md): it proves the outcomes of a pass to the
 * decision chain D together, in one `xtx.evmDone {outcomes}` list, and D refuses a list whole for
 * one outcome that fails its check. The relayer then sends each outcome alone, so one bad proof
 * does not hold back the others, and the bad one is sent once, not over and over.
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import { parseCrossChainTx, xtxIdOf } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import type { ChainEndpoint } from '../src/interop/endpoint.js';
import { type RelayAction, Relayer } from '../src/interop/relayer.js';
import { duties, evmXtx, lockStatus, outcomeOf, prepareOnD, prepareOnEvm, useEvmWorld } from './evm-xtx-helpers.js';

const w = useEvmWorld();

const COMMITTED = 3;

type Proven = { number: JsonValue; index: JsonValue; proof: JsonValue };

/**
 * D as a relayer reaches it, with one transaction's outcome proof swapped in transit, while
 * `stale.on`, for the proof of its vote: a receipt D attested, holding no `Decided` event.
 */
function staleProofFor(d: ChainEndpoint, xtxId: string): { ep: ChainEndpoint; stale: { on: boolean } } {
  const stale = { on: true };
  let vote: Proven | undefined;
  const forger = nativeSigner(randomSecretKey());
  const ep: ChainEndpoint = {
    ...d,
    async submit(tx) {
      const args = tx.body.args as { [k: string]: JsonValue };
      if (tx.body.type === 'xtx.evmVote' && xtxIdOf(parseCrossChainTx(args.xtx)) === xtxId) {
        vote = { number: args.number as JsonValue, index: args.index as JsonValue, proof: args.proof as JsonValue };
      }
      const outcomes = args.outcomes as { [k: string]: JsonValue }[] | undefined;
      if (tx.body.type !== 'xtx.evmDone' || outcomes === undefined || !stale.on || vote === undefined) {
        return d.submit(tx);
      }
      const forged = outcomes.map((o) => (o.xtxId === xtxId ? { ...o, ...vote } : o));
      return d.submit(signTx({ chainId: tx.body.chainId, type: tx.body.type, args: { outcomes: forged } }, forger));
    },
  };
  return { ep, stale };
}

describe('outcomes D refuses as a list', () => {
  it('land one by one but for the one with a stale proof, which is sent once a pass', async () => {
    const txs = [0, 1, 2].map(() => evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500 }));
    const [first, bad, last] = txs as [(typeof txs)[0], (typeof txs)[0], (typeof txs)[0]];
    const { ep, stale } = staleProofFor(w.ep, bad.xtxId);
    const actions: RelayAction[] = [];
    const relayer = new Relayer({
      chains: [ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { address: w.evm.accounts[5] as Address } }],
      onAction: (a) => actions.push(a),
    });
    for (const t of txs) {
      expect(await prepareOnD(w, t.xtx)).toBe('OK');
      await prepareOnEvm(w, t.xtxId, t.leg);
    }
    const committedOnEvm = async () =>
      (await Promise.all(txs.map((t) => lockStatus(w, t.xtxId, t.leg)))).every((s) => s === COMMITTED);
    for (let i = 0; i < 10 && !(await committedOnEvm()); i++) {
      await duties(w);
      await relayer.step();
    }
    expect(await committedOnEvm()).toBe(true);
    // The three were decided in the same pass: none of their outcomes is proven on D yet.
    expect(txs.map((t) => outcomeOf(w, t.xtxId).evm)).toEqual([undefined, undefined, undefined]);

    // The members attest the blocks of the three `Decided`: the next pass proves them in one list.
    await duties(w);
    const pass = async (): Promise<(xtxId: string) => string[]> => {
      actions.length = 0;
      await relayer.step();
      const done = actions.filter((a) => a.step === 'evmDone');
      return (xtxId) => done.filter((a) => a.xtxId === xtxId).map((a) => a.code);
    };
    let codes = await pass();
    // Refused in the list, then each alone: the good ones land, the stale one is refused once more.
    expect(codes(first.xtxId)).toEqual(['UNAUTHORIZED', 'OK']);
    expect(codes(last.xtxId)).toEqual(['UNAUTHORIZED', 'OK']);
    expect(codes(bad.xtxId)).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED']);
    for (const t of [first, last]) {
      expect(outcomeOf(w, t.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    }
    expect(outcomeOf(w, bad.xtxId).evm).toBeUndefined();

    // A later pass sends the refused outcome once more, alone, and nothing else.
    codes = await pass();
    expect(codes(bad.xtxId)).toEqual(['UNAUTHORIZED']);
    expect(actions.filter((a) => a.step === 'evmDone')).toHaveLength(1);
    // With its proof no longer swapped, the next pass proves it.
    stale.on = false;
    codes = await pass();
    expect(codes(bad.xtxId)).toEqual(['OK']);
    expect(outcomeOf(w, bad.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
  }, 180_000);
});
