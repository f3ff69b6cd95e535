/**
 * The customer-data state as the ledger stores it (values of `consent/`, `pref/`, `record/`,
 * `share/` and `request/` keys): one definition shared by the node's modules, the SDK and the web
 * app. See docs/customer-data.md.
 */

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
}
export interface OptOut {
  at: number;
  /** `user` for an explicit choice, `gpc` for a Global Privacy Control signal. */
  source: 'user' | 'gpc';
  txId: string;
}
export interface Preferences {
  sale: OptOut | null;
  share: OptOut | null;
}
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
}
export interface Share {
  recipient: string;
  purpose: string;
  sale: boolean;
  at: number;
  txId: string;
  copy: string | null;
}
export const REQUEST_KINDS = ['access', 'export', 'rectify', 'erase', 'restrict', 'object', 'optout'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

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
  /** Records the request is about (empty: everything the org holds on the subject). */
  records: string[];
}
