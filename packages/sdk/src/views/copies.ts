/**
 * Where the copies of the customer's data are, after an erasure at the company they asked (GDPR
 * Art. 19): each recipient's copy, erased or not, its due date and whether it is overdue. Built from
 * the company view alone: a copy sits under the same pseudonym, so the customer's own verified
 * history proves it (`CompanyView.foreign`).
 */
import type { DataRecord } from '@custos/protocol/ledger';

export type CopyState = 'erased' | 'pending' | 'overdue' | 'kept';

export interface CopyView {
  /** The recipient holding the copy, and the copy's record id there. */
  org: string;
  id: string;
  /** The record at the company it was copied from. */
  source: string;
  state: CopyState;
  erasedAt: number | null;
  /** When the recipient must have erased it (the source's erasure plus one month), if asked. */
  due: number | null;
}

export interface CopiesView {
  copies: CopyView[];
  erased: number;
  total: number;
  overdue: number;
}

/**
 * The copies of the company's records (`records`: the company's own, each naming its `copies`)
 * found among the records about the same pseudonym held elsewhere (`foreign`), as of `now`.
 */
export function copiesView(
  view: { org: string; records: readonly DataRecord[]; foreign: readonly DataRecord[] },
  now: number,
): CopiesView {
  const held = new Map(view.foreign.map((r) => [`${r.org}/${r.id}`, r]));
  const copies: CopyView[] = [];
  for (const rec of view.records) {
    if (rec.org !== view.org) continue;
    for (const c of rec.copies) {
      const copy = held.get(`${c.org}/${c.id}`);
      // Only what the customer's verified history proves is shown.
      if (copy === undefined) continue;
      const erasedAt = copy.erasedAt;
      const due = copy.obligations?.find((o) => o.kind === 'erase')?.due ?? null;
      const state: CopyState = erasedAt !== null ? 'erased' : due === null ? 'kept' : now > due ? 'overdue' : 'pending';
      copies.push({ org: c.org, id: c.id, source: rec.id, state, erasedAt, due });
    }
  }
  copies.sort((a, b) => (a.org < b.org ? -1 : a.org > b.org ? 1 : 0));
  return {
    copies,
    erased: copies.filter((c) => c.state === 'erased').length,
    total: copies.length,
    overdue: copies.filter((c) => c.state === 'overdue').length,
  };
}
