/**
 * An operator's commands for a request run in the org's own systems, with the built `custos` CLI
 * against a `custos node start` whose home names a PostgreSQL system in connectors.json (a real
 * server on 127.0.0.1): an erasure paused while the database is down (`execute` exits 1, `steps`
 * shows the failed system with its attempts and the deadline), a legal exception refused when it does
 * not fit and recorded when it does, the re-run that fulfils it, the customer's `custos history`
 * telling both; then a rectification with its corrected values from a file. Needs `npm run build`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needsPostgres, PostgresServer } from '@custos/test-utils/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliHarness, type Run } from './fixtures/cli.js';

const enabled = needsPostgres(import.meta.url);

const MAP = {
  custosDataMap: 1,
  org: 'bank',
  version: 1,
  systems: [
    {
      id: 'crm',
      kind: 'postgres',
      tables: [
        {
          name: 'customers',
          identity: { field: 'custos_subject', kind: 'pseudonym' },
          erasure: 'delete',
          fields: [
            { name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:ServiceProvision'], retentionDays: 365 },
          ],
        },
      ],
    },
    { id: 'vault', kind: 'vault' },
  ],
};

let cli: CliHarness;
let server: PostgresServer;
let sql: pg.Client;
let did: string;

const custos = (args: string[]): Promise<Run> => cli.run(args);
async function json(args: string[], code = 0) {
  const r = await custos([...args, '--json']);
  expect(r.code, r.stderr).toBe(code);
  return JSON.parse(r.stdout);
}
async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: server.url('crm') });
  c.on('error', () => {});
  await c.connect();
  return c;
}
async function emails(): Promise<string[]> {
  const r = await sql.query('SELECT email FROM customers WHERE custos_subject = $1 ORDER BY id', [did]);
  return r.rows.map((x) => x.email);
}

describe.skipIf(!enabled)('custos org request steps | execute | except', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    server = await PostgresServer.start();
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE crm');
    await admin.end();
    sql = await connect();
    await sql.query('CREATE TABLE customers (id serial PRIMARY KEY, custos_subject text, email text)');
    cli = new CliHarness('custos-cli-steps-', { CUSTOS_WALLET_PASSPHRASE: 'correct horse wallet' });
    expect((await custos(['init', '--chain-id', 'cli-steps'])).code).toBe(0);
    writeFileSync(join(cli.home, 'datamap.json'), JSON.stringify(MAP));
    writeFileSync(
      join(cli.home, 'connectors.json'),
      JSON.stringify({ orgs: { bank: { datamap: 'datamap.json', systems: { crm: { urlEnv: 'TEST_CRM_URL' } } } } }),
    );
    cli.env.TEST_CRM_URL = server.url('crm');
    const { match } = await cli.serve(['node', 'start', '--port', '0'], /^Custos node cli-steps listening on (\S+)$/m);
    cli.env.CUSTOS_NODE = match[1]!;
    await cli.setProfiles(['bank', 'insurer', 'retailer']);
    expect((await json(['org', 'datamap', 'publish', join(cli.home, 'datamap.json'), '--org', 'bank'])).code).toBe(
      'OK',
    );
    expect((await json(['wallet', 'create', '--scrypt-cost', '10'])).file).toBeDefined();
    did = (await json(['wallet', 'add', 'bank'])).did;
    await sql.query('INSERT INTO customers (custos_subject, email) VALUES ($1, $2), ($1, $3), ($4, $5)', [
      did,
      'ada@example.org',
      'ada.work@example.org',
      'did:key:z6MkOtherCustomer',
      'bob@example.org',
    ]);
  }, 120_000);

  afterAll(async () => {
    await cli?.cleanup();
    await sql?.end().catch(() => {});
    await server?.stop();
  });

  it('pauses, shows the failed step and the deadline, takes an exception, re-runs, and the customer reads it', async () => {
    const request = (await json(['request', 'open', '--org', 'bank', '--kind', 'erase'])).txId as string;
    expect(request).toMatch(/^[0-9a-f]{64}$/);
    await sql.end();
    await server.halt();

    const paused = await custos(['org', 'request', 'execute', request, '--org', 'bank', '--attempts', '1']);
    expect(paused.code).toBe(1);
    expect(paused.stdout).toMatch(/PAUSED/);
    expect(paused.stdout).toMatch(/crm: FAILED after 1 attempt\(s\): CONNECTOR_FAILED: crm: cannot reach PostgreSQL/);
    const steps = await custos(['org', 'request', 'steps', request, '--org', 'bank']);
    expect(steps.code).toBe(0);
    expect(steps.stdout).toMatch(/complete in 0 of 2 system\(s\)/);
    expect(steps.stdout).toMatch(
      /Legal deadline \d{4}-\d{2}-\d{2} \(GDPR\): open, \d+ days left\. Paused on a failed step\./,
    );
    expect(steps.stdout).toMatch(/crm +FAILED \(1 run\(s\), 1 attempt\(s\)\): CONNECTOR_FAILED/);
    const doc = await json(['org', 'request', 'steps', request, '--org', 'bank']);
    expect(doc).toMatchObject({ paused: true, atRisk: false, overdue: false, jurisdiction: 'GDPR' });

    // An exception of the other jurisdiction is refused on the ledger; a code that is none, at once.
    const ccpa = await custos([
      'org',
      'request',
      'except',
      request,
      '--org',
      'bank',
      '--system',
      'crm',
      '--code',
      'ccpa-105-d-1',
    ]);
    expect(ccpa.code).toBe(1);
    expect(ccpa.stdout).toMatch(/refused, INVALID_ARGS: expected args.exception as one of gdpr-17-3-a/);
    const none = await custos([
      'org',
      'request',
      'except',
      request,
      '--org',
      'bank',
      '--system',
      'crm',
      '--code',
      'because',
    ]);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/expected --code as one of gdpr-17-3-a/);
    const kept = await custos([
      'org',
      'request',
      'except',
      request,
      '--org',
      'bank',
      '--system',
      'crm',
      '--code',
      'gdpr-17-3-e',
    ]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(
      /system crm keeps the data under gdpr-17-3-e, legal claims \(GDPR Art\. 17\(3\)\(e\)\)/,
    );

    const done = await custos(['org', 'request', 'execute', request, '--org', 'bank']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/fulfilled in 2 system\(s\)/);
    await server.resume();
    sql = await connect();
    // Kept under the exception: the rows are still there.
    expect(await emails()).toEqual(['ada@example.org', 'ada.work@example.org']);

    const history = await custos(['history', '--org', 'bank']);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain(
      'kept your data in its system crm under a legal exception: legal claims (GDPR Art. 17(3)(e))',
    );
    expect(history.stdout).toMatch(/could not yet complete your request in its system crm \(CONNECTOR_FAILED\)/);
  });

  it('runs a rectification with the corrected values from a file, and refuses a file that is not JSON', async () => {
    writeFileSync(join(cli.tmp.dir, 'value.json'), JSON.stringify('ada@example.org'));
    const reg = await json([
      'org',
      'register',
      '--org',
      'bank',
      '--subject',
      did,
      '--category',
      'pd:EmailAddress',
      '--purposes',
      'dpv:ServiceProvision=contract',
      '--source',
      'subject',
      '--retention-days',
      '365',
      '--value-file',
      'value.json',
    ]);
    expect(reg.code).toBe('OK');
    const request = (await json(['request', 'open', '--org', 'bank', '--kind', 'rectify'])).txId as string;
    writeFileSync(join(cli.tmp.dir, 'broken.json'), '{"crm": [ada@example.org');
    const broken = await custos(['org', 'request', 'execute', request, '--org', 'bank', '--changes', 'broken.json']);
    expect(broken.code).toBe(64);
    expect(broken.stderr).toMatch(/expected JSON in broken.json/);
    expect(broken.stderr).not.toContain('ada@example.org');
    const NEW = 'ada.lovelace@example.org';
    writeFileSync(
      join(cli.tmp.dir, 'changes.json'),
      JSON.stringify({
        crm: [{ table: 'public.customers', field: 'email', value: NEW }],
        vault: [{ table: 'records', field: reg.recordId, value: NEW }],
      }),
    );
    const run = await custos(['org', 'request', 'execute', request, '--org', 'bank', '--changes', 'changes.json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/fulfilled in 2 system\(s\)/);
    expect(run.stdout).toMatch(/crm: done, 2 row\(s\)/);
    expect(run.stdout).not.toContain(NEW);
    expect(await emails()).toEqual([NEW, NEW]);
    const bob = await sql.query('SELECT email FROM customers WHERE custos_subject = $1', ['did:key:z6MkOtherCustomer']);
    expect(bob.rows).toEqual([{ email: 'bob@example.org' }]);
  });
});
