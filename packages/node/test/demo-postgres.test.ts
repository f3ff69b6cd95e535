/**
 * The demo with PostgreSQL (issue 16, point 6), through its own startup path (`custos demo`, what
 * `npm start` runs): the bank's CRM and marketing tables in a real PostgreSQL server, their rows
 * linked by the customers' pseudonyms, the data map on the ledger, retention run at start (only the
 * rows past their retention go), then Ada's erasure request, run by the bank, erases her rows in
 * both databases and her vault records, and nothing of anyone else's; the server stops with the
 * demo, and a second start of the same home opens the same cluster. Without PostgreSQL the demo
 * says how to enable it and runs with the vault only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signTx } from '@custos/protocol/ledger';
import { CustosClient } from '@custos/sdk';
import { needsPostgres } from '@custos/test-utils/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPostgresPassword } from '../src/demo/bank-systems.js';
import { readWalletFile } from '../src/wallet/wallet-file.js';
import { CLI, CliHarness } from './fixtures/cli.js';

interface DemoJson {
  url: string;
  chainId: string;
  consoles: { org: string; url: string }[];
  customers: { customers: { id: string; wallet: string; relationships: { org: string; did: string }[] }[] } | null;
  postgres: { port: number; databases: string[]; systems: string[]; retentionIntervalMs: number } | null;
  postgresNote: string | null;
}

/** Starts `custos demo --json` on the harness's home; resolves with its JSON once listening. */
function startDemo(h: CliHarness, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; doc: DemoJson }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'demo', '--no-evm', '--port', '0', '--json'], {
      env: { ...h.env, ...env },
      cwd: h.tmp.dir,
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`custos demo did not start: ${err}`)), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const doc = JSON.parse(out) as DemoJson;
        clearTimeout(timer);
        resolve({ child, doc });
      } catch {}
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`custos demo exited with ${code}: ${err}`));
    });
  });
}

