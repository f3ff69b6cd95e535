/**
 * Attacks on the Solidity participant contract on real Hardhat chains (integration tier), with a
 * five-member set and threshold 3:
 *
 * - forged quorums: too few, duplicate, non-member and removed-member signatures;
 * - replay of a decision that a contract accepted: on a second chain with another chain id where the
 *   same deployer put the same contract at the same address, on a second contract of the same chain
 *   holding the same member set, and for another transaction of the same contract;
 * - a leg prepared by someone else under the planned transaction's id first: the planned leg still
 *   prepares and commits, and the other lock can only be released after its deadline;
 * - re-entry from a hostile ERC-20 (test/contracts/ReentrantToken.sol) during every token call the
 *   contract makes: prepare's transferFrom, a COMMIT's payment, an ABORT's refund and a release,
 *   re-entering decide, release, prepare and updateMembers: each effect happens once.
 *
 * evm-participant.test.ts covers the contract's normal paths and the certificate format.
 */
import {
  type EvmDomain,
  evmDecisionDigest,
  evmLegHash,
  evmMembersDigest,
  evmSign,
  sortEvmSignatures,
} from '@custos/protocol/interop';
import {
  byEvmAddress,
  type EvmFixture,
  type EvmMember,
  newEvmMembers,
  reverts,
  startEvm,
} from '@custos/test-utils/evm';
import { type Address, encodeFunctionData, type Hex, parseEventLogs } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';
import { type HostileToken, hostileToken } from './reentrant-token.js';

const xtx = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const members = newEvmMembers(5);
const THRESHOLD = 3n;

/** A deployment of the participant with a token, on one chain. */
interface Deployment {
  evm: EvmFixture;
  participant: Address;
  token: Address;
  domain: EvmDomain;
}

let a: Deployment;
let b: Deployment;
/** A second participant on chain A, same member set. */
let twin: Address;
let issuer: Address;
let customer: Address;
let bank: Address;

/** The contract's legHash of a leg of `amount` of `token` (addresses lower-case, as Custos writes them). */
const hashOf = (token: Address, amount: bigint, from = customer, to = bank): Hex =>
  evmLegHash({
    token: token.toLowerCase(),
    from: from.toLowerCase(),
    to: to.toLowerCase(),
    amount: String(amount),
  });
/** The leg prepared (or about to be) under each `<contract>/<xtxId>`. */
const legs = new Map<string, Hex>();
const legAt = (contract: string, id: Hex): Hex => {
  const h = legs.get(`${contract}/${id}`);
  if (h === undefined) throw new Error(`no leg known for ${id}`);
  return h;
};
const lh = (d: Deployment, id: Hex, at = d.participant): Hex => legAt(at, id);

function sign(d: EvmDomain, signers: EvmMember[], xtxId: Hex, commit: boolean, epoch: number): Hex[] {
  const digest = evmDecisionDigest(d, xtxId, legAt(d.contract, xtxId), commit, epoch);
  return sortEvmSignatures(
    digest,
    signers.map((m) => evmSign(digest, m.key)),
  );
}

const call = (d: Deployment, functionName: string, args: readonly unknown[], from?: Address, at = d.participant) =>
  d.evm.write({ address: at, abi: CustosParticipant.abi, functionName, args }, from);

const statusOf = async (d: Deployment, id: Hex, at = d.participant) =>
  (
    (await d.evm.publicClient.readContract({
      address: at,
      abi: CustosParticipant.abi,
      functionName: 'lockOf',
      args: [id, legAt(at, id)],
    })) as { status: number }
  ).status;

const balance = (d: Deployment, token: Address, who: Address) =>
  d.evm.publicClient.readContract({
    address: token,
    abi: LoyaltyToken.abi,
    functionName: 'balanceOf',
    args: [who],
  }) as Promise<bigint>;

