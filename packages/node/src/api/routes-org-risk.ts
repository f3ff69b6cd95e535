/**
 * The org's privacy risk in money (docs/risk.md), registered under `/v1/orgs/:org`: the model's
 * inputs read from the ledger at the latest height, and the result of @custos/protocol/risk over
 * them with the default assumptions or the ones the query overrides (each bounded).
 */
import {
  ASSUMPTION_IDS,
  type AssumptionOverrides,
  DEFAULT_ASSUMPTIONS,
  DEFAULT_SEED,
  DEFAULT_TRIALS,
  RiskInputError,
  simulate,
  withOverrides,
} from '@custos/protocol/risk';
import { Type } from '@sinclair/typebox';
import { NodeError } from '../errors.js';
import { riskInputsOf, riskTrend, TREND_POINTS, TREND_TRIALS } from '../orgs/risk-inputs.js';
import { ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed } from './schema-atoms.js';

/** At most this many trials a request may ask for: a run of 10^5 takes about a third of a second. */
export const MAX_API_TRIALS = DEFAULT_TRIALS;
const NUMBER = '^-?[0-9]{1,16}(\\.[0-9]{1,16})?([eE][-+]?[0-9]{1,3})?$';

const RISK_QUERY = closed({
  ...Object.fromEntries(
    ASSUMPTION_IDS.map((id) => {
      const a = DEFAULT_ASSUMPTIONS[id];
      return [
        id,
        Type.Optional(
          Type.String({
            pattern: NUMBER,
            maxLength: 40,
            description: `${a.label} (${a.unit}), ${a.min} to ${a.max}; default ${a.value}. ${a.source}.`,
          }),
        ),
      ];
    }),
  ),
  seed: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,10}$',
      description: `Seed of the simulation, 0 to 4294967295; default ${DEFAULT_SEED}.`,
    }),
  ),
  trials: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,7}$',
      description: `Trials, 1,000 to ${MAX_API_TRIALS}; default ${DEFAULT_TRIALS}.`,
    }),
  ),
});

/** The overrides, seed and trials of a query, or BAD_REQUEST saying what was expected. */
export function riskQueryOf(q: Record<string, string | undefined>) {
  const overrides: AssumptionOverrides = {};
  for (const id of ASSUMPTION_IDS) if (q[id] !== undefined) overrides[id] = Number(q[id]);
  const seed = q.seed === undefined ? DEFAULT_SEED : Number(q.seed);
  const trials = q.trials === undefined ? DEFAULT_TRIALS : Number(q.trials);
  if (!(seed >= 0 && seed <= 0xffffffff))
    throw new NodeError('BAD_REQUEST', 'expected querystring.seed from 0 to 4294967295');
  if (!(trials >= 1000 && trials <= MAX_API_TRIALS)) {
    throw new NodeError('BAD_REQUEST', `expected querystring.trials from 1000 to ${MAX_API_TRIALS}`);
  }
  try {
    return { assumptions: withOverrides(DEFAULT_ASSUMPTIONS, overrides), seed, trials };
  } catch (e) {
    if (e instanceof RiskInputError) throw new NodeError('BAD_REQUEST', `querystring: ${e.message}`);
    throw e;
  }
}

export const orgRiskRoutes: RoutePlugin<OrgRouteOptions> = async (app) => {
  const node = app.custos;
  const { member } = orgGuards(node);

  app.get(
    '/risk',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Privacy risk in money',
          `Expected annual loss, median, 90th and 99th percentiles, the loss exceedance curve, the loss by cause, what-ifs ranked by loss avoided, the baseline without Custos and the worst case, and \`trend\` (the expected annual loss at ${TREND_POINTS} heights of the ledger's history, ${TREND_TRIALS} trials each), from a seeded Monte Carlo (docs/risk.md) over inputs read from the ledger at the latest height (\`inputs\`, each with its source). The query overrides assumptions by id.`,
        ),
        params: ORG_PARAMS,
        querystring: RISK_QUERY,
      },
      config: { problems: [...ORG_CONFIG.problems, 'BAD_REQUEST'] },
    },
    async (request) => {
      const { assumptions, seed, trials } = riskQueryOf(request.query as Record<string, string | undefined>);
      const { inputs, facts } = riskInputsOf(node, request.params.org);
      const result = simulate(inputs, assumptions, { seed, trials });
      return { inputs, result, trend: riskTrend(node, facts, assumptions, seed) };
    },
  );
};
