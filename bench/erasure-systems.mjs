/**
 * Scenario `erasure-systems` (issue 16): an erasure request of one customer executed across the org's
 * systems, PostgreSQL (a `customers` table holding 10^6 rows of other customers, indexed on the
 * pseudonym) and the vault, with proof on the ledger: per erasure, the PostgreSQL step (one SQL
 * transaction), its `request.step`, the vault's crypto-shredding and `data.erased`, its
 * `request.step`, then `request.fulfil`: four ledger commits on a single embedded node, each waiting
 * for its block (the genesis block time is at most 20 ms).
 *
 * Ceiling, measured in the same run and interleaved (one sample just before each erasure, on the same
 * server and table): a raw `DELETE FROM customers WHERE custos_subject = $1` by index of another
 * customer's rows, in autocommit, as an application would erase without Custos. ratio = ceiling p50 /
 * erasure p50 (the share of an erasure's time that is the database's own delete). rows_per_s counts
 * the rows and records erased per second of erasure time.
 *
 * Usage: npm run bench -- erasure-systems [--quick] (needs PostgreSQL: Debian's `postgresql`, found
 * under /usr/lib/postgresql or $PG_BIN). Progress on stderr; the result is the last line of stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { didFromPublicKey, randomSecretKey, signTx } from '@custos/protocol';
import pg from 'pg';
import { parseDataMap, publishArgs } from '../packages/node/dist/connectors/datamap.js';
import { executeRequest } from '../packages/node/dist/connectors/execute.js';
import { PostgresConnector } from '../packages/node/dist/connectors/postgres.js';
import { PostgresServer } from '../packages/node/dist/connectors/postgres-server.js';
import { VaultConnector } from '../packages/node/dist/connectors/vault-connector.js';
import {
  CustosNode,
  exampleProfile,
  LocalKms,
  makeGenesis,
  nativeSigner,
  OrgService,
  Vault,
} from '../packages/node/dist/index.js';
import { latencySummary, machine } from './_stats.mjs';

const DEFAULTS = {
  otherRows: 1_000_000,
  subjects: 30,
  rowsPerSubject: 3,
  log: (m) => process.stderr.write(`[erasure-systems] ${m}\n`),
};
const QUICK = { otherRows: 100_000, subjects: 10 };

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
          timestampField: 'created_at',
          fields: [
            { name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:ServiceProvision'], retentionDays: 3650 },
            { name: 'full_name', category: 'pd:Name', purposes: ['dpv:ServiceProvision'], retentionDays: 3650 },
          ],
        },
      ],
    },
    { id: 'vault', kind: 'vault' },
  ],
};

export async function run(options = {}) {
  const o = { ...DEFAULTS, ...(options.quick ? QUICK : {}), ...options };
  const started = performance.now();
  // Durable settings (PostgreSQL's defaults), so a DELETE's commit costs what it costs in production.
  const server = await PostgresServer.start({ durable: true });
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-erasure-systems-'));
  const sql = new pg.Client({ connectionString: server.url() });
  await sql.connect();
  let node;
  let orgs;
  let crm;
  try {
    o.log(`loading ${o.otherRows.toLocaleString('en')} rows of other customers`);
    await sql.query(
      'CREATE TABLE customers (id bigserial PRIMARY KEY, custos_subject text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), email text, full_name text)',
    );
    await sql.query(
      `INSERT INTO customers (custos_subject, email, full_name)
       SELECT 'did:key:zOther' || (g % $2), 'other' || g || '@example.org', 'Other ' || g FROM generate_series(1, $1) AS g`,
      [o.otherRows, Math.ceil(o.otherRows / o.rowsPerSubject)],
    );
    await sql.query('CREATE INDEX customers_subject ON customers (custos_subject)');
    await sql.query('ANALYZE customers');

    const bank = nativeSigner(randomSecretKey());
    const genesis = makeGenesis({
      chainId: 'bench',
      members: [
        { id: 'bank', name: 'Bench Bank', keys: [didFromPublicKey(bank.publicKey)], profile: exampleProfile('bank') },
      ],
    });
    node = await CustosNode.open({ dbPath: join(dir, 'node.db'), genesis, signers: [bank], verifyThreads: 1 });
    const kms = LocalKms.create(join(dir, 'kms.json'), 'benchmark passphrase');
    const vault = new Vault({ path: join(dir, 'vault.db'), kms, org: 'bank' });
    orgs = new OrgService(node, [{ id: 'bank', signer: bank, vault }]);
    const map = parseDataMap(JSON.stringify(MAP));
    const published = await orgs.submit('bank', 'datamap.publish', publishArgs(map));
    if (published.code !== 'OK') throw new Error(`datamap.publish: ${published.code}`);
    crm = new PostgresConnector({ system: 'crm', url: server.url(), tables: map.systems[0].tables });
    const connectors = [crm, new VaultConnector('vault', orgs, 'bank')];

    // Customers to erase (rows in PostgreSQL, a record in the vault, an open erasure request), and
    // as many control customers for the raw DELETE.
    const subjects = [];
    for (let i = 0; i < o.subjects; i++) {
      const customer = nativeSigner(randomSecretKey());
      const did = didFromPublicKey(customer.publicKey);
      const control = `did:key:zControl${i}`;
      for (let r = 0; r < o.rowsPerSubject; r++) {
        await sql.query('INSERT INTO customers (custos_subject, email, full_name) VALUES ($1, $2, $3), ($4, $2, $3)', [
          did,
          `c${i}.${r}@example.org`,
          `Customer ${i}`,
          control,
        ]);
      }
      const reg = await orgs.register('bank', {
        subject: did,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:ServiceProvision': 'contract' },
        source: 'subject',
        retentionDays: 365,
        value: { email: `c${i}@example.org` },
      });
      if (reg.code !== 'OK') throw new Error(`data.register: ${reg.code}`);
      const open = await node.submitAndWait(
        signTx(
          { chainId: 'bench', type: 'request.open', args: { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' } },
          customer,
        ),
      );
      if (open.code !== 'OK') throw new Error(`request.open: ${open.code}`);
      subjects.push({ request: open.txId, control });
    }
    await sql.query('ANALYZE customers');

    o.log(`erasing ${o.subjects} customers across PostgreSQL and the vault`);
    const erasures = [];
    const raw = [];
    let erased = 0;
    let failed = 0;
    for (const s of subjects) {
      let t = performance.now();
      const d = await sql.query('DELETE FROM customers WHERE custos_subject = $1', [s.control]);
      raw.push(performance.now() - t);
      if (d.rowCount !== o.rowsPerSubject) throw new Error('the control delete missed rows');
      t = performance.now();
      const report = await executeRequest(orgs, 'bank', s.request, connectors, { attempts: 1 });
      erasures.push(performance.now() - t);
      if (report.status !== 'fulfilled') failed++;
      erased += report.steps.reduce((n, x) => n + x.rows, 0);
    }
    const left = await sql.query("SELECT count(*)::int AS n FROM customers WHERE custos_subject LIKE 'did:key:z6%'");
    const totalS = erasures.reduce((a, b) => a + b, 0) / 1000;
    const latency = latencySummary(erasures);
    const ceiling = latencySummary(raw);
    return {
      scenario: 'erasure-systems',
      quick: options.quick === true,
      other_rows: o.otherRows,
      erasures: erasures.length,
      failed,
      rows_left_of_erased_customers: left.rows[0].n,
      rows_and_records_erased: erased,
      latency_ms: latency,
      rows_per_s: Math.round(erased / totalS),
      ceiling: { what: 'raw DELETE by index, autocommit, same table', latency_ms: ceiling },
      ratio: Math.round((ceiling.p50 / latency.p50) * 1000) / 1000,
      ledger_commits_per_erasure: 4,
      machine: machine(),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await crm?.close();
    orgs?.stop();
    await node?.close();
    await sql.end();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