async function prepare(d: Deployment, id: Hex, amount: bigint, at = d.participant, token = d.token) {
  const deadline = (await d.evm.publicClient.getBlockNumber()) + 50n;
  legs.set(`${at}/${id}`, hashOf(token, amount));
  return call(d, 'prepare', [id, { token, from: customer, to: bank, amount }, deadline], customer, at);
}

/** Deploys token and participant from the same account in the same order: same addresses on every chain. */
async function deploy(chainId: number): Promise<Deployment> {
  const evm = await startEvm({ chainId });
  [issuer, customer, bank] = evm.accounts as [Address, Address, Address];
  const { address: token } = await evm.deploy(LoyaltyToken, ['Retailer points', 'PTS'], issuer);
  const { address: participant } = await evm.deploy(
    CustosParticipant,
    [1n, members.map((m) => m.address), THRESHOLD],
    issuer,
  );
  await evm.write({ address: token, abi: LoyaltyToken.abi, functionName: 'mint', args: [customer, 10_000n] }, issuer);
  await evm.write(
    { address: token, abi: LoyaltyToken.abi, functionName: 'approve', args: [participant, 10_000n] },
    customer,
  );
  return { evm, participant, token, domain: { chainId: evm.chain.chainId, contract: participant } };
}

beforeAll(async () => {
  [a, b] = await Promise.all([deploy(31337), deploy(1337)]);
  ({ address: twin } = await a.evm.deploy(CustosParticipant, [1n, members.map((m) => m.address), THRESHOLD], issuer));
  await a.evm.write(
    { address: a.token, abi: LoyaltyToken.abi, functionName: 'approve', args: [twin, 10_000n] },
    customer,
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.evm.close(), b?.evm.close()]);
});

describe('forged quorums', () => {
  it('trust #16: too few, duplicate, non-member signatures are refused; three distinct members commit', async () => {
    const id = xtx(1);
    await prepare(a, id, 10n);
    const outsiders = newEvmMembers(2);
    const [m0, m1, m2] = members as [EvmMember, EvmMember, EvmMember];
    const two = sign(a.domain, [m0, m1], id, true, 1);
    expect(await reverts(call(a, 'decide', [id, lh(a, id), true, 1n, two]))).toBe('NoQuorum');
    // The same member three times, or twice among three, never makes three signers.
    const one = sign(a.domain, [m0], id, true, 1)[0]!;
    expect(await reverts(call(a, 'decide', [id, lh(a, id), true, 1n, [one, one, one]]))).toBe('UnsortedSigners');
    expect(await reverts(call(a, 'decide', [id, lh(a, id), true, 1n, [...two, two[1]!]]))).toBe('UnsortedSigners');
    // Two members and one outsider, and five outsiders' signatures.
    expect(
      await reverts(call(a, 'decide', [id, lh(a, id), true, 1n, sign(a.domain, [m0, m1, outsiders[0]!], id, true, 1)])),
    ).toBe('NotMember');
    expect(await reverts(call(a, 'decide', [id, lh(a, id), true, 1n, sign(a.domain, outsiders, id, true, 1)]))).toBe(
      'NotMember',
    );
    expect(await statusOf(a, id)).toBe(1);
    await call(a, 'decide', [id, lh(a, id), true, 1n, sign(a.domain, [m0, m1, m2], id, true, 1)]);
    expect(await statusOf(a, id)).toBe(3);
  });

  it('trust #16: after an update removing two members, their signatures no longer count', async () => {
    // On the twin contract: chain A's main participant keeps the five-member set for the replays below.
    const d: Deployment = { ...a, participant: twin, domain: { chainId: a.domain.chainId, contract: twin } };
    const [removed1, removed2, ...kept] = members as [EvmMember, EvmMember, EvmMember, EvmMember, EvmMember];
    const added = newEvmMembers(1)[0]!;
    const next = [...kept, added].sort(byEvmAddress);
    const nextAddrs = next.map((m) => m.address);
    const digest = evmMembersDigest(d.domain, 2, nextAddrs, 3);
    const sigs = sortEvmSignatures(
      digest,
      [removed1, removed2, kept[0]!].map((m) => evmSign(digest, m.key)),
    );
    await call(d, 'updateMembers', [2n, nextAddrs, 3n, sigs]);
    const id = xtx(2);
    await prepare(d, id, 5n, twin);
    // The two removed members with one kept member: a majority of the old set, not of the new.
    expect(
      await reverts(
        call(d, 'decide', [id, lh(d, id), true, 2n, sign(d.domain, [removed1, removed2, kept[0]!], id, true, 2)]),
      ),
    ).toBe('NotMember');
    // Their signatures under the old epoch: the contract is past it.
    expect(
      await reverts(
        call(d, 'decide', [id, lh(d, id), true, 1n, sign(d.domain, [removed1, removed2, kept[0]!], id, true, 1)]),
      ),
    ).toBe('WrongEpoch');
    expect(await statusOf(d, id)).toBe(1);
    await call(d, 'decide', [id, lh(d, id), true, 2n, sign(d.domain, [kept[0]!, kept[1]!, added], id, true, 2)]);
    expect(await statusOf(d, id)).toBe(3);
  });
});

