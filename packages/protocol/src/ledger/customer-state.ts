/**
 * The customer-data state as the ledger stores it (values of `consent/`, `pref/`, `record/`,
 * `share/` and `request/` keys): one definition shared by the node's modules, the SDK and the web
 * app. See docs/customer-data.md.
 */

import type { AgeBand, AgeRecord, ParentalConsent } from './age.js';

export const JURISDICTIONS = ['GDPR', 'CCPA'] as const;
export type Jurisdiction = (typeof JURISDICTIONS)[number];

/** GDPR Art. 6(1) lawful bases, as Custos names them. */
export const LAWFUL_BASES = [
  'consent',
  'contract',
  'legal-obligation',
  'vital-interests',
  'public-task',
  'legitimate-interest',
] as const;

export type LawfulBasis = (typeof LAWFUL_BASES)[number];

export interface ConsentGrant {
  id: string;
  purposes: string[];
  categories: string[];
  expiresAt: number;
  share: boolean;
  sale: boolean;
  jurisdiction: Jurisdiction;
  /** SHA-256 (hex) of the privacy notice the customer saw. */
  notice: string;
  grantedAt: number;
  withdrawnAt: number | null;
  /** Id of the `consent.withdraw` transaction that withdrew it (absent on grants withdrawn before it was recorded). */
  withdrawnBy?: string;
  /**
   * Explicit consent (GDPR Art. 9(2)(a)): the customer affirmed a statement naming the special
   * categories. Required when `categories` holds one; absent otherwise.
   */
  explicit?: true;
  /** The relationship's age band when the customer gave it, if one was recorded (a minor's opt-in). */
  ageBand?: AgeBand;
  /** A parent's or guardian's consent to it (GDPR Art. 8, CCPA 1798.120(c) under 13), if given. */
  parental?: ParentalConsent;
}

/**
 * The conditions of GDPR Art. 9(2) other than explicit consent under which a special category may
 * be processed: (b) employment and social security law, (c) vital interests, (d) a not-for-profit
 * body's members, (e) made manifestly public by the subject, (f) legal claims, (g) substantial
 * public interest, (h) health or social care, (i) public health, (j) archiving, research or
 * statistics.
 */
export const ART9_CONDITIONS = [
  'gdpr-9-2-b',
  'gdpr-9-2-c',
  'gdpr-9-2-d',
  'gdpr-9-2-e',
  'gdpr-9-2-f',
  'gdpr-9-2-g',
  'gdpr-9-2-h',
  'gdpr-9-2-i',
  'gdpr-9-2-j',
] as const;
export type Art9Condition = (typeof ART9_CONDITIONS)[number];
export interface OptOut {
  at: number;
  /**
   * `user` for an explicit choice, `gpc` for a Global Privacy Control signal, `gpp` for a choice
   * recorded from an IAB GPP string (`gpp.record`).
   */
  source: 'user' | 'gpc' | 'gpp';
  txId: string;
}

/** The GPP string last recorded for a customer at an org (`gpp.record`): the base Custos emits from. */
export interface GppRecorded {
  /** The string as the banner sent it (IAB GPP: choices and CMP metadata, no personal data). */
  gpp: string;
  /** Its sections, e.g. `['usnat']`, `['tcfeuv2']`. */
  sections: string[];
  /** Who signed the `gpp.record`: the customer, or the org (then only its restrictive choices apply). */
  by: 'customer' | 'org';
  at: number;
  txId: string;
  /** The consent the customer's record granted for the TCF purposes it consents to (its id), if any. */
  grant?: string;
}
export interface Preferences {
  sale: OptOut | null;
  share: OptOut | null;
  /**
   * Purposes the customer objected to (GDPR Art. 21(2)-(3)): direct marketing and the profiling
   * for it, absolute, whatever the lawful basis (`objection.set`). Absent when none.
   */
  objections?: Record<string, { at: number; txId: string }>;
  /**
   * The limit on the use of sensitive data (CCPA 1798.121, the GPP `SensitiveDataProcessing`
   * choices): from then on, a special-category record may be used only under contract, legal
   * obligation or vital interests. Absent when never set.
   */
  sensitive?: OptOut | null;
  /** The relationship's age band (`age.set`), if recorded. */
  age?: AgeRecord;
  /** The GPP string last recorded (`gpp.record`), if any. */
  gpp?: GppRecorded;
}

