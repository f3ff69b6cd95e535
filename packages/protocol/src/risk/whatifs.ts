/**
 * The what-ifs of the privacy-risk model (docs/risk.md, "What-ifs"): the inputs after one action,
 * each simulated with the same seed as the figures so the difference comes from the inputs alone.
 */
import type { ContractRisk as ContractRiskT, RiskInputs } from './types.js';

/** The inputs after an action: records past retention erased. */
export function afterErasure(x: RiskInputs): RiskInputs {
  const erased = x.categories.reduce((s, c) => s + c.pastRetention, 0);
  return {
    ...x,
    categories: x.categories.map((c) => ({ ...c, records: c.records - c.pastRetention, pastRetention: 0 })),
    erasedRecords: x.erasedRecords + erased,
  };
}

/** The inputs after an action: the overdue requests answered (they become late answers). */
export function afterAnswering(x: RiskInputs): RiskInputs {
  return { ...x, overdueGdpr: 0, overdueCcpa: 0, overdueOptOuts: 0 };
}

/** The inputs after an action: the copies past their due date erased (or corrected, or restricted). */
export function afterActingOnCopies(x: RiskInputs): RiskInputs {
  return { ...x, overdueCopies: 0 };
}

/** The inputs after an action: the requests paused on a failed system step re-run to the end. */
export function afterRerunning(x: RiskInputs): RiskInputs {
  return { ...x, failedSteps: 0 };
}

/**
 * The inputs after an action: contract `id` paused (kept with no chance of loss, so the trials
 * draw the same numbers for the other contracts).
 */
export function afterPausing(x: RiskInputs, id: string): RiskInputs {
  return {
    ...x,
    contracts: x.contracts.map((c) =>
      c.id === id ? { id, lines: c.lines.map((l) => ({ ...l, likelihoodPct: 0 })) } : c,
    ),
  };
}

/** At most this many "pause contract X" what-ifs: each costs a run of the simulation. */
export const MAX_CONTRACT_WHATIFS = 10;

/** The what-ifs that apply to these inputs, each with its inputs. */
export function whatIfsOf(x: RiskInputs): { id: string; label: string; inputs: RiskInputs }[] {
  const out: { id: string; label: string; inputs: RiskInputs }[] = [];
  const past = x.categories.reduce((s, c) => s + c.pastRetention, 0);
  if (past > 0)
    out.push({
      id: 'erase-past-retention',
      label: `Erase the ${past} records past retention`,
      inputs: afterErasure(x),
    });
  const overdue = x.overdueGdpr + x.overdueCcpa;
  if (overdue > 0)
    out.push({ id: 'answer-overdue', label: `Answer the ${overdue} overdue requests`, inputs: afterAnswering(x) });
  if (x.overdueCopies > 0) {
    out.push({
      id: 'act-on-overdue-copies',
      label: `Act on the ${x.overdueCopies} copies past their due date`,
      inputs: afterActingOnCopies(x),
    });
  }
  if (x.failedSteps > 0) {
    out.push({
      id: 'rerun-failed-steps',
      label: `Re-run the ${x.failedSteps} requests paused on a failed system step`,
      inputs: afterRerunning(x),
    });
  }
  // One what-if per contract costs one more run: the MAX_CONTRACT_WHATIFS riskiest contracts only.
  const weight = (c: ContractRiskT) => c.lines.reduce((a, l) => a + l.likelihoodPct * l.impactEur, 0);
  const riskiest = [...x.contracts].sort((a, b) => weight(b) - weight(a) || (a.id < b.id ? -1 : 1));
  for (const c of riskiest.slice(0, MAX_CONTRACT_WHATIFS)) {
    out.push({ id: `pause-contract:${c.id}`, label: `Pause contract ${c.id}`, inputs: afterPausing(x, c.id) });
  }
  return out;
}
