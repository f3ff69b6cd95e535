/**
 * Scenario risk-model: how long the privacy-risk Monte Carlo (packages/protocol/src/risk) takes for
 * 10^5 trials in node, alone (one run) and whole (`simulate`: the run, every what-if and the
 * baseline, each 10^5 trials). Ceiling: the same number of draws from the seeded generator and of
 * additions, measured in the same run: the simulation cannot be faster than drawing its numbers.
 * Needs a build (`npm run build`). Prints one JSON object last.
 *
 *   node bench/risk-model.mjs [--rounds 5]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ASSUMPTIONS, rngOf, simulate } from '../packages/protocol/dist/risk/index.js';

const inputs = {
  org: 'bench',
  height: 1000,
  time: Date.UTC(2026, 0, 1),
  checkpoint: null,
  categories: [
    { category: 'pd:EmailAddress', records: 120_000, pastRetention: 4_000, sensitive: false },
    { category: 'pd:HealthRecord', records: 20_000, pastRetention: 300, sensitive: true },
  ],
  subjects: 60_000,
  ccpaShare: 0.2,
  erasedRecords: 9_000,
  onwardCopies: 3_000,
  overdueGdpr: 12,
  overdueCcpa: 4,
  overdueOptOuts: 1,
  lateAnswers: 30,
  failedSteps: 5,
  refusedAccesses: 80,
  refusedShares: 9,
  optOutsRefused: 3,
  scan: { fromHeight: 1, toHeight: 1000, complete: true },
  contracts: [{ id: 'c1', lines: [{ rule: 'r', likelihoodPct: 10, impactEur: 50_000 }] }],
  sources: [],
};

export async function run(options = {}) {
  const rounds = options.rounds ?? (options.quick ? 3 : 5);
  const trials = 100_000;
  const time = (f) => {
    const t0 = performance.now();
    const r = f();
    return { ms: performance.now() - t0, r };
  };
  // One run of 10^5 trials: simulate without what-ifs and baseline is not exposed, so time a
  // simulate on inputs with no what-if (nothing past retention, nothing overdue, no contract) and
  // count its two runs (main and baseline).
  const bare = {
    ...inputs,
    categories: inputs.categories.map((c) => ({ ...c, pastRetention: 0 })),
    overdueGdpr: 0,
    overdueCcpa: 0,
    contracts: [],
  };
  const draws = trials * 40; // about 40 draws per trial (17 assumptions, 6 Poisson counts, contract lines)
  const single = [];
  const whole = [];
  const ceiling = [];
  let result;
  for (let i = 0; i < rounds; i++) {
    single.push(time(() => simulate(bare, DEFAULT_ASSUMPTIONS, { trials })).ms / 2);
    const w = time(() => simulate(inputs, DEFAULT_ASSUMPTIONS, { trials }));
    whole.push(w.ms);
    result = w.r;
    ceiling.push(
      time(() => {
        const rng = rngOf(1);
        let s = 0;
        for (let k = 0; k < draws; k++) s += rng();
        return s;
      }).ms,
    );
  }
  const best = (xs) => Math.round(Math.min(...xs) * 10) / 10;
  const median = (xs) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] * 10) / 10;
  return {
    scenario: 'risk-model',
    trials,
    rounds,
    runs: 2 + result.whatIfs.length,
    oneRunMs: { best: best(single), median: median(single) },
    simulateMs: { best: best(whole), median: median(whole) },
    ceilingDrawsMs: { draws, best: best(ceiling), median: median(ceiling) },
    shareOfCeiling: Math.round((best(ceiling) / best(single)) * 1000) / 1000,
    underOneSecond: best(single) < 1000,
    expectedAnnualLoss: Math.round(result.expectedAnnualLoss),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
  console.log(JSON.stringify(await run({ rounds: Number(values.rounds) })));
}
