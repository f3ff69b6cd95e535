/**
 * The changes a governance proposal can make, each parsed from untrusted arguments, checked
 * against the state (when proposed and again when executed, since the state may have moved on)
 * and applied in the transaction that reaches the threshold.
 *
 * - `{kind: 'admit', id, name, keys, endpoint, proofs, evmKey?, evmKeyProof?}`: a new member org with
 *   1-8 unused keys, each with its proof of possession (`proveMemberKey`, trust #4), its peer's URL
 *   and optionally its EVM key with that key's proof (evm-key-action.ts).
 * - `{kind: 'remove', id}`: a member and its keys; refused if fewer members than the quorum would remain.
 * - `{kind: 'rotateKey', member, oldKey, newKey, proof}`: replaces one key of a member (a lost or
 *   stolen one); `proof`: the new key's proof of possession.
 * - `{kind: 'params', threshold, blockMaxTxs, blockMaxMs}`: quorum threshold (a majority to the
 *   member count) and block parameters.
 * - `{kind: 'setEvmKey', member, address, proof}`: sets or replaces a member's EVM key;
 *   `{kind: 'removeEvmKey', member}` takes one out (evm-key-action.ts).
 *
 * The quorum threshold never falls below a majority of the members (two disjoint groups could
 * otherwise each certify a fork): a params change below it is refused, and an admission that would
 * leave it below a majority of the larger set raises it to that majority in the same transaction.
 */
import { isDidKey } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { CONTRACT_ACTION_KINDS, EVM_ACTION_KINDS, type GovAction, majority } from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure, type ExecHost } from '../exec/module.js';
import {
  applyContractAction,
  CONTRACT_ACTION_FIELDS,
  checkContractAction,
  parseContractAction,
} from '../modules/contract-lifecycle.js';
import { checkNewMemberKey } from '../modules/member.js';
import {
  deleteMember,
  isEndpoint,
  MAX_ENDPOINT,
  MAX_KEYS,
  MEMBER_ID,
  type MemberRecord,
  memberKey,
  replaceMemberKey,
  setMemberEvmKey,
  writeMember,
} from '../modules/member-state.js';
import {
  ADMIT_EVM_FIELDS,
  applyRemoveEvmKey,
  applySetEvmKey,
  checkAdmitEvmKey,
  checkRemoveEvmKey,
  checkSetEvmKey,
  parseAdmitEvmKey,
  parseSetEvmKey,
  SET_EVM_KEY_FIELDS,
} from './evm-key-action.js';
import { ACTION_KINDS, MAX_MEMBERS } from './policy.js';
import { GOV_MEMBERS, GOV_PARAMS, type GovParams, MAX_BLOCK_MS, MAX_BLOCK_TXS } from './state.js';

export type { GovAction } from '@custos/protocol/ledger';

/** Governance state an action is checked against: current member ids and parameters in force. */
export interface GovView {
  ids: string[];
  params: GovParams;
}

const KINDS = [...ACTION_KINDS, ...CONTRACT_ACTION_KINDS, ...EVM_ACTION_KINDS] as const;

const FIELDS: Record<GovAction['kind'], string[]> = {
  ...CONTRACT_ACTION_FIELDS,
  admit: ['kind', 'id', 'name', 'keys', 'endpoint', 'proofs', ...ADMIT_EVM_FIELDS],
  remove: ['kind', 'id'],
  rotateKey: ['kind', 'member', 'oldKey', 'newKey', 'proof'],
  params: ['kind', 'threshold', 'blockMaxTxs', 'blockMaxMs'],
  setEvmKey: SET_EVM_KEY_FIELDS,
  removeEvmKey: ['kind', 'member'],
};

/** Reads `args.action`; INVALID_ARGS says which field is wrong. */
export function parseAction(raw: JsonValue | undefined): GovAction {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ExecFailure('INVALID_ARGS', `expected args.action as {kind: ${KINDS.join(' | ')}, ...}`);
  }
  const a = raw as Args;
  const kind = arg.oneOf(a, 'kind', KINDS);
  const only = FIELDS[kind];
  for (const k of Object.keys(a)) {
    if (!only.includes(k)) {
      throw new ExecFailure(
        'INVALID_ARGS',
        `unexpected action.${k.slice(0, 40)}; a ${kind} action has ${only.join(', ')}`,
      );
    }
  }
  switch (kind) {
    case 'contract.activate':
    case 'contract.resume':
    case 'contract.remove':
      return parseContractAction(kind, a);
    case 'admit': {
      const id = arg.str(a, 'id', 32, MEMBER_ID);
      const name = arg.str(a, 'name', 128);
      const keys = arg.strList(a, 'keys', MAX_KEYS, 128);
      if (!keys.every(isDidKey)) throw new ExecFailure('INVALID_ARGS', 'expected action.keys as Ed25519 did:keys');
      if (new Set(keys).size !== keys.length)
        throw new ExecFailure('INVALID_ARGS', 'expected action.keys without repeats');
      if (!isEndpoint(a.endpoint)) {
        throw new ExecFailure(
          'INVALID_ARGS',
          `expected action.endpoint as the http(s) URL of the member's peer, at most ${MAX_ENDPOINT} characters`,
        );
      }
      // Proofs of possession (one per key, in order) are checked against the state in checkAction.
      const proofs = arg.strList(a, 'proofs', MAX_KEYS, 128);
      if (proofs.length !== keys.length) {
        throw new ExecFailure('INVALID_ARGS', 'expected action.proofs: one proof of possession per key, in order');
      }
      return { kind, id, name, keys, endpoint: a.endpoint, proofs, ...parseAdmitEvmKey(a) };
    }
    case 'remove':
      return { kind, id: arg.str(a, 'id', 32, MEMBER_ID) };
    case 'rotateKey': {
      const member = arg.str(a, 'member', 32, MEMBER_ID);
      const oldKey = arg.str(a, 'oldKey', 128);
      const newKey = arg.str(a, 'newKey', 128);
      if (!isDidKey(newKey)) throw new ExecFailure('INVALID_ARGS', 'expected action.newKey as an Ed25519 did:key');
      if (newKey === oldKey) throw new ExecFailure('INVALID_ARGS', 'expected action.newKey other than action.oldKey');
      const proof = arg.str(a, 'proof', 128);
      return { kind, member, oldKey, newKey, proof };
    }
    case 'params':
      return {
        kind,
        threshold: arg.int(a, 'threshold', 1, MAX_MEMBERS),
        blockMaxTxs: arg.int(a, 'blockMaxTxs', 1, MAX_BLOCK_TXS),
        blockMaxMs: arg.int(a, 'blockMaxMs', 1, MAX_BLOCK_MS),
      };
    case 'setEvmKey':
      return parseSetEvmKey(a);
    case 'removeEvmKey':
      return { kind, member: arg.str(a, 'member', 32, MEMBER_ID) };
  }
}

