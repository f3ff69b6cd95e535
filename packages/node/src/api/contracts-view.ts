/**
 * What `GET /v1/contracts` and `GET /v1/contracts/:name` show (docs/api.md, "Contracts"): a
 * contract's record with its pending proposal, the votes on it and the risk reports recorded at
 * proposal, read from the state (`contract-info/`, `contract-code/`, `gov/proposal/`), and the
 * receipts of its recent calls (members only), read from the latest transactions.
 */

import { majority } from '@custos/protocol/ledger';
import type Database from 'better-sqlite3';
import type { RiskReport } from '../contracts/risk-check.js';
import { GOV_MEMBERS, type Proposal, proposalKey, proposalStatusAt } from '../governance/state.js';
import { pauseQuorum } from '../modules/contract-lifecycle.js';
import {
  type CallReceipt,
  type ContractRecord,
  codeKey,
  INFO_PREFIX,
  infoKey,
  receiptKey,
  type StoredCode,
} from '../modules/contract-state.js';
import type { CustosNode } from '../node.js';
import { memberOfKey } from './auth/authenticate.js';

/** Contracts listed at most (state rows read in batches of this size too). */
export const MAX_CONTRACTS = 500;
/** Recent calls shown by `GET /v1/contracts/:name`, among the latest RECENT_WINDOW transactions. */
export const RECENT_CALLS = 20;
export const RECENT_WINDOW = 10_000;

export interface RiskSummary {
  passed: boolean;
  level: string;
  expectedLossEur: number;
  findings: number;
  /** Findings per rule, in rule-id order. */
  rules: { rule: string; findings: number; expectedLossEur: number }[];
  /** Declared test calls of the dry run, and how many of them ended OK. */
  tests: number;
  testsOk: number;
}

export function riskSummary(r: RiskReport): RiskSummary {
  return {
    passed: r.passed,
    level: r.score.level,
    expectedLossEur: r.score.expectedLossEur,
    findings: r.findings.length,
    rules: r.score.basis.map((b) => ({ rule: b.rule, findings: b.findings, expectedLossEur: b.expectedLossEur })),
    tests: r.dryRun.length,
    testsOk: r.dryRun.filter((d) => d.code === 'OK').length,
  };
}

export interface Vote {
  member: string;
  vote: string;
  height: number;
}

