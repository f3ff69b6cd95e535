/**
 * `GET /v1/contracts` and `GET /v1/contracts/:name` (docs/api.md, "Contracts"). Contract records,
 * their code's risk reports and the votes on their proposals are consortium governance, public like
 * `/v1/gov/proposals` and the `contract-info/` and `contract-code/` state; the receipts of calls
 * (caller, events) are members' data like `contract-receipt/`: an anonymous or subject reader gets
 * `recentCalls: null`.
 */
import { Type } from '@sinclair/typebox';
import { CONTRACT_NAME } from '../contracts/manifest.js';
import { contractDetail, listContracts, MAX_CONTRACTS, RECENT_CALLS, RECENT_WINDOW } from './contracts-view.js';
import { problem, sendProblem } from './problem.js';
import { readerOf, readHook } from './read-access.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, noQuery } from './schema-atoms.js';

const READ_PROBLEMS = ['UNAUTHENTICATED', 'FORBIDDEN', 'SIGNATURE_EXPIRED', 'REPLAYED_REQUEST'] as const;

const ANY = {};
const INT = { type: 'integer' };
const NULLABLE_INT = { type: ['integer', 'null'] };
const NULLABLE_STRING = { type: ['string', 'null'] };
const obj = (description: string, properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: 'object',
  description,
  properties,
  required,
});

const RISK_SUMMARY = {
  ...obj('Summary of a risk report (docs/contracts.md, "Risk check").', {
    passed: { type: 'boolean', description: 'False when a finding is high or a declared test did not end OK.' },
    level: { type: 'string', description: 'low, medium or high.' },
    expectedLossEur: { type: 'number' },
    findings: INT,
    rules: {
      type: 'array',
      description: 'Findings and expected loss per rule, in rule-id order.',
      items: obj('', { rule: { type: 'string' }, findings: INT, expectedLossEur: { type: 'number' } }),
    },
    tests: { type: 'integer', description: 'Declared test calls run in the dry run.' },
    testsOk: { type: 'integer', description: 'Those that ended OK.' },
  }),
  type: ['object', 'null'],
};

const PROPOSAL = {
  ...obj('The gov proposal that activates the pending code, with its votes so far.', {
    id: { type: 'string', description: 'Proposal id: the txId of contract.propose.' },
    reason: { type: 'string' },
    proposer: { type: 'string' },
    createdAt: INT,
    expiresAt: INT,
    state: { type: 'string', enum: ['open', 'executed', 'rejected', 'expired'] },
    votes: {
      type: 'array',
      items: obj('', { member: { type: 'string' }, vote: { type: 'string', enum: ['yes', 'no'] }, height: INT }),
    },
    needs: { type: 'integer', description: 'Yes votes needed: a majority of the members.' },
  }),
  type: ['object', 'null'],
};

const SUMMARY = obj('A contract, its pending proposal and its totals.', {
  name: { type: 'string' },
  version: { ...NULLABLE_STRING, description: 'Version of the code in force (null before activation).' },
  status: { type: 'string', enum: ['proposed', 'active', 'paused', 'removed'] },
  digest: { ...NULLABLE_STRING, description: 'SHA-256 of the code in force.' },
  activeFrom: NULLABLE_INT,
  calls: { type: 'integer', description: 'Calls made, failed ones included.' },
  gasUsed: { type: 'integer', description: 'Gas used by all its calls.' },
  maxGas: { ...NULLABLE_INT, description: "The manifest's gas limit per call of the code in force." },
  risk: RISK_SUMMARY,
  pause: obj('Emergency pause: the members who asked (the pausers once paused) and how many are needed.', {
    votes: { type: 'array', items: { type: 'string' } },
    needed: INT,
    pausedAt: NULLABLE_INT,
  }),
  removedAt: NULLABLE_INT,
  pending: {
    ...obj('Code proposed and not yet decided.', {
      digest: { type: 'string' },
      version: { type: 'string' },
      proposedAt: INT,
      proposal: PROPOSAL,
      risk: RISK_SUMMARY,
    }),
    type: ['object', 'null'],
  },
});

const CODE = {
  ...obj('Code of the contract: manifest, declared test calls and the full risk report.', {
    digest: { type: 'string' },
    manifest: { type: 'object', additionalProperties: true },
    tests: { type: 'array', items: { type: 'object', additionalProperties: true } },
    risk: { type: 'object', additionalProperties: true, description: 'The risk report (findings, dryRun, score).' },
  }),
  type: ['object', 'null'],
};

const CALL = obj('One call and its receipt.', {
  txId: { type: 'string' },
  height: INT,
  method: { type: 'string' },
  caller: { type: 'string', description: 'The signing key.' },
  callerOrg: { ...NULLABLE_STRING, description: "The signer's member org." },
  code: { type: 'string', description: 'Result code.' },
  gasUsed: INT,
  gasLimit: INT,
  events: { type: 'array', items: ANY },
  error: NULLABLE_STRING,
});

const LIST = obj('Every contract, in name order.', {
  height: INT,
  members: INT,
  contracts: { type: 'array', items: SUMMARY },
  truncated: { type: 'boolean', description: `More than ${MAX_CONTRACTS} contracts: the first are listed.` },
});

const DETAIL = obj('One contract in full.', {
  height: INT,
  members: INT,
  contract: SUMMARY,
  inForce: CODE,
  proposed: CODE,
  recentCalls: {
    type: ['array', 'null'],
    items: CALL,
    description: `Its latest ${RECENT_CALLS} calls, newest first, among the latest ${RECENT_WINDOW} transactions; null unless the reader is a member.`,
  },
});

export const contractRoutes: RoutePlugin = async (app) => {
  const node = app.custos;
  const onRequest = readHook(node);

  app.get(
    '/v1/contracts',
    {
      schema: {
        tags: ['chain'],
        summary: 'Contracts',
        description: `Every contract (at most ${MAX_CONTRACTS}, by name): status, version, calls and gas used, the pause votes, the risk summary of the code in force, and the pending proposal with its risk summary and votes so far. Public, like the governance proposals.`,
        querystring: noQuery(),
        response: { 200: LIST },
      },
      onRequest,
      config: { problems: READ_PROBLEMS },
    },
    async () => listContracts(node),
  );

  app.get(
    '/v1/contracts/:name',
    {
      schema: {
        tags: ['chain'],
        summary: 'One contract',
        description:
          "A contract's record, the manifest, declared tests and full risk report of the code in force and of the pending proposal, the votes, and (for members: a member key or an org token with `read`) the receipts of its recent calls: method, caller org, result code, gas used, events.",
        params: closed({ name: Type.String({ pattern: CONTRACT_NAME.source, maxLength: 63 }) }),
        querystring: noQuery(),
        response: { 200: DETAIL },
      },
      onRequest,
      config: { problems: [...READ_PROBLEMS, 'NOT_FOUND'] },
    },
    async (request, reply) => {
      const view = contractDetail(node, request.params.name, readerOf(request).kind === 'member');
      if (view === undefined) return sendProblem(reply, problem('NOT_FOUND', `no contract '${request.params.name}'`));
      return view;
    },
  );
};
