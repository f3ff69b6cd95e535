/**
 * Forgetting a subject on the ledger (docs/adr/0019-forget-on-the-ledger.md): once a pseudonym's
 * erasure is complete, and after a grace period in which the customer sees it done, every peer
 * deletes its state entries at the end of the same block, so with the same state root, and keeps
 * only a tombstone keyed by the pseudonym's hash.
 *
 * The rule: an erasure of P is complete after the transaction that makes true (1) an `erase` request
 * of P is fulfilled, (2) no record under P is live anywhere on the ledger (originals, copies at
 * recipients, records kept under a legal exception), and (3) no request of P is still open. The
 * transactions that can make this true check it: `request.fulfil`, `request.reject` and
 * `data.erased`; the first to find it queues P (`forgetdue/<time>/<SHA-256(P)>` -> P) for
 * `FORGET_AFTER_MS` later. The first block whose time is past it checks the rule again at its end
 * (activity since, e.g. a new consent and record, keeps P) and forgets P (`forgetDue`).
 *
 * Deleted: every entry of P's item list (its records and requests) and the list itself, the shares
 * of its records, the steps of its requests, `consent/<org>/P` and `pref/<org>/P` at every member,
 * `history/P` and its queue entry. Written:
 * `forgotten/<SHA-256(P)>` -> {at, height}. The transactions filed under P keep their log leaf
 * (txId, height, index, time, code) and lose their bodies in every peer's store (store/prune.ts).
 */
import { sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import type { DataRecord, DataRequest } from '@custos/protocol/ledger';
import type { ExecContext } from '../exec/module.js';

/**
 * How long after its erasure is complete a subject stays on the ledger: the customer sees the
 * erasure done and verified in the portal and `custos history` (and may download it) meanwhile.
 */
export const FORGET_AFTER_MS = 30 * 86_400_000;

const QUEUE = 'forgetdue/';

// The keys of consent.ts (`consentKey`, `prefKey`), spelled here: the executor runs this file at the
// end of each block, and importing the modules from it would make a cycle.
const consentKey = (org: string, subject: string) => `consent/${org}/${subject}`;
const prefKey = (org: string, subject: string) => `pref/${org}/${subject}`;

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

/** The queue key of `subject`, due at `due` (ms; zero-padded so keys sort by time). */
function queueKey(due: number, subject: string): string {
  return `${QUEUE}${String(due).padStart(16, '0')}/${toHex(sha256(utf8(subject)))}`;
}

/**
 * Queues `subject` to be forgotten `FORGET_AFTER_MS` from now if its erasure is complete after this
 * transaction's writes (and it is not queued yet). Called at the end of the transactions that can
 * complete an erasure.
 */
export function maybeForget(ctx: ExecContext, subject: string): boolean {
  if (completed(ctx, subject) === undefined) return false;
  const marker = `forgetq/${toHex(sha256(utf8(subject)))}`;
  if (ctx.get(marker) !== undefined) return false;
  const key = queueKey(ctx.time + FORGET_AFTER_MS, subject);
  ctx.put(key, subject);
  ctx.put(marker, key);
  return true;
}

/**
 * At the end of a block: forgets every queued subject whose time has come and whose erasure is still
 * complete; drops the others from the queue. `ctx` reads and writes the block's state.
 */
export function forgetDue(ctx: ExecContext): string[] {
  const out: string[] = [];
  if (ctx.range === undefined) return out;
  for (;;) {
    const [first] = ctx.range(QUEUE, undefined, 1);
    if (first === undefined) return out;
    const due = Number(first.key.slice(QUEUE.length, QUEUE.length + 16));
    if (!(due <= ctx.time)) return out;
    const subject = JSON.parse(first.value) as string;
    ctx.del(first.key);
    ctx.del(`forgetq/${toHex(sha256(utf8(subject)))}`);
    const done = completed(ctx, subject);
    if (done !== undefined) {
      forgetNow(ctx, subject, done);
      out.push(subject);
    }
  }
}

/** The subject's records and requests if its erasure is complete (the rule above), else undefined. */
function completed(
  ctx: ExecContext,
  subject: string,
): { keys: string[]; records: DataRecord[]; requests: DataRequest[] } | undefined {
  const keys = itemKeys(ctx, subject);
  let erased = false;
  const records: DataRecord[] = [];
  const requests: DataRequest[] = [];
  for (const key of keys) {
    const v = ctx.get(key);
    if (v === undefined) continue;
    if (key.startsWith('record/')) {
      const rec = v as unknown as DataRecord;
      if (rec.erasedAt === null) return undefined;
      records.push(rec);
    } else if (key.startsWith('request/')) {
      const r = v as unknown as DataRequest;
      if (r.status === 'open') return undefined;
      if (r.kind === 'erase' && r.status === 'fulfilled') erased = true;
      requests.push(r);
    }
  }
  return erased ? { keys, records, requests } : undefined;
}

/** Deletes the subject's state entries and writes its tombstone. */
function forgetNow(
  ctx: ExecContext,
  subject: string,
  { keys, records, requests }: { keys: string[]; records: DataRecord[]; requests: DataRequest[] },
): void {
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
  // A correction's steps in the org's systems (`rectstep/<org>/<item>/...`, rectify-steps.ts).
  for (const key of keys) {
    if (key.startsWith('rectify/'))
      for (const k of keysUnder(ctx, `rectstep/${key.slice('rectify/'.length)}/`)) ctx.del(k);
  }
  for (const key of keys) if (ctx.get(key) !== undefined) ctx.del(key);
  for (let i = 0; i < keys.length; i++) ctx.del(`subjitem/${subject}/${i}`);
  ctx.del(`subjitems/${subject}`);
  ctx.del(`history/${subject}`);
  ctx.put(tombstoneKey(subject), { at: ctx.time, height: ctx.height } satisfies Tombstone);
}
