/**
 * `decideMany` of the Solidity participant contract on a real Hardhat chain (integration tier),
 * with a five-member set and threshold 3 (docs/interop.md, "The participant contract"):
 *
 * - COMMITs and ABORTs of several legs in one call, an ABORT of a leg never prepared among them;
 * - a forged certificate anywhere in a batch (too few, duplicate, non-member or removed-member
 *   signatures; a certificate for another chain id, another contract, another transaction, another
 *   epoch) reverts the whole call: no item of the batch is applied;
 * - items already decided or lapsed, a duplicate item and a COMMIT past its lock's deadline are
 *   skipped, the rest applied; a COMMIT of a lock never prepared reverts the call, as `decide` does;
 * - the bound on the list (1 to MAX_DECISIONS);
 * - re-entry from a hostile ERC-20 (test/contracts/ReentrantToken.sol) during a batch's payments.
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

const members = newEvmMembers(5);
const STATUS = { none: 0, prepared: 1, committed: 3, aborted: 4 };
let nextId = 1;
const newId = (): Hex => `0x${(nextId++).toString(16).padStart(64, '0')}`;

let evm: EvmFixture;
let participant: Address;
let token: Address;
let domain: EvmDomain;
let issuer: Address;
let customer: Address;
let bank: Address;

/** A leg of the tests: `amount` of `tok` from the customer to the bank, under `xtxId`. */
interface TestLeg {
  xtxId: Hex;
  legHash: Hex;
  amount: bigint;
}

interface Item {
  xtxId: Hex;
  legHash: Hex;
  commit: boolean;
  epoch: bigint;
  signatures: Hex[];
}

const hashOf = (tok: Address, amount: bigint): Hex =>
  evmLegHash({
    token: tok.toLowerCase(),
    from: customer.toLowerCase(),
    to: bank.toLowerCase(),
    amount: String(amount),
  });

/** A certificate item for `leg` signed by `signers` over the digest of `dom` (default: this deployment). */
function item(
  leg: TestLeg,
  commit: boolean,
  signers = members.slice(0, 3),
  opts: Partial<Item> & { dom?: EvmDomain } = {},
): Item {
  const epoch = opts.epoch ?? 1n;
  const digest = evmDecisionDigest(opts.dom ?? domain, leg.xtxId, leg.legHash, commit, Number(epoch));
  return {
    xtxId: opts.xtxId ?? leg.xtxId,
    legHash: opts.legHash ?? leg.legHash,
    commit,
    epoch,
    signatures:
      opts.signatures ??
      sortEvmSignatures(
        digest,
        signers.map((m) => evmSign(digest, m.key)),
      ),
  };
}

const call = (functionName: string, args: readonly unknown[], from = bank, at = participant) =>
  evm.write({ address: at, abi: CustosParticipant.abi, functionName, args }, from);

const statusOf = async (leg: TestLeg, at = participant) =>
  (
    (await evm.publicClient.readContract({
      address: at,
      abi: CustosParticipant.abi,
      functionName: 'lockOf',
      args: [leg.xtxId, leg.legHash],
    })) as { status: number }
  ).status;

const balance = (tok: Address, who: Address) =>
  evm.publicClient.readContract({
    address: tok,
    abi: LoyaltyToken.abi,
    functionName: 'balanceOf',
    args: [who],
  }) as Promise<bigint>;

async function prepare(amount: bigint, opts: { at?: Address; tok?: Address; blocks?: bigint } = {}): Promise<TestLeg> {
  const xtxId = newId();
  const tok = opts.tok ?? token;
  const deadline = (await evm.publicClient.getBlockNumber()) + (opts.blocks ?? 50n);
  await call('prepare', [xtxId, { token: tok, from: customer, to: bank, amount }, deadline], customer, opts.at);
  return { xtxId, legHash: hashOf(tok, amount), amount };
}

/** A leg planned but never prepared (an ABORT leaves a tombstone for it). */
const unprepared = (amount: bigint): TestLeg => ({ xtxId: newId(), legHash: hashOf(token, amount), amount });

