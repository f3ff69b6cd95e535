/** The privacy-risk model's inputs, results and constants (docs/risk.md). */
import type { Assumptions } from './assumptions.js';

/** One category of personal data the org holds (DPV code), with how many live records. */
export interface CategoryCount {
  category: string;
  records: number;
  /** Of those, past their retention period. */
  pastRetention: number;
  /** A GDPR Art. 9 special category (DPV `SpecialCategoryPersonalData`). */
  sensitive: boolean;
}

/** A contract in force and its risk report's score lines (the contract risk check). */
export interface ContractRisk {
  id: string;
  lines: { rule: string; likelihoodPct: number; impactEur: number }[];
}

/** Where an input was read: the query and the ledger height. */
export interface InputSource {
  input: string;
  query: string;
  height: number;
}

/** What the model reads from the org's ledger data: counts only, no personal data. */
export interface RiskInputs {
  org: string;
  /** The height and block time the figures were computed at. */
  height: number;
  time: number;
  /** The checkpoint at that height (header hash), and whether a quorum certificate made it final. */
  checkpoint: { height: number; hash: string; final: boolean } | null;
  categories: CategoryCount[];
  /** Distinct customers with a live record. */
  subjects: number;
  /** Share of customers under CCPA (from their consents and requests), 0-1. */
  ccpaShare: number;
  /** Records erased (crypto-shredded) so far. */
  erasedRecords: number;
  /** Copies of live records held by other members (onward shares). */
  onwardCopies: number;
  /**
   * Copies the org holds whose source was erased, rectified or restricted, with the obligation
   * still pending past its due date (GDPR Art. 19; docs/customer-data.md "Copies follow the original").
   */
  overdueCopies: number;
  /** Personal data breaches in the org's register not closed (GDPR Arts. 33-34). */
  openIncidents: number;
  /** Breaches whose 72-hour deadline passed before the authority was told, or still untold (Art. 33(1)). */
  lateAuthority: number;
  /** Customers an open breach of the register may affect, notified (Art. 34) or not yet, summed over the breaches. */
  breachSubjects: number;
  overdueGdpr: number;
  overdueCcpa: number;
  /** Of the overdue ones, opt-out requests (CCPA sale and share). */
  overdueOptOuts: number;
  /** Requests answered after their deadline. */
  lateAnswers: number;
  /**
   * Open requests paused on a failed step in one of the org's own systems (its connectors'
   * `request.step` records with outcome `failed` and no later `done`): each may yet end late.
   */
  failedSteps: number;
  /** Uses the ledger refused (no lawful basis, erased, restricted...) in the scanned blocks. */
  refusedAccesses: number;
  /** Shares and sales the ledger refused for want of consent. */
  refusedShares: number;
  /** Shares and sales the ledger refused because the customer opted out. */
  optOutsRefused: number;
  scan: { fromHeight: number; toHeight: number; complete: boolean };
  contracts: ContractRisk[];
  sources: InputSource[];
}

export const CAUSES = [
  'breach',
  'retention',
  'unlawful-use',
  'requests',
  'opt-outs',
  'onward-shares',
  'incidents',
  'breach-notification',
  'contracts',
] as const;
export type CauseId = (typeof CAUSES)[number];

export const CAUSE_LABELS: Record<CauseId, string> = {
  breach: 'Breach of the records held',
  retention: 'Records kept past retention',
  'unlawful-use': 'Uses without a lawful basis',
  requests: 'Late answers to requests',
  'opt-outs': 'Opt-outs not honoured in time',
  'onward-shares': 'Data shared onward',
  incidents: 'Open breaches in the register',
  'breach-notification': 'Breaches notified late to the authority',
  contracts: 'Contracts in force',
};

export interface CauseResult {
  id: CauseId;
  label: string;
  /** Loss events per year at the most likely assumptions. */
  frequency: number;
  /** Loss per event at the most likely assumptions, EUR. */
  magnitudeEur: number;
  /** Mean simulated annual loss, EUR. */
  expectedAnnualLoss: number;
  /** The formula with the numbers in it. */
  formula: string;
}

export interface Figures {
  expectedAnnualLoss: number;
  median: number;
  p90: number;
  p99: number;
}

export interface WhatIf {
  id: string;
  label: string;
  expectedAnnualLoss: number;
  /** Change in expected annual loss (negative: loss avoided). */
  delta: number;
}

export interface RiskResult extends Figures {
  currency: 'EUR';
  org: string;
  height: number;
  checkpoint: RiskInputs['checkpoint'];
  trials: number;
  seed: number;
  /** Today's worst case: the caps for every issue found (docs/risk.md, "Worst case"). */
  worstCase: number;
  causes: CauseResult[];
  /** P(annual loss > loss), at loss levels from small to the largest trial. */
  exceedance: { loss: number; probability: number }[];
  /** Actions, ranked by loss avoided. */
  whatIfs: WhatIf[];
  /** The same company without Custos (no enforced consent, no crypto-shredding). */
  baseline: Figures;
  assumptions: Assumptions;
}

/** One point of the trend: the expected annual loss at an earlier height of the ledger. */
export interface TrendPoint {
  height: number;
  time: number;
  expectedAnnualLoss: number;
}

export interface SimulateOptions {
  trials?: number;
  seed?: number;
}

export const DEFAULT_TRIALS = 100_000;
export const DEFAULT_SEED = 20_250_101;
export const MAX_TRIALS = 1_000_000;
