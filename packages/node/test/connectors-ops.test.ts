/**
 * The operator's side of running requests in the org's own systems (issue 16, points 3 and 4),
 * against a real PostgreSQL (Debian's postgresql on 127.0.0.1):
 * - a rectification run through the API with the corrected values for the mapped fields: the rows
 *   change, other customers' rows do not, and the values reach neither the ledger nor the logs;
 * - the crash window: a node process SIGKILLed after the connector's SQL commit but before its
 *   `request.step` lands records, after restart, the rows the killed run erased (from the step
 *   journal), without erasing twice; one killed before the SQL commit erases on the re-run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { toHex } from '@custos/protocol/encoding';
import { signRequest } from '@custos/protocol/http';
import { signTx } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, tempDir, userSigner } from '@custos/test-utils/node';
import { needsPostgres, PostgresServer } from '@custos/test-utils/postgres';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDataMap, publishArgs } from '../src/connectors/datamap.js';
import { PostgresConnector } from '../src/connectors/postgres.js';
import { requestStepsView } from '../src/connectors/steps-view.js';
import { VaultConnector } from '../src/connectors/vault-connector.js';
import { nativeSigner } from '../src/crypto/native.js';
import { exampleProfile } from '../src/demo/profiles.js';
import { makeGenesis } from '../src/genesis.js';
import type { RequestStep } from '../src/modules/request-steps.js';
import { CustosNode } from '../src/node.js';
import { OrgService } from '../src/orgs/org-service.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';

const enabled = needsPostgres(import.meta.url);
const CHILD = fileURLToPath(new URL('./fixtures/step-crash-child.mjs', import.meta.url));

const SCHEMA_SQL = `
  CREATE SCHEMA crm;
  CREATE TABLE crm.customers (
    id serial PRIMARY KEY,
    custos_subject text,
    created_at timestamptz NOT NULL DEFAULT now(),
    email text,
    name text
  );
  CREATE INDEX ON crm.customers (custos_subject);
`;

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
          schema: 'crm',
          name: 'customers',
          identity: { field: 'custos_subject', kind: 'pseudonym' },
          erasure: 'delete',
          timestampField: 'created_at',
          fields: [
            { name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:ServiceProvision'], retentionDays: 3650 },
            { name: 'name', category: 'pd:Name', purposes: ['dpv:ServiceProvision'], retentionDays: 3650 },
          ],
        },
      ],
    },
    { id: 'vault', kind: 'vault' },
  ],
};
const map = parseDataMap(JSON.stringify(MAP));

let server: PostgresServer;
let admin: pg.Client;

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function createDb(name: string): Promise<{ url: string; sql: pg.Client }> {
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = server.url(name);
  const sql = await client(url);
  await sql.query(SCHEMA_SQL);
  return { url, sql };
}

/** Two rows of one customer in crm.customers. */
async function addRows(sql: pg.Client, did: string, tag: string): Promise<void> {
  await sql.query('INSERT INTO crm.customers (custos_subject, email, name) VALUES ($1, $2, $3), ($1, $4, $3)', [
    did,
    `${tag}@example.org`,
    `Name ${tag}`,
    `${tag}.work@example.org`,
  ]);
}

async function rowsOf(sql: pg.Client, did: string): Promise<{ email: string; name: string }[]> {
  const r = await sql.query('SELECT email, name FROM crm.customers WHERE custos_subject = $1 ORDER BY id', [did]);
  return r.rows;
}

beforeAll(async () => {
  if (!enabled) return;
  server = await PostgresServer.start();
  admin = await client(server.url());
});

afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

