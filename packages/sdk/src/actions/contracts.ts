/**
 * Contracts on the ledger (docs/contracts.md, "Lifecycle"): the transactions that propose, vote on,
 * call and pause a contract (bodies to sign with `signTx`), and reads of contracts, their code with
 * its risk report, their state and the receipts of their calls.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type { CallOptions, Transport } from '../transport/http.js';
import { state, stateEntry } from './state.js';

export type ContractStatus = 'proposed' | 'active' | 'paused' | 'removed';

/** `contract-info/<id>`: a contract's status, code in force, pending proposal and totals. */
export interface ContractInfo {
  id: string;
  status: ContractStatus;
  digest: string | null;
  version: string | null;
  activeFrom: number | null;
  pending: { digest: string; version: string; proposal: string; proposedAt: number } | null;
  pauseVotes: string[];
  pausedAt: number | null;
  removedAt: number | null;
  calls: number;
  gasUsed: number;
  /** The last migration an activation ran (`manifest.migrate`); a code other than OK: not activated. */
  migration?: { decidedBy: string; digest: string; height: number; code: string; gasUsed: number };
}

/** `contract-code/<digest>`: code, manifest, declared tests and the risk report recorded at proposal. */
export interface ContractCodeEntry {
  digest: string;
  code: string;
  manifest: { [k: string]: JsonValue };
  tests: { method: string; args: JsonValue; caller: string }[];
  risk: { passed: boolean; findings: JsonValue[]; dryRun: JsonValue[]; score: { [k: string]: JsonValue } };
}

/** `contract-receipt/<txId>`: what a call did, failed calls included. */
export interface ContractReceipt {
  contract: string;
  method: string;
  caller: string;
  code: string;
  gasUsed: number;
  gasLimit: number;
  events: JsonValue[];
  returnValue: JsonValue;
  error?: string;
  /** Ran as an operation of a cross-chain transaction's prepare: its writes apply only if that commits. */
  held?: true;
}

/** A risk report in short (`GET /v1/contracts`). */
export interface ContractRiskSummary {
  passed: boolean;
  level: string;
  expectedLossEur: number;
  findings: number;
  rules: { rule: string; findings: number; expectedLossEur: number }[];
  tests: number;
  testsOk: number;
}

/** The gov proposal that activates pending code, with its votes so far. */
export interface ContractProposal {
  id: string;
  reason: string;
  proposer: string;
  createdAt: number;
  expiresAt: number;
  state: 'open' | 'executed' | 'rejected' | 'expired';
  votes: { member: string; vote: 'yes' | 'no'; height: number }[];
  needs: number;
}

/** One contract as `GET /v1/contracts` lists it. */
export interface ContractSummary {
  name: string;
  version: string | null;
  status: ContractStatus;
  digest: string | null;
  activeFrom: number | null;
  calls: number;
  gasUsed: number;
  maxGas: number | null;
  risk: ContractRiskSummary | null;
  pause: { votes: string[]; needed: number; pausedAt: number | null };
  removedAt: number | null;
  pending: {
    digest: string;
    version: string;
    proposedAt: number;
    proposal: ContractProposal | null;
    risk: ContractRiskSummary | null;
  } | null;
}

export interface ContractList {
  height: number;
  members: number;
  contracts: ContractSummary[];
  truncated: boolean;
}

/** A full risk report (docs/contracts.md, "Risk check"). */
export interface ContractRiskReport {
  version: number;
  codeDigest: string;
  findings: { rule: string; severity: string; message: string; line: number; column: number }[];
  dryRun: { method: string; code: string; gasUsed: number; writes: number; events: number }[];
  score: {
    expectedLossEur: number;
    level: string;
    basis: { rule: string; findings: number; likelihoodPct: number; impactEur: number; expectedLossEur: number }[];
  };
  passed: boolean;
}

export interface ContractCodeView {
  digest: string;
  manifest: { [k: string]: JsonValue };
  tests: { method: string; args: JsonValue; caller: string }[];
  risk: ContractRiskReport;
}

/** One call of a contract with its receipt. */
export interface ContractCall {
  txId: string;
  height: number;
  method: string;
  caller: string;
  callerOrg: string | null;
  code: string;
  gasUsed: number;
  gasLimit: number;
  events: JsonValue[];
  error: string | null;
}

/** `GET /v1/contracts/:name`. `recentCalls` is null unless the reader is a member. */
export interface ContractDetail {
  height: number;
  members: number;
  contract: ContractSummary;
  inForce: ContractCodeView | null;
  proposed: ContractCodeView | null;
  recentCalls: ContractCall[] | null;
}

type Body = { type: string; args: { [k: string]: JsonValue } };

/** Bodies of the contract transactions, for `signTx({chainId, ...body}, signer)`. */
export const contractTx = {
  propose(p: {
    code: string;
    manifest: { [k: string]: JsonValue };
    reason: string;
    tests?: { method: string; args: JsonValue; caller: string }[];
    activateAt?: number;
  }): Body {
    return { type: 'contract.propose', args: p as unknown as { [k: string]: JsonValue } };
  },
  /** A vote on the proposal `contract.propose` opened (its id is the propose transaction's txId). */
  vote(proposal: string, vote: 'yes' | 'no'): Body {
    return { type: 'gov.vote', args: { proposal, vote } };
  },
  call(contract: string, method: string, args: JsonValue = null, gas?: number): Body {
    return { type: 'contract.call', args: { contract, method, args, ...(gas === undefined ? {} : { gas }) } };
  },
  pause(contract: string): Body {
    return { type: 'contract.pause', args: { contract } };
  },
  /** A gov proposal to resume or remove a contract (`gov.propose`). */
  govern(kind: 'contract.resume' | 'contract.remove', contract: string, reason: string): Body {
    return { type: 'gov.propose', args: { action: { kind, contract }, reason } };
  },
};

/** Every contract, in id order (public state). */
export async function contracts(t: Transport, opts?: CallOptions): Promise<ContractInfo[]> {
  const out: ContractInfo[] = [];
  let after: string | undefined;
  // Bounded: at most 100 pages.
  for (let page = 0; page < 100; page++) {
    const p = await state(t, { prefix: 'contract-info/', ...(after === undefined ? {} : { after }) }, opts);
    for (const e of p.entries) out.push(e.value as unknown as ContractInfo);
    if (p.next === null) break;
    after = p.next;
  }
  return out;
}

export async function contractCode(t: Transport, digest: string, opts?: CallOptions): Promise<ContractCodeEntry> {
  return (await stateEntry(t, `contract-code/${digest}`, opts)).value as unknown as ContractCodeEntry;
}

/** A call's receipt (members only). */
export async function contractReceipt(t: Transport, txId: string, opts?: CallOptions): Promise<ContractReceipt> {
  return (await stateEntry(t, `contract-receipt/${txId}`, opts)).value as unknown as ContractReceipt;
}

/** `GET /v1/contracts`: every contract with its pending proposal, votes, risk summaries and totals. */
export function contractList(t: Transport, opts?: CallOptions): Promise<ContractList> {
  return t.json('GET', '/v1/contracts', undefined, opts);
}

/** `GET /v1/contracts/:name`: one contract, its risk reports in full, and (members) its recent calls. */
export function contract(t: Transport, name: string, opts?: CallOptions): Promise<ContractDetail> {
  return t.json('GET', `/v1/contracts/${encodeURIComponent(name)}`, undefined, opts);
}
