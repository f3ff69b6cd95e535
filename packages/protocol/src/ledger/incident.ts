/**
 * Personal data breaches (GDPR Arts. 33-34) as the ledger records them: the org's incident register,
 * the 72-hour clock for telling the supervisory authority, and a notice to each customer affected.
 * Codes only: no free text reaches the ledger (what the org told the authority stays with the org,
 * its SHA-256 on the ledger).
 */

/** What a breach touched (the security triad, as the EDPB Guidelines 9/2022 classify breaches). */
export const INCIDENT_NATURES = ['confidentiality', 'integrity', 'availability'] as const;
export type IncidentNature = (typeof INCIDENT_NATURES)[number];

/**
 * The org's assessment of the risk to people (Art. 33(1): the authority is told unless a risk is
 * unlikely; Art. 34(1): the people affected are told when the risk is high).
 */
export const INCIDENT_RISKS = ['unlikely', 'risk', 'high'] as const;
export type IncidentRisk = (typeof INCIDENT_RISKS)[number];

/** Why the authority was told after 72 hours (Art. 33(1) asks the reasons for the delay), as codes. */
export const INCIDENT_DELAY_REASONS = [
  'scope-being-established',
  'phased-notification',
  'detected-by-processor',
] as const;
export type IncidentDelayReason = (typeof INCIDENT_DELAY_REASONS)[number];

/** Hours from detection to the authority's deadline (Art. 33(1)). */
export const INCIDENT_AUTHORITY_HOURS = 72;

export interface Incident {
  id: string;
  org: string;
  /** When the org became aware of the breach (its own statement; not after it opened the entry). */
  detectedAt: number;
  openedAt: number;
  nature: IncidentNature[];
  /** DPV categories of the personal data concerned. */
  categories: string[];
  risk: IncidentRisk;
  /** detectedAt + 72 hours. */
  authorityDeadline: number;
  authorityNotifiedAt: number | null;
  /** SHA-256 of the notification the org sent the authority (kept by the org). */
  authorityDigest: string | null;
  delayReason: IncidentDelayReason | null;
  /** Customers notified (`incident.notify`), each once. */
  notified: number;
  closedAt: number | null;
}

/** A customer's notice of a breach (Art. 34), readable by that customer: the incident's facts. */
export interface IncidentNotice {
  incident: string;
  org: string;
  subject: string;
  detectedAt: number;
  nature: IncidentNature[];
  categories: string[];
  risk: IncidentRisk;
  at: number;
  txId: string;
}
