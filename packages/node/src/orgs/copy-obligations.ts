/**
 * The obligations copies carry, read from the ledger state of one org (GDPR Art. 19): the copies the
 * org holds whose source was erased, rectified or restricted, and how each recipient of the org's
 * shares complied (modules/copies.ts records them). Record ids, org ids and codes leave this
 * module, never a subject.
 */
import type { CopyObligations, DataRecord, RecipientCompliance } from '@custos/protocol/ledger';
import { isObligationOverdue } from '../modules/copies.js';
import type { CustosNode } from '../node.js';
import { rows } from './risk-facts.js';

/** At most this many held obligations are listed in one answer (the counts stay exact). */
export const MAX_HELD_LISTED = 1_000;

/** The copy obligations of `org` at the latest block, `overdue` alone if asked. */
export function copyObligationsOf(node: CustosNode, org: string, opts: { overdue?: boolean } = {}): CopyObligations {
  const now = node.latest().time;
  const held: CopyObligations['held'] = [];
  const byRecipient = new Map<string, RecipientCompliance>();
  let truncated = false;
  for (const row of rows(node, `record/${org}/`)) {
    const r = JSON.parse(row.value) as DataRecord;
    for (const o of r.obligations ?? []) {
      const overdue = isObligationOverdue(o, now);
      if (opts.overdue === true && !overdue) continue;
      if (held.length >= MAX_HELD_LISTED) {
        truncated = true;
        continue;
      }
      held.push({ record: r.id, source: r.sourceRecord?.org ?? '', category: r.category, ...o, overdue });
    }
    for (const c of r.copies) {
      const text = node.store.getState(`record/${c.org}/${c.id}`);
      if (text === undefined) continue;
      const copy = JSON.parse(text) as DataRecord;
      for (const o of copy.obligations ?? []) {
        const overdue = isObligationOverdue(o, now);
        if (opts.overdue === true && !overdue) continue;
        const s = byRecipient.get(c.org) ?? {
          recipient: c.org,
          pending: 0,
          overdue: 0,
          done: 0,
          late: 0,
          nextDue: null,
          obligations: [],
        };
        if (o.doneAt === null) {
          s.pending++;
          if (overdue) s.overdue++;
          s.nextDue = s.nextDue === null ? o.due : Math.min(s.nextDue, o.due);
        } else {
          s.done++;
          if (o.doneAt > o.due) s.late++;
        }
        if (s.obligations.length < MAX_HELD_LISTED) {
          s.obligations.push({ kind: o.kind, at: o.at, due: o.due, doneAt: o.doneAt, overdue });
        } else truncated = true;
        byRecipient.set(c.org, s);
      }
    }
  }
  const pendingFirst = (a: { doneAt: number | null; due: number }, b: { doneAt: number | null; due: number }) =>
    Number(a.doneAt !== null) - Number(b.doneAt !== null) || a.due - b.due;
  held.sort(pendingFirst);
  const recipients = [...byRecipient.values()];
  for (const s of recipients) s.obligations.sort(pendingFirst);
  recipients.sort((a, b) => b.overdue - a.overdue || (a.recipient < b.recipient ? -1 : 1));
  return { org, now, held, recipients, truncated };
}
