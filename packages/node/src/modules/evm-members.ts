/**
 * EVM member-set updates certified on the Custos chain (docs/interop.md, "Member-set updates"):
 * when `gov/evm-memberset` moves to a new epoch, each member's peer signs, for every registered
 * participant contract, the digest `updateMembers` checks, and records it here; relayers take the
 * signatures of a quorum of the set a contract holds and submit `updateMembers`.
 *
 * - `evm.signMembers {participant, epoch, signature}`, signed by a member key: the member's
 *   secp256k1 signature (by its registered EVM key) over the members digest of the EVM member set
 *   in force, `epoch` (older sets are superseded: a contract may skip to the latest). Recorded in
 *   `evmmu/<participant>/<epoch>` with the set itself, once per member and key.
 *
 * A record is never rewritten with another set: an epoch names one set. A signature is by the
 * member's current EVM key or by its outgoing key (`evmOutgoingKey`, the one its last replacement
 * or removal took out, while no member holds it), so that a contract still holding the outgoing
 * key can move even when the other keys alone are fewer than its threshold. The outgoing key can
 * do nothing else: D takes it for no decision, and the set it signs here is the one in force,
 * which governance chose and which leaves it out. Records of epochs before one a contract is
 * proven to hold are pruned (`pruneMemberUpdates`).
 */
import { evmMembersDigest, evmRecover } from '@custos/protocol/interop';
import { type Args, arg, type ExecContext, ExecFailure } from '../exec/module.js';
import { EVM_MEMBER_SET_KEY, type EvmMemberSetEntry } from '../governance/evm-member-set.js';
import { evmKeyOwnerKey, type MemberRecord, memberKey, memberOfKey } from './member-state.js';

/** State `evmmu/<participant>/<epoch>`: an EVM member set and the members' signatures over it for one contract. */
export interface EvmMemberUpdateRecord {
  participant: string;
  epoch: number;
  addresses: string[];
  threshold: number;
  /** Members' signatures, sorted by address. */
  signatures: { member: string; address: string; signature: string }[];
  height: number;
}

export const EVM_MEMBER_UPDATE_PREFIX = 'evmmu/';
export const evmMemberUpdateKey = (participant: string, epoch: number) =>
  `${EVM_MEMBER_UPDATE_PREFIX}${participant}/${epoch}`;
const SIGNATURE = /^0x[0-9a-f]{130}$/;

/** What `evm.signMembers` reads of a registered participant (`evmp/`, modules/evm.ts). */
type Registered = { evmChainId: number; contract: string } | undefined;

export function signMembers(ctx: ExecContext, args: Args, registered: (participant: string) => Registered) {
  arg.only(args, ['participant', 'epoch', 'signature']);
  const who = memberOfKey(ctx, ctx.signer);
  if (who === undefined) throw new ExecFailure('UNAUTHORIZED', 'expected evm.signMembers signed by a member key');
  const participant = arg.str(args, 'participant', 80);
  const epoch = arg.int(args, 'epoch', 1, Number.MAX_SAFE_INTEGER);
  const signature = arg.str(args, 'signature', 132, SIGNATURE);
  const reg = registered(participant);
  if (reg === undefined) throw new ExecFailure('NOT_FOUND', `EVM participant '${participant}' is not registered`);
  const set = ctx.get(EVM_MEMBER_SET_KEY) as unknown as EvmMemberSetEntry | undefined;
  if (set === undefined || set.epoch !== epoch) {
    throw new ExecFailure(
      'CONFLICT',
      `expected the EVM member set in force, epoch ${set?.epoch ?? 'none'}; got epoch ${epoch}`,
    );
  }
  if (!set.ready) {
    throw new ExecFailure(
      'CONFLICT',
      `EVM member set ${epoch} is not ready: ${set.addresses.length} members have EVM keys, the threshold is ${set.threshold}`,
    );
  }
  const m = ctx.get(memberKey(who)) as unknown as MemberRecord | undefined;
  const keys = signingKeys(ctx, m, set.addresses);
  if (keys.length === 0) throw new ExecFailure('UNAUTHORIZED', `member '${who}' has no EVM key`);
  const key = evmMemberUpdateKey(participant, epoch);
  const rec = (ctx.get(key) as unknown as EvmMemberUpdateRecord | undefined) ?? {
    participant,
    epoch,
    addresses: set.addresses,
    threshold: set.threshold,
    signatures: [],
    height: ctx.height,
  };
  const mine = (k: string) => rec.signatures.some((s) => s.member === who && s.address === k);
  if (keys.every(mine)) throw new ExecFailure('CONFLICT', `member '${who}' already signed`);
  const digest = evmMembersDigest(
    { chainId: reg.evmChainId, contract: reg.contract },
    epoch,
    set.addresses,
    set.threshold,
  );
  let signer: string;
  try {
    signer = evmRecover(digest, signature);
  } catch (e) {
    throw new ExecFailure('INVALID_ARGS', `args.signature: ${(e as Error).message}`);
  }
  if (!keys.includes(signer)) {
    throw new ExecFailure(
      'UNAUTHORIZED',
      `the signature is not by the EVM key (or outgoing EVM key) of member '${who}' over EVM member set ${epoch} for this contract`,
    );
  }
  // Once per member and key: a member's current and outgoing keys each sign once.
  if (rec.signatures.some((s) => s.member === who && s.address === signer)) {
    throw new ExecFailure('CONFLICT', `member '${who}' already signed with ${signer}`);
  }
  const signatures = [...rec.signatures, { member: who, address: signer, signature }].sort((a, b) =>
    a.address < b.address ? -1 : 1,
  );
  ctx.put(key, { ...rec, signatures });
  return 'OK' as const;
}

/**
 * The EVM keys member `m` may sign member-set updates with: its current key, and its outgoing key
 * while that is no member's key (another member may have registered it since) and not in the set.
 */
function signingKeys(ctx: ExecContext, m: MemberRecord | undefined, addresses: string[]): string[] {
  const keys: string[] = [];
  if (typeof m?.evmKey === 'string') keys.push(m.evmKey);
  const out = m?.evmOutgoingKey;
  if (typeof out === 'string' && ctx.get(evmKeyOwnerKey(out)) === undefined && !addresses.includes(out)) keys.push(out);
  return keys;
}

/**
 * Deletes the `evmmu/` records of `participant` for epochs before `held`, an epoch the contract is
 * proven to hold (a `Decided` event under it): a contract never goes back, and relayers only use
 * records later than the contract's epoch. The record of `held` itself stays, so that members'
 * peers, which sign the set in force once, do not sign it again. What remains is that record and
 * those of later epochs, which governance makes.
 */
export function pruneMemberUpdates(ctx: ExecContext, participant: string, held: number): void {
  const prefix = `${EVM_MEMBER_UPDATE_PREFIX}${participant}/`;
  const old: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = ctx.range?.(prefix, after, 100) ?? [];
    for (const { key } of page) if (Number(key.slice(prefix.length)) < held) old.push(key);
    if (page.length < 100) break;
    after = page[page.length - 1]?.key;
  }
  for (const key of old) ctx.del(key);
}
