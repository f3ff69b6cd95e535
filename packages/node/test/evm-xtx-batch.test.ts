/**
 * Several EVM legs decided in one EVM transaction, end to end (docs/interop.md, "Several decisions
 * in one call"): a Custos decision chain D and a real Hardhat chain, members' attesters and signers
 * and a relayer. The legs ready in one relayer pass go to the contract in one `decideMany`; their
 * `Decided` events share one receipt, and their outcomes go back to D in one `xtx.evmDone` list
 * that carries that receipt's proof once. D refuses an outcome without a proof that no earlier
 * outcome of its list gives. A batch the contract refuses (a token that fails a payment) is sent
 * again leg by leg, so the other legs go through.
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { buildXtx } from '@custos/sdk';
import { type Address, decodeFunctionData } from 'viem';
import { describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import type { ChainEndpoint } from '../src/interop/endpoint.js';
import { CustosParticipant } from '../src/interop/evm/contracts/artifacts.generated.js';
import { type RelayAction, Relayer } from '../src/interop/relayer.js';
import { RefusingToken } from './contracts/artifacts.generated.js';
import {
  balance,
  duties,
  evmXtx,
  lockStatus,
  outcomeOf,
  prepareOnD,
  prepareOnEvm,
  stateOf,
  useEvmWorld,
} from './evm-xtx-helpers.js';
import { freshKey, kvValue } from './xtx-helpers.js';

const w = useEvmWorld();

const LOCKED = { committed: 3, aborted: 4 };
type Outcome = { [k: string]: JsonValue };

/** D as a relayer reaches it, keeping the `xtx.evmDone` lists it submits and D's answers. */
function watched(d: ChainEndpoint): { ep: ChainEndpoint; lists: { outcomes: Outcome[]; code: string }[] } {
  const lists: { outcomes: Outcome[]; code: string }[] = [];
  const ep: ChainEndpoint = {
    ...d,
    async submit(tx) {
      const r = await d.submit(tx);
      const outcomes = (tx.body.args as { outcomes?: Outcome[] }).outcomes;
      if (tx.body.type === 'xtx.evmDone' && outcomes !== undefined) lists.push({ outcomes, code: r.code });
      return r;
    },
  };
  return { ep, lists };
}

