/**
 * The customer as the source of their data (issue 17, ADR 0018): the state of one correction the
 * customer sent an org (`rectify.send`, the value sealed with HPKE and delivered off-chain) or one
 * record the customer flagged as wrong (`rectify.flag`), and how the org answered it. Shared by the
 * node's module, the SDK and the portal.
 */
import type { ExtendReason, Jurisdiction } from './customer-state.js';

/** Why a customer says a record is wrong: codes, never free text on the ledger. */
export const FLAG_REASONS = ['inaccurate', 'incomplete', 'outdated', 'not-mine'] as const;
export type FlagReason = (typeof FLAG_REASONS)[number];

/** Why an org keeps a flagged or corrected record as it is: codes, each with its legal ground. */
export const EXPLAIN_REASONS = [
  'accurate-verified',
  'identity-not-verified',
  'legal-obligation',
  'manifestly-unfounded',
  'excessive',
] as const;
export type ExplainReason = (typeof EXPLAIN_REASONS)[number];

export interface Rectification {
  /** The txId of the `rectify.send` or `rectify.flag` that opened it. */
  id: string;
  org: string;
  /** The customer's pairwise pseudonym towards `org`. */
  subject: string;
  record: string;
  kind: 'update' | 'flag';
  /** update: SHA-256 of the sealed envelope delivered to the org's inbox. */
  digest?: string;
  /** update: id of the org's HPKE key the envelope was sealed to. */
  kid?: string;
  /** flag: why the customer says the record is wrong. */
  reason?: FlagReason;
  jurisdiction: Jurisdiction;
  openedAt: number;
  /** GDPR Art. 12(3) one month; CCPA 1798.130 45 days (or the extended deadline). */
  deadline: number;
  /** The deadline before the one extension (`rectify.extend`), if extended. */
  originalDeadline?: number;
  /** Why the org extended the deadline (a request's extension code: Art. 12(3)). */
  extensionReason?: ExtendReason;
  status: 'pending' | 'applied' | 'explained';
  closedAt?: number;
  /** applied: the record's new commitment. */
  commitment?: string;
  /**
   * applied: the org's systems (of its data map in force) that hold the record's category, where the
   * node runs the correction (`rectify.step`, one per system); absent when the org runs none.
   */
  systems?: string[];
  /** explained: the org's reason code. */
  answer?: ExplainReason;
  closedBy?: string;
}

/** Open and past its deadline at block time `now`. */
export function isRectificationOverdue(r: Rectification, now: number): boolean {
  return r.status === 'pending' && now > r.deadline;
}

/** The org's published HPKE key (`hpkekey/<org>`, public). */
export interface HpkeKeyEntry {
  org: string;
  /** X25519 public key, base64url. */
  key: string;
  kid: string;
  since: number;
  height: number;
  txId: string;
  /** The key id this one replaced, or null for the first. */
  previous: string | null;
}