describe.skipIf(!enabled)('a rectification run with the corrected values', () => {
  let api: ApiNode;
  let sql: pg.Client;
  let crm: PostgresConnector;
  const logLines: string[] = [];
  const orgLog: string[] = [];

  function headers(method: string, url: string, body?: string): Record<string, string> {
    const h = signRequest(
      { method, url: `http://localhost${url}`, ...(body === undefined ? {} : { body }) },
      api.fx.orgs.bank!,
    );
    return { ...h, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  }
  async function post(url: string, payload: unknown) {
    const body = JSON.stringify(payload);
    const res = await api.app.inject({ method: 'POST', url, payload: body, headers: headers('POST', url, body) });
    return { status: res.statusCode, body: res.json() };
  }

  beforeAll(async () => {
    api = await startApiNode({
      members: ['bank'],
      server: { logger: true, logStream: { write: (l: string) => logLines.push(l) } },
      orgLog: (e) => orgLog.push(JSON.stringify(e)),
    });
    const db = await createDb('rectify');
    sql = db.sql;
    crm = new PostgresConnector({
      system: 'crm',
      url: db.url,
      tables: map.systems[0]!.tables!,
      connectTimeoutMs: 2000,
    });
    api.orgs.setConnectors('bank', [crm, new VaultConnector('vault', api.orgs, 'bank')]);
    expect((await api.orgs.submit('bank', 'datamap.publish', publishArgs(map))).code).toBe('OK');
  });
  afterAll(async () => {
    await crm?.close();
    await sql?.end();
    await api?.close();
  });

  it('updates exactly the subject rows in PostgreSQL and the vault; the ledger gets counts and digests only', async () => {
    const ada = userSigner();
    const adaDid = didFromPublicKey(ada.publicKey);
    const bobDid = didFromPublicKey(userSigner().publicKey);
    await addRows(sql, adaDid, 'ada');
    await addRows(sql, bobDid, 'bob');
    const bobBefore = await rowsOf(sql, bobDid);
    const reg = await api.orgs.register('bank', {
      subject: adaDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: 'ada@example.org',
    });
    expect(reg.code).toBe('OK');
    const commitmentBefore = api.orgs.recordsOf('bank', adaDid)[0]!.commitment;
    const open = await api.node.submitAndWait(
      signTx(
        {
          chainId: api.node.chainId,
          type: 'request.open',
          args: { org: 'bank', kind: 'rectify', jurisdiction: 'GDPR' },
        },
        ada,
      ),
    );
    const url = `/v1/orgs/bank/requests/${open.txId}/execute`;
    const NEW_EMAIL = 'ada.lovelace.corrected@example.org';
    const NEW_NAME = 'Ada King-Noel Corrected';

    // Bad input is refused before any system is touched, saying what was expected.
    const none = await post(url, {});
    expect(none.status).toBe(400);
    expect(none.body.detail).toMatch(/expected the rectifications of system crm/);
    const unknown = await post(url, { rectifications: { billing: [{ table: 'x', field: 'y', value: 1 }] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toMatch(/expected rectifications for systems of data map version 1, not billing/);
    const huge = await post(url, {
      rectifications: { crm: [{ table: 'crm.customers', field: 'email', value: 'x'.repeat(5000) }] },
    });
    expect(huge.status).toBe(400);
    expect(api.orgs.requestStep('bank', open.txId, 'crm')).toBeUndefined();

    const run = await post(url, {
      rectifications: {
        crm: [
          { table: 'crm.customers', field: 'email', value: NEW_EMAIL },
          { table: 'crm.customers', field: 'name', value: NEW_NAME },
        ],
        vault: [{ table: 'records', field: reg.recordId, value: NEW_EMAIL }],
      },
    });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      status: 'fulfilled',
      steps: [
        { system: 'crm', outcome: 'done', rows: 2 },
        { system: 'vault', outcome: 'done', rows: 1 },
      ],
    });
    expect(await rowsOf(sql, adaDid)).toEqual([
      { email: NEW_EMAIL, name: NEW_NAME },
      { email: NEW_EMAIL, name: NEW_NAME },
    ]);
    expect(await rowsOf(sql, bobDid)).toEqual(bobBefore);
    expect(api.orgs.recordsOf('bank', adaDid)[0]!.commitment).not.toBe(commitmentBefore);
    const step = api.orgs.requestStep('bank', open.txId, 'crm') as RequestStep;
    expect(step).toMatchObject({ step: 'rectify', outcome: 'done', rows: 2 });
    expect(step.digest).toMatch(/^[0-9a-f]{64}$/);

    // The corrected values are on no block and in no log line.
    const head = api.node.latest().height;
    for (let h = 1; h <= head; h++) {
      const block = JSON.stringify(api.node.store.getBlock(h));
      expect(block).not.toContain(NEW_EMAIL);
      expect(block).not.toContain('King-Noel');
    }
    expect(logLines.join('\n')).not.toContain('King-Noel');
    expect(orgLog.join('\n')).not.toContain('King-Noel');
    expect(logLines.join('\n')).not.toContain(NEW_EMAIL);
  });
});

describe.skipIf(!enabled)('the crash window between the SQL commit and request.step', { timeout: 120_000 }, () => {
  const tmp = tempDir('custos-step-crash-');
  let db: { url: string; sql: pg.Client };
  let genesis: ReturnType<typeof makeGenesis>;
  const bankSecret = randomSecretKey();
  const bank = nativeSigner(bankSecret);

  /** Opens the node in this process (the child is not running), runs `fn`, closes it. */
  async function withNode<T>(fn: (node: CustosNode, orgs: OrgService) => Promise<T>): Promise<T> {
    const kmsPath = join(tmp.dir, 'kms.json');
    const node = await CustosNode.open({
      dbPath: join(tmp.dir, 'node.db'),
      genesis,
      signers: [bank],
      verifyThreads: 1,
    });
    const vault = new Vault({
      path: join(tmp.dir, 'vault.db'),
      kms: LocalKms.open(kmsPath, 'test passphrase'),
      org: 'bank',
    });
    const orgs = new OrgService(node, [{ id: 'bank', signer: bank, vault }]);
    try {
      return await fn(node, orgs);
    } finally {
      orgs.stop();
      vault.close();
      await node.close();
    }
  }

  /** Runs the child until it prints a line starting with `until`; resolves with that line. */
  function child(request: string, mode: string, until: string): { proc: ChildProcess; line: Promise<string> } {
    const proc = spawn(process.execPath, [CHILD, tmp.dir, request, mode], {
      env: { ...process.env, CUSTOS_TEST_PG_URL: db.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const line = new Promise<string>((resolve, reject) => {
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const hit = out.split('\n').find((l) => l.startsWith(until));
        if (hit !== undefined) resolve(hit);
      });
      proc.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL')
          reject(new Error(`child exited (${code ?? signal}) before ${until}: ${out}${err.slice(0, 2000)}`));
      });
    });
    return { proc, line };
  }

  async function kill(proc: ChildProcess): Promise<void> {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  async function openErasure(signer: Signer): Promise<string> {
    return withNode(async (node, orgs) => {
      const did = didFromPublicKey(signer.publicKey);
      const reg = await orgs.register('bank', {
        subject: did,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:ServiceProvision': 'contract' },
        source: 'subject',
        retentionDays: 365,
        value: 'someone@example.org',
      });
      expect(reg.code).toBe('OK');
      const r = await node.submitAndWait(
        signTx(
          { chainId: 'crash', type: 'request.open', args: { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' } },
          signer,
        ),
      );
      expect(r.code).toBe('OK');
      return r.txId;
    });
  }

  function journalRows(): { system: string; rows: number; settle: string | null }[] {
    const sqlite = new Database(join(tmp.dir, 'node.db'), { readonly: true });
    try {
      return sqlite.prepare('SELECT system, rows, settle FROM request_step_journal').all() as never;
    } finally {
      sqlite.close();
    }
  }

  beforeAll(async () => {
    db = await createDb('crash');
    genesis = makeGenesis({
      chainId: 'crash',
      members: [
        { id: 'bank', name: 'Bank', keys: [didFromPublicKey(bank.publicKey)], profile: exampleProfile('bank') },
      ],
      params: { blockMaxTxs: 100, blockMaxMs: 5 },
    });
    writeFileSync(join(tmp.dir, 'genesis.json'), JSON.stringify(genesis));
    writeFileSync(join(tmp.dir, 'keys.json'), JSON.stringify({ bank: toHex(bankSecret) }));
    writeFileSync(join(tmp.dir, 'datamap.json'), JSON.stringify(MAP));
    LocalKms.create(join(tmp.dir, 'kms.json'), 'test passphrase');
    await withNode(async (_node, orgs) => {
      expect((await orgs.submit('bank', 'datamap.publish', publishArgs(map))).code).toBe('OK');
    });
  });
  afterAll(async () => {
    await db?.sql.end();
    tmp.cleanup();
  });

  it('killed after the SQL commit: the restarted node records the rows the killed run erased, erasing nothing twice', async () => {
    const ada = userSigner();
    const adaDid = didFromPublicKey(ada.publicKey);
    const bobDid = didFromPublicKey(userSigner().publicKey);
    await addRows(db.sql, adaDid, 'ada');
    await addRows(db.sql, bobDid, 'bob');
    const bobBefore = await rowsOf(db.sql, bobDid);
    const request = await openErasure(ada);

    const first = child(request, 'hang-before-step', 'COMMITTED');
    await first.line;
    // The system committed: Ada's rows are gone; the ledger has no step for crm yet.
    expect(await rowsOf(db.sql, adaDid)).toEqual([]);
    await kill(first.proc);
    expect(journalRows()).toEqual([{ system: 'crm', rows: 2, settle: expect.stringMatching(/^[0-9]+$/) }]);
    // The operator's view says the step waits for its record.
    await withNode(async (node, orgs) => {
      const view = requestStepsView(orgs, 'bank', request, node.latest().time);
      expect(view.steps[0]).toMatchObject({ system: 'crm', outcome: 'pending', journalled: true });
      expect(view.steps[1]).not.toHaveProperty('journalled');
    });

    const second = child(request, 'run', 'REPORT');
    const report = JSON.parse((await second.line).slice('REPORT '.length));
    await new Promise((r) => second.proc.once('exit', r));
    expect(report.status).toBe('fulfilled');
    expect(report.steps).toEqual([
      expect.objectContaining({ system: 'crm', outcome: 'done', rows: 2, recovered: true }),
      expect.objectContaining({ system: 'vault', outcome: 'done', rows: 1 }),
    ]);
    expect(journalRows()).toEqual([]);
    expect(await rowsOf(db.sql, bobDid)).toEqual(bobBefore);
    await withNode(async (_node, orgs) => {
      // One step for crm, done once, with the killed run's count and digest.
      expect(orgs.requestStep('bank', request, 'crm')).toMatchObject({ outcome: 'done', rows: 2, failures: 0 });
      expect(orgs.requestStep('bank', request, 'crm')!.digest).toBe(report.steps[0].digest);
      expect(orgs.request('bank', request)!.status).toBe('fulfilled');
    });
  });

  it('killed after the journal but before the SQL commit: nothing was erased, and the re-run erases once', async () => {
    const carol = userSigner();
    const carolDid = didFromPublicKey(carol.publicKey);
    await addRows(db.sql, carolDid, 'carol');
    const request = await openErasure(carol);

    const first = child(request, 'hang-before-commit', 'JOURNALLED');
    await first.line;
    expect(journalRows()).toEqual([{ system: 'crm', rows: 2, settle: expect.stringMatching(/^[0-9]+$/) }]);
    await kill(first.proc);
    // The server rolls the transaction back once the killed process's connection is gone.
    await expect.poll(async () => (await rowsOf(db.sql, carolDid)).length, { timeout: 10_000 }).toBe(2);

    const second = child(request, 'run', 'REPORT');
    const report = JSON.parse((await second.line).slice('REPORT '.length));
    await new Promise((r) => second.proc.once('exit', r));
    expect(report.status).toBe('fulfilled');
    expect(report.steps[0]).toMatchObject({ system: 'crm', outcome: 'done', rows: 2 });
    expect(report.steps[0].recovered).toBeUndefined();
    expect(await rowsOf(db.sql, carolDid)).toEqual([]);
    expect(journalRows()).toEqual([]);
  });
});
