/**
 * Copies follow the original (GDPR Art. 19; docs/customer-data.md "Copies follow the original"):
 * when the source of a copy is erased, rectified or restricted, each recipient's copy gets an
 * obligation with a due date, one month later as for a request (Art. 12(3)), fulfilled when the
 * recipient records its own erasure, rectification or restriction of the copy.
 *
 * The obligations live on the copy's record (`record/<recipient>/<id>`, field `obligations`), at most
 * one per kind: a later act of the source of the same kind while one is pending keeps the earlier
 * due date; once fulfilled, the next one replaces it.
 */
import type { CopyObligation, CopyObligationKind, DataRecord } from '@custos/protocol/ledger';
import type { ExecContext } from '../exec/module.js';
import { addMonths } from './common.js';

export type { CopyObligation, CopyObligationKind };

/** When a recipient must have acted on its copy: one month after the source did. */
export function copyDueOf(t: number): number {
  return addMonths(t, 1);
}

/** Whether an obligation is still pending past its due date at `now`. */
export function isObligationOverdue(o: CopyObligation, now: number): boolean {
  return o.doneAt === null && now > o.due;
}

const key = (org: string, id: string) => `record/${org}/${id}`;

/**
 * The source record `src` was erased, rectified or restricted: every live copy of it gets an
 * obligation of that kind (an erasure also flags the copy, which can no longer be used or shared).
 */
export function notifyCopies(ctx: ExecContext, src: DataRecord, kind: CopyObligationKind): void {
  for (const c of src.copies) {
    const copy = ctx.get(key(c.org, c.id)) as unknown as DataRecord | undefined;
    if (copy === undefined || copy.erasedAt !== null) continue;
    const list = copy.obligations ?? [];
    const pending = list.find((o) => o.kind === kind && o.doneAt === null);
    const next: CopyObligation = { kind, at: ctx.time, txId: ctx.txId, due: copyDueOf(ctx.time), doneAt: null };
    ctx.put(key(c.org, c.id), {
      ...copy,
      ...(kind === 'erase' ? { erasureRequestedAt: copy.erasureRequestedAt ?? ctx.time } : {}),
      obligations: pending !== undefined ? list : [...list.filter((o) => o.kind !== kind), next],
    });
  }
}

/** `rec` with its pending obligations of `kinds` fulfilled at `time` (the record itself unchanged otherwise). */
export function fulfilObligations(rec: DataRecord, kinds: readonly CopyObligationKind[], time: number): DataRecord {
  if (rec.obligations === undefined) return rec;
  return {
    ...rec,
    obligations: rec.obligations.map((o) => (o.doneAt === null && kinds.includes(o.kind) ? { ...o, doneAt: time } : o)),
  };
}

/**
 * The source lifted its restriction: the recipients' pending restrictions of its copies are no
 * longer asked of them (a fulfilled one stays as the record of what was done).
 */
export function withdrawRestrictions(ctx: ExecContext, src: DataRecord): void {
  for (const c of src.copies) {
    const copy = ctx.get(key(c.org, c.id)) as unknown as DataRecord | undefined;
    const list = copy?.obligations;
    if (copy === undefined || list === undefined) continue;
    if (!list.some((o) => o.kind === 'restrict' && o.doneAt === null)) continue;
    ctx.put(key(c.org, c.id), {
      ...copy,
      obligations: list.filter((o) => !(o.kind === 'restrict' && o.doneAt === null)),
    });
  }
}
