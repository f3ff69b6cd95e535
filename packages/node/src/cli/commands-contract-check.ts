/**
 * `custos contract check <file.js> --manifest <manifest.json> [--tests <tests.json>] [--json]`:
 * the pre-deployment risk check of a contract, offline (docs/contracts.md, "Risk check"). Prints
 * the report, as text with each finding and its line or as one JSON document (the canonical JSON a
 * peer records), and exits with CHECK_FAILED_EXIT when the contract does not pass.
 *
 * The other `custos contract ...` subcommands live elsewhere; `contractGroup` finds the `contract`
 * command if one is registered already and adds it otherwise, so the order of registration does
 * not matter.
 */
import type { Command } from 'commander';
import {
  CONTRACT_LIMITS,
  type ContractManifest,
  ContractRuntime,
  ManifestError,
  parseManifest,
  RISK_CHECK_LIMITS,
  RISK_RULES,
  RiskCheckError,
  type RiskCheckInput,
  type RiskReport,
  type RiskTestCall,
  riskCheck,
  riskReportJson,
} from '../contracts/index.js';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { output, table } from './output.js';

/** Exit status when the check ran and the contract did not pass (bad input exits as BAD_REQUEST). */
export const CHECK_FAILED_EXIT = 1;

const MAX_MANIFEST_BYTES = 64 * 1024;
/** Room for the most test calls with the largest arguments, plus their JSON around them. */
const MAX_TESTS_BYTES = RISK_CHECK_LIMITS.tests * (CONTRACT_LIMITS.argsBytes + 1024);

interface CheckFlags {
  manifest: string;
  tests?: string;
  json?: boolean;
}

/** The `contract` command group: the one already registered, or a new one. */
export function contractGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'contract') ??
    program.command('contract').description('smart contracts: check, propose, vote, call')
  );
}

export function readText(path: string, what: string, maxBytes: number): string {
  const bytes = readBoundedFile(path, { what, maxBytes });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new NodeError('BAD_REQUEST', `expected ${what} as UTF-8 text in ${path === '-' ? 'stdin' : path}`, { cause });
  }
}

export function readJson(path: string, what: string, maxBytes: number): unknown {
  const text = readText(path, what, maxBytes);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    // The parser's message may quote the file's text: say where, not what.
    throw new NodeError('BAD_REQUEST', `expected ${what} as JSON in ${path === '-' ? 'stdin' : path}`, { cause });
  }
}

/** The report as lines for a person: verdict, score, each finding with its line, the dry run. */
export function reportText(file: string, report: RiskReport): string[] {
  const lines: string[] = [
    `${report.passed ? 'PASSED' : 'NOT PASSED'}: risk check of ${file} (sha256 ${report.codeDigest.slice(0, 16)}...)`,
    `Expected loss: ${report.score.expectedLossEur.toLocaleString('en-US')} EUR per year, level ${report.score.level}`,
  ];
  for (const b of report.score.basis) {
    lines.push(
      `  ${b.rule}: ${b.findings} finding${b.findings === 1 ? '' : 's'}, ${b.likelihoodPct} % x ${b.impactEur.toLocaleString('en-US')} EUR = ${b.expectedLossEur.toLocaleString('en-US')} EUR`,
    );
  }
  if (report.findings.length === 0) lines.push('Findings: none');
  else {
    lines.push(`Findings (${report.findings.length}):`);
    for (const f of report.findings) {
      lines.push(`  ${file}:${f.line}:${f.column + 1}  ${f.severity.padEnd(6)}  ${f.rule.padEnd(21)}  ${f.message}`);
    }
  }
  if (report.dryRun.length === 0) lines.push('Dry run: no test calls declared (--tests)');
  else {
    lines.push('Dry run:');
    lines.push(
      ...table(
        report.dryRun.map((d, i): [string, string] => [
          `${i + 1}. ${d.method}`,
          `${d.code.padEnd(18)} gas ${d.gasUsed.toLocaleString('en-US')}, ${d.writes} write${d.writes === 1 ? '' : 's'}, ${d.events} event${d.events === 1 ? '' : 's'}`,
        ]),
      ),
    );
  }
  if (!report.passed) {
    const high = report.findings.filter((f) => RISK_RULES[f.rule].severity === 'high').length;
    const failed = report.dryRun.filter((d) => d.code !== 'OK').length;
    const why = [
      high > 0 ? `${high} high finding${high === 1 ? '' : 's'}` : '',
      failed > 0 ? `${failed} test call${failed === 1 ? '' : 's'} not OK` : '',
    ].filter((s) => s !== '');
    lines.push(`Not passed: ${why.join(', ')}.`);
  }
  return lines;
}

export function registerContractCheckCommand(program: Command): void {
  contractGroup(program)
    .command('check')
    .description('risk-check a contract before proposing it: static rules, a dry run of its test calls, a score in EUR')
    .argument('<file>', "the contract's JavaScript source ('-' for stdin)")
    .requiredOption('--manifest <file>', 'its manifest (JSON)')
    .option('--tests <file>', 'its test calls: a JSON list of { method, args, caller }')
    .option('--json', 'print the report as one JSON document')
    .action(async (file: string, flags: CheckFlags) => {
      const code = readText(file, 'a contract source', CONTRACT_LIMITS.codeBytes);
      let manifest: ContractManifest;
      try {
        manifest = parseManifest(readJson(flags.manifest, 'a contract manifest', MAX_MANIFEST_BYTES));
      } catch (e) {
        if (e instanceof ManifestError) throw new NodeError('BAD_REQUEST', `${flags.manifest}: ${e.message}`);
        throw e;
      }
      const input: RiskCheckInput = { code, manifest };
      // riskCheck checks the list's shape and bounds, and says which entry is wrong.
      if (flags.tests !== undefined) {
        input.tests = readJson(flags.tests, 'a list of test calls', MAX_TESTS_BYTES) as RiskTestCall[];
      }
      let report: RiskReport;
      try {
        report = riskCheck(input, await ContractRuntime.create());
      } catch (e) {
        if (e instanceof RiskCheckError) throw new NodeError('BAD_REQUEST', e.message);
        throw e;
      }
      if (flags.json === true) process.stdout.write(`${riskReportJson(report)}\n`);
      else output(false).result(report, reportText(file, report));
      if (!report.passed) process.exitCode = CHECK_FAILED_EXIT;
    });
}
