/**
 * The pre-deployment risk check of a contract (issue 14, item 4): static analysis of its source
 * (risk-rules.ts), a dry run of its declared test calls, and an expected loss in EUR
 * (risk-score.ts). Every peer runs it at `contract.propose` and records the report, so it is
 * synchronous and deterministic: the same input gives a byte-identical report (canonical JSON) on
 * every peer and run. It reads no clock and no randomness, iterates only arrays and maps in
 * insertion order of a deterministic walk, and sorts what it reports. Its time is bounded by the
 * input bounds below and by the gas of the dry run.
 */
import { createHash } from 'node:crypto';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { codeProblem } from './code-check.js';
import { CONTRACT_LIMITS } from './limits.js';
import { type ContractManifest, ManifestError, parseManifest } from './manifest.js';
import { AstTooDeep, parseAst, position } from './risk-ast.js';
import { runRules } from './risk-rules.js';
import { RISK_RULES, type RiskRuleId, type RiskScore, type Severity, scoreOf } from './risk-score.js';
import type { ContractRuntime } from './runtime.js';
import type { ContractStateView, SystemCallContext } from './types.js';

export interface RiskTestCall {
  method: string;
  args: JsonValue;
  caller: string;
}

export interface RiskCheckInput {
  code: string;
  manifest: ContractManifest;
  tests?: RiskTestCall[];
}

export interface RiskFinding {
  rule: RiskRuleId;
  severity: Severity;
  message: string;
  line: number;
  column: number;
}

export interface RiskDryRun {
  method: string;
  /** The call's result code (`OK` when it passed). */
  code: string;
  gasUsed: number;
  /** Keys the call wrote or deleted, and events it emitted (0 unless it passed). */
  writes: number;
  events: number;
}

export interface RiskReport {
  version: 1;
  /** SHA-256 (hex) of the code's UTF-8 bytes. */
  codeDigest: string;
  /** Sorted by line, column, rule, message. */
  findings: RiskFinding[];
  /** One per declared test, in the order declared. */
  dryRun: RiskDryRun[];
  score: RiskScore;
  /** False when a finding is high or a declared test did not end with `OK`. */
  passed: boolean;
}

/** Bounds of the risk check's input (the code itself is bounded by CONTRACT_LIMITS.codeBytes). */
export const RISK_CHECK_LIMITS = {
  /** Declared test calls. */
  tests: 32,
  /** Characters of a test's caller. */
  callerChars: 200,
  /** Findings reported (the rest are counted in the score but not listed). */
  findings: 500,
  /**
   * Gas of the whole dry run: each test call gets the manifest's maxGas or what is left of this,
   * whichever is less (one that gets none ends OUT_OF_GAS). About a second of work.
   */
  dryRunGas: 40_000_000,
} as const;

/** Block height and time the dry run's calls see. */
export const DRY_RUN_CALL = { height: 1, time: 0 } as const;

/** Bad input: the message says what was expected. */
export class RiskCheckError extends Error {}

const METHOD = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const CALLER = /^[A-Za-z0-9:._@-]+$/;

function checkTests(tests: unknown): RiskTestCall[] {
  if (tests === undefined) return [];
  if (!Array.isArray(tests) || tests.length > RISK_CHECK_LIMITS.tests) {
    throw new RiskCheckError(`expected tests as a list of at most ${RISK_CHECK_LIMITS.tests} calls`);
  }
  return tests.map((t, i) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t)) {
      throw new RiskCheckError(`expected tests[${i}] as an object { method, args, caller }`);
    }
    const o = t as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['method', 'args', 'caller'].includes(k)) {
        throw new RiskCheckError(`unexpected tests[${i}].${k.slice(0, 40)}; expected method, args, caller`);
      }
    }
    if (typeof o.method !== 'string' || !METHOD.test(o.method)) {
      throw new RiskCheckError(`expected tests[${i}].method as a name of 1-64 characters A-Z a-z 0-9 _ $`);
    }
    if (typeof o.caller !== 'string' || o.caller.length > RISK_CHECK_LIMITS.callerChars || !CALLER.test(o.caller)) {
      throw new RiskCheckError(
        `expected tests[${i}].caller as 1-${RISK_CHECK_LIMITS.callerChars} characters A-Z a-z 0-9 : . _ @ -`,
      );
    }
    let text: string;
    try {
      text = canonicalize(o.args as JsonValue);
    } catch {
      throw new RiskCheckError(`expected tests[${i}].args as a JSON value`);
    }
    if (text.length > CONTRACT_LIMITS.argsBytes) {
      throw new RiskCheckError(
        `expected tests[${i}].args of at most ${CONTRACT_LIMITS.argsBytes} bytes of canonical JSON`,
      );
    }
    return { method: o.method, args: JSON.parse(text) as JsonValue, caller: o.caller };
  });
}

