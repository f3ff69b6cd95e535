/**
 * The retention schedule of an org's own systems (connectors/retention.ts, modules/retention.ts)
 * against a real PostgreSQL server: rows past their retention are erased or masked and rows within
 * it are untouched; the run is recorded on the ledger per system (rows, the salted digest of what was
 * there before, asOf; never a value); a run with nothing due records nothing; a
 * system that fails records its error code while the others run; the ledger refuses a system
 * outside the map, an asOf after the block time or before the last run; the API's view shows the
 * schedule, the last run and what the ledger holds.
 */
import { randomBytes } from 'node:crypto';
import { signRequest } from '@custos/protocol/http';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { needsPostgres, PostgresServer } from '@custos/test-utils/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorResult } from '../src/connectors/connector.js';
import { parseDataMap, publishArgs } from '../src/connectors/datamap.js';
import { PostgresConnector } from '../src/connectors/postgres.js';
import { RetentionScheduler, startRetentionSchedule, stopRetentionSchedules } from '../src/connectors/retention.js';
import { VaultConnector } from '../src/connectors/vault-connector.js';
import type { RetentionRun } from '../src/modules/retention.js';

const DAY = 86_400_000;
const enabled = needsPostgres(import.meta.url);

const MAP = parseDataMap(
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
            name: 'customers',
            identity: { field: 'custos_subject', kind: 'pseudonym' },
            erasure: 'delete',
            timestampField: 'created_at',
            fields: [
              { name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:Marketing'], retentionDays: 365 },
              { name: 'phone', category: 'pd:TelephoneNumber', purposes: ['dpv:Marketing'], retentionDays: 30 },
            ],
          },
          {
            name: 'clicks',
            identity: { field: 'custos_subject', kind: 'pseudonym' },
            erasure: 'mask',
            timestampField: 'clicked_at',
            fields: [{ name: 'ip', category: 'pd:IPAddress', purposes: ['dpv:Marketing'], retentionDays: 90 }],
          },
        ],
      },
      {
        id: 'shop',
        kind: 'postgres',
        tables: [
          {
            name: 'orders',
            identity: { field: 'custos_subject', kind: 'pseudonym' },
            erasure: 'delete',
            timestampField: 'ordered_at',
            fields: [
              { name: 'address', category: 'pd:PhysicalAddress', purposes: ['dpv:DeliveryOfGoods'], retentionDays: 30 },
            ],
          },
        ],
      },
      { id: 'vault', kind: 'vault' },
    ],
  }),
);