/**
 * Purposes of direct marketing and of the profiling for it: an objection to them is absolute (GDPR
 * Art. 21(3): "the personal data shall no longer be processed for such purposes"), takes effect at
 * once, and the org cannot refuse it.
 */
export const DIRECT_MARKETING_PURPOSES = [
  'dpv:Marketing',
  'dpv:DirectMarketing',
  'dpv:Advertising',
  'dpv:PersonalisedAdvertising',
  'dpv:ProvidePersonalisedRecommendations',
] as const;
export interface DataRecord {
  id: string;
  org: string;
  subject: string;
  category: string;
  /** Purpose -> the lawful basis the org declared for it. */
  purposes: Record<string, LawfulBasis>;
  /** Where the data came from: `subject`, `public`, `third-party`, `derived`, or `shared:<org>`. */
  source: string;
  commitment: string;
  vaultRef: string;
  registeredAt: number;
  updatedAt: number;
  retentionUntil: number;
  erasedAt: number | null;
  /** Set on a recipient's copy when the source record was erased: the recipient must erase it too. */
  erasureRequestedAt: number | null;
  /** For a recipient's copy: the record it was copied from. */
  sourceRecord: { org: string; id: string } | null;
  copies: { org: string; id: string }[];
  restricted: boolean;
  /**
   * A special category (GDPR Art. 9(1)) processed under a condition of Art. 9(2) other than explicit
   * consent; absent otherwise (its consent purposes then need explicit consent).
   */
  condition?: Art9Condition;
  /**
   * Purposes (among those declared) for which the org takes decisions based solely on automated
   * processing, profiling included, with legal or similarly significant effects on the customer
   * (GDPR Art. 22(1)): the customer may ask a person to review them (request kind `review`).
   * Absent when none.
   */
  automated?: string[];
  /**
   * On a recipient's copy: what the source's erasure, rectification or restriction asks of it
   * (GDPR Art. 19), each with its due date; at most one per kind, the latest. Absent when none.
   */
  obligations?: CopyObligation[];
}

export const COPY_OBLIGATION_KINDS = ['erase', 'rectify', 'restrict'] as const;
export type CopyObligationKind = (typeof COPY_OBLIGATION_KINDS)[number];

/**
 * What the source of a copy did that its recipient must do to the copy too: fulfilled when the
 * recipient records its own erasure (`data.erased`), rectification (`data.update`, `rectify.apply`)
 * or restriction (`data.restricted`) of the copy; erasure fulfils every kind.
 */
export interface CopyObligation {
  kind: CopyObligationKind;
  /** When the source acted (block time), and the transaction that did. */
  at: number;
  txId: string;
  /** When the recipient must have acted: one month after `at` (GDPR Art. 12(3) as for a request). */
  due: number;
  /** When the recipient recorded it, or null while pending. */
  doneAt: number | null;
}

