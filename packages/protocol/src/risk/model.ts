/**
 * Privacy risk in money, FAIR style (The Open Group Risk Taxonomy, O-RT): for each cause, loss
 * event frequency (events per year) x loss magnitude (EUR per event), simulated over the
 * assumptions' ranges with a seeded generator so the same inputs give the same figures in the
 * node, the CLI and the browser. Formulas, sources and limits: docs/risk.md.
 *
 * One trial is one year: every uncertain assumption is drawn once (triangular over low / value /
 * high), the number of loss events of each cause is Poisson with the cause's frequency, and the
 * year's loss of a cause is its events x its magnitude. Regulator fines under GDPR in one year add
 * up to at most the Art. 83(5) cap (Art. 83(3): one fine for linked infringements).
 */
import { type AssumptionId, type Assumptions, DEFAULT_ASSUMPTIONS } from './assumptions.js';
import { rngOf } from './prng.js';
import {
  CAUSE_LABELS,
  CAUSES,
  type CauseId,
  type CauseResult,
  DEFAULT_SEED,
  DEFAULT_TRIALS,
  type Figures,
  MAX_TRIALS,
  type RiskInputs,
  type RiskResult,
  type SimulateOptions,
} from './types.js';
import { whatIfsOf } from './whatifs.js';

export * from './types.js';
export * from './whatifs.js';

/** Total live records, and past retention. */
function totals(x: RiskInputs) {
  let live = 0;
  let past = 0;
  let sensitive = 0;
  let sensitivePast = 0;
  for (const c of x.categories) {
    live += c.records;
    past += c.pastRetention;
    if (c.sensitive) {
      sensitive += c.records;
      sensitivePast += c.pastRetention;
    }
  }
  return { live, past, sensitive, sensitivePast };
}

/** The GDPR Art. 83(5) cap: the higher of the rate x turnover and the fixed amount. */
export function gdprCap(v: Record<AssumptionId, number>): number {
  return Math.max(v.gdprRate * v.turnoverEur, v.gdprFloorEur);
}

/**
 * Today's worst case, unchanged from the console's first risk figure: the GDPR cap if any issue
 * GDPR fines is found, plus CCPA penalties for the Californian share of the issues, plus the cost
 * of a breach of every record held.
 */
export function worstCase(x: RiskInputs, as: Assumptions = DEFAULT_ASSUMPTIONS): number {
  const v = valuesOfAssumptions(as);
  const { live, past } = totals(x);
  const issues =
    past +
    x.overdueGdpr +
    x.overdueCcpa +
    x.refusedAccesses +
    x.refusedShares +
    x.optOutsRefused +
    x.overdueCopies +
    x.lateAuthority;
  const gdpr = issues - x.overdueCcpa > 0 ? gdprCap(v) : 0;
  const plain = Math.round(
    (past + x.refusedAccesses + x.refusedShares + x.optOutsRefused + x.overdueCopies) * x.ccpaShare,
  );
  const ccpa = plain * v.ccpaPerViolationUsd + x.overdueCcpa * v.ccpaPerIntentionalUsd;
  return gdpr + (ccpa + live * v.breachPerRecordUsd) / v.usdPerEur;
}

function valuesOfAssumptions(as: Assumptions): Record<AssumptionId, number> {
  const out = {} as Record<AssumptionId, number>;
  for (const k of Object.keys(as) as AssumptionId[]) out[k] = as[k].value;
  return out;
}

/** A triangular draw over [low, high] with the mode `value`. */
function triangular(r: number, low: number, mode: number, high: number): number {
  if (high <= low) return mode;
  const f = (mode - low) / (high - low);
  return r < f
    ? low + Math.sqrt(r * (high - low) * (mode - low))
    : high - Math.sqrt((1 - r) * (high - low) * (high - mode));
}

/**
 * A Poisson draw from exactly two uniforms, so every trial uses the same number of draws whatever
 * the inputs (common random numbers: a what-if changes the figures only through its inputs, and a
 * higher frequency never gives fewer events). Inversion of the distribution function for means up
 * to 30, a rounded normal (Box-Muller) above.
 */
function poisson(u1: number, u2: number, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) {
    const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    return Math.max(0, Math.round(lambda + z * Math.sqrt(lambda)));
  }
  let k = 0;
  let p = Math.exp(-lambda);
  let cdf = p;
  while (u1 > cdf && k < 1000) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

/** The causes simulated from counts (contracts are drawn from their own lines). */
const COUNTED: readonly CauseId[] = CAUSES.filter((c) => c !== 'contracts');

