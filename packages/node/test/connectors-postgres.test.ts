/**
 * The PostgreSQL connector against a real server (Debian's postgresql, started for this file on
 * 127.0.0.1): the conformance suite, names that need quoting, values that look like SQL, one
 * transaction per erasure when the server stops half way, and errors that never quote a row.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { needsPostgres, PostgresServer } from '@custos/test-utils/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTORS_FILE, loadConnectors } from '../src/connectors/config.js';
import type { SubjectRef, TableRows } from '../src/connectors/connector.js';
import { type DataMapTable, dataMapDigest, parseDataMap, publishArgs } from '../src/connectors/datamap.js';
import { executeRequest } from '../src/connectors/execute.js';
import { PostgresConnector } from '../src/connectors/postgres.js';
import { scanPostgres } from '../src/connectors/scan.js';
import { VaultConnector } from '../src/connectors/vault-connector.js';
import type { RequestStep } from '../src/modules/request-steps.js';
import { type ConformanceHarness, connectorConformance } from './connector-conformance.js';

const enabled = needsPostgres(import.meta.url);
const DAY = 86_400_000;

const SCHEMA_SQL = `
  CREATE SCHEMA crm;
  CREATE TABLE crm."customer accounts" (
    id serial PRIMARY KEY,
    custos_subject text,
    created_at timestamptz NOT NULL DEFAULT now(),
    email text,
    "full name" text,
    plan text NOT NULL DEFAULT 'basic'
  );
  CREATE INDEX ON crm."customer accounts" (custos_subject);
  CREATE TABLE newsletter (id serial PRIMARY KEY, email text, phone text, created_at timestamptz NOT NULL);
  CREATE INDEX ON newsletter (email);
`;

function tables(): DataMapTable[] {
  const map = parseDataMap(
    JSON.stringify({
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
              name: 'customer accounts',
              identity: { field: 'custos_subject', kind: 'pseudonym' },
              erasure: 'delete',
              timestampField: 'created_at',
              fields: [
                { name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:ServiceProvision'], retentionDays: 3650 },
                { name: 'full name', category: 'pd:Name', purposes: ['dpv:ServiceProvision'], retentionDays: 3650 },
              ],
            },
            {
              name: 'newsletter',
              identity: { field: 'email', kind: 'vault', category: 'pd:EmailAddress', key: 'email' },
              erasure: 'mask',
              timestampField: 'created_at',
              fields: [
                { name: 'phone', category: 'pd:TelephoneNumber', purposes: ['dpv:Marketing'], retentionDays: 365 },
              ],
            },
          ],
        },
      ],
    }),
  );
  return map.systems[0]!.tables!;
}

interface Subject extends SubjectRef {
  email: string;
}

let server: PostgresServer;
let admin: pg.Client;

async function createDb(name: string): Promise<string> {
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const c = await client(server.url(name));
  await c.query(SCHEMA_SQL);
  await c.end();
  return server.url(name);
}

function iso(v: unknown): JsonValue {
  return v instanceof Date ? v.toISOString() : (v as JsonValue);
}

/** A harness over one database, reading the truth with its own SQL. */
async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  // A connection the server drops (the restart test) reports here instead of crashing the run.
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function harness(
  db: string,
): Promise<ConformanceHarness & { readonly sql: pg.Client; url: string; reconnect(): Promise<void> }> {
  const url = await createDb(db);
  let sql = await client(url);
  const connector = new PostgresConnector({ system: 'crm', url, tables: tables() });
  const sorted = (rows: { [k: string]: JsonValue }[]) =>
    rows.sort((a, b) => (canonicalize(a) < canonicalize(b) ? -1 : 1));
  return {
    connector,
    get sql() {
      return sql;
    },
    url,
    async reconnect() {
      sql = await client(url);
    },
    async addSubject(opts = {}) {
      const did = didFromPublicKey(userSigner().publicKey);
      const email = `${randomBytes(6).toString('hex')}@example.org`;
      const at = new Date(Date.now() - (opts.expired ? 4000 * DAY : 0));
      await sql.query(
        `INSERT INTO crm."customer accounts" (custos_subject, created_at, email, "full name") VALUES ($1, $2, $3, $4), ($1, $2, $5, $4)`,
        [did, at, email, `Name ${email}`, `second.${email}`],
      );
      await sql.query('INSERT INTO newsletter (email, phone, created_at) VALUES ($1, $2, $3)', [
        email,
        '+44 20 7946 0000',
        at,
      ]);
      return { did, email, vaultIdentities: { 'pd:EmailAddress#email': [email] } } as Subject;
    },
    async truth(s) {
      const email = (s as Subject).email;
      const a = await sql.query(
        `SELECT custos_subject, created_at, email, "full name" FROM crm."customer accounts" WHERE custos_subject = $1`,
        [s.did],
      );
      const b = await sql.query(
        'SELECT email, created_at, phone FROM newsletter WHERE email = $1 AND phone IS NOT NULL',
        [email],
      );
      const out: TableRows[] = [
        {
          table: 'crm.customer accounts',
          rows: sorted(
            a.rows.map((r) => ({
              custos_subject: r.custos_subject,
              created_at: iso(r.created_at),
              email: r.email,
              'full name': r['full name'],
            })),
          ),
        },
        {
          table: 'public.newsletter',
          rows: sorted(b.rows.map((r) => ({ email: r.email, created_at: iso(r.created_at), phone: r.phone }))),
        },
      ];
      return out;
    },
    rectification(s) {
      const value = 'Ada L. Corrected';
      return {
        change: { table: 'crm.customer accounts', field: 'full name', value },
        readBack: async () => {
          const r = await sql.query(
            `SELECT DISTINCT "full name" FROM crm."customer accounts" WHERE custos_subject = $1`,
            [s.did],
          );
          return r.rows.length === 1 ? r.rows[0]['full name'] : r.rows.map((x) => x['full name']);
        },
      };
    },
    expireAt: () => Date.now(),
    async close() {
      await connector.close();
      await sql.end();
    },
  };
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

connectorConformance('postgres', () => harness('conformance'), enabled);

describe.skipIf(!enabled)('the PostgreSQL connector', () => {
  it('treats values as data: a subject id that looks like SQL matches nothing and drops nothing', async () => {
    const h = await harness('injection');
    try {
      const s = await h.addSubject();
      const evil: SubjectRef = {
        did: `x' OR '1'='1`,
        vaultIdentities: { 'pd:EmailAddress#email': [`'); DROP TABLE newsletter; --`] },
      };
      expect((await h.connector.erase(evil)).rows).toBe(0);
      expect((await h.connector.find(s)).rows).toBe(3);
    } finally {
      await h.close();
    }
  });

  it('trust #15: an erasure is one transaction, and its failure names no value', async () => {
    const h = await harness('atomic');
    try {
      const s = await h.addSubject();
      // A mask the database refuses (NOT NULL), after the first table's delete succeeded.
      await h.sql.query('ALTER TABLE newsletter ALTER COLUMN phone SET NOT NULL');
      const before = await h.truth(s);
      const err = (await h.connector.erase(s).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { code?: string };
      expect(err).toMatchObject({ code: 'CONNECTOR_FAILED' });
      expect(err.message).toContain('23502 (not_null_violation) on public.newsletter, column phone');
      // No value from the row in the message (PostgreSQL's detail quotes the failing row).
      expect(err.message).not.toContain((s as Subject).email);
      expect(err.message).not.toContain('+44');
      expect(await h.truth(s)).toEqual(before);
      await h.sql.query('ALTER TABLE newsletter ALTER COLUMN phone DROP NOT NULL');
      expect((await h.connector.erase(s)).rows).toBe(3);
    } finally {
      await h.close();
    }
  });

  it('refuses a vault-linked table whose identity was not resolved, and reports an unreachable server', async () => {
    const h = await harness('unresolved');
    try {
      const s = await h.addSubject();
      await expect(h.connector.export({ did: s.did })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringContaining('pd:EmailAddress#email; it was not resolved'),
      });
    } finally {
      await h.close();
    }
    const gone = new PostgresConnector({
      system: 'crm',
      url: 'postgres://custos:wrong@127.0.0.1:1/none',
      tables: tables(),
      connectTimeoutMs: 2000,
    });
    await expect(gone.find({ did: 'did:key:z6Mk' })).rejects.toMatchObject({ code: 'CONNECTOR_FAILED' });
    await gone.close();
  });

  it('survives the server stopping mid-way: the erasure fails whole, then completes once it is back', async () => {
    const h = await harness('restart');
    try {
      const s = await h.addSubject();
      const rows = await h.truth(s);
      // Hold a lock on the newsletter rows, so the erasure waits inside its transaction...
      const blocker = await client(h.url);
      await blocker.query('BEGIN');
      await blocker.query('SELECT * FROM newsletter FOR UPDATE');
      const erasing = h.connector.erase(s).catch((e: unknown) => e as { code: string });
      await new Promise((r) => setTimeout(r, 300));
      // ...and stop the server under it (the lock is still held: the erasure is mid-way).
      await server.halt('SIGINT');
      await blocker.end().catch(() => {});
      await h.sql.end().catch(() => {});
      expect(await erasing).toMatchObject({ code: 'CONNECTOR_FAILED' });
      await server.resume();
      await h.reconnect();
      // Nothing was erased by the failed attempt; the re-run erases everything, once.
      expect(await h.truth(s)).toEqual(rows);
      expect((await h.connector.erase(s)).rows).toBe(3);
      expect((await h.connector.erase(s)).rows).toBe(0);
    } finally {
      await h.close();
    }
    admin = await client(server.url());
  });
});

describe.skipIf(!enabled)('executing requests across PostgreSQL and the vault, with proof on the ledger', () => {
  let api: ApiNode;
  let h: Awaited<ReturnType<typeof harness>>;
  let crm: PostgresConnector;

  /** The map: the crm tables linked by pseudonym (the vault-linked table needs identity resolution, not yet run). */
  function publishedMap() {
    return parseDataMap(
      JSON.stringify({
        custosDataMap: 1,
        org: 'bank',
        version: 1,
        systems: [
          { id: 'crm', kind: 'postgres', tables: [tables()[0]] },
          { id: 'vault', kind: 'vault' },
        ],
      }),
    );
  }

  beforeAll(async () => {
    api = await startApiNode({ members: ['bank'] });
    h = await harness('execute');
    crm = new PostgresConnector({
      system: 'crm',
      url: h.url,
      tables: publishedMap().systems[0]!.tables!,
      connectTimeoutMs: 2000,
    });
    const p = await api.orgs.submit('bank', 'datamap.publish', publishArgs(publishedMap()));
    expect(p.code).toBe('OK');
  });
  afterAll(async () => {
    await crm?.close();
    await h?.close();
    await api?.close();
  });

  async function customer(): Promise<{ signer: Signer; s: Subject }> {
    const signer = userSigner();
    const s = (await h.addSubject()) as Subject;
    const did = didFromPublicKey(signer.publicKey);
    // The harness made rows for a fresh pseudonym: move them to this customer's.
    await h.sql.query(`UPDATE crm."customer accounts" SET custos_subject = $1 WHERE custos_subject = $2`, [did, s.did]);
    const r = await api.orgs.register('bank', {
      subject: did,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { email: s.email },
    });
    expect(r.code).toBe('OK');
    return { signer, s: { ...s, did } };
  }

  async function openRequest(signer: Signer, kind: string): Promise<string> {
    const r = await api.node.submitAndWait(
      signTx(
        { chainId: api.node.chainId, type: 'request.open', args: { org: 'bank', kind, jurisdiction: 'GDPR' } },
        signer,
      ),
    );
    expect(r.code).toBe('OK');
    return r.txId;
  }

  function ledgerStep(request: string, system: string): RequestStep | undefined {
    return api.orgs.requestStep('bank', request, system);
  }

  it('pauses an erasure while the database is down, then resumes and completes it, erasing nothing twice', async () => {
    const ada = await customer();
    const bob = await customer();
    const bobBefore = await h.truth(bob.s);
    const req = await openRequest(ada.signer, 'erase');
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };

    await server.halt();
    const paused = await executeRequest(api.orgs, 'bank', req, [crm, new VaultConnector('vault', api.orgs, 'bank')], {
      attempts: 3,
      backoffMs: 100,
      sleep,
    });
    // Retried with exponential backoff, then recorded as failed; the vault was not reached.
    expect(waits).toEqual([100, 200]);
    expect(paused.status).toBe('paused');
    expect(paused.steps).toEqual([expect.objectContaining({ system: 'crm', outcome: 'failed', attempts: 3 })]);
    expect(ledgerStep(req, 'crm')).toMatchObject({ outcome: 'failed', failures: 1 });
    // The ledger holds the code; the operator reads the message (no value in it) in the answer.
    expect(ledgerStep(req, 'crm')!.error).toBe('CONNECTOR_FAILED');
    expect(paused.steps[0]!.error).toMatch(/^CONNECTOR_FAILED: crm: cannot reach PostgreSQL/);
    expect(ledgerStep(req, 'vault')).toBeUndefined();
    expect(api.orgs.recordsOf('bank', ada.s.did).filter((r) => r.erasedAt === null)).toHaveLength(1);
    expect(api.orgs.request('bank', req)!.status).toBe('open');

    await server.resume();
    await h.reconnect();
    const adaRows = await h.truth(ada.s);
    const done = await executeRequest(api.orgs, 'bank', req, [crm, new VaultConnector('vault', api.orgs, 'bank')], {
      sleep,
    });
    expect(done.status).toBe('fulfilled');
    expect(done.steps.map((s) => [s.system, s.outcome, s.rows])).toEqual([
      ['crm', 'done', 2],
      ['vault', 'done', 1],
    ]);
    expect(ledgerStep(req, 'crm')).toMatchObject({ outcome: 'done', rows: 2, failures: 1 });
    expect(api.orgs.request('bank', req)!.status).toBe('fulfilled');
    // Exactly Ada's rows went; Bob's canary rows are untouched; her vault record is shredded.
    expect((await h.truth(ada.s))[0]!.rows).toEqual([]);
    expect(adaRows[0]!.rows).toHaveLength(2);
    expect(await h.truth(bob.s)).toEqual(bobBefore);
    expect(api.orgs.recordsOf('bank', ada.s.did).every((r) => r.erasedAt !== null)).toBe(true);
    // Closed: a re-run is refused instead of running again.
    await expect(executeRequest(api.orgs, 'bank', req, [crm])).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    admin = await client(server.url());
  });

  it('answers an access request with an export whose digests match the ledger, recomputed from the rows', async () => {
    const ada = await customer();
    const req = await openRequest(ada.signer, 'access');
    const r = await executeRequest(api.orgs, 'bank', req, [crm, new VaultConnector('vault', api.orgs, 'bank')]);
    expect(r.status).toBe('fulfilled');
    const crmExport = r.exports.find((e) => e.system === 'crm')!;
    // The rows are the database's, read directly.
    expect(crmExport.tables[0]).toEqual((await h.truth(ada.s))[0]);
    // Anyone holding the rows and the salt recomputes the digest the ledger holds.
    const body = canonicalize({ system: 'crm', tables: crmExport.tables } as unknown as JsonValue);
    const recomputed = createHash('sha256').update(Buffer.from(crmExport.salt, 'hex')).update(body).digest('hex');
    expect(ledgerStep(req, 'crm')).toMatchObject({ outcome: 'done', rows: 2, digest: recomputed });
    expect(ledgerStep(req, 'vault')!.digest).toBe(r.exports.find((e) => e.system === 'vault')!.digest);
    // Access changes nothing.
    expect((await h.truth(ada.s))[0]!.rows).toHaveLength(2);
  });
});

