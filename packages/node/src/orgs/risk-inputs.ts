/**
 * The privacy-risk model's inputs for one org at the node's latest height, and the trend of its
 * expected loss over the ledger's history (docs/risk.md, "Inputs" and "Trend"). The facts are read
 * once (risk-facts.ts); the model itself is @custos/protocol/risk, the same code the console runs.
 */
import {
  type Assumptions,
  DEFAULT_SEED,
  expectedAnnualLoss,
  type RiskInputs,
  type TrendPoint,
} from '@custos/protocol/risk';
import type { CustosNode } from '../node.js';
import { inputsAt, RISK_SCAN_BLOCKS, type RiskFacts, riskFacts } from './risk-facts.js';

export { RISK_SCAN_BLOCKS };

/** Points of the trend, and trials per point (the mean only, so fewer trials than the figures). */
export const TREND_POINTS = 8;
export const TREND_TRIALS = 10_000;

function checkpointAt(node: CustosNode, height: number): RiskInputs['checkpoint'] {
  const stored = node.store.getHeader(height);
  return stored === null ? null : { height, hash: stored.hash, final: height <= node.latestFinal() };
}

/** The inputs at the latest height, and the facts they came from (for the trend). */
export function riskInputsOf(node: CustosNode, org: string): { inputs: RiskInputs; facts: RiskFacts } {
  const facts = riskFacts(node, org, RISK_SCAN_BLOCKS);
  const head = node.latest();
  return { inputs: inputsAt(facts, head.height, head.time, checkpointAt(node, head.height)), facts };
}

/**
 * The expected annual loss at TREND_POINTS heights spread evenly from the first block to the latest,
 * each from the inputs as they stood then, with the same assumptions and seed.
 */
export function riskTrend(node: CustosNode, facts: RiskFacts, as: Assumptions, seed = DEFAULT_SEED): TrendPoint[] {
  const top = facts.height;
  const heights = [
    ...new Set(Array.from({ length: TREND_POINTS }, (_, i) => Math.max(1, Math.round(((i + 1) * top) / TREND_POINTS)))),
  ];
  const out: TrendPoint[] = [];
  for (const h of heights) {
    const header = node.store.getHeader(h);
    if (header === null) continue;
    const x = inputsAt(facts, h, header.header.time, null);
    out.push({
      height: h,
      time: header.header.time,
      expectedAnnualLoss: expectedAnnualLoss(x, as, { trials: TREND_TRIALS, seed }),
    });
  }
  return out;
}