const decidedIn = (logs: Parameters<typeof parseEventLogs>[0]['logs']) =>
  parseEventLogs({ abi: CustosParticipant.abi, logs, eventName: 'Decided' }).map((e) => e.args);

beforeAll(async () => {
  evm = await startEvm();
  [issuer, customer, bank] = evm.accounts as [Address, Address, Address];
  ({ address: token } = await evm.deploy(LoyaltyToken, ['Retailer points', 'PTS'], issuer));
  ({ address: participant } = await evm.deploy(CustosParticipant, [1n, members.map((m) => m.address), 3n], issuer));
  domain = { chainId: evm.chain.chainId, contract: participant };
  await evm.write({ address: token, abi: LoyaltyToken.abi, functionName: 'mint', args: [customer, 100_000n] }, issuer);
  await evm.write(
    { address: token, abi: LoyaltyToken.abi, functionName: 'approve', args: [participant, 100_000n] },
    customer,
  );
}, 180_000);

afterAll(async () => {
  await evm?.close();
});

describe('several decisions in one decideMany', () => {
  it('commits and aborts several legs in one transaction, each with its own Decided event', async () => {
    const [c1, c2, a1] = [await prepare(11n), await prepare(12n), await prepare(13n)];
    const never = unprepared(14n);
    const bankBefore = await balance(token, bank);
    const customerBefore = await balance(token, customer);
    const r = await call('decideMany', [[item(c1, true), item(a1, false), item(c2, true), item(never, false)]]);
    expect(decidedIn(r.logs)).toEqual([
      { xtxId: c1.xtxId, legHash: c1.legHash, commit: true, epoch: 1n },
      { xtxId: a1.xtxId, legHash: a1.legHash, commit: false, epoch: 1n },
      { xtxId: c2.xtxId, legHash: c2.legHash, commit: true, epoch: 1n },
      { xtxId: never.xtxId, legHash: never.legHash, commit: false, epoch: 1n },
    ]);
    expect(await Promise.all([c1, c2, a1, never].map((l) => statusOf(l)))).toEqual([
      STATUS.committed,
      STATUS.committed,
      STATUS.aborted,
      STATUS.aborted,
    ]);
    expect(await balance(token, bank)).toBe(bankBefore + 23n);
    expect(await balance(token, customer)).toBe(customerBefore + 13n);
    // The tombstone refuses a late prepare of the leg aborted before it was prepared.
    const deadline = (await evm.publicClient.getBlockNumber()) + 10n;
    expect(
      await reverts(
        call('prepare', [never.xtxId, { token, from: customer, to: bank, amount: 14n }, deadline], customer),
      ),
    ).toBe('AlreadyKnown');
  });

  it('takes 1 to MAX_DECISIONS items', async () => {
    const max = (await evm.publicClient.readContract({
      address: participant,
      abi: CustosParticipant.abi,
      functionName: 'MAX_DECISIONS',
    })) as bigint;
    expect(max).toBe(32n);
    expect(await reverts(call('decideMany', [[]]))).toBe('BadBatch');
    const leg = unprepared(1n);
    const tooMany = Array.from({ length: Number(max) + 1 }, () => item(leg, false));
    expect(await reverts(call('decideMany', [tooMany]))).toBe('BadBatch');
    expect(await statusOf(leg)).toBe(STATUS.none);
    // One item is a batch too.
    await call('decideMany', [[item(leg, false)]]);
    expect(await statusOf(leg)).toBe(STATUS.aborted);
  });
});

