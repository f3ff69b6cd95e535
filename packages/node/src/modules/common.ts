/** Helpers the customer-data modules share: who signed, argument shapes, calendar arithmetic. */
import { isDpvCategory, isDpvPurpose } from '@custos/protocol/consent';
import { isDidKey } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Args, arg, type ExecContext, ExecFailure } from '../exec/module.js';
import { MEMBER_ID, memberKey, memberOfKey } from './member-state.js';

/** W3C DPV code: a prefix and a term, e.g. `pd:EmailAddress`, `dpv:Marketing`. */
export const DPV_CODE = /^[a-z][a-z0-9-]{0,15}:[A-Za-z][A-Za-z0-9-]{0,63}$/;
export { JURISDICTIONS, type Jurisdiction } from '@custos/protocol/ledger';
export const MAX_LIST = 16;

/** The member org whose key signed, or UNAUTHORIZED. */
export function signerOrg(ctx: ExecContext): string {
  const id = memberOfKey(ctx, ctx.signer);
  if (id === undefined) throw new ExecFailure('UNAUTHORIZED', 'expected a transaction signed by a member org key');
  return id;
}

/** The signer as a data subject: any key that is not a member org key. */
export function signerSubject(ctx: ExecContext): string {
  if (memberOfKey(ctx, ctx.signer) !== undefined) {
    throw new ExecFailure('UNAUTHORIZED', 'expected a transaction signed by a customer key, not a member org key');
  }
  return ctx.signer;
}

/** An existing member org named in args. */
export function orgArg(ctx: ExecContext, args: Args, name: string): string {
  const org = arg.str(args, name, 32, MEMBER_ID);
  if (ctx.get(memberKey(org)) === undefined) throw new ExecFailure('NOT_FOUND', `no member org '${org}'`);
  return org;
}

export function subjectArg(args: Args, name: string): string {
  const s = arg.str(args, name, 128);
  if (!isDidKey(s)) throw new ExecFailure('INVALID_ARGS', `expected args.${name} as the subject's pairwise did:key`);
  return s;
}

/** A list of DPV codes from Custos's vocabulary (`kind` says which), without repeats. */
export function codes(args: Args, name: string, kind: 'purpose' | 'category'): string[] {
  const list = arg.strList(args, name, MAX_LIST, 80, DPV_CODE);
  if (new Set(list).size !== list.length)
    throw new ExecFailure('INVALID_ARGS', `expected args.${name} without repeats`);
  for (const c of list) checkCode(c, kind, name);
  return list;
}

/** Throws INVALID_ARGS unless `code` is a DPV purpose (or personal-data category) Custos knows. */
export function checkCode(code: string, kind: 'purpose' | 'category', name: string): void {
  const ok = kind === 'purpose' ? isDpvPurpose(code) : isDpvCategory(code);
  if (!ok) {
    const example = kind === 'purpose' ? 'purposes like dpv:Marketing' : 'categories like pd:EmailAddress';
    throw new ExecFailure(
      'INVALID_ARGS',
      `expected args.${name} to hold DPV ${example}; ${code.slice(0, 80)} is not one Custos knows`,
    );
  }
}

export function hash32(args: Args, name: string): string {
  return arg.str(args, name, 64, /^[0-9a-f]{64}$/);
}

export function record<T>(v: JsonValue | undefined): T | undefined {
  return v as T | undefined;
}

const DAY = 86_400_000;

/** `t` plus `months` calendar months in UTC; the day is clamped to the end of a shorter month (31 Jan + 1 = 28/29 Feb). */
export function addMonths(t: number, months: number): number {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(
    y,
    m,
    Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

export function addDays(t: number, days: number): number {
  return t + days * DAY;
}

/**
 * `t` plus `days` business days (Monday to Friday, UTC), at the same time of day: the CCPA
 * regulations count some deadlines so (7021(a), 7026(f)). Public holidays are not skipped, so the
 * deadline is never later than the law's.
 */
export function addBusinessDays(t: number, days: number): number {
  let at = t;
  for (let left = days; left > 0; ) {
    at += DAY;
    const wd = new Date(at).getUTCDay();
    if (wd !== 0 && wd !== 6) left--;
  }
  return at;
}

/**
 * Lists a state key (a record, a request) under its subject: `subjitem/<subject>/<n>` -> key, with
 * the count in `subjitems/<subject>`. Deterministic keys make the list provably complete.
 */
/** The values listed under `subject` (`addSubjectItem`) whose state key starts with `prefix`, in order. */
export function subjectItems<T>(ctx: Pick<ExecContext, 'get'>, subject: string, prefix: string): T[] {
  const items = ctx.get(`subjitems/${subject}`) as { count: number } | undefined;
  const out: T[] = [];
  for (let i = 0; i < (items?.count ?? 0); i++) {
    const key = ctx.get(`subjitem/${subject}/${i}`);
    if (typeof key !== 'string' || !key.startsWith(prefix)) continue;
    const v = ctx.get(key);
    if (v !== undefined) out.push(v as unknown as T);
  }
  return out;
}

export function addSubjectItem(ctx: ExecContext, subject: string, key: string): void {
  const cur = ctx.get(`subjitems/${subject}`) as { count: number } | undefined;
  const n = cur?.count ?? 0;
  ctx.put(`subjitem/${subject}/${n}`, key);
  ctx.put(`subjitems/${subject}`, { count: n + 1 });
}
