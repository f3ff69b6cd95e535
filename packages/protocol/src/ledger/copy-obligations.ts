/**
 * What an org's node reports of the obligations copies carry (GDPR Art. 19; docs/customer-data.md
 * "Copies follow the original"): the copies it holds whose source was erased, rectified or
 * restricted, and how each of its recipients complied. Record ids and codes, never a subject.
 */
import type { CopyObligationKind } from './customer-state.js';

/** One obligation on a copy the org holds. */
export interface HeldCopyObligation {
  /** The copy (the org's own record id) and the org that shared it. */
  record: string;
  source: string;
  category: string;
  kind: CopyObligationKind;
  at: number;
  due: number;
  doneAt: number | null;
  /** Pending past its due date. */
  overdue: boolean;
}

/** How one recipient of the org's shares complied with what the org's erasures, rectifications and restrictions asked. */
export interface RecipientCompliance {
  recipient: string;
  /** Pending, of which past due; done, of which after the due date. */
  pending: number;
  overdue: number;
  done: number;
  late: number;
  /** The earliest due date of a pending obligation, or null. */
  nextDue: number | null;
  /** Each obligation, without the record or the subject. */
  obligations: { kind: CopyObligationKind; at: number; due: number; doneAt: number | null; overdue: boolean }[];
}

export interface CopyObligations {
  org: string;
  /** Block time of the latest block: what `overdue` is measured against. */
  now: number;
  /** Copies the org holds with an obligation, pending ones first by due date. */
  held: HeldCopyObligation[];
  /** The org's recipients with at least one obligation, those with overdue ones first. */
  recipients: RecipientCompliance[];
  /** Set when more obligations were held than one answer lists. */
  truncated: boolean;
}
