/**
 * Identities and membership: the member orgs of the consortium and their keys. Members come from
 * genesis or are admitted and removed by vote (`gov` module, which also rotates a member's key);
 * a member manages its own name, peer endpoint and keys.
 *
 * State layout: member-state.ts.
 */
import { isDidKey } from '@custos/protocol/crypto';
import { isEvmAddress, verifyEvmKeyProof } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type MemberKeyAction, verifyMemberKeyProof } from '@custos/protocol/ledger';
import { nativeVerifier } from '../crypto/native.js';
import { historyKey } from '../exec/executor.js';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import {
  evmKeyOwnerKey,
  isEndpoint,
  keyOwnerKey,
  MAX_ENDPOINT,
  MAX_KEYS,
  type MemberRecord,
  memberKey,
  memberOfKey,
  setMemberEvmKey,
  writeMember,
} from './member-state.js';

// The state layout, re-exported for the modules and routes that read members through this file.
export {
  deleteMember,
  evmKeyOwnerKey,
  isEndpoint,
  keyOwnerKey,
  MAX_ENDPOINT,
  MAX_KEYS,
  MEMBER_ID,
  type MemberRecord,
  memberKey,
  memberOfKey,
  replaceMemberKey,
  setMemberEvmKey,
  writeMember,
} from './member-state.js';

function signerMember(ctx: ExecContext): MemberRecord {
  const id = memberOfKey(ctx, ctx.signer);
  if (id === undefined) throw new ExecFailure('UNAUTHORIZED', 'signer is not a member key');
  return ctx.get(memberKey(id)) as MemberRecord;
}

/**
 * Checks a key about to become a key of member `member` (trust #4): not already a member key
 * (CONFLICT), never a data subject's key (KEY_HAS_HISTORY: a customer's pseudonym with events on the
 * ledger), and `proof` is the key's own signature of the statement binding chain, member, action
 * and key (KEY_NOT_PROVEN). Every peer runs this in execution.
 */
export function checkNewMemberKey(
  ctx: Pick<ExecContext, 'get' | 'chainId'>,
  member: string,
  action: MemberKeyAction,
  key: string,
  proof: JsonValue | undefined,
): void {
  const owner = memberOfKey(ctx, key);
  if (owner !== undefined) {
    throw new ExecFailure('CONFLICT', `key ${key.slice(0, 24)}... already belongs to member '${owner}'`);
  }
  if (ctx.get(historyKey(key)) !== undefined) {
    throw new ExecFailure('KEY_HAS_HISTORY', `key ${key.slice(0, 24)}... is a data subject's key, not a member key`);
  }
  if (!verifyMemberKeyProof({ chainId: ctx.chainId, member, action, key }, proof, nativeVerifier)) {
    throw new ExecFailure(
      'KEY_NOT_PROVEN',
      `expected a proof of possession signed by key ${key.slice(0, 24)}... for ${action} of member '${member}'`,
    );
  }
}

/** Length of an EVM key's proof of possession: `0x` and a 65-byte signature in hex. */
export const EVM_PROOF_LENGTH = 132;

/**
 * Checks `address` about to become the EVM key of member `m` (an existing record, or the one an
 * admission would write): not already its key or another member's (CONFLICT), and `proof` is that
 * key's signature of the statement binding this chain, the member and the address (KEY_NOT_PROVEN;
 * `field` names where the proof came from). Used by `member.setEvmKey` and by governance.
 */
export function checkNewEvmKey(
  ctx: Pick<ExecContext, 'get' | 'chainId'>,
  m: Pick<MemberRecord, 'id' | 'evmKey'>,
  address: string,
  proof: string,
  field: string,
): void {
  if (m.evmKey === address) throw new ExecFailure('CONFLICT', `${address} is already the EVM key of member '${m.id}'`);
  const owner = ctx.get(evmKeyOwnerKey(address));
  if (owner !== undefined) throw new ExecFailure('CONFLICT', `${address} is the EVM key of member '${String(owner)}'`);
  if (!verifyEvmKeyProof({ chainId: ctx.chainId, member: m.id, address }, proof)) {
    throw new ExecFailure(
      'KEY_NOT_PROVEN',
      `expected ${field} signed by the key of ${address} for member '${m.id}' on this chain`,
    );
  }
}

export const memberModule: Module = {
  name: 'member',
  actions: {
    /** Renames the signer's member org and/or moves its peer (`endpoint`). */
    update(ctx: ExecContext, args: Args) {
      arg.only(args, ['name', 'endpoint']);
      const name = arg.optStr(args, 'name', 128);
      const endpoint = args.endpoint;
      if (endpoint !== undefined && !isEndpoint(endpoint)) {
        throw new ExecFailure(
          'INVALID_ARGS',
          `expected args.endpoint as an http(s) URL of at most ${MAX_ENDPOINT} characters`,
        );
      }
      if (name === undefined && endpoint === undefined) {
        throw new ExecFailure('INVALID_ARGS', 'expected args.name or args.endpoint');
      }
      const m = signerMember(ctx);
      ctx.put(memberKey(m.id), {
        ...m,
        ...(name === undefined ? {} : { name }),
        ...(endpoint === undefined ? {} : { endpoint }),
      });
      return 'OK';
    },
    /**
     * Adds a key to the signer's member org (signed by one of its current keys); `proof`: the new
     * key's proof of possession (`proveMemberKey` with action `addKey`).
     */
    addKey(ctx: ExecContext, args: Args) {
      arg.only(args, ['key', 'proof']);
      const key = arg.str(args, 'key', 128);
      if (!isDidKey(key)) throw new ExecFailure('INVALID_ARGS', 'expected args.key as an Ed25519 did:key');
      const m = signerMember(ctx);
      checkNewMemberKey(ctx, m.id, 'addKey', key, args.proof);
      if (m.keys.length >= MAX_KEYS) throw new ExecFailure('LIMIT_EXCEEDED', `a member has at most ${MAX_KEYS} keys`);
      writeMember(ctx, { ...m, keys: [...m.keys, key] });
      return 'OK';
    },
    /**
     * Sets or replaces the signer's member key for EVM chains (docs/interop.md): `address`, the
     * lower-case EVM address of a secp256k1 key, and `proof`, that key's signature of the statement
     * binding this chain, the member and the address (`proveEvmKey`). The member-set epoch moves on,
     * so EVM participant contracts follow with a certified update.
     */
    setEvmKey(ctx: ExecContext, args: Args) {
      arg.only(args, ['address', 'proof']);
      const address = args.address;
      if (!isEvmAddress(address)) {
        throw new ExecFailure('INVALID_ARGS', 'expected args.address as 0x and 40 lower-case hex digits');
      }
      const proof = arg.str(args, 'proof', EVM_PROOF_LENGTH);
      const m = signerMember(ctx);
      checkNewEvmKey(ctx, m, address, proof, 'args.proof');
      setMemberEvmKey(ctx, m, address);
      return 'OK';
    },
    /** Revokes one of the signer's member keys; the last key cannot be revoked. */
    revokeKey(ctx: ExecContext, args: Args) {
      arg.only(args, ['key']);
      const key = arg.str(args, 'key', 128);
      const m = signerMember(ctx);
      if (!m.keys.includes(key)) throw new ExecFailure('NOT_FOUND', 'key is not a key of the signer’s member');
      if (m.keys.length === 1) throw new ExecFailure('CONFLICT', 'cannot revoke the last key of a member');
      ctx.put(memberKey(m.id), { ...m, keys: m.keys.filter((k) => k !== key) });
      ctx.del(keyOwnerKey(key));
      return 'OK';
    },
  },
};
