/**
 * Contracts on the ledger (docs/contracts.md#lifecycle):
 *
 * - `contract.propose {code, manifest, tests?, activateAt?, reason}` by a member key: runs the risk
 *   check (contracts/risk-check.ts: static rules, a dry run of the declared tests, a score), stores
 *   the code with its report by the code's digest, and opens the gov proposal `{kind: 'contract.activate', contract, digest, at}`
 *   (named by this transaction's id, with the proposer's yes vote); members approve with `gov.vote`.
 *   On an active contract this proposes an upgrade: the state under `contract/<id>/` is kept.
 * - `contract.call {contract, method, args?, gas?}` by a member key: runs the method of the code in force
 *   with the contract runtime. Only a call ending OK keeps its writes; every call, failed ones
 *   included, leaves its receipt (code, gas used, events) under `contract-receipt/<txId>`.
 *   As an operation of a cross-chain transaction (xtx.prepare), the call runs the same way; its
 *   writes are held and locked with the other operations' until the decision (docs/contracts.md#contracts-in-cross-chain-transactions),
 *   its receipt (marked `held`) is recorded at prepare whatever the vote, and a failed call votes NO.
 * - `contract.pause {contract}` by a member key: one pause vote; the vote that reaches a third of
 *   the members (rounded up) pauses the contract at once. Resume and removal are gov proposals.
 */
import { sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import type { JsonValue } from '@custos/protocol/jcs';
import { MAX_TX_BYTES, type ResultCode } from '@custos/protocol/ledger';
import { codeProblem } from '../contracts/code-check.js';
import { CONTRACT_LIMITS } from '../contracts/limits.js';
import { CONTRACT_NAME, type ContractManifest, ManifestError, parseManifest } from '../contracts/manifest.js';
import { RiskCheckError, type RiskReport, riskCheck } from '../contracts/risk-check.js';
import { type Args, arg, type ExecContext, ExecFailure, type ExecHost, type Module } from '../exec/module.js';
import type { Proposal } from '../governance/state.js';
import { proposalKey } from '../governance/state.js';
import { signerOrg } from './common.js';
import { contractRecord, pauseQuorum } from './contract-lifecycle.js';
import {
  type CallReceipt,
  type ContractRecord,
  codeKey,
  infoKey,
  receiptKey,
  type StoredCode,
  type TestCall,
} from './contract-state.js';
import { runOnLedger } from './contract-system.js';
import { decide, loadGov, signerMember, termOf } from './gov.js';

/** Source bound: the runtime's, and what fits in one transaction with its manifest. */
export const MAX_CODE_CHARS = Math.min(CONTRACT_LIMITS.codeBytes, MAX_TX_BYTES - 4096);
export const MAX_TESTS = 16;
const METHOD = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const MAX_HEIGHT = 2 ** 48;

export function codeDigest(code: string): string {
  return toHex(sha256(utf8(code)));
}

function parseTests(raw: JsonValue | undefined): TestCall[] {
  if (raw === undefined) return [];
  const what = `expected args.tests as a list of at most ${MAX_TESTS} {method, args, caller}`;
  if (!Array.isArray(raw) || raw.length > MAX_TESTS) throw new ExecFailure('INVALID_ARGS', what);
  return raw.map((t) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new ExecFailure('INVALID_ARGS', what);
    const a = t as Args;
    arg.only(a, ['method', 'args', 'caller']);
    return {
      method: arg.str(a, 'method', 64, METHOD),
      args: a.args === undefined ? null : a.args,
      caller: arg.str(a, 'caller', 128),
    };
  });
}

function propose(ctx: ExecContext, args: Args, host?: ExecHost): ResultCode {
  arg.only(args, ['code', 'manifest', 'tests', 'activateAt', 'reason']);
  const code = arg.str(args, 'code', MAX_CODE_CHARS);
  let manifest: ContractManifest;
  try {
    manifest = parseManifest(args.manifest);
  } catch (e) {
    if (e instanceof ManifestError) throw new ExecFailure('INVALID_ARGS', `args.manifest: ${e.message}`);
    throw e;
  }
  const problem = codeProblem(code);
  if (problem !== null) throw new ExecFailure('INVALID_ARGS', `args.code: ${problem}`);
  const tests = parseTests(args.tests);
  const at = args.activateAt === undefined ? 0 : arg.int(args, 'activateAt', 0, MAX_HEIGHT);
  const reason = arg.str(args, 'reason', 1024);
  const proposer = signerMember(ctx);
  const gov = loadGov(ctx, host);
  const id = manifest.name;
  const digest = codeDigest(code);
  const prev = contractRecord(ctx, id);
  if (prev?.status === 'removed') throw new ExecFailure('CONFLICT', `contract '${id}' was removed; use another name`);
  if (prev?.digest === digest) throw new ExecFailure('CONFLICT', `this code is already in force for '${id}'`);
  if (ctx.get(codeKey(digest)) === undefined) {
    // Before any vote, every peer runs the risk check the same way and records its report.
    if (host?.contracts === undefined || host.nested === true) {
      throw new ExecFailure('INVALID_ARGS', 'contracts are proposed only in top-level transactions');
    }
    let risk: RiskReport;
    try {
      risk = riskCheck({ code, manifest, tests }, host.contracts);
    } catch (e) {
      if (e instanceof RiskCheckError) throw new ExecFailure('INVALID_ARGS', `args.code: ${e.message}`);
      throw e;
    }
    const stored: StoredCode = { digest, code, manifest, tests, risk: risk as unknown as JsonValue };
    ctx.put(codeKey(digest), stored);
  }
  const version = manifest.version;
  const rec: ContractRecord = prev ?? {
    id,
    status: 'proposed',
    digest: null,
    version: null,
    activeFrom: null,
    pending: null,
    pauseVotes: [],
    pausedAt: null,
    removedAt: null,
    calls: 0,
    gasUsed: 0,
  };
  rec.pending = { digest, version, proposal: ctx.txId, proposedAt: ctx.height };
  ctx.put(infoKey(id), rec);
  const p: Proposal = {
    id: ctx.txId,
    action: { kind: 'contract.activate', contract: id, digest, at },
    reason,
    proposer: proposer.id,
    createdAt: ctx.height,
    expiresAt: ctx.height + gov.policy.proposalTtlBlocks,
    votes: { [proposer.id]: { vote: 'yes', height: ctx.height, term: termOf(proposer) } },
    status: 'open',
  };
  decide(ctx, p, gov, host);
  ctx.put(proposalKey(p.id), p);
  return 'OK';
}