function json<T>(node: CustosNode, key: string): T | undefined {
  const text = node.store.getState(key);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

function memberCount(node: CustosNode): number {
  return json<{ ids: string[] }>(node, GOV_MEMBERS)?.ids.length ?? node.genesis.members.length;
}

function proposalView(node: CustosNode, id: string, height: number, members: number) {
  const p = json<Proposal>(node, proposalKey(id));
  if (p === undefined) return null;
  const votes: Vote[] = Object.entries(p.votes)
    .map(([member, v]) => ({ member, vote: v.vote, height: v.height }))
    .sort((a, b) => a.height - b.height || (a.member < b.member ? -1 : 1));
  return {
    id: p.id,
    reason: p.reason,
    proposer: p.proposer,
    createdAt: p.createdAt,
    expiresAt: p.expiresAt,
    state: proposalStatusAt(p, height),
    votes,
    // Contract kinds need a majority of the members (routes-governance.ts).
    needs: p.tally?.required ?? majority(members),
  };
}

function code(node: CustosNode, digest: string | null): StoredCode | undefined {
  return digest === null ? undefined : json<StoredCode>(node, codeKey(digest));
}

/** One contract as `GET /v1/contracts` lists it. */
export function contractSummary(node: CustosNode, r: ContractRecord, height: number, members: number) {
  const inForce = code(node, r.digest);
  const pendingCode = code(node, r.pending?.digest ?? null);
  return {
    name: r.id,
    version: r.version,
    status: r.status,
    digest: r.digest,
    activeFrom: r.activeFrom,
    calls: r.calls,
    gasUsed: r.gasUsed,
    maxGas: inForce?.manifest.maxGas ?? null,
    risk: inForce === undefined ? null : riskSummary(inForce.risk as unknown as RiskReport),
    pause: { votes: r.pauseVotes, needed: pauseQuorum(members), pausedAt: r.pausedAt },
    removedAt: r.removedAt,
    pending:
      r.pending === null
        ? null
        : {
            digest: r.pending.digest,
            version: r.pending.version,
            proposedAt: r.pending.proposedAt,
            proposal: proposalView(node, r.pending.proposal, height, members),
            risk: pendingCode === undefined ? null : riskSummary(pendingCode.risk as unknown as RiskReport),
          },
  };
}

/** Every contract, in name order (at most MAX_CONTRACTS). */
export function listContracts(node: CustosNode) {
  const height = node.latest().height;
  const members = memberCount(node);
  const rows = node.store.listState(INFO_PREFIX, undefined, MAX_CONTRACTS + 1);
  const contracts = rows
    .slice(0, MAX_CONTRACTS)
    .map((row) => contractSummary(node, JSON.parse(row.value) as ContractRecord, height, members));
  return { height, members, contracts, truncated: rows.length > MAX_CONTRACTS };
}

const recentCallQueries = new WeakMap<Database.Database, Database.Statement>();

/** Receipts of the latest calls of `name`, newest first, among the latest RECENT_WINDOW transactions. */
function recentCalls(node: CustosNode, name: string) {
  const db = node.store.db;
  let stmt = recentCallQueries.get(db);
  if (stmt === undefined) {
    stmt = db.prepare(
      `SELECT tx_id AS txId, height, tx FROM txs
       WHERE log_index > (SELECT IFNULL(MAX(log_index), 0) FROM txs) - ?
         AND json_extract(tx, '$.body.type') = 'contract.call'
         AND json_extract(tx, '$.body.args.contract') = ?
       ORDER BY log_index DESC LIMIT ?`,
    );
    recentCallQueries.set(db, stmt);
  }
  const rows = stmt.all(RECENT_WINDOW, name, RECENT_CALLS) as { txId: string; height: number; tx: string }[];
  const out = [];
  for (const row of rows) {
    const rc = json<CallReceipt>(node, receiptKey(row.txId));
    // A call refused before it ran (a stranger's key, bad arguments) left no receipt.
    if (rc === undefined) continue;
    const signer = (JSON.parse(row.tx) as { body: { signer: string } }).body.signer;
    out.push({
      txId: row.txId,
      height: row.height,
      method: rc.method,
      caller: rc.caller,
      callerOrg: memberOfKey(node, signer) ?? null,
      code: rc.code,
      gasUsed: rc.gasUsed,
      gasLimit: rc.gasLimit,
      events: rc.events,
      error: rc.error ?? null,
    });
  }
  return out;
}

/** One contract in full, or undefined. `calls` is null for a reader who may not read receipts. */
export function contractDetail(node: CustosNode, name: string, withCalls: boolean) {
  const r = json<ContractRecord>(node, infoKey(name));
  if (r === undefined) return undefined;
  const height = node.latest().height;
  const members = memberCount(node);
  const inForce = code(node, r.digest);
  const pendingCode = code(node, r.pending?.digest ?? null);
  const manifest = (c: StoredCode | undefined) => (c === undefined ? null : c.manifest);
  return {
    height,
    members,
    contract: contractSummary(node, r, height, members),
    inForce:
      inForce === undefined
        ? null
        : { digest: inForce.digest, manifest: manifest(inForce), tests: inForce.tests, risk: inForce.risk },
    proposed:
      pendingCode === undefined
        ? null
        : {
            digest: pendingCode.digest,
            manifest: manifest(pendingCode),
            tests: pendingCode.tests,
            risk: pendingCode.risk,
          },
    recentCalls: withCalls ? recentCalls(node, name) : null,
  };
}