/** The contract's state during the dry run: empty at first, then the writes of the passed calls. */
class DryRunState implements ContractStateView {
  private readonly entries = new Map<string, string>();
  get(key: string): string | undefined {
    return this.entries.get(key);
  }
  range(prefix: string, after: string | undefined, limit: number): { key: string; value: string }[] {
    return [...this.entries.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || k > after))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map((key) => ({ key, value: this.entries.get(key) as string }));
  }
  apply(writes: Map<string, string | null>): void {
    for (const [k, v] of writes) {
      if (v === null) this.entries.delete(k);
      else this.entries.set(k, v);
    }
  }
}

/**
 * The dry run's system actions: a granted action (the runtime checks the grant first) answers
 * `{ dryRun: true, action }` and changes nothing, since the ledger's data (records, consents) is
 * not there before deployment.
 */
const DRY_RUN_SYSTEM = {
  call(action: string, _args: JsonValue, _ctx: SystemCallContext): JsonValue {
    return { dryRun: true, action };
  },
};

function compare(a: RiskFinding, b: RiskFinding): number {
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/**
 * Checks a contract before it is proposed. Throws RiskCheckError for input it cannot check (the
 * message says what was expected); never throws for what the contract does.
 */
export function riskCheck(input: RiskCheckInput, runtime: ContractRuntime): RiskReport {
  return riskCheckWithin(input, runtime, RISK_CHECK_LIMITS.dryRunGas);
}

/** riskCheck with another dry-run gas budget (tests use a small one). */
export function riskCheckWithin(input: RiskCheckInput, runtime: ContractRuntime, dryRunGas: number): RiskReport {
  if (typeof input !== 'object' || input === null) throw new RiskCheckError('expected { code, manifest, tests? }');
  const problem = codeProblem(input.code);
  if (problem !== null) throw new RiskCheckError(problem);
  let manifest: ContractManifest;
  try {
    manifest = parseManifest(input.manifest);
  } catch (e) {
    if (e instanceof ManifestError) throw new RiskCheckError(e.message);
    throw e;
  }
  const tests = checkTests(input.tests);
  let ast: ReturnType<typeof parseAst>;
  try {
    ast = parseAst(input.code);
  } catch (e) {
    if (e instanceof AstTooDeep) throw new RiskCheckError(e.message);
    const msg = e instanceof Error ? e.message.slice(0, 120) : 'parse error';
    throw new RiskCheckError(`expected contract source that parses as a script: ${msg}`);
  }

  const tested = new Set(tests.map((t) => t.method));
  const all: RiskFinding[] = runRules(ast, manifest, tested).map((f) => ({
    rule: f.rule,
    severity: RISK_RULES[f.rule].severity,
    message: f.message,
    ...position(f.node),
  }));
  all.sort(compare);
  const findings: RiskFinding[] = [];
  for (const f of all) {
    const last = findings[findings.length - 1];
    if (last !== undefined && compare(last, f) === 0) continue;
    findings.push(f);
  }

  const state = new DryRunState();
  let gasLeft = dryRunGas;
  const dryRun: RiskDryRun[] = tests.map((t) => {
    const r = runtime.call({
      contract: manifest.name,
      code: input.code,
      manifest,
      method: t.method,
      args: t.args,
      caller: t.caller,
      height: DRY_RUN_CALL.height,
      time: DRY_RUN_CALL.time,
      gasLimit: Math.min(manifest.maxGas, gasLeft),
      state,
      system: DRY_RUN_SYSTEM,
    });
    gasLeft = Math.max(0, gasLeft - r.gasUsed);
    if (r.ok) state.apply(r.writes);
    return { method: t.method, code: r.code, gasUsed: r.gasUsed, writes: r.writes.size, events: r.events.length };
  });

  const score = scoreOf(findings);
  const passed = findings.every((f) => f.severity !== 'high') && dryRun.every((d) => d.code === 'OK');
  return {
    version: 1,
    codeDigest: createHash('sha256').update(input.code, 'utf8').digest('hex'),
    findings: findings.slice(0, RISK_CHECK_LIMITS.findings),
    dryRun,
    score,
    passed,
  };
}

/** The report as canonical JSON (what a peer records and compares). */
export function riskReportJson(report: RiskReport): string {
  return canonicalize(report as unknown as JsonValue);
}
