/**
 * Privacy risk in money, from the org's own ledger data and assumptions the user sees and edits.
 * A worst-case exposure to discuss, not a prediction: each figure comes with its formula.
 *
 * - GDPR Art. 83(5): fines up to EUR 20 million or 4% of worldwide annual turnover, whichever is
 *   higher, for breaches of the principles (Art. 5, such as storage limitation), of lawful basis
 *   (Art. 6) or of data subjects' rights (Art. 12-22).
 * - CCPA (Cal. Civ. Code 1798.155, amounts adjusted by the CPPA for 2025): USD 2,663 per violation,
 *   USD 7,988 per intentional violation.
 * - A breach costs about a fixed amount per record held (an assumption: set it from your insurer or
 *   a published study).
 */
import type { OrgData } from './data.js';

export interface Assumptions {
  /** Worldwide annual turnover, EUR. */
  turnoverEur: number;
  /** GDPR cap as a share of turnover (0.04). */
  gdprRate: number;
  /** GDPR fixed cap, EUR. */
  gdprFloorEur: number;
  ccpaPerViolationUsd: number;
  ccpaPerIntentionalUsd: number;
  /** Cost of a breach per record held, USD. */
  breachPerRecordUsd: number;
  /** USD for one EUR, to add everything up in EUR. */
  usdPerEur: number;
}

export const DEFAULT_ASSUMPTIONS: Assumptions = {
  turnoverEur: 250_000_000,
  gdprRate: 0.04,
  gdprFloorEur: 20_000_000,
  ccpaPerViolationUsd: 2_663,
  ccpaPerIntentionalUsd: 7_988,
  breachPerRecordUsd: 165,
  usdPerEur: 1.1,
};

export interface Counts {
  liveRecords: number;
  pastRetention: number;
  overdueGdpr: number;
  overdueCcpa: number;
  refusedAccesses: number;
  refusedShares: number;
  /** Share of the org's customers under CCPA, from their consents and requests. */
  ccpaShare: number;
}

export function countsOf(d: OrgData): Counts {
  const live = d.records.filter((r) => r.erasedAt === null);
  const subjects = new Set(live.map((r) => r.subject));
  const ccpa = new Set<string>();
  for (const [s, gs] of d.grants) if (gs.some((g) => g.jurisdiction === 'CCPA')) ccpa.add(s);
  for (const r of d.requests) if (r.jurisdiction === 'CCPA') ccpa.add(r.subject);
  const all = new Set([...subjects, ...ccpa]);
  return {
    liveRecords: live.length,
    pastRetention: live.filter((r) => r.pastRetention).length,
    overdueGdpr: d.requests.filter((r) => r.overdue && r.jurisdiction === 'GDPR').length,
    overdueCcpa: d.requests.filter((r) => r.overdue && r.jurisdiction === 'CCPA').length,
    refusedAccesses: d.scan.refusedAccesses,
    refusedShares: d.scan.refusedShares,
    ccpaShare: all.size === 0 ? 0 : ccpa.size / all.size,
  };
}

export interface RiskLine {
  name: string;
  /** What it means, in a sentence. */
  why: string;
  amount: number;
  currency: 'EUR' | 'USD';
  /** The formula with the numbers in it. */
  formula: string;
}

export interface Risk {
  lines: RiskLine[];
  totalEur: number;
  /** Issues that a regulator would count: records kept too long, late answers, attempted unlawful uses. */
  issues: number;
}

const n = (x: number) => new Intl.NumberFormat().format(Math.round(x));

export function computeRisk(c: Counts, a: Assumptions): Risk {
  const issues = c.pastRetention + c.overdueGdpr + c.overdueCcpa + c.refusedAccesses + c.refusedShares;
  const cap = Math.max(a.gdprRate * a.turnoverEur, a.gdprFloorEur);
  const gdpr = issues - c.overdueCcpa > 0 ? cap : 0;
  const ccpaPlain = Math.round((c.pastRetention + c.refusedAccesses + c.refusedShares) * c.ccpaShare);
  const ccpa = ccpaPlain * a.ccpaPerViolationUsd + c.overdueCcpa * a.ccpaPerIntentionalUsd;
  const breach = c.liveRecords * a.breachPerRecordUsd;
  const avoidable = c.pastRetention * a.breachPerRecordUsd;
  const lines: RiskLine[] = [
    {
      name: 'GDPR maximum fine',
      why:
        gdpr === 0
          ? 'No issue found that GDPR fines: no record kept too long, no late answer, no refused use.'
          : 'Records kept past retention, late answers to requests and uses without a lawful basis can each be fined up to the cap.',
      amount: gdpr,
      currency: 'EUR',
      formula: `${issues - c.overdueCcpa > 0 ? '' : '0 issues → 0; otherwise '}max(${a.gdprRate * 100}% × EUR ${n(a.turnoverEur)}, EUR ${n(a.gdprFloorEur)}) = EUR ${n(cap)}`,
    },
    {
      name: 'CCPA penalties',
      why: 'Per violation for California customers; a request left unanswered past its deadline counts as intentional.',
      amount: ccpa,
      currency: 'USD',
      formula: `(${c.pastRetention} + ${c.refusedAccesses} + ${c.refusedShares}) issues × ${Math.round(c.ccpaShare * 100)}% under CCPA = ${ccpaPlain} × USD ${n(a.ccpaPerViolationUsd)} + ${c.overdueCcpa} overdue × USD ${n(a.ccpaPerIntentionalUsd)}`,
    },
    {
      name: 'Cost of a breach',
      why: `What a breach of every record you hold would cost; USD ${n(avoidable)} of it is for records you should already have erased.`,
      amount: breach,
      currency: 'USD',
      formula: `${n(c.liveRecords)} records × USD ${n(a.breachPerRecordUsd)}`,
    },
  ];
  return { lines, totalEur: gdpr + (ccpa + breach) / a.usdPerEur, issues };
}