/**
 * The frequency and magnitude of each counted cause for one set of assumption values, written into
 * `out` as [f, g, o] per cause in COUNTED order: f loss events per year; per event, g the GDPR fine
 * (kept within the yearly cap) and o the rest (CCPA penalties, breach costs). Returns the weighted
 * record count.
 */
function fillTerms(
  x: RiskInputs,
  k: ReturnType<typeof totals>,
  v: Record<AssumptionId, number>,
  out: Float64Array,
): number {
  const weighted = k.live + (v.sensitiveWeight - 1) * k.sensitive;
  const usd = 1 / v.usdPerEur;
  const gdprShare = 1 - x.ccpaShare;
  const fine = v.fineShare * gdprCap(v);
  const breachMag =
    (Math.min(weighted * v.breachPerRecordUsd, v.breachCeilingUsd) + x.subjects * x.ccpaShare * v.ccpaDamagesUsd) * usd;
  // Requests paused on a failed system step count as late as often as the assumption says.
  const atRisk = x.failedSteps * v.failedStepLateShare;
  const late = x.overdueGdpr + x.overdueCcpa + x.lateAnswers + atRisk;
  const gdprLate = late === 0 ? 0 : (x.overdueGdpr + x.lateAnswers + atRisk * gdprShare) / late;
  const ccpaLate = late === 0 ? 0 : (x.overdueCcpa + atRisk * x.ccpaShare) / late;
  const perShare = (weighted / Math.max(k.live, 1)) * v.breachPerRecordUsd * usd;
  const plain = x.ccpaShare * v.ccpaPerViolationUsd * usd;
  const intentional = x.ccpaShare * v.ccpaPerIntentionalUsd * usd;
  // breach
  out[0] = v.breachRate;
  out[1] = 0;
  out[2] = breachMag;
  // retention: records past retention, and copies kept past the due date their source's erasure set
  out[3] = (k.past + x.overdueCopies) * v.complaintRate;
  out[4] = gdprShare * fine;
  out[5] = plain;
  // unlawful-use
  out[6] = (x.refusedAccesses + x.refusedShares) * v.residualShare * v.complaintRate;
  out[7] = gdprShare * fine;
  out[8] = plain;
  // requests
  out[9] = late * v.requestComplaintRate;
  out[10] = gdprLate * fine;
  out[11] = ccpaLate * v.ccpaPerIntentionalUsd * usd;
  // opt-outs
  out[12] = (x.optOutsRefused * v.residualShare + x.overdueOptOuts) * v.requestComplaintRate;
  out[13] = gdprShare * fine;
  out[14] = intentional;
  // onward-shares
  // A lawful share: the recipient's incident costs what a breach of that record costs, no fine here.
  out[15] = x.onwardCopies * v.shareIncidentRate;
  out[16] = 0;
  out[17] = perShare;
  // incidents: each open breach in the register costs this year what a breach of the customers it
  // may affect costs (told of it under Art. 34 or not yet), not a drawn one.
  const told = x.breachSubjects / Math.max(x.openIncidents, 1);
  out[18] = x.openIncidents;
  out[19] = 0;
  out[20] = (Math.min(told * v.breachPerRecordUsd, v.breachCeilingUsd) + told * x.ccpaShare * v.ccpaDamagesUsd) * usd;
  // breach-notification: the authority told after the 72 hours (Art. 33(1)) is an infringement
  // found as a complaint finds one.
  out[21] = x.lateAuthority * v.complaintRate;
  out[22] = gdprShare * fine;
  out[23] = 0;
  return weighted;
}

interface Run {
  losses: Float64Array;
  byCause: Record<CauseId, number>;
}

function run(x: RiskInputs, as: Assumptions, trials: number, seed: number): Run {
  const rng = rngOf(seed);
  const ids = Object.keys(as) as AssumptionId[];
  const specs = ids.map((id) => as[id]);
  const losses = new Float64Array(trials);
  const sums = new Float64Array(COUNTED.length + 1);
  const v = valuesOfAssumptions(as);
  const k = totals(x);
  const terms = new Float64Array(COUNTED.length * 3);
  const lines = x.contracts.flatMap((c) => c.lines);
  for (let t = 0; t < trials; t++) {
    for (let i = 0; i < ids.length; i++) {
      const s = specs[i]!;
      const u = rng();
      v[ids[i]!] = s.low === s.high ? s.value : triangular(u, s.low, s.value, s.high);
    }
    fillTerms(x, k, v, terms);
    const cap = gdprCap(v);
    let total = 0;
    let fines = 0;
    for (let c = 0; c < COUNTED.length; c++) {
      const n = poisson(rng(), rng(), terms[3 * c]!);
      // Art. 83(3): the year's GDPR fines stay within the cap.
      const g = Math.min(n * terms[3 * c + 1]!, cap - fines);
      fines += g;
      const loss = g + n * terms[3 * c + 2]!;
      sums[c]! += loss;
      total += loss;
    }
    let contracts = 0;
    for (const l of lines) if (rng() * 100 < l.likelihoodPct) contracts += l.impactEur;
    sums[COUNTED.length]! += contracts;
    losses[t] = total + contracts;
  }
  const byCause = {} as Record<CauseId, number>;
  COUNTED.forEach((c, i) => {
    byCause[c] = sums[i]! / trials;
  });
  byCause.contracts = sums[COUNTED.length]! / trials;
  return { losses, byCause };
}

