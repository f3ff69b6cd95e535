/**
 * The customer's corrections through the built `custos` CLI (issue 17, ADR 0018): a temp home, `node
 * start --port 0`, the orgs publish their HPKE keys (`custos org hpke rotate`), a customer's wallet
 * with a record at two orgs; `custos correct` sends one new value to both, each applies it into its
 * vault (`org access --show-value`); `custos flag` opens a flag with its deadline; the org lists it
 * (`custos org corrections`) and explains it with a reason code. The bank's data map names its vault
 * as a system: its node records the correction there (`custos org correction steps`). Needs `npm run build`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from '@custos/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliHarness, type Run } from './fixtures/cli.js';

let cli: CliHarness;
const custos = (args: string[]): Promise<Run> => cli.run(args);

async function json(args: string[], code = 0) {
  const r = await custos([...args, '--json']);
  expect(r.code, r.stderr).toBe(code);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  cli = new CliHarness('custos-cli-corrections-', { CUSTOS_WALLET_PASSPHRASE: 'correct horse wallet' });
  expect((await custos(['init', '--chain-id', 'cli-corr'])).code).toBe(0);
  writeFileSync(
    join(cli.home, 'datamap.json'),
    JSON.stringify({ custosDataMap: 1, org: 'bank', version: 1, systems: [{ id: 'vault', kind: 'vault' }] }),
  );
  writeFileSync(join(cli.home, 'connectors.json'), JSON.stringify({ orgs: { bank: { datamap: 'datamap.json' } } }));
  const { match } = await cli.serve(['node', 'start', '--port', '0'], /^Custos node cli-corr listening on (\S+)$/m);
  cli.env.CUSTOS_NODE = match[1]!;
  await cli.setProfiles(['bank', 'insurer', 'retailer']);
  expect((await json(['org', 'datamap', 'publish', join(cli.home, 'datamap.json'), '--org', 'bank'])).code).toBe('OK');
  writeFileSync(join(cli.tmp.dir, 'old.json'), JSON.stringify({ street: '1 Old Lane' }));
  writeFileSync(join(cli.tmp.dir, 'new.json'), JSON.stringify({ street: '2 New Road' }));
});

afterAll(async () => {
  await cli?.cleanup();
});

describe('corrections from the CLI', { timeout: 180_000 }, () => {
  const records: Record<string, string> = {};

  it('publishes HPKE keys; a correction before that is refused by the ledger', async () => {
    await json(['wallet', 'create', '--scrypt-cost', '10']);
    for (const org of ['bank', 'insurer']) {
      const did = (await json(['wallet', 'add', org])).did as string;
      const r = await json([
        'org',
        'register',
        '--org',
        org,
        '--subject',
        did,
        '--category',
        'pd:PhysicalAddress',
        '--purposes',
        'dpv:ServiceProvision=contract',
        '--source',
        'subject',
        '--retention-days',
        '365',
        '--value-file',
        join(cli.tmp.dir, 'old.json'),
      ]);
      records[org] = r.recordId as string;
    }
    const early = await json(
      ['correct', '--records', `bank:${records.bank}`, '--value-file', join(cli.tmp.dir, 'new.json')],
      1,
    );
    expect(early.outcomes[0]).toMatchObject({ org: 'bank', sent: 'NOT_FOUND' });
    for (const org of ['bank', 'insurer']) {
      expect((await json(['org', 'hpke', 'rotate', '--org', org])).code).toBe('OK');
      const shown = await json(['org', 'hpke', 'show', '--org', org]);
      expect(shown.published.kid).toBe(shown.held[0].kid);
    }
  });

  it('sends one value to both orgs, each applies it', async () => {
    const r = await json([
      'correct',
      '--records',
      `bank:${records.bank},insurer:${records.insurer}`,
      '--value-file',
      join(cli.tmp.dir, 'new.json'),
    ]);
    expect(
      r.outcomes.map((o: { org: string; sent: string; applied: { code: string } }) => [o.org, o.sent, o.applied.code]),
    ).toEqual([
      ['bank', 'OK', 'OK'],
      ['insurer', 'OK', 'OK'],
    ]);
    for (const org of ['bank', 'insurer']) {
      const a = await json([
        'org',
        'access',
        records[org]!,
        '--org',
        org,
        '--purpose',
        'dpv:ServiceProvision',
        '--basis',
        'contract',
        '--show-value',
      ]);
      expect(a.value).toEqual({ street: '2 New Road' });
    }
    const human = await custos(['org', 'corrections', '--org', 'bank']);
    expect(human.stdout).toMatch(/update {2}record [0-9a-f]{64} {2}applied/);
    // The bank's node carried it into the systems of its data map holding addresses: its vault.
    const item = r.outcomes[0].item as string;
    await waitUntil(
      async () => (await json(['org', 'correction', 'steps', item, '--org', 'bank'])).complete === 1,
      30_000,
      'the vault step recorded',
    );
    const steps = await custos(['org', 'correction', 'steps', item, '--org', 'bank']);
    expect(steps.stdout).toContain(`Correction ${item} (applied): corrected in 1 of 1 system(s).`);
    expect(steps.stdout).toMatch(/vault +corrected \d{4}-\d{2}-\d{2}: 1 row\(s\), digest [0-9a-f]{64}/);
    const again = await custos(['org', 'correction', 'run', item, '--org', 'bank']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('vault: done before, 1 row(s)');
    // The insurer has no data map: nothing to run, and it says so.
    const none = await custos(['org', 'correction', 'run', r.outcomes[1].item, '--org', 'insurer']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('applied without systems to run in');
  });

  it('flags a record; the org sees the deadline and explains with a code', async () => {
    const f = await json([
      'flag',
      '--org',
      'insurer',
      '--record',
      records.insurer!,
      '--reason',
      'incomplete',
      '--jurisdiction',
      'CCPA',
    ]);
    expect(f.item).toMatchObject({ kind: 'flag', reason: 'incomplete', status: 'pending' });
    expect(f.item.deadline - f.item.openedAt).toBe(45 * 86_400_000);
    expect((await custos(['flag', '--org', 'insurer', '--record', records.insurer!, '--reason', 'angry'])).code).toBe(
      64,
    );
    const list = await json(['org', 'corrections', '--org', 'insurer']);
    const item = list.items.find((i: { kind: string }) => i.kind === 'flag');
    expect(item).toMatchObject({ status: 'pending', overdue: false });
    const e = await json([
      'org',
      'correction',
      'explain',
      item.id,
      '--org',
      'insurer',
      '--reason',
      'accurate-verified',
    ]);
    expect(e.code).toBe('OK');
    const again = await custos(['org', 'correction', 'explain', item.id, '--org', 'insurer', '--reason', 'excessive']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/CONFLICT/);
  });
});