describe('legs decided in one decideMany', () => {
  it('two COMMITs and an ABORT: one EVM transaction, one receipt proven once on D, both sides agree', async () => {
    const deadlineHeight = w.d.node.latest().height + 300;
    // The holder has approved nothing yet: the first prepare is refused, a NO vote (an ABORT).
    const no = evmXtx(w, { deadlineHeight, amount: 7n });
    const yes = [evmXtx(w, { deadlineHeight, amount: 10n }), evmXtx(w, { deadlineHeight, amount: 12n })];
    for (const t of [no, ...yes]) expect(await prepareOnD(w, t.xtx)).toBe('OK');
    await prepareOnEvm(w, no.xtxId, no.leg, { approve: false });
    for (const t of yes) await prepareOnEvm(w, t.xtxId, t.leg);
    const receiverBefore = await balance(w, w.receiver);
    const { ep, lists } = watched(w.ep);
    const actions: RelayAction[] = [];
    const relayer = new Relayer({
      chains: [ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { address: w.evm.accounts[6] as Address } }],
      onAction: (a) => actions.push(a),
    });
    const all = [no, ...yes];
    for (let i = 0; i < 25 && !all.every((t) => outcomeOf(w, t.xtxId).evm !== undefined); i++) {
      await duties(w);
      await relayer.step();
    }
    expect(outcomeOf(w, no.xtxId)).toMatchObject({ decision: 'ABORT', custos: 'aborted', evm: 'aborted' });
    for (const t of yes) {
      expect(outcomeOf(w, t.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
      expect(kvValue(w.d, t.key)).toBe(t.key);
      expect(await lockStatus(w, t.xtxId, t.leg)).toBe(LOCKED.committed);
    }
    expect(await lockStatus(w, no.xtxId, no.leg)).toBe(LOCKED.aborted);
    expect(await balance(w, w.receiver)).toBe(receiverBefore + 22n);

    // One EVM transaction decided the three: a decideMany with three items, all its Decided events.
    const decided = await w.evm.publicClient.getContractEvents({
      address: w.participant,
      abi: CustosParticipant.abi,
      eventName: 'Decided',
      fromBlock: 0n,
    });
    const ours = decided.filter((e) => all.some((t) => e.args.xtxId === `0x${t.xtxId}`));
    expect(ours).toHaveLength(3);
    const hashes = new Set(ours.map((e) => e.transactionHash));
    expect(hashes.size).toBe(1);
    const tx = await w.evm.publicClient.getTransaction({ hash: [...hashes][0]! });
    const call = decodeFunctionData({ abi: CustosParticipant.abi, data: tx.input });
    expect(call.functionName).toBe('decideMany');
    expect((call.args as readonly [readonly unknown[]])[0]).toHaveLength(3);
    expect(actions.filter((a) => a.step === 'evmDecide')).toHaveLength(3);
    // The three outcomes: in one list, the receipt's proof given once.
    const recorded = all.map(
      (t) => stateOf(w, `xtxevmd/${t.xtxId}/${w.pid}`) as { outcome: { number: number; index: number } },
    );
    expect(new Set(recorded.map((r) => `${r.outcome.number}/${r.outcome.index}`)).size).toBe(1);
    const ok = lists.filter((l) => l.code === 'OK');
    expect(ok).toHaveLength(1);
    expect(ok[0]!.outcomes).toHaveLength(3);
    expect(ok[0]!.outcomes.map((o) => 'proof' in o)).toEqual([true, false, false]);
  }, 180_000);

  it('D refuses an outcome without a proof that no earlier outcome of its list gives', async () => {
    const deadlineHeight = w.d.node.latest().height + 300;
    const txs = [evmXtx(w, { deadlineHeight, amount: 3n }), evmXtx(w, { deadlineHeight, amount: 4n })];
    for (const t of txs) {
      expect(await prepareOnD(w, t.xtx)).toBe('OK');
      await prepareOnEvm(w, t.xtxId, t.leg);
    }
    const tried: string[] = [];
    const sender = nativeSigner(randomSecretKey());
    // Before the relayer's list goes, the same list reordered (the proof on its second outcome),
    // and its second outcome alone without a proof.
    const ep: ChainEndpoint = {
      ...w.ep,
      async submit(tx) {
        const outcomes = (tx.body.args as { outcomes?: Outcome[] }).outcomes;
        if (tx.body.type === 'xtx.evmDone' && outcomes !== undefined && outcomes.length === 2 && tried.length === 0) {
          const args = (o: Outcome[]) => ({ outcomes: o });
          for (const bad of [args([outcomes[1]!, outcomes[0]!]), args([outcomes[1]!])]) {
            tried.push(
              (await w.ep.submit(signTx({ chainId: tx.body.chainId, type: 'xtx.evmDone', args: bad }, sender))).code,
            );
          }
        }
        return w.ep.submit(tx);
      },
    };
    const relayer = new Relayer({
      chains: [ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { address: w.evm.accounts[6] as Address } }],
    });
    for (let i = 0; i < 25 && !txs.every((t) => outcomeOf(w, t.xtxId).evm !== undefined); i++) {
      await duties(w);
      await relayer.step();
    }
    expect(tried).toEqual(['INVALID_ARGS', 'INVALID_ARGS']);
    for (const t of txs) expect(outcomeOf(w, t.xtxId)).toMatchObject({ custos: 'committed', evm: 'committed' });
  }, 180_000);

  it('a batch the endpoint refuses (the token of one leg fails its payment) goes again leg by leg: the other legs commit', async () => {
    const { address: refusing } = await w.evm.deploy(RefusingToken, [], w.evm.accounts[0] as Address);
    const tokenCall = (functionName: string, args: readonly unknown[]) =>
      w.evm.write({ address: refusing, abi: RefusingToken.abi, functionName, args }, w.customer);
    await tokenCall('mint', [w.customer, 100n]);
    await tokenCall('approve', [w.participant, 100n]);
    const deadlineHeight = w.d.node.latest().height + 300;
    const key = freshKey('evm');
    const leg = {
      token: refusing.toLowerCase(),
      from: w.customer.toLowerCase(),
      to: w.receiver.toLowerCase(),
      amount: '5',
    };
    const bad = buildXtx({
      decisionChain: w.d.chainId,
      deadlineHeight,
      ops: [{ chainId: w.d.chainId, type: 'kv.put', args: { ns: 'x', key, value: key }, signer: w.d.orgs.org1! }],
      legs: { [w.pid]: leg },
    });
    const good = evmXtx(w, { deadlineHeight, amount: 6n });
    for (const t of [bad, good]) expect(await prepareOnD(w, t.xtx)).toBe('OK');
    await prepareOnEvm(w, bad.xtxId, leg, { approve: false });
    await prepareOnEvm(w, good.xtxId, good.leg);
    await tokenCall('refuse', [true]);
    const errors: string[] = [];
    const relayer = new Relayer({
      chains: [w.ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { address: w.evm.accounts[6] as Address } }],
      onError: (_, e) => errors.push(String(e)),
    });
    for (let i = 0; i < 25 && outcomeOf(w, good.xtxId).evm === undefined; i++) {
      await duties(w);
      await relayer.step();
    }
    expect(outcomeOf(w, good.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    // The two were sent in one decideMany first, which the payment in the refusing token reverted.
    expect(errors.some((e) => e.includes('decideMany') && e.includes('TokenCallFailed'))).toBe(true);
    expect(outcomeOf(w, bad.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed' });
    expect(outcomeOf(w, bad.xtxId).evm).toBeUndefined();
    expect(await lockStatus(w, bad.xtxId, leg)).toBe(1);
    // Once the token pays again, the leg left alone commits too.
    await tokenCall('refuse', [false]);
    for (let i = 0; i < 25 && outcomeOf(w, bad.xtxId).evm === undefined; i++) {
      await duties(w);
      await relayer.step();
    }
    expect(outcomeOf(w, bad.xtxId)).toMatchObject({ evm: 'committed' });
    expect(await lockStatus(w, bad.xtxId, leg)).toBe(LOCKED.committed);
  }, 180_000);
});