describe('replayed decisions', () => {
  it('the same contract address on another chain id: the accepted certificate does not verify there', async () => {
    // Same deployer, same nonces: the two chains hold the participant at the same address.
    expect(b.participant).toBe(a.participant);
    expect(b.domain.chainId).not.toBe(a.domain.chainId);
    const id = xtx(3);
    await prepare(a, id, 7n);
    await prepare(b, id, 7n);
    const cert = sign(a.domain, members.slice(0, 3), id, true, 1);
    await call(a, 'decide', [id, lh(a, id), true, 1n, cert]);
    expect(await statusOf(a, id)).toBe(3);
    expect(await reverts(call(b, 'decide', [id, lh(b, id), true, 1n, cert]))).toBe('NotMember');
    expect(await statusOf(b, id)).toBe(1);
    // An ABORT accepted on B cannot abort A's next transaction either.
    const id2 = xtx(4);
    await prepare(a, id2, 1n);
    const abort = sign(b.domain, members.slice(2), id2, false, 1);
    await call(b, 'decide', [id2, lh(b, id2), false, 1n, abort]);
    expect(await reverts(call(a, 'decide', [id2, lh(a, id2), false, 1n, abort]))).toBe('NotMember');
    expect(await statusOf(a, id2)).toBe(1);
  });

  it('another contract with the same member set on the same chain, and another transaction', async () => {
    const id = xtx(5);
    await prepare(a, id, 3n);
    await prepare(a, id, 3n, twin);
    const cert = sign(a.domain, members.slice(1, 4), id, true, 1);
    await call(a, 'decide', [id, lh(a, id), true, 1n, cert]);
    // The twin is at epoch 2 after the test above; even at the certificate's epoch its digest differs.
    expect(await reverts(call(a, 'decide', [id, lh(a, id), true, 2n, cert], undefined, twin))).toBe('NotMember');
    expect(await statusOf(a, id, twin)).toBe(1);
    const other = xtx(6);
    await prepare(a, other, 3n);
    expect(await reverts(call(a, 'decide', [other, lh(a, other), true, 1n, cert]))).toBe('NotMember');
    expect(await statusOf(a, other)).toBe(1);
  });
});