function member(ctx: Pick<ExecContext, 'get'>, id: string): MemberRecord {
  const m = ctx.get(memberKey(id)) as MemberRecord | undefined;
  if (m === undefined) throw new ExecFailure('NOT_FOUND', `no member '${id}'`);
  return m;
}

/** Throws the result code that `action` would end with in the current state (nothing written). */
export function checkAction(ctx: Pick<ExecContext, 'get' | 'chainId'>, action: GovAction, gov: GovView): void {
  const n = gov.ids.length;
  switch (action.kind) {
    case 'contract.activate':
    case 'contract.resume':
    case 'contract.remove':
      checkContractAction(ctx, action);
      return;
    case 'admit':
      if (ctx.get(memberKey(action.id)) !== undefined) {
        throw new ExecFailure('CONFLICT', `member '${action.id}' already exists`);
      }
      if (n >= MAX_MEMBERS) throw new ExecFailure('LIMIT_EXCEEDED', `a consortium has at most ${MAX_MEMBERS} members`);
      for (const [i, k] of action.keys.entries()) checkNewMemberKey(ctx, action.id, 'admit', k, action.proofs[i]);
      checkAdmitEvmKey(ctx, action);
      return;
    case 'remove':
      member(ctx, action.id);
      // Lowering the quorum is a decision of its own (a params proposal), never a side effect of a removal.
      // (A removal cannot take it under a majority: majority(n - 1) <= majority(n) <= threshold.)
      if (n - 1 < gov.params.threshold) {
        throw new ExecFailure(
          'CONFLICT',
          `removing '${action.id}' would leave ${n - 1} members, fewer than the quorum threshold ${gov.params.threshold}`,
        );
      }
      return;
    case 'rotateKey': {
      const m = member(ctx, action.member);
      if (!m.keys.includes(action.oldKey)) {
        throw new ExecFailure('NOT_FOUND', `action.oldKey is not a key of member '${action.member}'`);
      }
      checkNewMemberKey(ctx, action.member, 'rotateKey', action.newKey, action.proof);
      return;
    }
    case 'params':
      if (action.threshold > n) {
        throw new ExecFailure('CONFLICT', `expected a threshold of at most ${n}, the number of members`);
      }
      if (action.threshold < majority(n)) {
        throw new ExecFailure(
          'CONFLICT',
          `expected a threshold of at least ${majority(n)}, a majority of the ${n} members`,
        );
      }
      return;
    case 'setEvmKey':
      checkSetEvmKey(ctx, action);
      return;
    case 'removeEvmKey':
      checkRemoveEvmKey(ctx, action, gov);
      return;
  }
}

/** Applies a checked action; `gov` is updated to the new view. */
export function applyAction(
  ctx: ExecContext,
  action: GovAction,
  gov: GovView,
  proposalId: string,
  host?: ExecHost,
): void {
  switch (action.kind) {
    case 'contract.activate':
    case 'contract.resume':
    case 'contract.remove':
      applyContractAction(ctx, action, host);
      return;
    case 'admit': {
      const { id, name, keys, endpoint, evmKey } = action;
      const record: MemberRecord = { id, name, keys, since: ctx.height, endpoint, admittedBy: proposalId };
      writeMember(ctx, record);
      if (evmKey !== undefined) setMemberEvmKey(ctx, record, evmKey);
      gov.ids = [...gov.ids, id].sort();
      ctx.put(GOV_MEMBERS, { ids: gov.ids });
      // A larger set needs a larger quorum: keep the threshold at least a majority of it.
      if (gov.params.threshold < majority(gov.ids.length)) {
        gov.params = { ...gov.params, threshold: majority(gov.ids.length) };
        ctx.put(GOV_PARAMS, gov.params);
      }
      return;
    }
    case 'remove':
      deleteMember(ctx, member(ctx, action.id));
      gov.ids = gov.ids.filter((id) => id !== action.id);
      ctx.put(GOV_MEMBERS, { ids: gov.ids });
      return;
    case 'rotateKey':
      replaceMemberKey(ctx, member(ctx, action.member), action.oldKey, action.newKey);
      return;
    case 'params': {
      const { threshold, blockMaxTxs, blockMaxMs } = action;
      gov.params = { threshold, blockMaxTxs, blockMaxMs };
      ctx.put(GOV_PARAMS, gov.params);
      return;
    }
    case 'setEvmKey':
      applySetEvmKey(ctx, action);
      return;
    case 'removeEvmKey':
      applyRemoveEvmKey(ctx, action);
      return;
  }
}
