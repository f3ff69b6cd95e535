/**
 * A customer's correction carried into every system of the org that holds it (GDPR Art. 16, issues
 * 16 and 17), against a real PostgreSQL server (Debian's postgresql, started for this file) and the
 * real vault: the customer sends a new email through the API, the org's node applies it into its
 * vault, then updates the subject's rows in each mapped system holding emails and records a
 * `rectify.step` per system; the customer's verified history reads "Corrected in 2 of 2 systems".
 * With the database down the step is recorded as failed, and a re-run through the API completes it.
 * A corrected address (a JSON object) goes whole into a JSONB column and key by key into the columns
 * the data map names; a plain column gets a failed step saying how to map it.
 */

import { envelopeDigest } from '@custos/protocol/hpke';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Rectification, signTx } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import {
  CustosClient,
  customerTx,
  fetchHistory,
  orgHpkeKeyEntry,
  sealCorrection,
  sendCorrections,
  signedBy,
  trustFromGenesis,
  verifyHistory,
} from '@custos/sdk';
import { companyView, correctionEvidence } from '@custos/sdk/views';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { needsPostgres, PostgresServer } from '@custos/test-utils/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDataMap, publishArgs } from '../src/connectors/datamap.js';
import { PostgresConnector } from '../src/connectors/postgres.js';
import { VaultConnector } from '../src/connectors/vault-connector.js';
import { rectifyServiceOf } from '../src/orgs/rectify-service.js';
import { bankCallOf, injectFetchOf } from './rectify-systems-helpers.js';

const enabled = needsPostgres(import.meta.url);

const SCHEMA_SQL = `
  CREATE TABLE customers (id serial PRIMARY KEY, custos_subject text NOT NULL, email text, full_name text);
  CREATE TABLE newsletter (id serial PRIMARY KEY, name text NOT NULL, email text);
  CREATE TABLE invoices (id serial PRIMARY KEY, custos_subject text NOT NULL, full_name text);
`;

const field = (name: string, category: string) => ({
  name,
  category,
  purposes: ['dpv:ServiceProvision'],
  retentionDays: 3650,
});

/** crm holds emails (one table by pseudonym, one through the name the vault holds); billing holds none. */
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
            fields: [field('email', 'pd:EmailAddress'), field('full_name', 'pd:Name')],
          },
          {
            name: 'newsletter',
            identity: { field: 'name', kind: 'vault', category: 'pd:Name' },
            erasure: 'delete',
            fields: [field('email', 'pd:EmailAddress')],
          },
        ],
      },
      {
        id: 'billing',
        kind: 'postgres',
        tables: [
          {
            name: 'invoices',
            identity: { field: 'custos_subject', kind: 'pseudonym' },
            erasure: 'mask',
            fields: [field('full_name', 'pd:Name')],
          },
        ],
      },
      { id: 'vault', kind: 'vault' },
    ],
  }),
);

let server: PostgresServer;
let sql: pg.Client;
let api: ApiNode;
let client: CustosClient;
const connectors: PostgresConnector[] = [];

const injectFetch = injectFetchOf(() => api);
const call = bankCallOf(() => api);

async function newCustomer(name: string, email: string) {
  const wallet = Wallet.create();
  wallet.addRelationship('test', 'bank');
  const did = wallet.relationship('test', 'bank').did;
  await sql.query('INSERT INTO customers (custos_subject, email, full_name) VALUES ($1, $2, $3)', [did, email, name]);
  await sql.query('INSERT INTO newsletter (name, email) VALUES ($1, $2)', [name, email]);
  await sql.query('INSERT INTO invoices (custos_subject, full_name) VALUES ($1, $2)', [did, name]);
  const reg = async (category: string, value: JsonValue) => {
    const r = await api.orgs.register('bank', {
      subject: did,
      category,
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value,
    });
    expect(r.code).toBe('OK');
    return r.recordId!;
  };
  await reg('pd:Name', name);
  return { wallet, did, email: await reg('pd:EmailAddress', email) };
}

async function emails(name: string) {
  const a = await sql.query('SELECT email FROM customers WHERE full_name = $1', [name]);
  const b = await sql.query('SELECT email FROM newsletter WHERE name = $1', [name]);
  return [...a.rows, ...b.rows].map((r) => r.email as string);
}