function figuresOf(losses: Float64Array): Figures {
  const sorted = Float64Array.from(losses).sort();
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const q = (p: number) => sorted[Math.min(n - 1, Math.floor(p * n))]!;
  return { expectedAnnualLoss: sum / n, median: q(0.5), p90: q(0.9), p99: q(0.99) };
}

/** P(loss > x) at up to 40 levels spread on a log scale over the trials' positive losses. */
function exceedanceOf(losses: Float64Array): { loss: number; probability: number }[] {
  const sorted = Float64Array.from(losses).sort();
  const n = sorted.length;
  const positive = sorted.filter((l) => l > 0);
  if (positive.length === 0) return [{ loss: 0, probability: 0 }];
  const lo = Math.max(1, positive[0]!);
  const hi = sorted[n - 1]!;
  const points: { loss: number; probability: number }[] = [];
  const steps = 40;
  for (let i = 0; i <= steps; i++) {
    const x = hi <= lo ? lo : lo * (hi / lo) ** (i / steps);
    // Index of the first loss above x (binary search).
    let a = 0;
    let b = n;
    while (a < b) {
      const m = (a + b) >> 1;
      if (sorted[m]! > x) b = m;
      else a = m + 1;
    }
    points.push({ loss: x, probability: (n - a) / n });
  }
  return points;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

function formulas(x: RiskInputs, as: Assumptions): Record<CauseId, { f: number; m: number; formula: string }> {
  const v = valuesOfAssumptions(as);
  const arr = new Float64Array(COUNTED.length * 3);
  const weighted = fillTerms(x, totals(x), v, arr);
  const term = (c: CauseId) => {
    const i = COUNTED.indexOf(c);
    return { f: arr[3 * i]!, m: arr[3 * i + 1]! + arr[3 * i + 2]! };
  };
  const { past } = totals(x);
  const late = x.overdueGdpr + x.overdueCcpa + x.lateAnswers;
  const paused =
    x.failedSteps === 0 ? '' : ` + ${x.failedSteps} paused on a failed system step × ${v.failedStepLateShare}`;
  const contracts = x.contracts.flatMap((c) => c.lines);
  const cf = contracts.reduce((s, l) => s + l.likelihoodPct / 100, 0);
  const cm = contracts.reduce((s, l) => s + (l.likelihoodPct / 100) * l.impactEur, 0);
  return {
    breach: {
      ...term('breach'),
      formula: `${v.breachRate}/year × min(${fmt(weighted)} weighted records × USD ${fmt(v.breachPerRecordUsd)}, USD ${fmt(v.breachCeilingUsd)}) + CCPA damages`,
    },
    retention: {
      ...term('retention'),
      formula: `(${past} records past retention + ${x.overdueCopies} copies past their due date) × ${v.complaintRate}/year × (fine ${v.fineShare} × cap EUR ${fmt(gdprCap(v))})`,
    },
    'unlawful-use': {
      ...term('unlawful-use'),
      formula: `${x.refusedAccesses + x.refusedShares} refused attempts × ${v.residualShare} happening anyway × ${v.complaintRate}/year × fine`,
    },
    requests: {
      ...term('requests'),
      formula: `(${late} late or overdue requests${paused}) × ${v.requestComplaintRate}/year × fine (CCPA: USD ${fmt(v.ccpaPerIntentionalUsd)})`,
    },
    'opt-outs': {
      ...term('opt-outs'),
      formula: `(${x.optOutsRefused} refused × ${v.residualShare} + ${x.overdueOptOuts} overdue) × ${v.requestComplaintRate}/year × fine`,
    },
    'onward-shares': {
      ...term('onward-shares'),
      formula: `${x.onwardCopies} copies held by other members × ${v.shareIncidentRate}/year × cost per record`,
    },
    incidents: {
      ...term('incidents'),
      formula: `${x.openIncidents} open breaches × cost of a breach of the ${x.breachSubjects} customers they may affect`,
    },
    'breach-notification': {
      ...term('breach-notification'),
      formula: `${x.lateAuthority} late notifications to the authority × ${v.complaintRate}/year × fine`,
    },
    contracts: {
      f: cf,
      m: cf === 0 ? 0 : cm / cf,
      formula: `${x.contracts.length} contracts in force: Σ likelihood × impact of their risk report lines`,
    },
  };
}

/**
 * The same company without Custos: uses and shares the ledger refused go through (no enforced
 * consent), a share of erased records survives (no crypto-shredding) and is past retention, and
 * more requests are late (no deadlines on the ledger).
 */
export function baselineInputs(x: RiskInputs, as: Assumptions): RiskInputs {
  const miss = as.baselineMissRate.value;
  const survivors = Math.round(x.erasedRecords * miss);
  const live = x.categories.reduce((s, c) => s + c.records, 0);
  const cats =
    x.categories.length === 0
      ? [{ category: 'pd:Unknown', records: survivors, pastRetention: survivors, sensitive: false }]
      : x.categories.map((c) => {
          const extra = Math.round(survivors * (live === 0 ? 1 / x.categories.length : c.records / live));
          return { ...c, records: c.records + extra, pastRetention: c.pastRetention + extra };
        });
  const factor = as.baselineLateFactor.value;
  return {
    ...x,
    categories: cats,
    erasedRecords: 0,
    overdueGdpr: Math.round(x.overdueGdpr * factor),
    overdueCcpa: Math.round(x.overdueCcpa * factor),
    lateAnswers: Math.round(x.lateAnswers * factor),
    failedSteps: Math.round(x.failedSteps * factor),
    overdueOptOuts: Math.round(x.overdueOptOuts * factor),
  };
}

/** The baseline's assumptions: nothing refused is stopped (every refused attempt happens). */
function baselineAssumptions(as: Assumptions): Assumptions {
  const one = { ...as.residualShare, value: 1, low: 1, high: 1 };
  return { ...as, residualShare: one };
}

/** Expected annual loss only (for what-ifs), same seed so differences come from the inputs. */
function expected(x: RiskInputs, as: Assumptions, trials: number, seed: number): number {
  const r = run(x, as, trials, seed);
  let sum = 0;
  for (const l of r.losses) sum += l;
  return sum / trials;
}

/**
 * The expected annual loss alone (no what-ifs, no baseline): for a trend over the ledger's history,
 * where only the mean of each point is shown.
 */
export function expectedAnnualLoss(
  x: RiskInputs,
  as: Assumptions = DEFAULT_ASSUMPTIONS,
  opts: SimulateOptions = {},
): number {
  const trials = opts.trials ?? DEFAULT_TRIALS;
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(trials) || trials < 1 || trials > MAX_TRIALS) {
    throw new RangeError(`expected trials as a whole number from 1 to ${MAX_TRIALS}`);
  }
  return expected(x, as, trials, seed);
}