describe('a prepare by someone else under the same transaction id', () => {
  it('trust #16: a leg prepared first under the planned id blocks nothing; it can only lapse', async () => {
    const id = xtx(20);
    const planned = { token: a.token, from: customer, to: bank, amount: 50n };
    const deadline = (await a.evm.publicClient.getBlockNumber()) + 50n;
    // The bank cannot lock the customer's tokens (it is not leg.from)...
    expect(await reverts(call(a, 'prepare', [id, planned, deadline], bank))).toBe('BadLeg');
    // ...but, having read the id in a mempool, it locks a leg of its own under it first.
    await a.evm.write({ address: a.token, abi: LoyaltyToken.abi, functionName: 'mint', args: [bank, 5n] }, issuer);
    await a.evm.write(
      { address: a.token, abi: LoyaltyToken.abi, functionName: 'approve', args: [a.participant, 5n] },
      bank,
    );
    const own = { token: a.token, from: bank, to: bank, amount: 5n };
    const ownHash = hashOf(a.token, 5n, bank, bank);
    const ownDeadline = (await a.evm.publicClient.getBlockNumber()) + 20n;
    const r = await call(a, 'prepare', [id, own, ownDeadline], bank);
    const [vote] = parseEventLogs({ abi: CustosParticipant.abi, logs: r.logs, eventName: 'Voted' });
    expect(vote!.args.legHash).toBe(ownHash);
    expect(ownHash).not.toBe(hashOf(a.token, 50n));
    // The planned prepare still locks the customer's tokens, in a lock of its own.
    const customerBefore = await balance(a, a.token, customer);
    await prepare(a, id, 50n);
    expect(await statusOf(a, id)).toBe(1);
    expect(await balance(a, a.token, customer)).toBe(customerBefore - 50n);
    const lockOf = (h: Hex) =>
      a.evm.publicClient.readContract({
        address: a.participant,
        abi: CustosParticipant.abi,
        functionName: 'lockOf',
        args: [id, h],
      }) as Promise<{ status: number; from: Address }>;
    expect((await lockOf(ownHash)).status).toBe(1);
    // The members' COMMIT names the planned leg: it cannot move the other lock...
    const commit = sign(a.domain, members.slice(0, 3), id, true, 1);
    expect(await reverts(call(a, 'decide', [id, ownHash, true, 1n, commit]))).toBe('NotMember');
    // ...and it commits the planned one: the bank is paid the customer's 50 points.
    const bankBefore = await balance(a, a.token, bank);
    const d = await call(a, 'decide', [id, lh(a, id), true, 1n, commit]);
    const [decided] = parseEventLogs({ abi: CustosParticipant.abi, logs: d.logs, eventName: 'Decided' });
    expect(decided!.args).toMatchObject({ xtxId: id, legHash: lh(a, id), commit: true });
    expect(await statusOf(a, id)).toBe(3);
    expect(await balance(a, a.token, bank)).toBe(bankBefore + 50n);
    // The other lock only lapses: nobody can release it before its deadline, anyone after.
    expect(await reverts(call(a, 'release', [id, ownHash]))).toBe('NotExpired');
    await a.evm.mine(20);
    const rel = await call(a, 'release', [id, ownHash], customer);
    expect(parseEventLogs({ abi: CustosParticipant.abi, logs: rel.logs, eventName: 'Lapsed' })[0]!.args).toEqual({
      xtxId: id,
      legHash: ownHash,
    });
    expect((await lockOf(ownHash)).status).toBe(4);
    expect(await balance(a, a.token, bank)).toBe(bankBefore + 55n);
  });
});

