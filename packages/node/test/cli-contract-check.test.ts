/**
 * `custos contract check` as a user runs it (the built CLI, in child processes: integration tier):
 * a demo contract passes with exit 0, a bad one is reported finding by finding with its line and
 * exits 1, `--json` prints the same canonical report `riskCheck` gives in process, and bad input
 * exits 64 saying what was expected. Needs `npm run build`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_LIMITS, ContractRuntime, parseManifest, riskCheck, riskReportJson } from '../src/contracts/index.js';
import { CliHarness } from './fixtures/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`fixtures/contracts/${name}`, import.meta.url));
const BAD = [
  'exports.run = function (args) {',
  '  while (true) { args.n++; }',
  '};',
  "exports.save = (args) => host.put('members/' + args.id, { email: args.contact });",
].join('\n');

let cli: CliHarness;
let bad: string;

beforeAll(() => {
  cli = new CliHarness('custos-contract-check-');
  bad = join(cli.tmp.dir, 'bad.js');
  writeFileSync(bad, BAD);
});
afterAll(() => cli.cleanup());

describe('custos contract check', () => {
  it('passes a demo contract with its test calls (exit 0) and prints the dry run', async () => {
    const r = await cli.run([
      'contract',
      'check',
      fixture('data-sharing.js'),
      '--manifest',
      fixture('data-sharing.manifest.json'),
      '--tests',
      fixture('data-sharing.tests.json'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('PASSED: risk check of');
    expect(r.stdout).toContain('Findings: none');
    expect(r.stdout).toMatch(/2\. use\s+OK\s+gas [\d,]+, 1 write, 1 event/);
  });

  it('reports each finding with its line and exits 1 when the contract does not pass', async () => {
    const r = await cli.run(['contract', 'check', bad, '--manifest', fixture('loyalty.manifest.json')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('NOT PASSED');
    expect(r.stdout).toMatch(/bad\.js:2:3 +high +unbounded-loop/);
    expect(r.stdout).toMatch(/bad\.js:4:59 +high +personal-data +a field named email/);
    expect(r.stdout).toContain('Not passed: 2 high findings.');
  });

  it('prints with --json the canonical report riskCheck gives in process', async () => {
    const r = await cli.run(['contract', 'check', bad, '--manifest', fixture('loyalty.manifest.json'), '--json']);
    expect(r.code).toBe(1);
    const manifest = parseManifest(JSON.parse(readFileSync(fixture('loyalty.manifest.json'), 'utf8')));
    const expected = riskReportJson(riskCheck({ code: BAD, manifest }, await ContractRuntime.create()));
    expect(r.stdout).toBe(`${expected}\n`);
  });

  it('refuses bad input with exit 64 and says what was expected', async () => {
    const notJson = await cli.run(['contract', 'check', bad, '--manifest', fixture('loyalty.js')]);
    expect(notJson).toMatchObject({ code: 64, stdout: '' });
    expect(notJson.stderr).toContain('expected a contract manifest as JSON');
    const big = join(cli.tmp.dir, 'big.js');
    writeFileSync(big, 'x'.repeat(CONTRACT_LIMITS.codeBytes + 1));
    const tooBig = await cli.run(['contract', 'check', big, '--manifest', fixture('loyalty.manifest.json')]);
    expect(tooBig.code).toBe(64);
    expect(tooBig.stderr).toContain(`expected a contract source of at most ${CONTRACT_LIMITS.codeBytes} bytes`);
    const tests = join(cli.tmp.dir, 'tests.json');
    writeFileSync(tests, JSON.stringify([{ method: 'run', args: {} }]));
    const noCaller = await cli.run([
      'contract',
      'check',
      bad,
      '--manifest',
      fixture('loyalty.manifest.json'),
      '--tests',
      tests,
    ]);
    expect(noCaller.code).toBe(64);
    expect(noCaller.stderr).toContain('expected tests[0].caller');
    const noManifest = await cli.run(['contract', 'check', bad]);
    expect(noManifest.code).toBe(64);
    expect(noManifest.stderr).toContain("required option '--manifest <file>'");
  });
});
