/**
 * The assumptions of the privacy-risk model (docs/risk.md): each one a most likely value with a
 * range the Monte Carlo samples from (a triangular distribution low / value / high), the bounds an
 * edit must stay within, and where the figure comes from. Legal amounts have no range: they are the
 * law. Everything else is a judgement the company should replace with its own (its insurer's
 * figures, its regulator's record); the defaults say so in `source`.
 */
/** An assumption edit the model cannot take: an unknown id or a value out of bounds. */
export class RiskInputError extends Error {
  override readonly name = 'RiskInputError';
}

export interface Assumption {
  readonly label: string;
  readonly unit: 'EUR' | 'USD' | 'ratio' | 'per year' | 'factor' | 'USD per EUR';
  /** The most likely value. */
  readonly value: number;
  /** The range sampled from (low <= value <= high; equal for a legal amount). */
  readonly low: number;
  readonly high: number;
  /** What an edit may set the value to. */
  readonly min: number;
  readonly max: number;
  readonly source: string;
}

const a = (
  label: string,
  unit: Assumption['unit'],
  value: number,
  low: number,
  high: number,
  min: number,
  max: number,
  source: string,
): Assumption => Object.freeze({ label, unit, value, low, high, min, max, source });

const GDPR = 'GDPR Art. 83(5) (Regulation (EU) 2016/679)';
const CCPA_ADJ = 'CCPA, Cal. Civ. Code 1798.155 and 1798.199.90, amounts adjusted by the CPPA from January 2025';
const OWN = 'Team assumption: replace it with your insurer’s or regulator’s figures';

export const DEFAULT_ASSUMPTIONS = Object.freeze({
  turnoverEur: a(
    'Worldwide annual turnover',
    'EUR',
    250_000_000,
    250_000_000,
    250_000_000,
    0,
    1e13,
    'The company’s accounts, last financial year (demo value)',
  ),
  gdprRate: a('GDPR cap, share of turnover', 'ratio', 0.04, 0.04, 0.04, 0, 1, `${GDPR}: 4% of turnover`),
  gdprFloorEur: a('GDPR fixed cap', 'EUR', 20_000_000, 20_000_000, 20_000_000, 0, 1e12, `${GDPR}: EUR 20 million`),
  ccpaPerViolationUsd: a('CCPA per violation', 'USD', 2_663, 2_663, 2_663, 0, 1e7, `${CCPA_ADJ}: USD 2,663`),
  ccpaPerIntentionalUsd: a(
    'CCPA per intentional violation',
    'USD',
    7_988,
    7_988,
    7_988,
    0,
    1e7,
    `${CCPA_ADJ}: USD 7,988`,
  ),
  ccpaDamagesUsd: a(
    'CCPA statutory damages per consumer per breach',
    'USD',
    453,
    107,
    799,
    0,
    1e6,
    `${CCPA_ADJ} (1798.150): USD 107 to 799 per consumer per incident; the middle as most likely`,
  ),
  breachPerRecordUsd: a(
    'Cost of a breach per record held',
    'USD',
    165,
    120,
    220,
    0,
    1e6,
    'Per-record cost of customer personal data in the range IBM’s Cost of a Data Breach reports publish; set it from your insurer',
  ),
  breachCeilingUsd: a(
    'Cost of one breach, at most',
    'USD',
    4_440_000,
    2_000_000,
    10_000_000,
    0,
    1e11,
    'IBM Cost of a Data Breach Report 2025: global mean USD 4.44 M per breach (detection and escalation, notification, post-breach response, lost business)',
  ),
  breachRate: a('Breaches per year', 'per year', 0.1, 0.03, 0.3, 0, 10, OWN),
  sensitiveWeight: a(
    'Weight of a special-category record',
    'factor',
    2,
    1.5,
    3,
    1,
    100,
    `GDPR Art. 9 special categories (health, biometrics...) cost more when breached. ${OWN}`,
  ),
  complaintRate: a(
    'Regulator action per violation per year',
    'ratio',
    0.02,
    0.005,
    0.1,
    0,
    1,
    `A record kept too long, a use without lawful basis or an onward share found by a regulator. ${OWN}`,
  ),
  requestComplaintRate: a(
    'Complaint per late request',
    'ratio',
    0.2,
    0.05,
    0.5,
    0,
    1,
    `A customer whose request is late complains to the regulator. ${OWN}`,
  ),
  fineShare: a(
    'Fine imposed, share of the cap',
    'ratio',
    0.02,
    0.002,
    0.1,
    0,
    1,
    `Fines are set under Art. 83(2) well below the Art. 83(5) cap in most decisions. ${OWN}`,
  ),
  residualShare: a(
    'Refused uses that happen anyway outside the ledger',
    'ratio',
    0.1,
    0.02,
    0.3,
    0,
    1,
    `Custos refuses a use without lawful basis; a copy outside it may not be. ${OWN}`,
  ),
  shareIncidentRate: a(
    'Incident per record shared onward per year',
    'ratio',
    0.02,
    0.005,
    0.05,
    0,
    1,
    `A recipient’s breach or misuse of a shared copy. ${OWN}`,
  ),
  usdPerEur: a('US dollars per euro', 'USD per EUR', 1.1, 1.1, 1.1, 0.01, 100, 'Exchange rate to add it all up in EUR'),
  baselineMissRate: a(
    'Without Custos: erasures and opt-outs missed',
    'ratio',
    0.3,
    0.1,
    0.5,
    0,
    1,
    `Without crypto-shredding, a share of erased records survives in copies and backups. ${OWN}`,
  ),
  baselineLateFactor: a(
    'Without Custos: late requests, times as many',
    'factor',
    2,
    1.5,
    4,
    1,
    100,
    `Without deadlines computed on the ledger, more requests are answered late. ${OWN}`,
  ),
  failedStepLateShare: a(
    'Requests paused on a failed system step that end late',
    'ratio',
    0.5,
    0.2,
    0.8,
    0,
    1,
    `An open request whose erasure or export failed in one of the company's own systems (a connector step on the ledger) misses its deadline as often as not until someone re-runs it. ${OWN}`,
  ),
});

