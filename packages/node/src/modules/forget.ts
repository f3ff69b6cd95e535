/**
 * Forgetting a subject on the ledger (docs/adr/0019-forget-on-the-ledger.md): once a pseudonym's
 * erasure is complete, every peer deletes its state entries in the same transaction, so at the same
 * height and with the same state root, and keeps only a tombstone keyed by the pseudonym's hash.
 *
 * The rule: a pseudonym P is forgotten by the transaction after which (1) an `erase` request of P is
 * fulfilled, (2) no record under P is live anywhere on the ledger (originals, copies at recipients,
 * records kept under a legal exception), and (3) no request of P is still open. The transactions
 * that can make this true check it: `request.fulfil`, `request.reject` and `data.erased`.
 *
 * Deleted: every entry of P's item list (its records and requests) and the list itself, the shares
 * of its records, the steps of its requests, `consent/<org>/P` and `pref/<org>/P` at every member,
 * and `history/P` (by the executor, after the transaction's own history entry). Written:
 * `forgotten/<SHA-256(P)>` -> {at, height}. The transactions filed under P keep their log leaf
 * (txId, height, index, time, code) and lose their bodies in every peer's store (store/prune.ts).
 */
import { sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import type { DataRecord, DataRequest } from '@custos/protocol/ledger';
import type { ExecContext } from '../exec/module.js';
import { consentKey, prefKey } from './consent.js';

/** State key of a forgotten pseudonym's tombstone: the pseudonym appears only as its SHA-256. */
export function tombstoneKey(subject: string): string {
  return `forgotten/${toHex(sha256(utf8(subject)))}`;
}

export interface Tombstone {
  /** Block time of the transaction that forgot the pseudonym. */
  at: number;
  height: number;
}

/** The tombstone of `subject`, if it was forgotten. */
export function tombstoneOf(ctx: Pick<ExecContext, 'get'>, subject: string): Tombstone | undefined {
  return ctx.get(tombstoneKey(subject)) as unknown as Tombstone | undefined;
}

/** The state keys listed under `subject` (`subjitem/<subject>/<n>`), in order. */
function itemKeys(ctx: Pick<ExecContext, 'get'>, subject: string): string[] {
  const items = ctx.get(`subjitems/${subject}`) as { count: number } | undefined;
  const out: string[] = [];
  for (let i = 0; i < (items?.count ?? 0); i++) {
    const key = ctx.get(`subjitem/${subject}/${i}`);
    if (typeof key === 'string') out.push(key);
  }
  return out;
}

/** Every key under `prefix` (through the executor's range reader; none where it has none). */
function keysUnder(ctx: ExecContext, prefix: string): string[] {
  const out: string[] = [];
  if (ctx.range === undefined) return out;
  let after: string | undefined;
  for (;;) {
    const page = ctx.range(prefix, after, 256);
    for (const e of page) out.push(e.key);
    if (page.length < 256) return out;
    after = page[page.length - 1]?.key;
  }
}

/**
 * Forgets `subject` if the rule above holds after this transaction's writes; returns whether it did.
 * Called at the end of the transactions that can complete an erasure.
 */
export function maybeForget(ctx: ExecContext, subject: string): boolean {
  // Nested runs (a cross-chain operation) cannot forget: the next trigger outside one will.
  if (ctx.forget === undefined) return false;
  const keys = itemKeys(ctx, subject);
  let erased = false;
  const records: DataRecord[] = [];
  const requests: DataRequest[] = [];
  for (const key of keys) {
    const v = ctx.get(key);
    if (v === undefined) continue;
    if (key.startsWith('record/')) {
      const rec = v as unknown as DataRecord;
      if (rec.erasedAt === null) return false;
      records.push(rec);
    } else if (key.startsWith('request/')) {
      const r = v as unknown as DataRequest;
      if (r.status === 'open') return false;
      if (r.kind === 'erase' && r.status === 'fulfilled') erased = true;
      requests.push(r);
    }
  }
  if (!erased) return false;
  // The orgs whose consent and preference entries may name the subject: every member, and any org
  // its records and requests name (a member removed since).
  const orgs = new Set<string>();
  for (const k of keysUnder(ctx, 'member/')) orgs.add(k.slice('member/'.length));
  for (const x of [...records, ...requests]) orgs.add(x.org);
  for (const org of orgs) {
    if (ctx.get(consentKey(org, subject)) !== undefined) ctx.del(consentKey(org, subject));
    if (ctx.get(prefKey(org, subject)) !== undefined) ctx.del(prefKey(org, subject));
  }
  for (const rec of records) {
    for (const k of keysUnder(ctx, `share/${rec.org}/${rec.id}/`)) ctx.del(k);
  }
  for (const r of requests) {
    for (const k of keysUnder(ctx, `reqstep/${r.org}/${r.id}/`)) ctx.del(k);
  }
  for (const key of keys) if (ctx.get(key) !== undefined) ctx.del(key);
  for (let i = 0; i < keys.length; i++) ctx.del(`subjitem/${subject}/${i}`);
  ctx.del(`subjitems/${subject}`);
  ctx.put(tombstoneKey(subject), { at: ctx.time, height: ctx.height } satisfies Tombstone);
  ctx.forget(subject);
  return true;
}
