/**
 * Identities and membership: the member orgs of the consortium and their keys. Members come from
 * genesis or are admitted and removed by vote (`gov` module, which also rotates a member's key);
 * a member manages its own name, peer endpoint and keys.
 *
 * State: `member/<id>` -> {id, name, keys, since, endpoint?, admittedBy?}; `memberkey/<did>` -> id.
 */
import { isDidKey, type JsonValue, type MemberKeyAction, verifyMemberKeyProof } from '@custos/protocol';
import { nativeVerifier } from '../crypto/native.js';
import { historyKey } from '../exec/executor.js';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';

export interface MemberRecord {
  id: string;
  name: string;
  keys: string[];
  /** Height of admission (0 for a genesis member). */
  since: number;
  /** Base URL of the member's peer (admitted members; a member may change its own). */
  endpoint?: string;
  /** Id of the proposal that admitted the member; absent for a genesis member. */
  admittedBy?: string;
  [k: string]: JsonValue;
}

export const MEMBER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const MAX_KEYS = 8;
export const MAX_ENDPOINT = 256;

// Host is a DNS name, an IPv4 address or a bracketed IPv6 address; no query, fragment or credentials.
const ENDPOINT =
  /^https?:\/\/(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::([0-9]{1,5}))?(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$/;

/**
 * True for an http(s) base URL of a peer, e.g. `https://peer.bank.example:8443`. A regular
 * expression rather than `new URL`, so every peer (whatever its Node.js version) decides alike.
 */
export function isEndpoint(s: unknown): s is string {
  if (typeof s !== 'string' || s.length > MAX_ENDPOINT) return false;
  const m = ENDPOINT.exec(s);
  return m !== null && (m[1] === undefined || Number(m[1]) <= 65_535);
}

export function memberKey(id: string): string {
  return `member/${id}`;
}

/** State key naming the member that holds a key. */
export function keyOwnerKey(did: string): string {
  return `memberkey/${did}`;
}

export function memberOfKey(ctx: Pick<ExecContext, 'get'>, did: string): string | undefined {
  const v = ctx.get(keyOwnerKey(did));
  return typeof v === 'string' ? v : undefined;
}

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

/** Writes a member and its key index; used by genesis and by the actions below. */
export function writeMember(ctx: Pick<ExecContext, 'put'>, m: MemberRecord): void {
  ctx.put(memberKey(m.id), m);
  for (const k of m.keys) ctx.put(keyOwnerKey(k), m.id);
}

/** Deletes a member and its key index (governance removal). */
export function deleteMember(ctx: Pick<ExecContext, 'del'>, m: MemberRecord): void {
  for (const k of m.keys) ctx.del(keyOwnerKey(k));
  ctx.del(memberKey(m.id));
}

/** Replaces `oldKey` with `newKey` in its place among the member's keys, in one write set. */
export function replaceMemberKey(
  ctx: Pick<ExecContext, 'put' | 'del'>,
  m: MemberRecord,
  oldKey: string,
  newKey: string,
): void {
  ctx.put(memberKey(m.id), { ...m, keys: m.keys.map((k) => (k === oldKey ? newKey : k)) });
  ctx.del(keyOwnerKey(oldKey));
  ctx.put(keyOwnerKey(newKey), m.id);
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
