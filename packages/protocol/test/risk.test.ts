import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ASSUMPTIONS,
  MAX_CONTRACT_WHATIFS,
  RiskInputError,
  type RiskInputs,
  rngOf,
  simulate,
  whatIfsOf,
  withOverrides,
  worstCase,
} from '../src/risk/index.js';

/** The demo bank's shape: 5 live records, one past retention, one overdue GDPR request. */
function bank(over: Partial<RiskInputs> = {}): RiskInputs {
  return {
    org: 'bank',
    height: 42,
    time: Date.UTC(2026, 0, 1),
    checkpoint: { height: 42, hash: 'ab'.repeat(32), final: true },
    categories: [
      { category: 'pd:EmailAddress', records: 3, pastRetention: 1, sensitive: false },
      { category: 'pd:HealthRecord', records: 2, pastRetention: 0, sensitive: true },
    ],
    subjects: 3,
    ccpaShare: 0,
    erasedRecords: 2,
    onwardCopies: 1,
    overdueCopies: 0,
    openIncidents: 0,
    lateAuthority: 0,
    breachSubjects: 0,
    overdueGdpr: 1,
    overdueCcpa: 0,
    overdueOptOuts: 0,
    lateAnswers: 0,
    failedSteps: 0,
    refusedAccesses: 0,
    refusedShares: 0,
    optOutsRefused: 0,
    scan: { fromHeight: 1, toHeight: 42, complete: true },
    contracts: [{ id: 'loyalty', lines: [{ rule: 'unbounded-loop', likelihoodPct: 10, impactEur: 50_000 }] }],
    sources: [],
    ...over,
  };
}

const quick = { trials: 2_000 };