async function stopDemo(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

type Rows = Record<string, Record<string, unknown>[]>;

async function snapshot(urlOf: (db: string) => string): Promise<Rows> {
  const out: Rows = {};
  for (const [db, table] of [
    ['bank_crm', 'customers'],
    ['bank_marketing', 'subscribers'],
    ['bank_marketing', 'campaign_clicks'],
  ] as const) {
    const c = new pg.Client({ connectionString: urlOf(db) });
    await c.connect();
    try {
      out[table] = (await c.query(`SELECT * FROM ${table} ORDER BY id`)).rows;
    } finally {
      await c.end();
    }
  }
  return out;
}

const enabled = needsPostgres(import.meta.url);

describe.skipIf(!enabled)('the demo with PostgreSQL', () => {
  let h: CliHarness;
  let demo: ChildProcess | undefined;
  beforeAll(() => {
    h = new CliHarness('custos-demo-pg-');
  });
  afterAll(async () => {
    if (demo !== undefined) await stopDemo(demo);
    await h.cleanup();
  });

  it("keeps the bank's customers in PostgreSQL; Ada's erasure reaches her rows and her vault records only", {
    timeout: 240_000,
  }, async () => {
    const started = await startDemo(h);
    demo = started.child;
    const doc = started.doc;
    expect(doc.postgresNote).toBeNull();
    expect(doc.postgres?.databases).toEqual(['bank_crm', 'bank_marketing']);
    expect(doc.postgres?.systems).toEqual(['crm', 'marketing', 'vault']);
    const passphrase = readFileSync(join(h.home, 'passphrase'), 'utf8').replace(/\r?\n$/, '');
    const password = encodeURIComponent(demoPostgresPassword(passphrase));
    const urlOf = (db: string) => `postgres://custos:${password}@127.0.0.1:${doc.postgres!.port}/${db}`;

    const ada = doc.customers!.customers.find((c) => c.id === 'ada')!;
    const adaDid = ada.relationships.find((r) => r.org === 'bank')!.did;
    const token = new URL(doc.consoles.find((c) => c.org === 'bank')!.url).hash.replace('#token=', '');
    const bank = new CustosClient({ baseUrl: doc.url, token });

    // The data map is on the ledger, with the three systems.
    const map = await bank.stateEntry('datamap/bank');
    expect((map.value as { systems: string[] }).systems).toEqual(['crm', 'marketing', 'vault']);

    // Retention ran at start in the bank's own systems: only rows past their retention went, on the ledger.
    let recorded: { rows: number; outcome: string } | undefined;
    for (let i = 0; i < 100 && recorded === undefined; i++) {
      const s = await bank.stateEntry('retention/bank/marketing').catch(() => undefined);
      recorded = s?.value as typeof recorded;
      if (recorded === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recorded).toMatchObject({ outcome: 'done', rows: 3 });
    // The API's view of the schedule says the same.
    const view = await bank.orgRetentionSystems('bank');
    expect(view.intervalMs).toBe(doc.postgres!.retentionIntervalMs);
    expect(view.recorded.map((r) => [r.system, r.run?.rows ?? null])).toEqual([
      ['crm', null],
      ['marketing', 3],
    ]);
    const before = await snapshot(urlOf);
    expect(before.customers!.map((r) => r.full_name)).toEqual([
      'Ada Example',
      'Grace Sample',
      'Edsger Sample',
      'Barbara Placeholder',
    ]);
    // Edsger's 800-day-old subscription and the two clicks older than 90 days are gone.
    expect(before.subscribers!.map((r) => r.email)).toEqual(['ada.example@example.org', 'grace@example.org']);
    expect(before.campaign_clicks!.map((r) => r.ip_address)).toEqual(['192.0.2.10', '198.51.100.7', '203.0.113.9']);

    // Ada asks the bank for erasure, signed with her pairwise key (as the portal does).
    const wallet = (await readWalletFile(ada.wallet, passphrase)).wallet;
    const me = wallet.relationship(doc.chainId, 'bank');
    expect(me.did).toBe(adaDid);
    const open = await new CustosClient({ baseUrl: doc.url }).submitAndWait(
      signTx(
        { chainId: doc.chainId, type: 'request.open', args: { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' } },
        me.signer,
      ),
    );
    expect(open.code).toBe('OK');

    // The bank runs it across its systems.
    const run = await bank.executeRequest('bank', open.txId);
    expect(run.status).toBe('fulfilled');
    expect(run.steps.map((s) => [s.system, s.outcome, s.rows])).toEqual([
      ['crm', 'done', 1],
      ['marketing', 'done', 2],
      ['vault', 'done', 3],
    ]);

    const after = await snapshot(urlOf);
    const notAda = (rows: Record<string, unknown>[]) => rows.filter((r) => r.custos_subject !== adaDid);
    for (const table of Object.keys(before)) {
      expect(
        after[table]!.some((r) => r.custos_subject === adaDid),
        table,
      ).toBe(false);
      expect(after[table], table).toEqual(notAda(before[table]!));
    }
    // Her vault records at the bank are erased on the ledger.
    const steps = await bank.requestSteps('bank', open.txId);
    expect(steps.complete).toBe(3);
    const records = (await bank.orgRecords('bank', { limit: 500 })).records.filter((r) => r.subject === adaDid);
    expect(records.length).toBe(3);
    expect(records.every((r) => r.erasedAt !== null)).toBe(true);

    // `custos history` tells Ada the same, each step verified against the quorum certificate.
    const history = await h.run([
      'history',
      '--wallet',
      ada.wallet,
      '--wallet-passphrase-file',
      join(h.home, 'passphrase'),
      '--node',
      doc.url,
    ]);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('Erased in 3 of 3 systems:');
    for (const s of run.steps) {
      expect(history.stdout).toContain(`✓ ${s.system}: erased ${s.rows} row${s.rows === 1 ? '' : 's'}, `);
      expect(history.stdout).toContain(`tx ${s.txId}, digest ${s.digest}`);
    }
    const json = await h.run([
      'history',
      '--wallet',
      ada.wallet,
      '--wallet-passphrase-file',
      join(h.home, 'passphrase'),
      '--node',
      doc.url,
      '--json',
    ]);
    expect(json.code, json.stderr).toBe(0);
    const bankDoc = (
      JSON.parse(json.stdout) as {
        orgs: { org: string; requests: { kind: string; evidence?: { summary: string } }[] }[];
      }
    ).orgs.find((o) => o.org === 'bank')!;
    expect(bankDoc.requests.find((r) => r.kind === 'erase')?.evidence?.summary).toBe('Erased in 3 of 3 systems');

    // The server stops with the demo.
    await stopDemo(demo);
    demo = undefined;
    await expect(snapshot(urlOf)).rejects.toThrow();

    // A second start of the same home opens the same cluster: Ada's rows are still gone.
    const again = await startDemo(h);
    demo = again.child;
    expect(again.doc.postgres?.systems).toEqual(['crm', 'marketing', 'vault']);
    const port = again.doc.postgres!.port;
    const reopened = await snapshot((db) => `postgres://custos:${password}@127.0.0.1:${port}/${db}`);
    expect(reopened.customers).toEqual(after.customers);
  });
});

describe('the demo without PostgreSQL', () => {
  it('says how to enable it and runs with the vault only', { timeout: 120_000 }, async () => {
    const h = new CliHarness('custos-demo-nopg-');
    try {
      const { child, doc } = await startDemo(h, { PG_BIN: join(h.tmp.dir, 'no-postgres-here') });
      try {
        expect(doc.postgres).toBeNull();
        expect(doc.postgresNote).toContain('apt-get install postgresql');
        const map = await new CustosClient({ baseUrl: doc.url }).stateEntry('datamap/bank').catch((e: unknown) => e);
        expect((map as { value?: unknown }).value ?? null).toBeNull();
      } finally {
        await stopDemo(child);
      }
    } finally {
      await h.cleanup();
    }
  });
});