export interface Share {
  recipient: string;
  purpose: string;
  sale: boolean;
  at: number;
  txId: string;
  copy: string | null;
}
export const REQUEST_KINDS = [
  'access',
  'export',
  'rectify',
  'erase',
  'restrict',
  'object',
  'optout',
  'review',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * Why an org refuses a request, as codes (never free text, which could carry personal data onto the
 * ledger for good): the identity could not be verified (GDPR Art. 12(6), CCPA regulations 7060);
 * manifestly unfounded (Art. 12(5)); excessive, in particular repetitive (Art. 12(5), CCPA
 * 1798.130(b): access more than twice in 12 months); no data held on the requester; a legal
 * exemption (a restriction under Art. 23, CCPA 1798.145); the rights and freedoms of others
 * (Art. 15(4)); the right does not apply to this processing (e.g. portability, Art. 20(1)).
 */
export const REJECT_REASONS = [
  'identity-not-verified',
  'manifestly-unfounded',
  'excessive',
  'no-data-held',
  'legal-exemption',
  'rights-of-others',
  'right-not-applicable',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * Why an org extends a request's deadline once, as codes: the complexity or the number of requests
 * (GDPR Art. 12(3); CCPA 1798.130(a)(2), "when reasonably necessary").
 */
export const EXTEND_REASONS = ['complexity', 'number-of-requests'] as const;
export type ExtendReason = (typeof EXTEND_REASONS)[number];

/**
 * Legal exceptions to the right to erasure, as codes (never free text) so every reader can say what
 * they mean: GDPR Art. 17(3) (a) freedom of expression, (b) a legal obligation or a task in the
 * public interest, (c) public health, (d) archiving, research or statistics, (e) legal claims; CCPA
 * (Cal. Civ. Code 1798.105(d)) (1) to complete the transaction or contract, (2) security and
 * integrity, (3) debugging, (4) free speech, (5) CalECPA, (6) research in the public interest,
 * (7) internal uses the consumer expects and a legal obligation.
 */
export const ERASURE_EXCEPTIONS = {
  GDPR: ['gdpr-17-3-a', 'gdpr-17-3-b', 'gdpr-17-3-c', 'gdpr-17-3-d', 'gdpr-17-3-e'],
  CCPA: [
    'ccpa-105-d-1',
    'ccpa-105-d-2',
    'ccpa-105-d-3',
    'ccpa-105-d-4',
    'ccpa-105-d-5',
    'ccpa-105-d-6',
    'ccpa-105-d-7',
  ],
} as const;
export type ErasureException = (typeof ERASURE_EXCEPTIONS)[keyof typeof ERASURE_EXCEPTIONS][number];

/** A record an org kept when it fulfilled an erasure, with the legal exception it relied on. */
export interface ErasureExceptionEntry {
  record: string;
  code: ErasureException;
}

export interface DataRequest {
  id: string;
  org: string;
  subject: string;
  kind: RequestKind;
  jurisdiction: Jurisdiction;
  openedAt: number;
  deadline: number;
  /** The deadline before the one extension, once extended. */
  originalDeadline: number | null;
  extensionReason: string | null;
  status: 'open' | 'fulfilled' | 'rejected';
  closedAt: number | null;
  reason: string | null;
  /**
   * Records the request is about (empty: everything the org holds on the subject). An erasure
   * always covers every record the org holds on the subject: it is fulfilled only when each is
   * erased or kept under a legal exception.
   */
  records: string[];
  /** Erasure: the records the org kept, each under a legal exception (absent when none). */
  exceptions?: ErasureExceptionEntry[];
  /**
   * Restriction or objection, once fulfilled: the records it restricted (every live record of the
   * subject at the org when `records` is empty). Absent on other kinds.
   */
  restricted?: string[];
  /** Restriction or objection: when the customer lifted it (`request.lift`); absent while it holds. */
  liftedAt?: number;
  /**
   * When the org must confirm it received the request: CCPA regulations 7021(a), 10 business days
   * for requests to know, delete and correct. Absent where the law sets no such deadline.
   */
  ackDeadline?: number;
  /** When the org confirmed receipt (`request.acknowledge`); absent until then. */
  acknowledgedAt?: number;
  /** A human review of an automated decision (GDPR Art. 22(3)), once fulfilled: what the person decided. */
  reviewOutcome?: ReviewOutcome;
  /**
   * Access or export, once fulfilled with the data itself (ADR 0021): the SHA-256 of the envelope
   * sealed to the customer's wallet and how many records it holds. Never a value.
   */
  export?: { digest: string; records: number };
  /**
   * Opened by an authorised agent (CCPA regulations 7063) with the customer's delegation credential:
   * the agent's did:key and the credential's id (what `agent.revoke` names). Absent when the
   * customer opened it.
   */
  agent?: { key: string; delegation: string };
}

/**
 * The outcome of a human review of an automated decision (GDPR Art. 22(3)): a person looked at it,
 * heard the customer, and kept the decision or changed it.
 */
export const REVIEW_OUTCOMES = ['upheld', 'changed'] as const;
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number];

/**
 * Lawful bases under which a decision based solely on automated processing, with legal or similarly
 * significant effects, may be taken (GDPR Art. 22(2)): necessary for a contract with the customer,
 * authorised by law, or the customer's explicit consent.
 */
export const AUTOMATED_DECISION_BASES = ['contract', 'legal-obligation', 'consent'] as const;
