/**
 * Where members live in the state, and the plain reads and writes of them: `member/<id>` ->
 * {id, name, keys, since, endpoint?, admittedBy?}; `memberkey/<did>` -> id. Kept apart from the
 * member module's actions so that governance, genesis and the executor's member-set reads depend on
 * the layout alone, not on execution.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type { ExecContext } from '../exec/module.js';

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
  /** The member's secp256k1 key for EVM chains, as its lower-case EVM address (`member.setEvmKey`). */
  evmKey?: string;
  /**
   * The EVM key this member's last replacement or removal took out, while no member holds it: it
   * may still co-sign the member-set update that removes it (`evm.signMembers`), nothing else.
   */
  evmOutgoingKey?: string;
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

/** State key naming the member whose EVM key is `address`: one address, one member. */
export function evmKeyOwnerKey(address: string): string {
  return `memberevm/${address}`;
}

/**
 * The outgoing key after `m`'s key is replaced or taken out: the key it holds now, else the one
 * taken out before (a key set after a removal replaces nothing the contract may still hold).
 */
function outgoing(m: MemberRecord): { evmOutgoingKey?: string } {
  const key = m.evmKey ?? m.evmOutgoingKey;
  return typeof key === 'string' ? { evmOutgoingKey: key } : {};
}

/**
 * Sets or replaces member `m`'s EVM key (`address`, checked by the caller) and its index, in one
 * write set; a replaced address is freed and kept as the member's outgoing key.
 */
export function setMemberEvmKey(ctx: Pick<ExecContext, 'put' | 'del'>, m: MemberRecord, address: string): void {
  if (typeof m.evmKey === 'string') ctx.del(evmKeyOwnerKey(m.evmKey));
  ctx.put(evmKeyOwnerKey(address), m.id);
  const { evmOutgoingKey: _, ...rest } = m;
  const out = outgoing(m);
  ctx.put(memberKey(m.id), { ...rest, ...(out.evmOutgoingKey === address ? {} : out), evmKey: address });
}

/** Takes member `m`'s EVM key out (governance `removeEvmKey`), freeing its address, kept as outgoing. */
export function clearMemberEvmKey(ctx: Pick<ExecContext, 'put' | 'del'>, m: MemberRecord): void {
  if (typeof m.evmKey === 'string') ctx.del(evmKeyOwnerKey(m.evmKey));
  const { evmKey: _, evmOutgoingKey: __, ...rest } = m;
  ctx.put(memberKey(m.id), { ...rest, ...outgoing(m) });
}

/** Writes a member and its key index; used by genesis and by the actions below. */
export function writeMember(ctx: Pick<ExecContext, 'put'>, m: MemberRecord): void {
  ctx.put(memberKey(m.id), m);
  for (const k of m.keys) ctx.put(keyOwnerKey(k), m.id);
}

/** Deletes a member and its key index (governance removal). */
export function deleteMember(ctx: Pick<ExecContext, 'del'>, m: MemberRecord): void {
  for (const k of m.keys) ctx.del(keyOwnerKey(k));
  if (typeof m.evmKey === 'string') ctx.del(evmKeyOwnerKey(m.evmKey));
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
