/**
 * `custos contract init` through the built CLI: the scaffold it writes passes `custos contract
 * check` as written, it refuses to overwrite existing files (and writes none of the three), a bad
 * name gets an error saying what was expected, and --json prints one document. Needs `npm run build`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliHarness } from './fixtures/cli.js';

let cli: CliHarness;
beforeAll(() => {
  cli = new CliHarness('custos-contract-init-');
});
afterAll(() => cli.cleanup());

describe('custos contract init', () => {
  it('scaffolds a contract that passes the risk check as written', async () => {
    const init = await cli.run(['contract', 'init', 'my-points']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/Created contract my-points in my-points: contract\.js, manifest\.json, tests\.json/);
    expect(init.stdout).toMatch(/Check it offline: custos contract check my-points\/contract\.js/);
    const dir = join(cli.tmp.dir, 'my-points');
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))).toMatchObject({ name: 'my-points' });
    const code = readFileSync(join(dir, 'contract.js'), 'utf8');
    for (const call of ['host.get(', 'host.put(', 'host.emit(']) expect(code).toContain(call);
    expect(JSON.parse(readFileSync(join(dir, 'tests.json'), 'utf8'))).toHaveLength(1);

    // The command it prints, run as printed (from the same directory).
    const printed = /Check it offline: custos (.*)$/m.exec(init.stdout)![1]!.split(' ');
    const check = await cli.run([...printed, '--json']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const report = JSON.parse(check.stdout);
    expect(report).toMatchObject({ passed: true, findings: [] });
    expect(report.dryRun.map((d: { code: string }) => d.code)).toEqual(['OK']);
  });

  it('refuses to overwrite an existing file and writes nothing', async () => {
    const dir = join(cli.tmp.dir, 'taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'manifest.json'), '{"mine":true}\n');
    const r = await cli.run(['contract', 'init', 'taken']);
    expect(r.code).toBe(73);
    expect(r.stderr).toMatch(/ALREADY_INITIALIZED: taken\/manifest\.json already exists; nothing was overwritten/);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe('{"mine":true}\n');
    const again = await cli.run(['contract', 'init', 'my-points']);
    expect(again.code).toBe(73);
  });

  it('says what a name must be, and prints JSON with --json', async () => {
    const bad = await cli.run(['contract', 'init', 'Bad_Name']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/expected a contract name of 2-63 characters a-z 0-9 -, starting with a letter/);
    const r = await cli.run(['contract', 'init', 'json-one', '--dir', 'elsewhere', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'json-one',
      dir: 'elsewhere',
      files: ['elsewhere/contract.js', 'elsewhere/manifest.json', 'elsewhere/tests.json'],
      check: expect.stringMatching(/^custos contract check elsewhere\/contract\.js/),
    });
  });
});