describe.skipIf(!enabled)('the API: a request run from the connectors configured in the home', () => {
  let api: ApiNode;
  let h: Awaited<ReturnType<typeof harness>>;

  function signed(method: 'GET' | 'POST', url: string, body?: string): Record<string, string> {
    const headers = signRequest(
      { method, url: `http://localhost${url}`, ...(body === undefined ? {} : { body }) },
      api.fx.orgs.bank!,
    );
    return { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  }

  beforeAll(async () => {
    api = await startApiNode({ members: ['bank'] });
    h = await harness('api');
  });
  afterAll(async () => {
    await api?.orgs.closeConnectors();
    await h?.close();
    await api?.close();
  });

  it('loads connectors.json, runs an erasure through POST .../execute and shows each step', async () => {
    const map = {
      custosDataMap: 1,
      org: 'bank',
      version: 1,
      systems: [
        { id: 'crm', kind: 'postgres', tables: [tables()[0]] },
        { id: 'vault', kind: 'vault' },
      ],
    };
    writeFileSync(join(api.tmp.dir, 'datamap.json'), JSON.stringify(map));
    writeFileSync(
      join(api.tmp.dir, CONNECTORS_FILE),
      JSON.stringify({ orgs: { bank: { datamap: 'datamap.json', systems: { crm: { urlEnv: 'TEST_CRM_URL' } } } } }),
    );
    // The URL comes from the environment; a missing variable is named, never guessed.
    expect(() => loadConnectors(api.tmp.dir, api.orgs, {})).toThrow(/the variable TEST_CRM_URL .* is not set/);
    const loaded = loadConnectors(api.tmp.dir, api.orgs, { TEST_CRM_URL: h.url });
    expect(loaded.get('bank')).toEqual({
      digest: dataMapDigest(parseDataMap(JSON.stringify(map))),
      systems: ['crm', 'vault'],
    });
    expect(
      (await api.orgs.submit('bank', 'datamap.publish', publishArgs(parseDataMap(JSON.stringify(map))))).code,
    ).toBe('OK');

    const ada = userSigner();
    const s = (await h.addSubject()) as Subject;
    const did = didFromPublicKey(ada.publicKey);
    await h.sql.query(`UPDATE crm."customer accounts" SET custos_subject = $1 WHERE custos_subject = $2`, [did, s.did]);
    const open = await api.node.submitAndWait(
      signTx(
        { chainId: api.node.chainId, type: 'request.open', args: { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' } },
        ada,
      ),
    );
    const stepsUrl = `/v1/orgs/bank/requests/${open.txId}/steps`;
    const before = await api.app.inject({ method: 'GET', url: stepsUrl, headers: signed('GET', stepsUrl) });
    expect(before.json()).toMatchObject({ complete: 0, systems: 2, status: 'open', map: { version: 1 } });
    expect(before.json().steps.map((x: { outcome: string }) => x.outcome)).toEqual(['pending', 'pending']);
    // Without a signature: refused.
    expect((await api.app.inject({ method: 'GET', url: stepsUrl })).statusCode).toBe(401);

    const url = `/v1/orgs/bank/requests/${open.txId}/execute`;
    const body = JSON.stringify({ attempts: 2 });
    const run = await api.app.inject({ method: 'POST', url, payload: body, headers: signed('POST', url, body) });
    expect(run.statusCode).toBe(200);
    expect(run.json()).toMatchObject({
      status: 'fulfilled',
      steps: [
        { system: 'crm', rows: 2 },
        { system: 'vault', rows: 0 },
      ],
    });
    const after = await api.app.inject({ method: 'GET', url: stepsUrl, headers: signed('GET', stepsUrl) });
    expect(after.json()).toMatchObject({ complete: 2, systems: 2, status: 'fulfilled' });
    expect(after.json().steps[0]).toMatchObject({ system: 'crm', outcome: 'done', rows: 2, step: 'erase' });
    expect((await h.truth({ ...s, did }))[0]!.rows).toEqual([]);
    // Bad input is refused with what was expected.
    const badBody = JSON.stringify({ attempts: 99 });
    const bad = await api.app.inject({ method: 'POST', url, payload: badBody, headers: signed('POST', url, badBody) });
    expect(bad.statusCode).toBe(400);
  });
});

describe.skipIf(!enabled)('custos org datamap scan: columns that look like personal data', () => {
  it('finds them by name and by sampled values, skips what the map covers, and never shows a value', async () => {
    const url = await createDb('scan');
    const c = await client(url);
    try {
      await c.query(`
        CREATE TABLE leads (id serial PRIMARY KEY, contact text, notes text, mobile_no text, amount int, ref text);
        INSERT INTO leads (contact, notes, mobile_no, amount, ref)
          SELECT 'lead' || g || '@example.org', 'called on monday', '+41 79 555 ' || lpad(g::text, 4, '0'), g, 'DE89370400440532013000'
          FROM generate_series(1, 40) AS g;
      `);
      const found = await scanPostgres(url, {
        map: parseDataMap(
          JSON.stringify({
            custosDataMap: 1,
            org: 'bank',
            version: 1,
            systems: [{ id: 'crm', kind: 'postgres', tables: [tables()[0]] }],
          }),
        ),
      });
      const byColumn = Object.fromEntries(found.findings.map((f) => [`${f.table}.${f.column}`, f]));
      expect(byColumn['public.leads.contact']).toMatchObject({
        category: 'pd:EmailAddress',
        by: 'values',
        matched: 40,
        sampled: 40,
      });
      expect(byColumn['public.leads.mobile_no']).toMatchObject({ category: 'pd:TelephoneNumber', by: 'name' });
      expect(byColumn['public.leads.ref']).toMatchObject({ category: 'pd:BankAccount', by: 'values' });
      expect(byColumn['public.leads.notes']).toBeUndefined();
      expect(byColumn['public.leads.amount']).toBeUndefined();
      // The mapped table's columns are covered; its unmapped ones (plan) do not look personal.
      expect(Object.keys(byColumn).filter((k) => k.startsWith('crm.'))).toEqual([]);
      // The newsletter table is not in this map: its email and phone columns are listed.
      expect(byColumn['public.newsletter.email']).toMatchObject({ category: 'pd:EmailAddress', by: 'name' });
      expect(JSON.stringify(found)).not.toMatch(/example\.org|\+41|DE89/);
    } finally {
      await c.end();
    }
  });
});