describe('risk model', () => {
  it('keeps today’s worst case: the GDPR cap for any issue plus a breach of every record (EUR 20,000,750)', () => {
    expect(worstCase(bank())).toBeCloseTo(20_000_750, 6);
    expect(worstCase(bank({ categories: [], overdueGdpr: 0, onwardCopies: 0 }))).toBe(0);
    // CCPA: the Californian share of the plain issues at USD 2,663, overdue CCPA requests at USD 7,988.
    const ccpa = bank({ ccpaShare: 1, overdueGdpr: 0, overdueCcpa: 2 });
    expect(worstCase(ccpa)).toBeCloseTo(20_000_000 + (2_663 + 2 * 7_988 + 5 * 165) / 1.1, 6);
    expect(simulate(bank(), DEFAULT_ASSUMPTIONS, quick).worstCase).toBeCloseTo(20_000_750, 6);
  });

  it('gives the same figures for the same seed and inputs, and other draws for another seed', () => {
    const a = simulate(bank(), DEFAULT_ASSUMPTIONS, quick);
    const b = simulate(bank(), DEFAULT_ASSUMPTIONS, quick);
    expect(b).toEqual(a);
    const c = simulate(bank(), DEFAULT_ASSUMPTIONS, { ...quick, seed: 7 });
    expect(c.expectedAnnualLoss).not.toBe(a.expectedAnnualLoss);
    expect(Math.abs(c.expectedAnnualLoss - a.expectedAnnualLoss) / a.expectedAnnualLoss).toBeLessThan(0.3);
    const r1 = rngOf(1);
    const r2 = rngOf(1);
    for (let i = 0; i < 100; i++) expect(r1()).toBe(r2());
  });

  it('orders its figures and its curve: median <= p90 <= p99, exceedance never rising', () => {
    const r = simulate(bank(), DEFAULT_ASSUMPTIONS, quick);
    expect(r.expectedAnnualLoss).toBeGreaterThan(0);
    expect(r.median).toBeLessThanOrEqual(r.p90);
    expect(r.p90).toBeLessThanOrEqual(r.p99);
    expect(r.p99).toBeLessThan(r.worstCase);
    for (let i = 1; i < r.exceedance.length; i++) {
      expect(r.exceedance[i]!.probability).toBeLessThanOrEqual(r.exceedance[i - 1]!.probability);
      expect(r.exceedance[i]!.loss).toBeGreaterThanOrEqual(r.exceedance[i - 1]!.loss);
    }
    const sum = r.causes.reduce((s, c) => s + c.expectedAnnualLoss, 0);
    expect(sum).toBeCloseTo(r.expectedAnnualLoss, 3);
  });

  it('lowers the expected loss with each what-if, and ranks them by loss avoided', () => {
    const r = simulate(bank(), DEFAULT_ASSUMPTIONS, quick);
    expect(r.whatIfs.map((w) => w.id).sort()).toEqual([
      'answer-overdue',
      'erase-past-retention',
      'pause-contract:loyalty',
    ]);
    for (const w of r.whatIfs) {
      expect(w.delta).toBeLessThan(0);
      expect(w.expectedAnnualLoss).toBeCloseTo(r.expectedAnnualLoss + w.delta, 3);
    }
    for (let i = 1; i < r.whatIfs.length; i++)
      expect(r.whatIfs[i]!.delta).toBeGreaterThanOrEqual(r.whatIfs[i - 1]!.delta);
    // One run per contract what-if: the riskiest ten only.
    const many = bank({
      contracts: Array.from({ length: 30 }, (_, i) => ({
        id: `c${i}`,
        lines: [{ rule: 'r', likelihoodPct: 1 + i, impactEur: 1_000 }],
      })),
    });
    const ids = whatIfsOf(many)
      .filter((w) => w.id.startsWith('pause-contract:'))
      .map((w) => w.id);
    expect(ids).toHaveLength(MAX_CONTRACT_WHATIFS);
    expect(ids[0]).toBe('pause-contract:c29');
    // Nothing to act on: no what-if.
    const clean = bank({ categories: [], overdueGdpr: 0, contracts: [] });
    expect(simulate(clean, DEFAULT_ASSUMPTIONS, quick).whatIfs).toEqual([]);
  });

  it('puts the company without Custos above the company with it', () => {
    const r = simulate(bank({ refusedAccesses: 5, refusedShares: 2 }), DEFAULT_ASSUMPTIONS, quick);
    expect(r.baseline.expectedAnnualLoss).toBeGreaterThan(r.expectedAnnualLoss);
  });

  it('moves with its inputs and assumptions in the direction they mean', () => {
    const base = simulate(bank(), DEFAULT_ASSUMPTIONS, quick).expectedAnnualLoss;
    const more = withOverrides(DEFAULT_ASSUMPTIONS, { breachRate: 0.5 });
    expect(simulate(bank(), more, quick).expectedAnnualLoss).toBeGreaterThan(base);
    const sensitive = bank({
      categories: [{ category: 'pd:HealthRecord', records: 5, pastRetention: 1, sensitive: true }],
    });
    expect(simulate(sensitive, DEFAULT_ASSUMPTIONS, quick).expectedAnnualLoss).toBeGreaterThan(base);
    expect(simulate(bank({ refusedAccesses: 50 }), DEFAULT_ASSUMPTIONS, quick).expectedAnnualLoss).toBeGreaterThan(
      base,
    );
    expect(simulate(bank({ lateAnswers: 10 }), DEFAULT_ASSUMPTIONS, quick).expectedAnnualLoss).toBeGreaterThan(base);
    // Requests paused on a failed step in the org's own systems (connectors): more of them, or a
    // higher share ending late, cost more; re-running them is a what-if that avoids it.
    const paused = bank({ failedSteps: 4 });
    const withPaused = simulate(paused, DEFAULT_ASSUMPTIONS, quick);
    expect(withPaused.expectedAnnualLoss).toBeGreaterThan(base);
    const likelier = withOverrides(DEFAULT_ASSUMPTIONS, { failedStepLateShare: 0.9 });
    expect(simulate(paused, likelier, quick).expectedAnnualLoss).toBeGreaterThan(withPaused.expectedAnnualLoss);
    const rerun = withPaused.whatIfs.find((w) => w.id === 'rerun-failed-steps');
    expect(rerun?.label).toBe('Re-run the 4 requests paused on a failed system step');
    expect(rerun!.delta).toBeLessThan(0);
  });

  it('reads the incident register and overdue copies: each moves the expected loss up, with its cause and formula', () => {
    const loss = (over: Partial<RiskInputs>) => simulate(bank(over), DEFAULT_ASSUMPTIONS, quick);
    const base = loss({}).expectedAnnualLoss;
    // An open breach costs what a breach of the customers told of it costs; more customers, more.
    const open = loss({ openIncidents: 1, breachSubjects: 10 });
    expect(open.expectedAnnualLoss).toBeGreaterThan(base);
    expect(loss({ openIncidents: 1, breachSubjects: 100 }).expectedAnnualLoss).toBeGreaterThan(open.expectedAnnualLoss);
    expect(loss({ openIncidents: 2, breachSubjects: 20 }).expectedAnnualLoss).toBeGreaterThan(open.expectedAnnualLoss);
    const incidents = open.causes.find((c) => c.id === 'incidents')!;
    expect(incidents.label).toBe('Open breaches in the register');
    expect(incidents.expectedAnnualLoss).toBeGreaterThan(0);
    expect(incidents.formula).toBe('1 open breaches × cost of a breach of the 10 customers they may affect');
    // A late notification to the authority (Art. 33(1)) is an infringement: a fine may follow.
    const late = loss({ lateAuthority: 3 });
    expect(late.expectedAnnualLoss).toBeGreaterThan(base);
    const notification = late.causes.find((c) => c.id === 'breach-notification')!;
    expect(notification.label).toBe('Breaches notified late to the authority');
    expect(notification.formula).toContain('3 late notifications to the authority');
    expect(notification.expectedAnnualLoss).toBeGreaterThan(0);
    expect(worstCase(bank({ categories: [], overdueGdpr: 0, onwardCopies: 0, lateAuthority: 1 }))).toBeGreaterThan(0);
    // Copies kept past the due date their source's erasure set count as records kept too long;
    // acting on them is a what-if that avoids it.
    const copies = loss({ overdueCopies: 4 });
    expect(copies.expectedAnnualLoss).toBeGreaterThan(base);
    expect(copies.causes.find((c) => c.id === 'retention')!.formula).toContain('4 copies past their due date');
    const act = copies.whatIfs.find((w) => w.id === 'act-on-overdue-copies');
    expect(act?.label).toBe('Act on the 4 copies past their due date');
    expect(act!.delta).toBeLessThan(0);
    // None of them: both causes are zero.
    for (const id of ['incidents', 'breach-notification']) {
      expect(loss({}).causes.find((c) => c.id === id)!.expectedAnnualLoss).toBe(0);
    }
  });

  it('keeps a year’s GDPR fines within the Art. 83(5) cap', () => {
    const huge = bank({ refusedAccesses: 1e6, overdueGdpr: 1e5, categories: [], contracts: [], onwardCopies: 0 });
    const r = simulate(huge, withOverrides(DEFAULT_ASSUMPTIONS, { fineShare: 1, breachRate: 0 }), quick);
    expect(r.p99).toBeLessThanOrEqual(20_000_000);
    expect(r.p99).toBeGreaterThan(19_000_000);
  });

  it('refuses assumption edits it cannot take, saying what was expected', () => {
    expect(() => withOverrides(DEFAULT_ASSUMPTIONS, { breachRate: -1 })).toThrow(
      new RiskInputError("expected assumption 'breachRate' as a number from 0 to 10"),
    );
    expect(() => withOverrides(DEFAULT_ASSUMPTIONS, { nope: 1 } as never)).toThrow(
      /unknown assumption 'nope': expected one of/,
    );
    expect(() => withOverrides(DEFAULT_ASSUMPTIONS, { fineShare: Number.NaN })).toThrow(RiskInputError);
    expect(() => simulate(bank(), DEFAULT_ASSUMPTIONS, { trials: 0 })).toThrow(/expected trials/);
    const scaled = withOverrides(DEFAULT_ASSUMPTIONS, { breachPerRecordUsd: 330 });
    expect(scaled.breachPerRecordUsd).toMatchObject({ value: 330, low: 240, high: 440 });
  });
});
