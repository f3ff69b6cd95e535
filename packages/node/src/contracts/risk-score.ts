/**
 * The risk check's rules and how its findings become a figure in money. docs/contracts.md ("Risk
 * check") renders this table and a test keeps the two equal: change a figure here, change it there.
 *
 * The score is an expected loss per year of operation, in whole EUR: for each rule with at least
 * one finding, likelihood (percent) x impact (EUR), summed. A rule counts once however many
 * findings it has: its impact is the loss event (a fine, a broken agreement), not a per-line cost.
 * Impacts of the privacy rules follow the GDPR Art. 83 tiers: up to EUR 20 million (Art. 83(5):
 * principles, data subjects' rights such as erasure) and up to EUR 10 million (Art. 83(4):
 * data protection by design, processor duties); the upper amount of the tier is taken, as the
 * 2%/4%-of-turnover alternative depends on the member and is not known to the ledger. Impacts of
 * the robustness rules are the cost of a contract that stops working on the alliance's chain:
 * EUR 50,000 for an emergency pause, an upgrade and its vote, and the agreement's business lost
 * meanwhile. Likelihoods are the alliance's judgement of how often such a finding turns into that
 * loss within a year; they are stated here so that a member who disagrees can say which one.
 */

export type Severity = 'high' | 'medium' | 'low';

export interface RiskRule {
  readonly severity: Severity;
  /** Chance (percent, per year of operation) that a finding of this rule turns into the loss. */
  readonly likelihoodPct: number;
  /** The loss when it does, in EUR. */
  readonly impactEur: number;
  /** What the rule flags (one line, for the docs and the CLI). */
  readonly flags: string;
  /** Where the impact comes from. */
  readonly basis: string;
}

const OUTAGE = 'contract stops working: emergency pause, upgrade vote, business lost meanwhile';

/** The rules, by id (the report names them so). */
export const RISK_RULES = {
  'forbidden-global': {
    severity: 'high',
    likelihoodPct: 90,
    impactEur: 50_000,
    flags:
      'Date, Math.random, eval, Function, WeakRef, binary buffers, .constructor and other globals the runtime refuses or lacks',
    basis: `the call fails with CONTRACT_FORBIDDEN whenever the path runs; ${OUTAGE}`,
  },
  'unbounded-loop': {
    severity: 'high',
    likelihoodPct: 50,
    impactEur: 50_000,
    flags: 'while (true), for (;;), do ... while (true) with no break, return or throw leaving the loop',
    basis: `every call reaching it runs out of gas; ${OUTAGE}`,
  },
  'args-bound-loop': {
    severity: 'medium',
    likelihoodPct: 20,
    impactEur: 50_000,
    flags: 'a loop whose condition depends on the call arguments with no Math.min cap',
    basis: `a caller chooses the work: calls run out of gas or crowd out others; ${OUTAGE}`,
  },
  recursion: {
    severity: 'medium',
    likelihoodPct: 10,
    impactEur: 50_000,
    flags: 'a function calling itself, directly or through other functions',
    basis: `deep inputs exceed the stack limit (LIMIT_EXCEEDED); ${OUTAGE}`,
  },
  'ungranted-system': {
    severity: 'high',
    likelihoodPct: 5,
    impactEur: 10_000_000,
    flags: "host.system('module.action') with an action the manifest does not grant",
    basis:
      'GDPR Art. 83(4) upper tier (Art. 25, data protection by design): the contract means to use data beyond what members approved',
  },
  'key-outside-namespace': {
    severity: 'high',
    likelihoodPct: 90,
    impactEur: 50_000,
    flags: "host.get/put/del/range on a literal key whose first segment is not one of the manifest's namespaces",
    basis: `the call fails with CONTRACT_FORBIDDEN; ${OUTAGE}`,
  },
  'personal-data': {
    severity: 'high',
    likelihoodPct: 5,
    impactEur: 20_000_000,
    flags:
      'emails, phone numbers, IBANs, person names or fields named email, phone, name, address (and the like) written with host.put or host.emit',
    basis:
      'GDPR Art. 83(5) upper tier (Art. 5 and 17): personal data in replicated plain state cannot be erased from every peer',
  },
  'dynamic-code': {
    severity: 'medium',
    likelihoodPct: 10,
    impactEur: 100_000,
    flags:
      'computed host access (host[x], host aliased or passed on, a host function replaced), host.system with a computed action, with, import(), computed globalThis access, globalThis or host redefined (Object.defineProperty and the like)',
    basis:
      'what the code does is not known before it runs: a capability or privacy breach the other rules cannot see (an incident review and a pause)',
  },
  'unresolved-key': {
    severity: 'low',
    likelihoodPct: 2,
    impactEur: 50_000,
    flags: 'a host.get/put/del/range key with no literal namespace prefix (its namespace is checked only when it runs)',
    basis: `a key outside the namespaces fails the call; ${OUTAGE}`,
  },
  'missing-tests': {
    severity: 'low',
    likelihoodPct: 5,
    impactEur: 50_000,
    flags: 'an exported method with no declared test call',
    basis: `an untested method fails in production; ${OUTAGE}`,
  },
} as const satisfies Record<string, RiskRule>;

export type RiskRuleId = keyof typeof RISK_RULES;

/** Expected loss at or above which the level is at least `medium` / `high` (EUR). */
export const RISK_LEVELS = { medium: 10_000, high: 100_000 } as const;

export interface ScoreLine {
  rule: RiskRuleId;
  findings: number;
  likelihoodPct: number;
  impactEur: number;
  expectedLossEur: number;
}

export interface RiskScore {
  expectedLossEur: number;
  level: Severity;
  /** One line per rule with findings, in rule-id order. */
  basis: ScoreLine[];
}

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

/**
 * The score of a set of findings: sum of likelihood x impact of each rule present; the level is the
 * higher of the band the sum falls in (RISK_LEVELS) and the highest severity found.
 */
export function scoreOf(findings: readonly { rule: RiskRuleId }[]): RiskScore {
  const counts = new Map<RiskRuleId, number>();
  for (const f of findings) counts.set(f.rule, (counts.get(f.rule) ?? 0) + 1);
  const ids = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const basis: ScoreLine[] = ids.map((rule) => {
    const r: RiskRule = RISK_RULES[rule];
    return {
      rule,
      findings: counts.get(rule) as number,
      likelihoodPct: r.likelihoodPct,
      impactEur: r.impactEur,
      expectedLossEur: (r.impactEur * r.likelihoodPct) / 100,
    };
  });
  const expectedLossEur = basis.reduce((sum, l) => sum + l.expectedLossEur, 0);
  let level: Severity =
    expectedLossEur >= RISK_LEVELS.high ? 'high' : expectedLossEur >= RISK_LEVELS.medium ? 'medium' : 'low';
  for (const l of basis) {
    const s: Severity = RISK_RULES[l.rule].severity;
    if (RANK[s] > RANK[level]) level = s;
  }
  return { expectedLossEur, level, basis };
}