describe('a forged certificate inside a batch', () => {
  it('too few, duplicate, non-member signatures, another chain id, contract, transaction or epoch: the call reverts, nothing applied', async () => {
    const [before, after] = [await prepare(21n), await prepare(22n)];
    const target = await prepare(23n);
    const other = await prepare(24n);
    const [m0, m1] = members as [EvmMember, EvmMember];
    const outsider = newEvmMembers(1)[0]!;
    const one = item(target, true, [m0]).signatures[0]!;
    const forged: [string, Item][] = [
      ['NoQuorum', item(target, true, [m0, m1])],
      ['UnsortedSigners', item(target, true, [m0], { signatures: [one, one, one] })],
      ['NotMember', item(target, true, [m0, m1, outsider])],
      [
        'NotMember',
        item(target, true, undefined, { dom: { chainId: Number(domain.chainId) + 1, contract: participant } }),
      ],
      ['NotMember', item(target, true, undefined, { dom: { chainId: domain.chainId, contract: token } })],
      // A certificate for the other transaction, presented for this one.
      ['NotMember', { ...item(other, true), xtxId: target.xtxId, legHash: target.legHash }],
      ['WrongEpoch', item(target, true, undefined, { epoch: 2n })],
    ];
    const bankBefore = await balance(token, bank);
    for (const [error, bad] of forged) {
      for (const batch of [
        [item(before, true), bad, item(after, false)],
        [bad, item(before, true)],
        [item(before, true), item(after, false), bad],
      ]) {
        expect(await reverts(call('decideMany', [batch]))).toBe(error);
      }
    }
    expect(await Promise.all([before, after, target, other].map((l) => statusOf(l)))).toEqual([1, 1, 1, 1]);
    expect(await balance(token, bank)).toBe(bankBefore);
    // The same items with honest certificates go through.
    await call('decideMany', [[item(before, true), item(target, true), item(after, false)]]);
    expect(await Promise.all([before, after, target].map((l) => statusOf(l)))).toEqual([3, 4, 3]);
  });

  it('removed members: after an update, their signatures in a batch revert it', async () => {
    const { address: twin } = await evm.deploy(CustosParticipant, [1n, members.map((m) => m.address), 3n], issuer);
    await evm.write({ address: token, abi: LoyaltyToken.abi, functionName: 'approve', args: [twin, 1_000n] }, customer);
    const [removed1, removed2, ...kept] = members as [EvmMember, EvmMember, EvmMember, EvmMember, EvmMember];
    const added = newEvmMembers(1)[0]!;
    const next = [...kept, added].sort(byEvmAddress).map((m) => m.address);
    const twinDomain = { chainId: domain.chainId, contract: twin };
    const digest = evmMembersDigest(twinDomain, 2, next, 3);
    const sigs = sortEvmSignatures(
      digest,
      [removed1, removed2, kept[0]!].map((m) => evmSign(digest, m.key)),
    );
    await call('updateMembers', [2n, next, 3n, sigs], bank, twin);
    const [l1, l2] = [await prepare(31n, { at: twin }), await prepare(32n, { at: twin })];
    const good = item(l1, true, [kept[0]!, kept[1]!, added], { epoch: 2n, dom: twinDomain });
    const stale = item(l2, true, [removed1, removed2, kept[0]!], { epoch: 2n, dom: twinDomain });
    expect(await reverts(call('decideMany', [[good, stale]], bank, twin))).toBe('NotMember');
    expect(await statusOf(l1, twin)).toBe(STATUS.prepared);
    await call(
      'decideMany',
      [[good, item(l2, false, [kept[1]!, kept[2]!, added], { epoch: 2n, dom: twinDomain })]],
      bank,
      twin,
    );
    expect([await statusOf(l1, twin), await statusOf(l2, twin)]).toEqual([STATUS.committed, STATUS.aborted]);
  });
});