/** The customer's correction `item` as their own verified history shows it (the portal's view). */
async function customerSees(wallet: Wallet, item: string) {
  const me = wallet.relationship('test', 'bank');
  const trust = trustFromGenesis(api.fx.genesis);
  const history = verifyHistory(await fetchHistory(client, me.did, { sign: signedBy(me.signer) }), trust, me.did);
  const v = companyView({ org: 'bank', did: me.did, history, trust, now: Date.now() });
  const r = history.facts.find((f) => f.key === `rectify/bank/${item}`)?.value as unknown as Rectification;
  return correctionEvidence(r, v.events);
}

async function correct(wallet: Wallet, record: string, value: JsonValue) {
  const out = await sendCorrections(client, wallet, {
    chainId: 'test',
    targets: [{ org: 'bank', record }],
    value,
    jurisdiction: 'GDPR',
  });
  expect(out[0]!.applied).toMatchObject({ code: 'OK' });
  // The node carries the correction into the systems after answering the delivery.
  await rectifyServiceOf(api.node, api.orgs).runsSettled();
  return out[0]!.item!;
}

describe.runIf(enabled)('a correction carried into the org systems that hold the category', () => {
  beforeAll(async () => {
    server = await PostgresServer.start();
    // One database for both systems' tables keeps the test's checks in one place.
    const url = await server.createDatabase('crm');
    sql = new pg.Client({ connectionString: url });
    sql.on('error', () => {});
    await sql.connect();
    await sql.query(SCHEMA_SQL);
    api = await startApiNode({ members: ['bank'] });
    client = new CustosClient({ baseUrl: 'http://localhost', fetch: injectFetch });
    for (const s of MAP.systems.filter((x) => x.kind === 'postgres')) {
      connectors.push(new PostgresConnector({ system: s.id, url, tables: s.tables ?? [], connectTimeoutMs: 2000 }));
    }
    api.orgs.setConnectors('bank', [...connectors, new VaultConnector('vault', api.orgs, 'bank')]);
    expect((await api.orgs.submit('bank', 'datamap.publish', publishArgs(MAP))).code).toBe('OK');
    expect((await rectifyServiceOf(api.node, api.orgs).rotateKey('bank')).result.code).toBe('OK');
  }, 60_000);

  afterAll(async () => {
    await rectifyServiceOf(api.node, api.orgs).runsSettled();
    for (const c of connectors) await c.close();
    await sql?.end();
    await api?.close();
    await server?.stop();
  });

  it("updates the customer's rows in every system holding emails, records each step, and the customer sees 2 of 2", async () => {
    const ada = await newCustomer('Ada Lovelace', 'ada@old.example');
    await newCustomer('Bob Babbage', 'bob@example.org');
    const item = await correct(ada.wallet, ada.email, 'ada@new.example');

    // Both of Ada's rows in crm (by pseudonym, and through the name her vault holds) have the new value.
    expect(await emails('Ada Lovelace')).toEqual(['ada@new.example', 'ada@new.example']);
    // Bob's canary rows are untouched; billing holds no email and is not part of the correction.
    expect(await emails('Bob Babbage')).toEqual(['bob@example.org', 'bob@example.org']);
    const item$ = JSON.parse(api.node.store.getState(`rectify/bank/${item}`)!) as Rectification;
    expect(item$).toMatchObject({ status: 'applied', systems: ['crm', 'vault'] });

    const steps = await call('GET', `/v1/orgs/bank/rectifications/${item}/steps`);
    expect(steps.status).toBe(200);
    expect(steps.body).toMatchObject({ status: 'applied', complete: 2, systems: 2, paused: false, late: false });
    expect(steps.body.steps).toEqual([
      expect.objectContaining({ system: 'crm', step: 'rectify', outcome: 'done', rows: 2 }),
      expect.objectContaining({ system: 'vault', step: 'rectify', outcome: 'done', rows: 1 }),
    ]);
    // The ledger holds counts and salted digests, never the value.
    for (const s of steps.body.steps as { txId: string; digest: string }[]) {
      expect(s.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(api.node.store.getTx(s.txId))).not.toContain('ada@');
    }

    const seen = await customerSees(ada.wallet, item);
    expect(seen?.summary).toBe('Corrected in 2 of 2 systems');
    expect(seen?.steps.map((s) => [s.system, s.outcome, s.rows])).toEqual([
      ['crm', 'done', 2],
      ['vault', 'done', 1],
    ]);
  });

  it('records a failed step while the database is down, and a re-run through the API completes it', async () => {
    const eve = await newCustomer('Eve Hopper', 'eve@old.example');
    await server.halt();
    let item: string;
    try {
      item = await correct(eve.wallet, eve.email, 'eve@new.example');
    } finally {
      await server.resume();
    }
    const paused = await call('GET', `/v1/orgs/bank/rectifications/${item}/steps`);
    expect(paused.body).toMatchObject({ complete: 1, systems: 2, paused: true });
    const [crm, vault] = paused.body.steps as Record<string, unknown>[];
    expect(crm).toMatchObject({
      system: 'crm',
      outcome: 'failed',
      error: 'CONNECTOR_FAILED',
      failures: 1,
      attempts: 3,
    });
    expect(crm!.message).toMatch(/^CONNECTOR_FAILED: crm: cannot reach PostgreSQL/);
    expect(vault).toMatchObject({ outcome: 'done' });
    expect((await customerSees(eve.wallet, item))?.summary).toBe(
      'Corrected in 1 of 2 systems so far; it failed in crm and will be run again',
    );

    await sql.end();
    sql = new pg.Client({ connectionString: server.url('crm') });
    sql.on('error', () => {});
    await sql.connect();
    expect(await emails('Eve Hopper')).toEqual(['eve@old.example', 'eve@old.example']);

    const rerun = await call('POST', `/v1/orgs/bank/rectifications/${item}/run`, {});
    expect(rerun.status).toBe(200);
    expect(rerun.body).toMatchObject({ complete: 2, total: 2 });
    expect(rerun.body.steps).toEqual([
      expect.objectContaining({ system: 'crm', outcome: 'done', rows: 2 }),
      expect.objectContaining({ system: 'vault', outcome: 'skipped' }),
    ]);
    expect(await emails('Eve Hopper')).toEqual(['eve@new.example', 'eve@new.example']);
    const after = await call('GET', `/v1/orgs/bank/rectifications/${item}/steps`);
    expect(after.body).toMatchObject({ complete: 2, paused: false });
    expect((after.body.steps as Record<string, unknown>[])[0]).toMatchObject({ outcome: 'done', failures: 1 });
    expect((await customerSees(eve.wallet, item))?.summary).toBe('Corrected in 2 of 2 systems');
    // Done is final: the ledger refuses a second step for a done system, and one outside the item's systems.
    const again = await api.orgs.submit('bank', 'rectify.step', {
      item,
      system: 'crm',
      outcome: 'done',
      rows: 0,
      digest: '00'.repeat(32),
    });
    expect(again.code).toBe('CONFLICT');
    const billing = await api.orgs.submit('bank', 'rectify.step', {
      item,
      system: 'billing',
      outcome: 'done',
      rows: 0,
      digest: '00'.repeat(32),
    });
    expect(billing.code).toBe('NOT_FOUND');
  });

  it('starts the steps a node stopped between its acknowledgement and its run never started, on resume', async () => {
    const lin = await newCustomer('Lin Hamilton', 'lin@old.example');
    const target = { org: 'bank', record: lin.email };
    const env = await sealCorrection(
      lin.wallet,
      'test',
      await orgHpkeKeyEntry(client, 'bank'),
      target,
      'lin@new.example',
    );
    const sent = await client.submitAndWait(
      customerTx(lin.wallet, 'test', 'bank', 'rectify.send', {
        ...target,
        digest: envelopeDigest(env),
        kid: env.kid,
        jurisdiction: 'GDPR',
      }),
    );
    expect(sent.code).toBe('OK');
    // What the node did before it was killed: the value into the vault, the run noted, the acknowledgement.
    const rec = api.orgs.record('bank', lin.email)!;
    const { commitment } = api.orgs.vaultOf('bank').update(rec.vaultRef, 'lin@new.example');
    api.node.store.db
      .prepare('INSERT INTO rectify_running (org, item, started_at) VALUES (?, ?, ?)')
      .run('bank', sent.txId, Date.now());
    const applied = await api.orgs.submit('bank', 'rectify.apply', {
      item: sent.txId,
      commitment,
      systems: ['crm', 'vault'],
    });
    expect(applied.code).toBe('OK');
    const before = await call('GET', `/v1/orgs/bank/rectifications/${sent.txId}/steps`);
    expect(before.body).toMatchObject({ complete: 0, systems: 2 });
    expect((before.body.steps as { outcome: string }[]).map((x) => x.outcome)).toEqual(['pending', 'pending']);

    // The restarted node's resume pass (on start and every block) starts the run.
    const service = rectifyServiceOf(api.node, api.orgs);
    await service.resume('bank');
    await service.runsSettled();
    const after = await call('GET', `/v1/orgs/bank/rectifications/${sent.txId}/steps`);
    expect(after.body).toMatchObject({ complete: 2, systems: 2, paused: false });
    expect(await emails('Lin Hamilton')).toEqual(['lin@new.example', 'lin@new.example']);
    // Once run, a later pass starts nothing again.
    await service.resume('bank');
    await service.runsSettled();
    const steps = (await call('GET', `/v1/orgs/bank/rectifications/${sent.txId}/steps`)).body.steps as {
      txId: string;
    }[];
    expect(steps.map((x) => x.txId)).toEqual((after.body.steps as { txId: string }[]).map((x) => x.txId));
  });

  it('refuses, as a failed step with its reason, a system keyed by the very category being corrected', async () => {
    // Version 2 of the map adds a mailing system whose rows are found through the customer's email.
    const mailTables = [
      {
        name: 'mailing',
        identity: { field: 'email', kind: 'vault' as const, category: 'pd:EmailAddress' },
        erasure: 'delete' as const,
        fields: [field('reply_to', 'pd:EmailAddress')],
      },
    ];
    const v2 = parseDataMap(
      JSON.stringify({
        ...MAP,
        version: 2,
        systems: [...MAP.systems, { id: 'mail', kind: 'postgres', tables: mailTables }],
      }),
    );
    const mail = new PostgresConnector({ system: 'mail', url: server.url('crm'), tables: mailTables });
    connectors.push(mail);
    api.orgs.setConnectors('bank', [...connectors, new VaultConnector('vault', api.orgs, 'bank')]);
    expect((await api.orgs.submit('bank', 'datamap.publish', publishArgs(v2))).code).toBe('OK');
    const kim = await newCustomer('Kim Noether', 'kim@old.example');
    const item = await correct(kim.wallet, kim.email, 'kim@new.example');
    const steps = await call('GET', `/v1/orgs/bank/rectifications/${item}/steps`);
    expect(steps.body).toMatchObject({ complete: 2, systems: 3, paused: true });
    const failed = (steps.body.steps as Record<string, unknown>[]).find((x) => x.system === 'mail');
    // Not retried (waiting would not help), and not reported as 0 rows done.
    expect(failed).toMatchObject({ outcome: 'failed', error: 'BAD_REQUEST', attempts: 1 });
    expect(failed!.message).toContain('links its rows through the pd:EmailAddress being corrected');
    // The customer's rows in crm were corrected all the same.
    expect(await emails('Kim Noether')).toEqual(['kim@new.example', 'kim@new.example']);
  });

  it('writes a corrected address (a JSON object) whole into a JSONB column and key by key into mapped columns', async () => {
    await sql.query(`
      CREATE TABLE addresses (id serial PRIMARY KEY, custos_subject text NOT NULL, address jsonb, street text, city text);
      CREATE TABLE labels (id serial PRIMARY KEY, custos_subject text NOT NULL, address_line text);
    `);
    const address = (name: string, extra: { json?: true; key?: string } = {}) => ({
      ...field(name, 'pd:PhysicalAddress'),
      ...extra,
    });
    const shopTables = [
      {
        name: 'addresses',
        identity: { field: 'custos_subject', kind: 'pseudonym' as const },
        erasure: 'delete' as const,
        fields: [
          address('address', { json: true }),
          address('street', { key: 'street' }),
          address('city', { key: 'city' }),
        ],
      },
    ];
    const postTables = [
      {
        name: 'labels',
        identity: { field: 'custos_subject', kind: 'pseudonym' as const },
        erasure: 'delete' as const,
        fields: [address('address_line')],
      },
    ];
    // A column cannot be both: the map says json or key.
    expect(() =>
      parseDataMap(
        JSON.stringify({
          ...MAP,
          version: 3,
          systems: [
            {
              id: 'shop',
              kind: 'postgres',
              tables: [{ ...shopTables[0], fields: [address('a', { json: true, key: 'street' })] }],
            },
          ],
        }),
      ),
    ).toThrow(/fields\[0\]\.key: expected json or key, not both/);
    const v3 = parseDataMap(
      JSON.stringify({
        ...MAP,
        version: 3,
        systems: [
          ...MAP.systems,
          { id: 'shop', kind: 'postgres', tables: shopTables },
          { id: 'post', kind: 'postgres', tables: postTables },
        ],
      }),
    );
    const shop = new PostgresConnector({ system: 'shop', url: server.url('crm'), tables: shopTables });
    const post = new PostgresConnector({ system: 'post', url: server.url('crm'), tables: postTables });
    connectors.push(shop, post);
    api.orgs.setConnectors('bank', [...connectors, new VaultConnector('vault', api.orgs, 'bank')]);
    expect((await api.orgs.submit('bank', 'datamap.publish', publishArgs(v3))).code).toBe('OK');

    const ada = await newCustomer('Ada Byron', 'ada@example.org');
    const old = { street: '1 Old Road', city: 'Leeds' };
    const reg = await api.orgs.register('bank', {
      subject: ada.did,
      category: 'pd:PhysicalAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: old,
    });
    expect(reg.code).toBe('OK');
    await sql.query('INSERT INTO addresses (custos_subject, address, street, city) VALUES ($1, $2, $3, $4)', [
      ada.did,
      JSON.stringify(old),
      old.street,
      old.city,
    ]);
    await sql.query('INSERT INTO labels (custos_subject, address_line) VALUES ($1, $2)', [
      ada.did,
      '1 Old Road, Leeds',
    ]);

    const moved = { street: '2 New Street, "Flat 3"', city: 'York' };
    const item = await correct(ada.wallet, reg.recordId!, moved);
    const steps = await call('GET', `/v1/orgs/bank/rectifications/${item}/steps`);
    const bySystem = Object.fromEntries((steps.body.steps as { system: string }[]).map((x) => [x.system, x]));
    expect(bySystem.shop).toMatchObject({ outcome: 'done', rows: 1 });
    expect(bySystem.vault).toMatchObject({ outcome: 'done' });
    // The JSONB column holds the object itself (PostgreSQL reads it back as JSON), each mapped key its column.
    const row = await sql.query('SELECT address, street, city FROM addresses WHERE custos_subject = $1', [ada.did]);
    expect(row.rows).toEqual([{ address: moved, street: moved.street, city: moved.city }]);
    // A plain column: a failed step naming the column and how to map it, without the value; the row is untouched.
    expect(bySystem.post).toMatchObject({ outcome: 'failed', error: 'BAD_REQUEST', attempts: 1 });
    const message = String((bySystem.post as { message?: unknown }).message);
    expect(message).toContain(
      'column public.labels.address_line of post: expected a string, number, true, false or null',
    );
    expect(message).toContain('got a JSON object: map the column with "json": true');
    expect(message).not.toContain('York');
    const label = await sql.query('SELECT address_line FROM labels WHERE custos_subject = $1', [ada.did]);
    expect(label.rows).toEqual([{ address_line: '1 Old Road, Leeds' }]);
  });

  it('refuses a re-run of a correction that is not applied, saying what was expected', async () => {
    const zed = await newCustomer('Zed Turing', 'zed@example.org');
    const flag = await api.node.submitAndWait(
      signTx(
        {
          chainId: api.node.chainId,
          type: 'rectify.flag',
          args: { org: 'bank', record: zed.email, reason: 'outdated', jurisdiction: 'GDPR' },
        },
        zed.wallet.relationship('test', 'bank').signer,
      ),
    );
    expect(flag.code).toBe('OK');
    const r = await call('POST', `/v1/orgs/bank/rectifications/${flag.txId}/run`, {});
    expect(r.status).toBe(400);
    expect(String(r.body.detail)).toContain('expected an applied correction');
  });
});