describe('re-entry from a hostile token', () => {
  let token: HostileToken;
  let hostile: Address;
  const encode = (functionName: string, args: readonly unknown[]) =>
    encodeFunctionData({
      abi: CustosParticipant.abi,
      functionName: functionName as 'release',
      args: args as [Hex, Hex],
    });
  /** Arms the token to call the participant with `data` during its next transfer. */
  const arm = (data: Hex) => token.arm(a.participant, data);
  const expectRefused = () => token.expectRefused();
  const hostileBalance = (who: Address) => token.balanceOf(who);

  beforeAll(async () => {
    token = await hostileToken(a.evm, { deployer: issuer, holder: customer, spender: a.participant, amount: 1_000n });
    hostile = token.address;
  });

  it('during prepare: a COMMIT of the lock being written and a second prepare are refused', async () => {
    const id = xtx(10);
    legs.set(`${a.participant}/${id}`, hashOf(hostile, 20n));
    const commit = sign(a.domain, members.slice(0, 3), id, true, 1);
    await arm(encode('decide', [id, lh(a, id), true, 1n, commit]));
    await prepare(a, id, 20n, a.participant, hostile);
    await expectRefused();
    expect(await statusOf(a, id)).toBe(1);
    const other = xtx(11);
    const deadline = (await a.evm.publicClient.getBlockNumber()) + 50n;
    await arm(encode('prepare', [other, { token: hostile, from: customer, to: bank, amount: 20n }, deadline]));
    await prepare(a, xtx(12), 20n, a.participant, hostile);
    await expectRefused();
    legs.set(`${a.participant}/${other}`, hashOf(hostile, 20n));
    expect(await statusOf(a, other)).toBe(0);
    expect(await hostileBalance(a.participant)).toBe(40n);
  });

  it('during an ABORT’s refund: a second ABORT and a release cannot refund twice', async () => {
    const id = xtx(10);
    const before = await hostileBalance(customer);
    const abort = sign(a.domain, members.slice(2), id, false, 1);
    await arm(encode('decide', [id, lh(a, id), false, 1n, abort]));
    await call(a, 'decide', [id, lh(a, id), false, 1n, abort], bank);
    await expectRefused();
    expect(await hostileBalance(customer)).toBe(before + 20n);
    expect(await statusOf(a, id)).toBe(4);
    // Replayed afterwards, outside the transfer: the lock is already aborted.
    expect(await reverts(call(a, 'decide', [id, lh(a, id), false, 1n, abort]))).toBe('AlreadyKnown');
    expect(await hostileBalance(a.participant)).toBe(20n);
  });

  it('during a release: a second release and a COMMIT cannot unlock twice', async () => {
    const id = xtx(13);
    const deadline = (await a.evm.publicClient.getBlockNumber()) + 3n;
    legs.set(`${a.participant}/${id}`, hashOf(hostile, 30n));
    await call(a, 'prepare', [id, { token: hostile, from: customer, to: bank, amount: 30n }, deadline], customer);
    await a.evm.mine(4);
    const before = await hostileBalance(customer);
    await arm(encode('release', [id, lh(a, id)]));
    await call(a, 'release', [id, lh(a, id)], bank);
    await expectRefused();
    expect(await hostileBalance(customer)).toBe(before + 30n);
    expect(await reverts(call(a, 'release', [id, lh(a, id)]))).toBe('NotPrepared');
    expect(await hostileBalance(a.participant)).toBe(20n);
  });

  it('during a COMMIT’s payment: a release of the same lock and a member-set update are refused', async () => {
    const id = xtx(12);
    const bankBefore = await hostileBalance(bank);
    const [m0, m1, m2] = members as [EvmMember, EvmMember, EvmMember];
    const attackerSet = newEvmMembers(3);
    const addrs = attackerSet.map((m) => m.address);
    const digest = evmMembersDigest(a.domain, 9, addrs, 2);
    const update = sortEvmSignatures(
      digest,
      [m0, m1, m2].map((m) => evmSign(digest, m.key)),
    );
    const legitLocked = await balance(a, a.token, a.participant);
    await arm(encode('updateMembers', [9n, addrs, 2n, update]));
    await call(a, 'decide', [id, lh(a, id), true, 1n, sign(a.domain, [m0, m1, m2], id, true, 1)], bank);
    await expectRefused();
    expect(await hostileBalance(bank)).toBe(bankBefore + 20n);
    expect(await hostileBalance(a.participant)).toBe(0n);
    expect(await statusOf(a, id)).toBe(3);
    const [epoch] = (await a.evm.publicClient.readContract({
      address: a.participant,
      abi: CustosParticipant.abi,
      functionName: 'memberSet',
    })) as [bigint, Address[], bigint];
    expect(epoch).toBe(1n);
    // The legitimate token's locks in the same contract (xtx 4 and 6, still prepared) were not touched.
    expect(legitLocked).toBe(4n);
    expect(await balance(a, a.token, a.participant)).toBe(legitLocked);
  });
});
