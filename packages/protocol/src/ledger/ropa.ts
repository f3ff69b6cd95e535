/**
 * An org's records of processing activities (GDPR Art. 30) and the draft of its data protection
 * impact assessment (Art. 35), as computed from ledger facts at one height (docs/customer-data.md,
 * "The consortium's own obligations"). Counts, codes and company facts only: never a subject.
 */
import type { LawfulBasis } from './customer-state.js';
import type { MemberProfile } from './member-profile.js';

/** What Custos itself applies to every org's processing (Art. 30(1)(g), Art. 32). */
export const SECURITY_MEASURES = [
  "Values kept off the ledger in the org's vault, encrypted with AES-256-GCM under keys its KMS encrypts at rest",
  'Only salted commitments and pairwise pseudonyms on the ledger: no value, no identifier shared across orgs',
  'Every use checked against a lawful basis that holds at that height; refused uses recorded with their code',
  'Erasure by crypto-shredding, notified on the ledger to every recipient of a copy (Art. 19)',
  'Signed transactions (Ed25519), a hash-chained log and state proofs anyone can check',
  "Reads of org and customer data only with an org token or the customer's own signature",
] as const;

export interface RopaRecipient {
  org: string;
  /** Shares of records for this purpose, and how many were sales. */
  shares: number;
  sales: number;
}

export interface RopaTransfer {
  /** `own-peers` (the org's own regions) or the recipient org. */
  via: string;
  /** ISO 3166-1 alpha-2 codes outside the EEA. */
  countries: string[];
}

/** One processing activity: the records declared for one purpose. */
export interface RopaActivity {
  purpose: string;
  categories: string[];
  /** Of `categories`, the special ones (Art. 9). */
  specialCategories: string[];
  /** Who the data is about: the org's customers, and customers of the orgs copies came from. */
  subjectCategories: string[];
  lawfulBases: LawfulBasis[];
  /** Live (not erased) records, and the distinct customers they are about. */
  records: number;
  subjects: number;
  recipients: RopaRecipient[];
  transfers: RopaTransfer[];
  /** Retention periods declared at registration, in days (shortest and longest). */
  retentionDays: { min: number; max: number };
  /** Live records past their retention, and those used for decisions solely by automated means (Art. 22). */
  pastRetention: number;
  automated: number;
}

export interface Ropa {
  org: string;
  height: number;
  time: number;
  /** The profile in force at that height, or null (the org cannot record data without one). */
  controller: MemberProfile | null;
  /** The data map in force: its version and digest, or null if the org never published one. */
  dataMap: { version: number; digest: string; systems: string[] } | null;
  activities: RopaActivity[];
  securityMeasures: string[];
}

export interface DpiaRisk {
  id:
    | 'special-categories'
    | 'past-retention'
    | 'uses-without-basis'
    | 'automated-decisions'
    | 'transfers'
    | 'open-breaches'
    | 'overdue-copies';
  /** What the ledger shows (a count), and whether it calls for a measure. */
  count: number;
  present: boolean;
  text: string;
  /** Where the count comes from: the state rows or blocks read, at the draft's height. */
  source: string;
}

export interface Dpia {
  org: string;
  height: number;
  time: number;
  status: 'draft';
  /** What the DPO completes: the ledger cannot judge these. */
  forTheDpo: string[];
  description: Ropa;
  necessity: {
    purpose: string;
    lawfulBases: LawfulBasis[];
    retentionDays: { min: number; max: number };
    records: number;
  }[];
  risks: DpiaRisk[];
  measures: string[];
}
