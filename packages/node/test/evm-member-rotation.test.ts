/**
 * Rotating an EVM key in a set with exactly threshold-many keys (docs/interop.md, "Member-set
 * updates"), on a Custos decision chain and a real Hardhat chain: the contract holds {A, B} with a
 * threshold of 2 and A rotates to A'. Of the new set's signers only B is in the contract's set, so
 * the update needs A's outgoing key: the ledger takes its signature of the update that removes it,
 * and nothing else (no decision, no other set, not through another member). Also: `evmmu/` records
 * of epochs before one the contract is proven to hold are pruned.
 */

import { randomSecretKey } from '@custos/protocol/crypto';
import {
  evmAddress,
  evmDecisionDigest,
  evmLegHash,
  evmMembersDigest,
  evmSecretKey,
  evmSign,
  proveEvmKey,
  sortEvmSignatures,
} from '@custos/protocol/interop';
import { signTx } from '@custos/protocol/ledger';
import { removeEvmKeyAction } from '@custos/sdk';
import { reverts } from '@custos/test-utils/evm';
import type { Address, Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { type EvmMemberSetEntry, evmMemberSetAt } from '../src/governance/evm-member-set.js';
import { CustosParticipant } from '../src/interop/evm/contracts/artifacts.generated.js';
import { parseEvmDutiesConfig } from '../src/interop/evm/evm-duties.js';
import { EvmDecisionSigner } from '../src/interop/evm/member-duties.js';
import { type RelayAction, Relayer } from '../src/interop/relayer.js';
import {
  evmXtx,
  expectOk,
  ORGS,
  outcomeOf,
  prepareOnD,
  prepareOnEvm,
  runUntilDone,
  sendAs,
  stateOf,
  useEvmWorld,
} from './evm-xtx-helpers.js';

const w = useEvmWorld();
/** org1's key before its rotation in the first test. */
let outgoingKey: Uint8Array;

const evmSet = (): EvmMemberSetEntry => evmMemberSetAt(w.d.node.store)!;

async function contractSet(): Promise<{ epoch: number; members: string[] }> {
  const [epoch, members] = (await w.evm.publicClient.readContract({
    address: w.participant,
    abi: CustosParticipant.abi,
    functionName: 'memberSet',
  })) as [bigint, readonly Address[], bigint];
  return { epoch: Number(epoch), members: members.map((m) => m.toLowerCase()) };
}

function relayer() {
  const actions: RelayAction[] = [];
  const r = new Relayer({
    chains: [w.ep],
    signer: nativeSigner(randomSecretKey()),
    evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { address: w.evm.accounts[5] as Address } }],
    onAction: (a) => actions.push(a),
    onError: () => {},
  });
  return { r, updates: () => actions.filter((a) => a.step === 'evmMembers').map((a) => a.xtxId) };
}

function useSigner(org: string, evmKey: Uint8Array, outgoingKey?: Uint8Array): void {
  w.evmKeys[org] = evmKey;
  w.signers[ORGS.indexOf(org)] = new EvmDecisionSigner({
    chain: w.ep,
    signer: w.d.orgs[org]!,
    evmKey,
    ...(outgoingKey === undefined ? {} : { outgoingKey }),
  });
}

async function signersStep(): Promise<void> {
  for (const s of w.signers) await s.step();
}

/** Every epoch that has an `evmmu/` record for the contract. */
function recordedEpochs(): number[] {
  const out: number[] = [];
  for (let e = 1; e <= evmSet().epoch; e++) if (stateOf(w, `evmmu/${w.pid}/${e}`) !== null) out.push(e);
  return out;
}

const membersDigest = (set: { epoch: number; addresses: string[]; threshold: number }) =>
  evmMembersDigest({ chainId: w.evm.chain.chainId, contract: w.participant }, set.epoch, set.addresses, set.threshold);

