/**
 * `custos contract propose | vote | call | state | pause | list` as a user runs them against a
 * started node (built CLI, temp home): propose with the risk check recorded, approve by a second
 * member, call, read the state, pause, and see each status in `list`. Needs `npm run build`.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliHarness, type Run } from './fixtures/cli.js';

let cli: CliHarness;
let server: ChildProcess | undefined;

const custos = (args: string[]): Promise<Run> => cli.run(args);
async function custosJson(args: string[]): Promise<Record<string, unknown>> {
  const r = await custos([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code, r.stdout).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const CODE = `exports.add = function (args) {
  const cur = host.get('main/total') || { n: 0 };
  cur.n += args.n;
  host.put('main/total', cur);
  return cur.n;
};
`;
const MANIFEST = {
  name: 'counter',
  version: '1.0.0',
  namespaces: ['main'],
  grants: [],
  categories: [],
  purposes: [],
  maxGas: 1_000_000,
};

beforeAll(async () => {
  cli = new CliHarness('custos-cli-contract-');
  expect((await custos(['init', '--chain-id', 'cli-test', '--orgs', 'bank,insurer,retailer'])).code).toBe(0);
  const { child, match } = await cli.serve(
    ['node', 'start', '--port', '0'],
    /^Custos node cli-test listening on (http:\/\/127\.0\.0\.1:\d+)$/m,
  );
  server = child;
  cli.env.CUSTOS_NODE = match[1]!;
}, 60_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  await cli?.cleanup();
});

describe('custos contract', () => {
  it('proposes, approves, calls, shows state, pauses and lists', async () => {
    const dir = cli.tmp.dir;
    writeFileSync(join(dir, 'counter.js'), CODE);
    writeFileSync(join(dir, 'counter.json'), JSON.stringify(MANIFEST));
    writeFileSync(join(dir, 'tests.json'), JSON.stringify([{ method: 'add', args: { n: 1 }, caller: 'bank' }]));
    const p = await custosJson([
      'contract',
      'propose',
      join(dir, 'counter.js'),
      '--manifest',
      join(dir, 'counter.json'),
      '--tests',
      join(dir, 'tests.json'),
      '--reason',
      'a shared counter',
      '--org',
      'bank',
    ]);
    expect(p.code).toBe('OK');
    let list = (await custosJson(['contract', 'list'])).contracts as Record<string, unknown>[];
    expect(list).toEqual([
      expect.objectContaining({ id: 'counter', status: 'proposed', risk: expect.objectContaining({ passed: true }) }),
    ]);

    expect((await custosJson(['contract', 'vote', p.txId as string, '--org', 'insurer'])).code).toBe('OK');
    const c = await custosJson(['contract', 'call', 'counter', 'add', '--args', '{"n":4}', '--org', 'retailer']);
    expect(c.code).toBe('OK');
    const st = await custosJson(['contract', 'state', 'counter', '--as', 'bank']);
    expect(st.entries).toEqual([{ key: 'contract/counter/main/total', value: { n: 4 } }]);
    expect(st.contract).toMatchObject({ status: 'active', calls: 1 });
    expect(st.risk).toMatchObject({ passed: true, dryRun: [expect.objectContaining({ method: 'add', code: 'OK' })] });

    expect((await custosJson(['contract', 'pause', 'counter', '--org', 'insurer'])).code).toBe('OK');
    const refused = await custos([
      'contract',
      'call',
      'counter',
      'add',
      '--args',
      '{"n":1}',
      '--org',
      'bank',
      '--json',
    ]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).code).toBe('CONTRACT_PAUSED');
    list = (await custosJson(['contract', 'list'])).contracts as Record<string, unknown>[];
    expect(list[0]).toMatchObject({ id: 'counter', status: 'paused', version: '1.0.0' });

    const human = await custos(['contract', 'list']);
    expect(human.stdout).toMatch(/^counter {2}paused {2}1\.0\.0 {2}calls 1/m);
  }, 60_000);
});