describe.skipIf(!enabled)("retention in the org's own systems", () => {
  let server: PostgresServer;
  let api: ApiNode;
  let sql: pg.Client;
  let crm: PostgresConnector;
  let now: number;

  beforeAll(async () => {
    server = await PostgresServer.start();
    const url = await server.createDatabase('crm');
    sql = new pg.Client({ connectionString: url });
    await sql.connect();
    await sql.query(`
      CREATE TABLE customers (id serial PRIMARY KEY, custos_subject text, created_at timestamptz NOT NULL, email text, phone text);
      CREATE TABLE clicks (id serial PRIMARY KEY, custos_subject text, clicked_at timestamptz NOT NULL, ip text);`);
    api = await startApiNode({ members: ['bank'] });
    expect((await api.orgs.submit('bank', 'datamap.publish', publishArgs(MAP))).code).toBe('OK');
    now = api.node.latest().time;
    const at = (days: number) => new Date(now - days * DAY).toISOString();
    // Past 365 days: the whole row goes. Past 30 but within 365: the phone is cleared. Within 30: untouched.
    await sql.query(
      `INSERT INTO customers (custos_subject, created_at, email, phone) VALUES
        ('subject-number-1', $1, 'old@example.org', '+44 20 7946 0001'),
        ('subject-number-2', $2, 'mid@example.org', '+44 20 7946 0002'),
        ('subject-number-3', $3, 'new@example.org', '+44 20 7946 0003')`,
      [at(400), at(100), at(5)],
    );
    await sql.query(
      `INSERT INTO clicks (custos_subject, clicked_at, ip) VALUES ('subject-number-1', $1, '192.0.2.1'), ('subject-number-2', $2, '192.0.2.2')`,
      [at(120), at(10)],
    );
    crm = new PostgresConnector({ system: 'crm', url, tables: MAP.systems[0]!.tables!, connectTimeoutMs: 2000 });
  });

  afterAll(async () => {
    await stopRetentionSchedules(api.orgs);
    await crm?.close();
    await sql?.end();
    await api?.close();
    await server?.stop();
  });

  it('erases only what is past retention, and records it on the ledger with a digest of what was there', async () => {
    // Capture what the connector hands back, to recompute the digest the ledger holds.
    let seen: ConnectorResult | undefined;
    const spy = Object.assign(Object.create(crm) as PostgresConnector, {
      expire: async (t: number) => {
        seen = await crm.expire(t);
        return seen;
      },
    });
    const s = new RetentionScheduler(api.orgs, 'bank', [spy, new VaultConnector('vault', api.orgs, 'bank')], 60_000);
    const runs = await s.runOnce(now);
    expect(runs.map((r) => [r.system, r.outcome, r.rows])).toEqual([['crm', 'done', 3]]);

    const customers = (await sql.query('SELECT custos_subject, email, phone FROM customers ORDER BY id')).rows;
    expect(customers).toEqual([
      { custos_subject: 'subject-number-2', email: 'mid@example.org', phone: null },
      { custos_subject: 'subject-number-3', email: 'new@example.org', phone: '+44 20 7946 0003' },
    ]);
    const clicks = (await sql.query('SELECT custos_subject, ip FROM clicks ORDER BY id')).rows;
    expect(clicks).toEqual([
      { custos_subject: 'subject-number-1', ip: null },
      { custos_subject: 'subject-number-2', ip: '192.0.2.2' },
    ]);

    const rec = api.orgs.retentionRun('bank', 'crm') as RetentionRun;
    expect(rec).toMatchObject({ outcome: 'done', asOf: now, rows: 3, runs: 1, totalRows: 3, error: null });
    expect(rec.txId).toBe(runs[0]!.txId);
    expect(rec.digest).toBe(runs[0]!.digest);
    // The ledger holds the count and the digest, never a value.
    const body = api.node.store.getTx(rec.txId)!;
    const text = JSON.stringify(body);
    for (const v of ['old@example.org', '+44 20 7946 0002', '192.0.2.1', 'subject-number-1'])
      expect(text).not.toContain(v);
    expect(seen!.tables.map((t) => t.table)).toEqual([
      'public.customers',
      'public.customers#phone',
      'public.clicks#ip',
    ]);

    // Nothing more is due: the next run changes nothing and records nothing.
    const again = await s.runOnce(now);
    expect(again.map((r) => [r.system, r.outcome, r.txId])).toEqual([['crm', 'nothing-due', null]]);
    expect(api.orgs.retentionRun('bank', 'crm')?.runs).toBe(1);
  });

  it('a failing system records its error code and the others still run', async () => {
    // Nothing listens on port 1: the connection fails before any statement.
    const broken = new PostgresConnector({
      system: 'shop',
      url: `postgres://nobody:${randomBytes(8).toString('hex')}@127.0.0.1:1/none`,
      tables: MAP.systems[1]!.tables!,
      connectTimeoutMs: 500,
    });
    const s = new RetentionScheduler(api.orgs, 'bank', [broken, crm], 60_000);
    const runs = await s.runOnce(api.node.latest().time);
    expect(runs.map((r) => [r.system, r.outcome])).toEqual([
      ['shop', 'failed'],
      ['crm', 'nothing-due'],
    ]);
    expect(api.orgs.retentionRun('bank', 'shop')).toMatchObject({
      outcome: 'failed',
      error: 'CONNECTOR_FAILED',
      rows: 0,
    });
    await broken.close();
  });

  it('the ledger refuses a system outside the map, an asOf after the block time or before the last run', async () => {
    const digest = 'ab'.repeat(32);
    const t = api.node.latest().time;
    const nope = await api.orgs.submit('bank', 'retention.run', {
      system: 'billing',
      outcome: 'done',
      asOf: t,
      rows: 1,
      digest,
    });
    expect(nope.code).toBe('NOT_FOUND');
    const future = await api.orgs.submit('bank', 'retention.run', {
      system: 'crm',
      outcome: 'done',
      asOf: Date.now() + 3_600_000,
      rows: 1,
      digest,
    });
    expect(future.code).toBe('INVALID_ARGS');
    const older = await api.orgs.submit('bank', 'retention.run', {
      system: 'crm',
      outcome: 'done',
      asOf: now - 1,
      rows: 1,
      digest,
    });
    expect(older.code).toBe('CONFLICT');
    const value = await api.orgs.submit('bank', 'retention.run', {
      system: 'crm',
      outcome: 'done',
      asOf: t,
      rows: 1,
      digest,
      email: 'x@example.org',
    });
    expect(value.code).toBe('INVALID_ARGS');
  });

  it("the API's view: the schedule, its last run and the ledger's record per system", async () => {
    api.orgs.setConnectors('bank', [crm, new VaultConnector('vault', api.orgs, 'bank')]);
    const url = '/v1/orgs/bank/retention/systems';
    const get = () =>
      api.app.inject({
        method: 'GET',
        url,
        headers: { ...signRequest({ method: 'GET', url: `http://localhost${url}` }, api.fx.orgs.bank!) },
      });
    const before = (await get()).json() as {
      intervalMs: number | null;
      recorded: { system: string; run: RetentionRun | null }[];
    };
    expect(before.intervalMs).toBeNull();
    expect(before.recorded.map((r) => [r.system, r.run?.outcome ?? null])).toEqual([
      ['crm', 'done'],
      ['shop', 'failed'],
      ['vault', null],
    ]);
    const s = startRetentionSchedule(api.orgs, 'bank', 60_000);
    await s.runOnce();
    const view = (await get()).json() as {
      intervalMs: number;
      lastRun: { systems: { system: string; outcome: string }[] };
      recorded: { system: string; run: RetentionRun | null }[];
    };
    expect(view.intervalMs).toBe(60_000);
    expect(view.lastRun.systems).toEqual([expect.objectContaining({ system: 'crm', outcome: 'nothing-due' })]);
    expect(view.recorded).toEqual([{ system: 'crm', run: expect.objectContaining({ rows: 3, runs: 1 }) }]);
    expect(() => startRetentionSchedule(api.orgs, 'bank', 60_000)).toThrow(/already has a retention schedule/);
    expect(() => new RetentionScheduler(api.orgs, 'bank', [crm], 1000)).toThrow(/at least 60000 ms/);
    const anonymous = await api.app.inject({ method: 'GET', url });
    expect(anonymous.statusCode).toBe(401);
  });
});