describe('rotating a key of a set with exactly threshold-many keys', () => {
  it('the outgoing key co-signs the update that removes it, and the rotation is relayed', async () => {
    // Take org3's key out by vote: {org1, org2} remain, threshold 2; the contract follows.
    const p = await w.d.node.submitAndWait(
      signTx(
        {
          chainId: w.d.chainId,
          type: 'gov.propose',
          args: { action: removeEvmKeyAction('org3'), reason: 'org3 key lost' },
        },
        w.d.orgs.org1!,
      ),
    );
    expectOk(p.code);
    expectOk(await sendAs(w, 'org2', 'gov.vote', { proposal: p.txId, vote: 'yes' }));
    await signersStep();
    const first = relayer();
    await first.r.step();
    const e1 = evmSet();
    expect(e1).toMatchObject({ ready: true, threshold: 2 });
    expect(e1.addresses).toHaveLength(2);
    expect(await contractSet()).toEqual({ epoch: e1.epoch, members: e1.addresses });

    // org1 rotates its own key: the contract holds {old, org2}; the new set is {new, org2}.
    const old = w.evmKeys.org1!;
    outgoingKey = old;
    const fresh = evmSecretKey();
    const { address, proof } = proveEvmKey(fresh, { chainId: w.d.chainId, member: 'org1' });
    expectOk(await sendAs(w, 'org1', 'member.setEvmKey', { address, proof }));
    const e2 = evmSet();
    expect(e2.epoch).toBe(e1.epoch + 1);
    expect(e2.addresses).not.toContain(evmAddress(old));
    expect(stateOf(w, 'member/org1')).toMatchObject({ evmKey: evmAddress(fresh), evmOutgoingKey: evmAddress(old) });

    // Without the outgoing key, only org2 of the contract's set signs: one of two, nothing to relay.
    useSigner('org1', fresh);
    await signersStep();
    await first.r.step();
    expect(first.updates()).toEqual([`epoch ${e1.epoch - 1} -> ${e1.epoch}`]);
    expect((await contractSet()).epoch).toBe(e1.epoch);

    // The outgoing key signs only the set in force, which leaves it out, and only for its member.
    const kept = { ...e2, addresses: [...e2.addresses, evmAddress(old)].sort() };
    const otherSet = { participant: w.pid, epoch: e2.epoch, signature: evmSign(membersDigest(kept), old) };
    expect(await sendAs(w, 'org1', 'evm.signMembers', otherSet)).toBe('UNAUTHORIZED');
    const viaOrg3 = { participant: w.pid, epoch: e2.epoch, signature: evmSign(membersDigest(e2), old) };
    expect(await sendAs(w, 'org3', 'evm.signMembers', viaOrg3)).toBe('UNAUTHORIZED');

    // With it (the operator keeps the old keystore as `outgoingEvmKeystore`), org1's peer co-signs.
    useSigner('org1', fresh, old);
    await signersStep();
    const rec = stateOf(w, `evmmu/${w.pid}/${e2.epoch}`) as { signatures: { member: string; address: string }[] };
    expect(rec.signatures.map((s) => `${s.member}:${s.address}`).sort()).toEqual(
      [`org1:${evmAddress(fresh)}`, `org1:${evmAddress(old)}`, `org2:${evmAddress(w.evmKeys.org2!)}`].sort(),
    );
    await first.r.step();
    expect(first.updates()).toEqual([`epoch ${e1.epoch - 1} -> ${e1.epoch}`, `epoch ${e1.epoch} -> ${e2.epoch}`]);
    expect(await contractSet()).toEqual({ epoch: e2.epoch, members: e2.addresses });

    // The new set decides; the outgoing key is refused by the contract.
    const { xtx, xtxId, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    const lh = evmLegHash(leg);
    const digest = evmDecisionDigest(
      { chainId: w.evm.chain.chainId, contract: w.participant },
      xtxId,
      lh,
      true,
      e2.epoch,
    );
    const forged = sortEvmSignatures(digest, [evmSign(digest, old), evmSign(digest, w.evmKeys.org2!)]);
    expect(
      await reverts(
        w.evm.write(
          {
            address: w.participant,
            abi: CustosParticipant.abi,
            functionName: 'decide',
            args: [`0x${xtxId}`, lh as Hex, true, BigInt(e2.epoch), forged],
          },
          w.evm.accounts[9] as Address,
        ),
      ),
    ).toBe('NotMember');
    await runUntilDone(w, relayer().r, xtxId);
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    const carried = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { epoch: number; signatures: { address: string }[] };
    expect(carried.epoch).toBe(e2.epoch);
    expect(carried.signatures.map((s) => s.address)).not.toContain(evmAddress(old));

    // Records before the epoch the contract is proven to hold (its Decided event) are pruned; its own stays.
    expect(recordedEpochs()).toEqual([e2.epoch]);
  }, 180_000);

  it('the outgoing key signs no decision, signs a set once, and is no longer taken once another member registers it', async () => {
    const set = evmSet();
    const outgoing = (stateOf(w, 'member/org1') as { evmOutgoingKey: string }).evmOutgoingKey;
    const key = outgoingKey;
    expect(evmAddress(key)).toBe(outgoing);

    // A decision in flight: org1 signs it with the outgoing key; the ledger takes only its current key.
    const { xtx, xtxId, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    const r = relayer();
    for (let i = 0; i < 10 && outcomeOf(w, xtxId).decision === undefined; i++) {
      for (const a of w.attesters) await a.step();
      await r.r.step();
    }
    expect(outcomeOf(w, xtxId).decision).toBe('COMMIT');
    const d = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { legHash: string; commit: boolean; epoch: number };
    const dd = evmDecisionDigest(
      { chainId: w.evm.chain.chainId, contract: w.participant },
      xtxId,
      d.legHash,
      d.commit,
      d.epoch,
    );
    const byOld = { xtxId, participant: w.pid, signature: evmSign(dd, key) };
    expect(await sendAs(w, 'org1', 'xtx.evmSign', byOld)).toBe('UNAUTHORIZED');

    const right = { participant: w.pid, epoch: set.epoch, signature: evmSign(membersDigest(set), key) };
    // Already recorded: once per key.
    expect(await sendAs(w, 'org1', 'evm.signMembers', right)).toBe('CONFLICT');

    // Once another member registers the address (it proves holding the key), it is no longer org1's to use.
    const proof = proveEvmKey(key, { chainId: w.d.chainId, member: 'org3' });
    expectOk(await sendAs(w, 'org3', 'member.setEvmKey', { ...proof }));
    const next = evmSet();
    expect(next.addresses).toContain(outgoing);
    const stolen = { participant: w.pid, epoch: next.epoch, signature: evmSign(membersDigest(next), key) };
    expect(await sendAs(w, 'org1', 'evm.signMembers', stolen)).toBe('UNAUTHORIZED');
    expectOk(await sendAs(w, 'org3', 'evm.signMembers', stolen));
  }, 180_000);

  it('a peer keeps the outgoing key in evm.json as outgoingEvmKeystore, checked like the key', () => {
    const chains = [{ rpcUrl: 'http://127.0.0.1:8545', confirmations: 0 }];
    const orgs = { org1: { evmKeystore: 'keys/org1-evm.json', outgoingEvmKeystore: 'keys/org1-evm-old.json' } };
    expect(parseEvmDutiesConfig({ chains, orgs }).orgs.org1?.outgoingEvmKeystore).toBe('keys/org1-evm-old.json');
    for (const bad of ['', 'x'.repeat(513), 7]) {
      expect(() =>
        parseEvmDutiesConfig({ chains, orgs: { org1: { evmKeystore: 'k', outgoingEvmKeystore: bad } } }),
      ).toThrow('orgs.org1: expected {"evmKeystore": "<file>"} and optionally "outgoingEvmKeystore": "<file>"');
    }
  });
});