export type AssumptionId = keyof typeof DEFAULT_ASSUMPTIONS;
export type Assumptions = Record<AssumptionId, Assumption>;
export const ASSUMPTION_IDS = Object.keys(DEFAULT_ASSUMPTIONS) as AssumptionId[];

/** New most-likely values by id, as a user edits them (query string, form). */
export type AssumptionOverrides = Partial<Record<AssumptionId, number>>;

/**
 * The assumptions with the overrides applied: the value set, the range scaled with it (a range of
 * 120-220 around 165 becomes 240-440 around 330). Throws on an unknown id or a value outside the
 * assumption's bounds, naming what was expected.
 */
export function withOverrides(base: Assumptions, overrides: AssumptionOverrides): Assumptions {
  const out = { ...base };
  for (const [id, v] of Object.entries(overrides)) {
    const cur = base[id as AssumptionId];
    if (cur === undefined) {
      throw new RiskInputError(`unknown assumption '${id}': expected one of ${ASSUMPTION_IDS.join(', ')}`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < cur.min || v > cur.max) {
      throw new RiskInputError(`expected assumption '${id}' as a number from ${cur.min} to ${cur.max}`);
    }
    const k = cur.value === 0 ? 1 : v / cur.value;
    const low = cur.value === 0 ? v : Math.min(v, cur.low * k);
    const high = cur.value === 0 ? v : Math.max(v, cur.high * k);
    out[id as AssumptionId] = Object.freeze({ ...cur, value: v, low, high });
  }
  return out;
}

/** The most-likely values, by id. */
export function valuesOf(as: Assumptions): Record<AssumptionId, number> {
  const out = {} as Record<AssumptionId, number>;
  for (const id of ASSUMPTION_IDS) out[id] = as[id].value;
  return out;
}