function activeCode(ctx: ExecContext, id: string): { rec: ContractRecord; code: StoredCode } {
  const rec = contractRecord(ctx, id);
  if (rec === undefined) throw new ExecFailure('CONTRACT_NOT_ACTIVE', `no contract '${id}'`);
  if (rec.status === 'paused')
    throw new ExecFailure('CONTRACT_PAUSED', `contract '${id}' is paused since height ${rec.pausedAt}`);
  if (rec.status !== 'active' || rec.digest === null || rec.activeFrom === null) {
    throw new ExecFailure('CONTRACT_NOT_ACTIVE', `contract '${id}' is ${rec.status}`);
  }
  if (ctx.height < rec.activeFrom) {
    throw new ExecFailure('CONTRACT_NOT_ACTIVE', `contract '${id}' is active from height ${rec.activeFrom}`);
  }
  return { rec, code: ctx.get(codeKey(rec.digest)) as unknown as StoredCode };
}

function call(ctx: ExecContext, args: Args, host?: ExecHost): ResultCode {
  // Members only: a call costs every peer up to the manifest's maxGas of interpreter time, and no
  // fee or budget bounds what one signer may send, so any key could otherwise make every peer work.
  // Customers act through their orgs: a contract sees the calling member's id (`bank`) as its caller,
  // stable across key rotations; the receipt keeps the key that signed.
  const caller = signerOrg(ctx);
  arg.only(args, ['contract', 'method', 'args', 'gas']);
  const id = arg.str(args, 'contract', 63, CONTRACT_NAME);
  const method = arg.str(args, 'method', 64, METHOD);
  const gas =
    args.gas === undefined ? CONTRACT_LIMITS.maxGasPerCall : arg.int(args, 'gas', 1, CONTRACT_LIMITS.maxGasPerCall);
  const runtime = host?.contracts;
  if (runtime === undefined || ctx.range === undefined || ctx.keep === undefined) {
    throw new ExecFailure('INVALID_ARGS', 'this peer has no contract runtime: contract calls cannot run here');
  }
  const range = ctx.range;
  const { rec, code } = activeCode(ctx, id);
  const run = runOnLedger(ctx, runtime, range, {
    contract: id,
    code,
    method,
    args: args.args === undefined ? null : args.args,
    caller,
    gasLimit: gas,
  });
  const { result } = run;
  const receipt: CallReceipt = {
    ...run.receipt,
    // In an xtx.prepare the writes are held (locked) until the decision: applied on COMMIT only.
    ...(host?.nested === true ? { held: true } : {}),
  };
  // Kept whatever the result: a failed call is recorded with the gas it used.
  ctx.keep(receiptKey(ctx.txId), receipt);
  ctx.keep(infoKey(id), { ...rec, calls: rec.calls + 1, gasUsed: rec.gasUsed + result.gasUsed });
  if (!result.ok)
    throw new ExecFailure(result.code as ResultCode, result.error ?? `contract call ended with ${result.code}`);
  for (const [k, v] of result.writes) {
    if (v === null) ctx.del(k);
    else ctx.put(k, JSON.parse(v) as JsonValue);
  }
  return 'OK';
}

function pause(ctx: ExecContext, args: Args, host?: ExecHost): ResultCode {
  arg.only(args, ['contract']);
  const id = arg.str(args, 'contract', 63, CONTRACT_NAME);
  const voter = signerMember(ctx);
  const gov = loadGov(ctx, host);
  const rec = contractRecord(ctx, id);
  if (rec === undefined) throw new ExecFailure('NOT_FOUND', `no contract '${id}'`);
  if (rec.status !== 'active') throw new ExecFailure('CONFLICT', `contract '${id}' is ${rec.status}, not active`);
  // Only votes of current members count.
  const votes = [...new Set([...rec.pauseVotes, voter.id])].filter((m) => gov.ids.includes(m)).sort();
  if (votes.length >= pauseQuorum(gov.ids.length)) {
    Object.assign(rec, { status: 'paused', pausedAt: ctx.height, pauseVotes: votes });
  } else {
    rec.pauseVotes = votes;
  }
  ctx.put(infoKey(id), rec);
  return 'OK';
}

export const contractModule: Module = {
  name: 'contract',
  actions: { propose, call, pause },
};
