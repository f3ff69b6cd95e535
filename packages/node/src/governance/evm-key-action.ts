/**
 * Members' EVM keys in governance (docs/interop.md#members-evm-keys):
 *
 * - `{kind: 'setEvmKey', member, address, proof}` sets or replaces a member's secp256k1 key for EVM
 *   chains by vote, for a member that cannot sign `member.setEvmKey` itself (it lost its Ed25519
 *   keys); it needs the votes of the policy's `rotateKey` rule.
 * - `{kind: 'removeEvmKey', member}` takes a member's key out of the EVM member set without a
 *   replacement (a compromised key whose holder has no new one yet); same votes. Refused
 *   (`CONFLICT`) while it would leave fewer members with EVM keys than the quorum threshold: the
 *   threshold is the Custos one and is never lowered for the EVM side, so such a set could certify
 *   nothing; replace the key instead (`setEvmKey`).
 * - `admit` may carry the new member's EVM key: `evmKey` (its address) and `evmKeyProof`.
 *
 * Either way `proof` is the key's own signature of `{address, chainId, member}` (`proveEvmKey`),
 * checked when proposed and again when executed, and the address must be no member's yet. The EVM
 * member set `gov/evm-memberset` moves to a new epoch at the end of the block that executes it
 * (`evm-member-set.ts`), so EVM participant contracts follow with a certified update.
 */
import { isEvmAddress } from '@custos/protocol/interop';
import type { GovAction } from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure } from '../exec/module.js';
import { checkNewEvmKey, EVM_PROOF_LENGTH } from '../modules/member.js';
import {
  clearMemberEvmKey,
  MEMBER_ID,
  type MemberRecord,
  memberKey,
  setMemberEvmKey,
} from '../modules/member-state.js';
import type { GovParams } from './state.js';

type SetEvmKeyAction = Extract<GovAction, { kind: 'setEvmKey' }>;
type RemoveEvmKeyAction = Extract<GovAction, { kind: 'removeEvmKey' }>;
type AdmitAction = Extract<GovAction, { kind: 'admit' }>;

export const SET_EVM_KEY_FIELDS = ['kind', 'member', 'address', 'proof'];
/** Optional fields of an `admit` action. */
export const ADMIT_EVM_FIELDS = ['evmKey', 'evmKeyProof'];

function address(a: Args, field: string): string {
  const v = a[field];
  if (!isEvmAddress(v)) {
    throw new ExecFailure(
      'INVALID_ARGS',
      `expected action.${field} as an EVM address: 0x and 40 lower-case hex digits`,
    );
  }
  return v;
}

export function parseSetEvmKey(a: Args): SetEvmKeyAction {
  return {
    kind: 'setEvmKey',
    member: arg.str(a, 'member', 32, MEMBER_ID),
    address: address(a, 'address'),
    proof: arg.str(a, 'proof', EVM_PROOF_LENGTH),
  };
}

/** An admission's EVM key fields: both or neither. */
export function parseAdmitEvmKey(a: Args): Pick<AdmitAction, 'evmKey' | 'evmKeyProof'> {
  if (a.evmKey === undefined && a.evmKeyProof === undefined) return {};
  if (a.evmKey === undefined || a.evmKeyProof === undefined) {
    throw new ExecFailure('INVALID_ARGS', 'expected action.evmKey and action.evmKeyProof together, or neither');
  }
  return { evmKey: address(a, 'evmKey'), evmKeyProof: arg.str(a, 'evmKeyProof', EVM_PROOF_LENGTH) };
}

function member(ctx: Pick<ExecContext, 'get'>, id: string): MemberRecord {
  const m = ctx.get(memberKey(id)) as MemberRecord | undefined;
  if (m === undefined) throw new ExecFailure('NOT_FOUND', `no member '${id}'`);
  return m;
}

export function checkSetEvmKey(ctx: Pick<ExecContext, 'get' | 'chainId'>, action: SetEvmKeyAction): void {
  checkNewEvmKey(ctx, member(ctx, action.member), action.address, action.proof, 'action.proof');
}

/** Checks an admission's EVM key against the state (the member itself is checked by the caller). */
export function checkAdmitEvmKey(ctx: Pick<ExecContext, 'get' | 'chainId'>, action: AdmitAction): void {
  if (action.evmKey === undefined || action.evmKeyProof === undefined) return;
  checkNewEvmKey(ctx, { id: action.id }, action.evmKey, action.evmKeyProof, 'action.evmKeyProof');
}

export function applySetEvmKey(ctx: ExecContext, action: SetEvmKeyAction): void {
  setMemberEvmKey(ctx, member(ctx, action.member), action.address);
}

/** A key to take out, and enough keys left for the quorum threshold in force. */
export function checkRemoveEvmKey(
  ctx: Pick<ExecContext, 'get'>,
  action: RemoveEvmKeyAction,
  gov: { ids: string[]; params: GovParams },
): void {
  if (typeof member(ctx, action.member).evmKey !== 'string') {
    throw new ExecFailure('NOT_FOUND', `member '${action.member}' has no EVM key`);
  }
  const left = gov.ids.filter(
    (id) => id !== action.member && typeof (ctx.get(memberKey(id)) as MemberRecord | undefined)?.evmKey === 'string',
  ).length;
  if (left < gov.params.threshold) {
    throw new ExecFailure(
      'CONFLICT',
      `removing the EVM key of '${action.member}' would leave ${left} EVM keys, fewer than the quorum threshold ${gov.params.threshold}: replace it with setEvmKey instead`,
    );
  }
}

export function applyRemoveEvmKey(ctx: ExecContext, action: RemoveEvmKeyAction): void {
  clearMemberEvmKey(ctx, member(ctx, action.member));
}