/**
 * The whole result: figures, causes, the loss exceedance curve, what-ifs ranked by loss avoided,
 * the baseline without Custos and today's worst case.
 */
export function simulate(x: RiskInputs, as: Assumptions = DEFAULT_ASSUMPTIONS, opts: SimulateOptions = {}): RiskResult {
  const trials = opts.trials ?? DEFAULT_TRIALS;
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(trials) || trials < 1 || trials > MAX_TRIALS) {
    throw new RangeError(`expected trials as a whole number from 1 to ${MAX_TRIALS}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError('expected seed as a whole number from 0 to 4294967295');
  }
  const main = run(x, as, trials, seed);
  const figures = figuresOf(main.losses);
  const f = formulas(x, as);
  const causes: CauseResult[] = CAUSES.map((id) => ({
    id,
    label: CAUSE_LABELS[id],
    frequency: f[id].f,
    magnitudeEur: f[id].m,
    expectedAnnualLoss: main.byCause[id],
    formula: f[id].formula,
  }));
  const whatIfs = whatIfsOf(x)
    .map((w) => {
      const e = expected(w.inputs, as, trials, seed);
      return { id: w.id, label: w.label, expectedAnnualLoss: e, delta: e - figures.expectedAnnualLoss };
    })
    .sort((p, q) => p.delta - q.delta);
  const baseline = figuresOf(run(baselineInputs(x, as), baselineAssumptions(as), trials, seed).losses);
  return {
    currency: 'EUR',
    org: x.org,
    height: x.height,
    checkpoint: x.checkpoint,
    trials,
    seed,
    ...figures,
    worstCase: worstCase(x, as),
    causes,
    exceedance: exceedanceOf(main.losses),
    whatIfs,
    baseline,
    assumptions: as,
  };
}
