/**
 * The Solidity participant contract on a real Hardhat chain (a `hardhat node` process), driven with
 * viem: prepare then commit or abort, expired locks, NO votes, tombstones, forged, insufficient,
 * replayed and wrong-epoch certificates, member-set updates, and the digests the Custos side signs
 * (protocol's evm.ts) equal to the contract's. Prints the gas of prepare and decide (docs/interop.md).
 */
import {
  type EvmDomain,
  evmAddress,
  evmDecisionDigest,
  evmLegHash,
  evmMembersDigest,
  evmSecretKey,
  evmSign,
  sortEvmSignatures,
} from '@custos/protocol/interop';
import { type EvmFixture, reverts, startEvm } from '@custos/test-utils/evm';
import { type Address, encodeFunctionData, type Hex, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';
import { hostileToken } from './reentrant-token.js';

interface Member {
  key: Uint8Array;
  address: Address;
}

function newMembers(n: number): Member[] {
  return Array.from({ length: n }, () => {
    const key = evmSecretKey();
    return { key, address: evmAddress(key) };
  }).sort((a, b) => (a.address < b.address ? -1 : 1));
}

const xtx = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;

let evm: EvmFixture;
let token: Address;
let participant: Address;
let domain: EvmDomain;
let issuer: Address;
let customer: Address;
let bank: Address;
const members = newMembers(3);
const gas: Record<string, bigint> = {};

/** The contract's legHash of a leg (addresses as Custos writes them, lower-case). */
const hashOf = (leg: { token: Address; from: Address; to: Address; amount: bigint }): Hex =>
  evmLegHash({
    token: leg.token.toLowerCase(),
    from: leg.from.toLowerCase(),
    to: leg.to.toLowerCase(),
    amount: String(leg.amount),
  });
/** The leg prepared under each transaction id here; an id never prepared: the customer's leg of 1 point. */
const legs = new Map<Hex, Hex>();
const lh = (id: Hex): Hex => legs.get(id) ?? hashOf({ token, from: customer, to: bank, amount: 1n });

function sign(signers: Member[], xtxId: Hex, commit: boolean, epoch: number, legHash = lh(xtxId)): Hex[] {
  const digest = evmDecisionDigest(domain, xtxId, legHash, commit, epoch);
  return sortEvmSignatures(
    digest,
    signers.map((m) => evmSign(digest, m.key)),
  );
}

const call = (functionName: string, args: readonly unknown[], from?: Address) =>
  evm.write({ address: participant, abi: CustosParticipant.abi, functionName, args }, from);

const read = <T>(functionName: string, args: readonly unknown[] = []) =>
  evm.publicClient.readContract({
    address: participant,
    abi: CustosParticipant.abi,
    functionName: functionName as 'epoch',
    args: args as [],
  }) as Promise<T>;

const balance = (who: Address) =>
  evm.publicClient.readContract({ address: token, abi: LoyaltyToken.abi, functionName: 'balanceOf', args: [who] });

async function prepare(id: Hex, amount: bigint, deadlineIn = 20n, from = customer) {
  const deadline = (await evm.publicClient.getBlockNumber()) + deadlineIn;
  const leg = { token, from, to: bank, amount };
  const receipt = await call('prepare', [id, leg, deadline], from);
  legs.set(id, hashOf(leg));
  const [vote] = parseEventLogs({ abi: CustosParticipant.abi, logs: receipt.logs, eventName: 'Voted' });
  return { receipt, vote: vote!.args, deadline };
}

async function status(id: Hex): Promise<number> {
  return (await read<{ status: number }>('lockOf', [id, lh(id)])).status;
}

beforeAll(async () => {
  evm = await startEvm();
  [issuer, customer, bank] = evm.accounts as [Address, Address, Address];
  ({ address: token } = await evm.deploy(LoyaltyToken, ['Retailer points', 'PTS'], issuer));
  const deployed = await evm.deploy(CustosParticipant, [1n, members.map((m) => m.address), 2n], issuer);
  participant = deployed.address;
  gas.deployParticipant = deployed.receipt.gasUsed;
  domain = { chainId: evm.chain.chainId, contract: participant };
  await evm.write({ address: token, abi: LoyaltyToken.abi, functionName: 'mint', args: [customer, 10_000n] }, issuer);
  await evm.write(
    { address: token, abi: LoyaltyToken.abi, functionName: 'approve', args: [participant, 2n ** 256n - 1n] },
    customer,
  );
}, 120_000);

afterAll(async () => {
  await evm?.close();
  console.log(`evm gas: ${JSON.stringify(Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, Number(v)])))}`);
});

describe('CustosParticipant on a Hardhat chain', () => {
  it('computes the same digests as the protocol package', async () => {
    const id = xtx(0xabc);
    const leg = { token, from: customer, to: bank, amount: 12n };
    expect(await read<Hex>('legHash', [leg])).toBe(hashOf(leg));
    for (const commit of [true, false]) {
      const onChain = await read<Hex>('decisionDigest', [id, hashOf(leg), commit, 7n]);
      expect(onChain).toBe(`0x${Buffer.from(evmDecisionDigest(domain, id, hashOf(leg), commit, 7)).toString('hex')}`);
    }
    const addrs = members.map((m) => m.address);
    const onChain = await read<Hex>('membersDigest', [9n, addrs, 2n]);
    expect(onChain).toBe(`0x${Buffer.from(evmMembersDigest(domain, 9, addrs, 2)).toString('hex')}`);
  });

  it('prepare locks the tokens and votes YES; a quorum-certified COMMIT pays the receiver', async () => {
    const id = xtx(1);
    const [c0, b0] = [await balance(customer), await balance(bank)];
    const { receipt, vote, deadline } = await prepare(id, 100n);
    gas.prepare = receipt.gasUsed;
    expect(vote).toMatchObject({ xtxId: id, yes: true, deadline });
    expect(await balance(customer)).toBe(c0 - 100n);
    expect(await balance(participant)).toBe(100n);
    expect(await status(id)).toBe(1); // Prepared
    // Anyone may relay the certificate: the bank's account submits it.
    const r = await call('decide', [id, lh(id), true, 1n, sign(members.slice(0, 2), id, true, 1)], bank);
    gas.decideCommit2of3 = r.gasUsed;
    const [decided] = parseEventLogs({ abi: CustosParticipant.abi, logs: r.logs, eventName: 'Decided' });
    expect(decided!.args).toMatchObject({ xtxId: id, legHash: lh(id), commit: true, epoch: 1n });
    expect(await balance(bank)).toBe(b0 + 100n);
    expect(await balance(participant)).toBe(0n);
    expect(await status(id)).toBe(3); // Committed
    // Replayed: the same certificate again, and an ABORT after the COMMIT.
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign(members.slice(0, 2), id, true, 1)]))).toBe(
      'NotPrepared',
    );
    expect(await reverts(call('decide', [id, lh(id), false, 1n, sign(members, id, false, 1)]))).toBe('AlreadyKnown');
    // A second prepare of the same transaction id is refused.
    expect(await reverts(prepare(id, 100n))).toBe('AlreadyKnown');
  });

  it('an ABORT certified by all three members returns the tokens', async () => {
    const id = xtx(2);
    const c0 = await balance(customer);
    await prepare(id, 40n);
    const r = await call('decide', [id, lh(id), false, 1n, sign(members, id, false, 1)]);
    gas.decideAbort3of3 = r.gasUsed;
    expect(await balance(customer)).toBe(c0);
    expect(await status(id)).toBe(4); // Aborted
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign(members, id, true, 1)]))).toBe('NotPrepared');
  });

  it('an expired lock cannot commit; it aborts by certificate or by anyone after the deadline', async () => {
    const id = xtx(3);
    const c0 = await balance(customer);
    await prepare(id, 5n, 2n);
    expect(await reverts(call('release', [id, lh(id)]))).toBe('NotExpired');
    await evm.mine(3);
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign(members.slice(1), id, true, 1)]))).toBe(
      'LockExpired',
    );
    const r = await call('release', [id, lh(id)], bank);
    gas.release = r.gasUsed;
    expect(parseEventLogs({ abi: CustosParticipant.abi, logs: r.logs, eventName: 'Lapsed' })).toHaveLength(1);
    expect(await balance(customer)).toBe(c0);
    expect(await status(id)).toBe(4);
    expect(await reverts(call('release', [id, lh(id)]))).toBe('NotPrepared');

    const id2 = xtx(31);
    await prepare(id2, 5n, 2n);
    await evm.mine(2);
    await call('decide', [id2, lh(id2), false, 1n, sign(members.slice(1), id2, false, 1)]);
    expect(await balance(customer)).toBe(c0);
  });

  it('refuses bad legs and deadlines', async () => {
    expect(await reverts(prepare(xtx(4), 0n))).toBe('BadLeg');
    // The deadline is a block after the one that mines the prepare (the next one, with automine),
    // and at most MAX_LOCK_BLOCKS after it.
    expect(await reverts(prepare(xtx(4), 1n, 1n))).toBe('BadDeadline');
    expect(await reverts(prepare(xtx(4), 1n, 100_002n))).toBe('BadDeadline');
    await prepare(xtx(4), 1n, 100_001n);
    // Only the holder prepares its own tokens: the bank cannot lock the customer's.
    const deadline = (await evm.publicClient.getBlockNumber()) + 10n;
    expect(
      await reverts(call('prepare', [xtx(4), { token, from: customer, to: bank, amount: 1n }, deadline], bank)),
    ).toBe('BadLeg');
  });

  it('votes NO when the token refuses the transfer; that transaction can only abort', async () => {
    const id = xtx(5);
    const { vote } = await prepare(id, 1_000_000n);
    expect(vote.yes).toBe(false);
    expect(await status(id)).toBe(2); // Refused
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign(members, id, true, 1)]))).toBe('NotPrepared');
    await call('decide', [id, lh(id), false, 1n, sign(members, id, false, 1)]);
    expect(await status(id)).toBe(4);
  });

  it('an ABORT before the prepare leaves a tombstone: the late prepare is refused', async () => {
    const id = xtx(6);
    await call('decide', [id, lh(id), false, 1n, sign(members.slice(0, 2), id, false, 1)]);
    expect(await reverts(prepare(id, 1n))).toBe('AlreadyKnown');
  });

  it('trust #16: refuses forged, insufficient, duplicate, unsorted, malleated and misdirected certificates', async () => {
    const id = xtx(7);
    await prepare(id, 3n);
    const outsider = newMembers(1)[0]!;
    const good = sign(members.slice(0, 2), id, true, 1);
    expect(await reverts(call('decide', [id, lh(id), true, 1n, good.slice(0, 1)]))).toBe('NoQuorum');
    expect(await reverts(call('decide', [id, lh(id), true, 1n, []]))).toBe('NoQuorum');
    expect(await reverts(call('decide', [id, lh(id), true, 1n, [good[0], good[0]]]))).toBe('UnsortedSigners');
    expect(await reverts(call('decide', [id, lh(id), true, 1n, [good[1], good[0]]]))).toBe('UnsortedSigners');
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign([members[0]!, outsider], id, true, 1)]))).toBe(
      'NotMember',
    );
    // Signed for an ABORT, another transaction, another leg of this one, another chain id or another
    // contract: the recovered signers are not members.
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign(members, id, false, 1)]))).toBe('NotMember');
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign(members, xtx(8), true, 1)]))).toBe('NotMember');
    const otherLeg = hashOf({ token, from: customer, to: issuer, amount: 3n });
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign(members, id, true, 1, otherLeg)]))).toBe(
      'NotMember',
    );
    const otherDomains: EvmDomain[] = [
      { chainId: 1, contract: participant },
      { chainId: evm.chain.chainId, contract: token },
    ];
    for (const d of otherDomains) {
      const digest = evmDecisionDigest(d, id, lh(id), true, 1);
      const sigs = sortEvmSignatures(
        digest,
        members.map((m) => evmSign(digest, m.key)),
      );
      expect(await reverts(call('decide', [id, lh(id), true, 1n, sigs]))).toBe('NotMember');
    }
    // The malleated twin (s -> n - s, v flipped) of a valid signature, and a truncated one.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const sig = good[0]!;
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const v = Number.parseInt(sig.slice(130), 16);
    const twin = `${sig.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`;
    expect(await reverts(call('decide', [id, lh(id), true, 1n, [twin, good[1]]]))).toBe('BadSignature');
    expect(await reverts(call('decide', [id, lh(id), true, 1n, [sig.slice(0, 130), good[1]]]))).toBe('BadSignature');
    expect(await status(id)).toBe(1);
    await call('decide', [id, lh(id), true, 1n, good]);
    expect(await status(id)).toBe(3);
  });

  it('trust #16: refuses re-entry from a hostile token during prepare and decide; each effect happens once', async () => {
    const hostile = await hostileToken(evm, { deployer: issuer, holder: customer, spender: participant, amount: 100n });
    const id = xtx(10);
    const deadline = (await evm.publicClient.getBlockNumber()) + 20n;
    // During prepare's transferFrom, the token tries to release the same transaction.
    const leg = { token: hostile.address, from: customer, to: bank, amount: 30n };
    legs.set(id, hashOf(leg));
    const release = encodeFunctionData({ abi: CustosParticipant.abi, functionName: 'release', args: [id, lh(id)] });
    await hostile.arm(participant, release);
    await call('prepare', [id, leg, deadline], customer);
    await hostile.expectRefused();
    expect(await status(id)).toBe(1);
    // During the COMMIT's transfer, it replays the decision to be paid twice.
    const sigs = sign(members.slice(0, 2), id, true, 1);
    const decide = encodeFunctionData({
      abi: CustosParticipant.abi,
      functionName: 'decide',
      args: [id, lh(id), true, 1n, sigs],
    });
    await hostile.arm(participant, decide);
    await call('decide', [id, lh(id), true, 1n, sigs], bank);
    await hostile.expectRefused();
    expect(await hostile.balanceOf(bank)).toBe(30n);
    expect(await hostile.balanceOf(participant)).toBe(0n);
    expect(await status(id)).toBe(3);
  });

  it('follows member-set updates certified by the current quorum; old epochs and removed members stop counting', async () => {
    const [a, b, c] = members as [Member, Member, Member];
    const [d] = newMembers(1) as [Member];
    const next = [b, c, d].sort((x, y) => (x.address < y.address ? -1 : 1));
    const nextAddrs = next.map((m) => m.address);
    const updateSigs = (signers: Member[], epoch: number, addrs: Address[], threshold: number) => {
      const digest = evmMembersDigest(domain, epoch, addrs, threshold);
      return sortEvmSignatures(
        digest,
        signers.map((m) => evmSign(digest, m.key)),
      );
    };
    // Refused: too few signers, signed by the new set, a stale epoch, a threshold below a majority.
    expect(await reverts(call('updateMembers', [2n, nextAddrs, 2n, updateSigs([a], 2, nextAddrs, 2)]))).toBe(
      'NoQuorum',
    );
    expect(await reverts(call('updateMembers', [2n, nextAddrs, 2n, updateSigs([d, b], 2, nextAddrs, 2)]))).toBe(
      'NotMember',
    );
    expect(await reverts(call('updateMembers', [1n, nextAddrs, 2n, updateSigs([a, b], 1, nextAddrs, 2)]))).toBe(
      'StaleEpoch',
    );
    expect(await reverts(call('updateMembers', [2n, nextAddrs, 1n, updateSigs([a, b], 2, nextAddrs, 1)]))).toBe(
      'BadMemberSet',
    );
    const unsorted = [...nextAddrs].reverse();
    expect(await reverts(call('updateMembers', [2n, unsorted, 2n, updateSigs([a, b], 2, unsorted, 2)]))).toBe(
      'BadMemberSet',
    );
    const r = await call('updateMembers', [2n, nextAddrs, 2n, updateSigs([a, c], 2, nextAddrs, 2)]);
    gas.updateMembers3 = r.gasUsed;
    const [epoch, set, threshold] = await read<[bigint, Address[], bigint]>('memberSet');
    expect([epoch, set.map((x) => x.toLowerCase()), threshold]).toEqual([2n, nextAddrs, 2n]);
    expect(await read<boolean>('isMember', [a.address])).toBe(false);
    // Replaying the applied update is stale.
    expect(await reverts(call('updateMembers', [2n, nextAddrs, 2n, updateSigs([a, c], 2, nextAddrs, 2)]))).toBe(
      'StaleEpoch',
    );

    const id = xtx(9);
    await prepare(id, 2n);
    expect(await reverts(call('decide', [id, lh(id), true, 1n, sign([a, b], id, true, 1)]))).toBe('WrongEpoch');
    expect(await reverts(call('decide', [id, lh(id), true, 3n, sign([b, d], id, true, 3)]))).toBe('WrongEpoch');
    // The removed member's signature under the new epoch does not count.
    expect(await reverts(call('decide', [id, lh(id), true, 2n, sign([a, b], id, true, 2)]))).toBe('NotMember');
    await call('decide', [id, lh(id), true, 2n, sign([b, d], id, true, 2)]);
    expect(await status(id)).toBe(3);
  });
});
