/**
 * Identities and membership: the member orgs of the consortium and their keys. Members come from
 * genesis (admission and removal by vote arrive with governance); a member manages its own keys.
 *
 * State: `member/<id>` -> {id, name, keys, since}; `memberkey/<did>` -> id.
 */
import { isDidKey, type JsonValue } from '@custos/protocol';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';

export interface MemberRecord {
  id: string;
  name: string;
  keys: string[];
  since: number;
  [k: string]: JsonValue;
}

export const MEMBER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const MAX_KEYS = 8;

export function memberKey(id: string): string {
  return `member/${id}`;
}

export function memberOfKey(ctx: Pick<ExecContext, 'get'>, did: string): string | undefined {
  const v = ctx.get(`memberkey/${did}`);
  return typeof v === 'string' ? v : undefined;
}

function signerMember(ctx: ExecContext): MemberRecord {
  const id = memberOfKey(ctx, ctx.signer);
  if (id === undefined) throw new ExecFailure('UNAUTHORIZED', 'signer is not a member key');
  return ctx.get(memberKey(id)) as MemberRecord;
}

/** Writes a member and its key index; used by genesis and by the actions below. */
export function writeMember(ctx: Pick<ExecContext, 'put'>, m: MemberRecord): void {
  ctx.put(memberKey(m.id), m);
  for (const k of m.keys) ctx.put(`memberkey/${k}`, m.id);
}

export const memberModule: Module = {
  name: 'member',
  actions: {
    /** Renames the signer's member org. */
    update(ctx: ExecContext, args: Args) {
      arg.only(args, ['name']);
      const name = arg.str(args, 'name', 128);
      const m = signerMember(ctx);
      ctx.put(memberKey(m.id), { ...m, name });
      return 'OK';
    },
    /** Adds a key to the signer's member org (signed by one of its current keys). */
    addKey(ctx: ExecContext, args: Args) {
      arg.only(args, ['key']);
      const key = arg.str(args, 'key', 128);
      if (!isDidKey(key)) throw new ExecFailure('INVALID_ARGS', 'expected args.key as an Ed25519 did:key');
      const m = signerMember(ctx);
      if (memberOfKey(ctx, key) !== undefined) throw new ExecFailure('CONFLICT', 'key already belongs to a member');
      if (m.keys.length >= MAX_KEYS) throw new ExecFailure('LIMIT_EXCEEDED', `a member has at most ${MAX_KEYS} keys`);
      writeMember(ctx, { ...m, keys: [...m.keys, key] });
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
      ctx.del(`memberkey/${key}`);
      return 'OK';
    },
  },
};
