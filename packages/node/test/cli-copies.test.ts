/**
 * Copies follow the original through the built `custos` CLI (GDPR Art. 19): the bank shares a
 * customer's record with two members, each registers its copy (`org register --source-record`),
 * the bank erases, and `custos org copies` lists for each recipient what it must erase by when, and
 * for the bank which recipients complied. Needs `npm run build`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliHarness, type Run } from './fixtures/cli.js';

let cli: CliHarness;
const custos = (args: string[]): Promise<Run> => cli.run(args);

/** Runs a command with --json, expects exit `code`, and parses its one JSON document. */
async function json(args: string[], code = 0) {
  const r = await custos([...args, '--json']);
  expect(r.code, r.stderr).toBe(code);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  cli = new CliHarness('custos-cli-copies-', { CUSTOS_WALLET_PASSPHRASE: 'correct horse wallet' });
  expect((await custos(['init', '--chain-id', 'cli-copies'])).code).toBe(0);
  const { match } = await cli.serve(['node', 'start', '--port', '0'], /^Custos node cli-copies listening on (\S+)$/m);
  cli.env.CUSTOS_NODE = match[1]!;
  await cli.setProfiles(['bank', 'insurer', 'retailer']);
  writeFileSync(
    join(cli.tmp.dir, 'notice.txt'),
    'Bank privacy notice v1: we share your email with partners if you agree.\n',
  );
  writeFileSync(join(cli.tmp.dir, 'value.json'), JSON.stringify({ email: 'ada@example.org' }));
});

afterAll(async () => {
  await cli?.cleanup();
});

describe('custos org copies', () => {
  it('lists the copies a recipient must erase with their due date, and the source sees who complied', async () => {
    expect((await custos(['wallet', 'create', '--scrypt-cost', '10'])).code).toBe(0);
    const did = (await json(['wallet', 'add', 'bank'])).did as string;
    const grant = await json([
      'consent',
      'grant',
      '--org',
      'bank',
      '--purposes',
      'dpv:Marketing',
      '--categories',
      'pd:EmailAddress',
      '--days',
      '30',
      '--share',
      '--notice-file',
      'notice.txt',
    ]);
    expect(grant.code).toBe('OK');
    const register = (org: string, extra: string[]) =>
      json([
        'org',
        'register',
        '--org',
        org,
        '--subject',
        did,
        '--category',
        'pd:EmailAddress',
        '--purposes',
        'dpv:Marketing=consent',
        '--retention-days',
        '365',
        '--value-file',
        'value.json',
        ...extra,
      ]);
    const record = (await register('bank', [])).recordId as string;
    const copies: Record<string, string> = {};
    for (const to of ['insurer', 'retailer']) {
      const shared = await json(['org', 'share', record, '--org', 'bank', '--to', to, '--purpose', 'dpv:Marketing']);
      expect(shared.code).toBe('OK');
      const copy = await register(to, ['--source-record', `bank:${record}`]);
      expect(copy.code).toBe('OK');
      copies[to] = copy.recordId;
    }
    // A malformed source is refused before anything is sent.
    const malformed = await custos([
      'org',
      'register',
      '--org',
      'insurer',
      '--subject',
      did,
      '--category',
      'pd:EmailAddress',
      '--purposes',
      'dpv:Marketing=consent',
      '--retention-days',
      '1',
      '--value-file',
      'value.json',
      '--source-record',
      record,
    ]);
    expect(malformed.code).toBe(64);
    expect(malformed.stderr).toMatch(/expected --source-record as ORG:ID/);

    expect((await json(['org', 'erase', record, '--org', 'bank', '--reason', 'request'])).results[0].code).toBe('OK');

    // The insurer's list: one copy to erase, due a month after the bank's erasure.
    const held = await json(['org', 'copies', '--org', 'insurer']);
    expect(held.held).toEqual([
      expect.objectContaining({ record: copies.insurer, source: 'bank', kind: 'erase', doneAt: null, overdue: false }),
    ]);
    const month = held.held[0].due - held.held[0].at;
    expect(month).toBeGreaterThanOrEqual(28 * 86_400_000);
    expect(month).toBeLessThanOrEqual(31 * 86_400_000);
    const human = await custos(['org', 'copies', '--org', 'insurer']);
    expect(human.stdout).toContain('1 copy to act on at insurer, 0 overdue.');
    expect(human.stdout).toMatch(
      new RegExp(`${copies.insurer}  erase \\(pd:EmailAddress, from bank\\): due \\d{4}-\\d{2}-\\d{2}`),
    );
    // Not overdue yet.
    expect((await json(['org', 'copies', '--org', 'insurer', '--overdue'])).held).toEqual([]);

    // The insurer erases its copy; the bank sees the insurer done and the retailer pending.
    expect(
      (await json(['org', 'erase', copies.insurer!, '--org', 'insurer', '--reason', 'request'])).results[0].code,
    ).toBe('OK');
    const source = await json(['org', 'copies', '--org', 'bank']);
    expect(
      source.recipients.map((r: { recipient: string; pending: number; done: number }) => [
        r.recipient,
        r.pending,
        r.done,
      ]),
    ).toEqual([
      ['insurer', 0, 1],
      ['retailer', 1, 0],
    ]);
    expect(JSON.stringify(source)).not.toContain(did);
    const bankHuman = await custos(['org', 'copies', '--org', 'bank']);
    expect(bankHuman.stdout).toMatch(/retailer: 0 done \(0 late\), 1 pending; next due \d{4}-\d{2}-\d{2}/);

    // Nothing to restrict: the ledger refuses, and a malformed id is refused before it is sent.
    expect((await json(['org', 'copy', 'restricted', copies.retailer!, '--org', 'retailer'], 1)).code).toBe('CONFLICT');
    const wrong = await custos(['org', 'copy', 'restricted', 'not-an-id', '--org', 'retailer']);
    expect(wrong.code).toBe(64);
    expect(wrong.stderr).toMatch(/expected a record id of 64 lower-case hex characters/);
  }, 180_000);
});