describe('items that can no longer apply', () => {
  it('already decided, lapsed, duplicated in the batch or a COMMIT past its deadline: skipped, the others applied', async () => {
    const decided = await prepare(41n);
    await call('decide', [decided.xtxId, decided.legHash, true, 1n, item(decided, true).signatures]);
    const lapsed = await prepare(42n, { blocks: 2n });
    const late = await prepare(43n, { blocks: 3n });
    await evm.mine(3);
    await call('release', [lapsed.xtxId, lapsed.legHash]);
    const [fresh, aborted] = [await prepare(44n), await prepare(45n)];
    const bankBefore = await balance(token, bank);
    const r = await call('decideMany', [
      [
        item(decided, true),
        item(fresh, true),
        item(lapsed, true),
        item(lapsed, false),
        item(fresh, true),
        item(late, true),
        item(aborted, false),
        item(decided, false),
      ],
    ]);
    // Only the fresh COMMIT and the ABORT applied, once each.
    expect(decidedIn(r.logs)).toEqual([
      { xtxId: fresh.xtxId, legHash: fresh.legHash, commit: true, epoch: 1n },
      { xtxId: aborted.xtxId, legHash: aborted.legHash, commit: false, epoch: 1n },
    ]);
    expect(await balance(token, bank)).toBe(bankBefore + 44n);
    expect(await statusOf(decided)).toBe(STATUS.committed);
    expect(await statusOf(lapsed)).toBe(STATUS.aborted);
    // The late COMMIT left its lock as it was: only a release (an abort) remains for it.
    expect(await statusOf(late)).toBe(STATUS.prepared);
    expect(await reverts(call('decide', [late.xtxId, late.legHash, true, 1n, item(late, true).signatures]))).toBe(
      'LockExpired',
    );
    await call('release', [late.xtxId, late.legHash]);
    expect(await statusOf(late)).toBe(STATUS.aborted);
    // A batch of nothing but replays changes nothing and reverts nothing (a racing relayer's).
    const again = await call('decideMany', [[item(decided, true), item(fresh, true), item(aborted, false)]]);
    expect(decidedIn(again.logs)).toEqual([]);
  });

  it('a COMMIT of a lock never prepared reverts the whole batch, as decide does', async () => {
    const ok = await prepare(51n);
    const never = unprepared(52n);
    expect(await reverts(call('decideMany', [[item(ok, true), item(never, true)]]))).toBe('NotPrepared');
    expect(await statusOf(ok)).toBe(STATUS.prepared);
  });
});

describe('re-entry from a hostile token in a batch', () => {
  let hostile: HostileToken;

  beforeAll(async () => {
    hostile = await hostileToken(evm, { deployer: issuer, holder: customer, spender: participant, amount: 1_000n });
  });

  for (const [what, reenter] of [
    [
      'the same batch again',
      (batch: Item[]) => encodeFunctionData({ abi: CustosParticipant.abi, functionName: 'decideMany', args: [batch] }),
    ],
    [
      'a decide of its next item',
      (batch: Item[]) =>
        encodeFunctionData({
          abi: CustosParticipant.abi,
          functionName: 'decide',
          args: [batch[1]!.xtxId, batch[1]!.legHash, batch[1]!.commit, 1n, batch[1]!.signatures],
        }),
    ],
    [
      'a release of its lock',
      (batch: Item[]) =>
        encodeFunctionData({
          abi: CustosParticipant.abi,
          functionName: 'release',
          args: [batch[0]!.xtxId, batch[0]!.legHash],
        }),
    ],
  ] as const) {
    it(`during a COMMIT's payment, ${what} is refused: each effect happens once`, async () => {
      const h = await prepare(7n, { tok: hostile.address });
      const plain = await prepare(8n);
      const refund = await prepare(9n, { tok: hostile.address });
      const batch = [item(h, true), item(plain, true), item(refund, false)];
      const before = {
        bank: await hostile.balanceOf(bank),
        customer: await hostile.balanceOf(customer),
        plainBank: await balance(token, bank),
      };
      await hostile.arm(participant, reenter(batch));
      const r = await call('decideMany', [batch]);
      await hostile.expectRefused();
      expect(decidedIn(r.logs)).toHaveLength(3);
      expect(await hostile.balanceOf(bank)).toBe(before.bank + 7n);
      expect(await hostile.balanceOf(customer)).toBe(before.customer + 9n);
      expect(await balance(token, bank)).toBe(before.plainBank + 8n);
      expect(await Promise.all(batch.map((b) => statusOf({ xtxId: b.xtxId, legHash: b.legHash, amount: 0n })))).toEqual(
        [STATUS.committed, STATUS.committed, STATUS.aborted],
      );
    });
  }
});
