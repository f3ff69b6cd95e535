/**
 * The demo bank's own systems (issue 16, point 6): where PostgreSQL is installed, `custos demo`
 * starts a server on 127.0.0.1 (its cluster in `<home>/demo-postgres`, kept across runs, stopped
 * with the demo), keeps the bank's customers in two databases, a CRM (`bank_crm.customers`) and a
 * marketing tool (`bank_marketing.subscribers`, `campaign_clicks`), each row linked to the
 * customer by their pairwise pseudonym towards the bank, publishes the data map that covers them
 * (with the vault), configures the bank's connectors and runs its retention schedule. A customer's
 * erasure request then runs in all three systems with proof on the ledger. Every value is fake.
 *
 * The server's password is derived from the home's passphrase (HMAC-SHA256), so it is never
 * written anywhere and the same home opens the same cluster again.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { didFromPublicKey } from '@custos/protocol/crypto';
import pg from 'pg';
import type { Connector } from '../connectors/connector.js';
import { type DataMap, dataMapDigest, parseDataMap, publishArgs } from '../connectors/datamap.js';
import { PostgresConnector } from '../connectors/postgres.js';
import { findPostgresBinaries, POSTGRES_HINT, PostgresServer } from '../connectors/postgres-server.js';
import { type RetentionScheduler, startRetentionSchedule } from '../connectors/retention.js';
import { VaultConnector } from '../connectors/vault-connector.js';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { cliCommand } from '../invocation.js';
import type { OrgService } from '../orgs/org-service.js';
import type { DemoSummary } from './customers.js';

export const DEMO_POSTGRES_DIR = 'demo-postgres';
export const DEMO_BANK_DATAMAP_FILE = 'demo-datamap-bank.json';
/** The demo runs the bank's retention schedule every minute (a node's default is no schedule). */
export const DEMO_RETENTION_INTERVAL_MS = 60_000;
const DAY = 86_400_000;

const CRM_DB = 'bank_crm';
const MARKETING_DB = 'bank_marketing';

/** The bank's data map: its CRM, its marketing tool, and its Custos vault. */
export const BANK_DATAMAP: DataMap = {
  custosDataMap: 1,
  org: 'bank',
  version: 1,
  description: 'Demo Bank: where customer data lives',
  systems: [
    {
      id: 'crm',
      kind: 'postgres',
      description: 'Customer relationship management (PostgreSQL database bank_crm)',
      tables: [
        {
          name: 'customers',
          identity: { field: 'custos_subject', kind: 'pseudonym' },
          erasure: 'delete',
          timestampField: 'created_at',
          fields: [
            { name: 'full_name', category: 'pd:Name', purposes: ['dpv:AccountManagement'], retentionDays: 3650 },
            { name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:AccountManagement'], retentionDays: 3650 },
            { name: 'phone', category: 'pd:TelephoneNumber', purposes: ['dpv:AccountManagement'], retentionDays: 3650 },
          ],
        },
      ],
    },
    {
      id: 'marketing',
      kind: 'postgres',
      description: 'Newsletter and campaigns (PostgreSQL database bank_marketing)',
      tables: [
        {
          name: 'subscribers',
          identity: { field: 'custos_subject', kind: 'pseudonym' },
          erasure: 'delete',
          timestampField: 'subscribed_at',
          fields: [
            { name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:Marketing'], retentionDays: 730 },
            { name: 'segment', category: 'pd:Preference', purposes: ['dpv:Marketing'], retentionDays: 730 },
          ],
        },
        {
          name: 'campaign_clicks',
          identity: { field: 'custos_subject', kind: 'pseudonym' },
          erasure: 'delete',
          timestampField: 'clicked_at',
          fields: [{ name: 'ip_address', category: 'pd:IPAddress', purposes: ['dpv:Marketing'], retentionDays: 90 }],
        },
      ],
    },
    { id: 'vault', kind: 'vault', description: 'The Custos vault (encrypted values, crypto-shredding)' },
  ],
};

const SCHEMA: Record<string, string> = {
  [CRM_DB]: `CREATE TABLE customers (
      id serial PRIMARY KEY,
      custos_subject text NOT NULL,
      created_at timestamptz NOT NULL,
      full_name text, email text, phone text);
    CREATE INDEX customers_subject ON customers (custos_subject);`,
  [MARKETING_DB]: `CREATE TABLE subscribers (
      id serial PRIMARY KEY,
      custos_subject text NOT NULL,
      subscribed_at timestamptz NOT NULL,
      email text, segment text);
    CREATE INDEX subscribers_subject ON subscribers (custos_subject);
    CREATE TABLE campaign_clicks (
      id serial PRIMARY KEY,
      custos_subject text NOT NULL,
      clicked_at timestamptz NOT NULL,
      campaign text NOT NULL,
      ip_address text);
    CREATE INDEX campaign_clicks_subject ON campaign_clicks (custos_subject);`,
};

/** One bank customer's rows (fake values); ages in days before the load. */
interface BankCustomer {
  did: string;
  name: string;
  email: string;
  phone: string;
  customerFor: number;
  subscribedFor?: number;
  segment?: string;
  clicks: { daysAgo: number; campaign: string; ip: string }[];
}

/** A pseudonym of a bank customer who does not use Custos: a fresh did:key nobody holds a wallet for. */
function strangerDid(): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return didFromPublicKey(new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')));
}

/** The bank's customers: the demo customers it deals with (by their pseudonyms) and two who are not on Custos. */
function bankCustomers(summary: DemoSummary): BankCustomer[] {
  const didOf = (id: string) =>
    summary.customers.find((c) => c.id === id)?.relationships.find((r) => r.org === 'bank')?.did;
  const ada = didOf('ada');
  const grace = didOf('grace');
  if (ada === undefined || grace === undefined) {
    throw new NodeError('INTERNAL', 'demo: expected Ada and Grace to be customers of the bank');
  }
  return [
    {
      did: ada,
      name: 'Ada Example',
      email: 'ada.example@example.org',
      phone: '+44 20 7946 0101',
      customerFor: 420,
      subscribedFor: 200,
      segment: 'savers',
      // The older click is past its 90 days: the first retention run erases it.
      clicks: [
        { daysAgo: 12, campaign: 'spring-savings', ip: '192.0.2.10' },
        { daysAgo: 150, campaign: 'winter-mortgage', ip: '192.0.2.11' },
      ],
    },
    {
      did: grace,
      name: 'Grace Sample',
      email: 'grace@example.org',
      phone: '+44 20 7946 0102',
      customerFor: 1200,
      subscribedFor: 100,
      segment: 'young-professionals',
      clicks: [{ daysAgo: 20, campaign: 'spring-savings', ip: '198.51.100.7' }],
    },
    {
      did: strangerDid(),
      name: 'Edsger Sample',
      email: 'edsger@example.org',
      phone: '+44 20 7946 0103',
      customerFor: 2000,
      // Subscribed 800 days ago: past the 730 days the map keeps subscriptions.
      subscribedFor: 800,
      segment: 'retirees',
      clicks: [{ daysAgo: 300, campaign: 'autumn-isa', ip: '203.0.113.5' }],
    },
    {
      did: strangerDid(),
      name: 'Barbara Placeholder',
      email: 'barbara@example.org',
      phone: '+44 20 7946 0104',
      customerFor: 30,
      clicks: [{ daysAgo: 5, campaign: 'spring-savings', ip: '203.0.113.9' }],
    },
  ];
}

async function withClient(url: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates the tables and inserts the rows, one transaction per database. */
async function seed(urls: Record<string, string>, customers: BankCustomer[], now: number): Promise<number> {
  const at = (days: number) => new Date(now - days * DAY).toISOString();
  let rows = 0;
  await withClient(urls.crm!, async (c) => {
    await c.query('BEGIN');
    await c.query(SCHEMA[CRM_DB]!);
    for (const p of customers) {
      await c.query(
        'INSERT INTO customers (custos_subject, created_at, full_name, email, phone) VALUES ($1, $2, $3, $4, $5)',
        [p.did, at(p.customerFor), p.name, p.email, p.phone],
      );
      rows++;
    }
    await c.query('COMMIT');
  });
  await withClient(urls.marketing!, async (c) => {
    await c.query('BEGIN');
    await c.query(SCHEMA[MARKETING_DB]!);
    for (const p of customers) {
      if (p.subscribedFor !== undefined) {
        await c.query(
          'INSERT INTO subscribers (custos_subject, subscribed_at, email, segment) VALUES ($1, $2, $3, $4)',
          [p.did, at(p.subscribedFor), p.email, p.segment ?? null],
        );
        rows++;
      }
      for (const k of p.clicks) {
        await c.query(
          'INSERT INTO campaign_clicks (custos_subject, clicked_at, campaign, ip_address) VALUES ($1, $2, $3, $4)',
          [p.did, at(k.daysAgo), k.campaign, k.ip],
        );
        rows++;
      }
    }
    await c.query('COMMIT');
  });
  return rows;
}

/** The bank's connectors: PostgreSQL for the CRM and the marketing tool, and its vault. */
function bankConnectors(orgs: OrgService, map: DataMap, urls: Record<string, string>): Connector[] {
  return map.systems.map((s) =>
    s.kind === 'vault'
      ? new VaultConnector(s.id, orgs, 'bank')
      : new PostgresConnector({
          system: s.id,
          url: urls[s.id]!,
          tables: s.tables ?? [],
          connectTimeoutMs: 5_000,
          statementTimeoutMs: 20_000,
        }),
  );
}

/** The password of the demo's PostgreSQL cluster: derived from the home's passphrase, never stored. */
export function demoPostgresPassword(passphrase: string): string {
  return createHmac('sha256', passphrase).update('custos demo postgres v1').digest('base64url');
}

export interface DemoBankSystems {
  server: PostgresServer;
  databases: string[];
  systems: string[];
  /** Rows loaded on this start (0 when the cluster was reused). */
  rowsLoaded: number;
  dataMapDigest: string;
  retention: RetentionScheduler;
  /** Stops the PostgreSQL server (after the peer closed its connectors). */
  stop(): Promise<void>;
}

export type DemoBankSystemsResult =
  | { systems: DemoBankSystems; note?: undefined }
  | { systems?: undefined; note: string };

/**
 * Sets up the bank's systems for a demo start: on a chain whose customers were just loaded
 * (`loaded`), a new cluster with the rows and the data map published; on a later start of the same
 * home, the same cluster again. Without PostgreSQL, or on a chain made without it, answers a note
 * for the banner and the demo stays vault-only.
 */
export async function startDemoBankSystems(opts: {
  home: string;
  passphrase: string;
  orgs: OrgService;
  loaded: DemoSummary | null;
  log?: (event: Record<string, unknown>) => void;
}): Promise<DemoBankSystemsResult> {
  const bin = findPostgresBinaries();
  if (bin === undefined) {
    return {
      note: `PostgreSQL is not installed, so the bank keeps its customers in the Custos vault only; to see them in PostgreSQL too, ${POSTGRES_HINT} and start the demo with a new CUSTOS_HOME.`,
    };
  }
  const dir = join(opts.home, DEMO_POSTGRES_DIR);
  const mapFile = join(opts.home, DEMO_BANK_DATAMAP_FILE);
  if (opts.loaded === null && !existsSync(mapFile)) {
    return {
      note: "This demo chain was made without PostgreSQL: the bank's customers are in the vault only (start with a new CUSTOS_HOME to see them in PostgreSQL too).",
    };
  }
  // A cluster left by a load that did not finish belongs to no chain: start it again from nothing.
  if (opts.loaded !== null) rmSync(dir, { recursive: true, force: true });
  const server = await PostgresServer.start({ dir, password: demoPostgresPassword(opts.passphrase), bin });
  try {
    const urls = {
      crm: await server.createDatabase(CRM_DB),
      marketing: await server.createDatabase(MARKETING_DB),
    };
    let map = BANK_DATAMAP;
    let rowsLoaded = 0;
    if (opts.loaded !== null) {
      rowsLoaded = await seed(urls, bankCustomers(opts.loaded), Date.now());
      const r = await opts.orgs.submit('bank', 'datamap.publish', publishArgs(map));
      if (r.code !== 'OK') throw new NodeError('INTERNAL', `demo: datamap.publish ended ${r.code}`);
      // Written last: its presence says the cluster and the ledger agree.
      writeFileSync(mapFile, `${JSON.stringify(map, null, 2)}\n`);
    } else {
      map = parseDataMap(
        readBoundedFile(mapFile, { what: 'the demo data map', maxBytes: 1024 * 1024 }).toString('utf8'),
      );
    }
    opts.orgs.setConnectors('bank', bankConnectors(opts.orgs, map, urls));
    const retention = startRetentionSchedule(opts.orgs, 'bank', DEMO_RETENTION_INTERVAL_MS, opts.log);
    return {
      systems: {
        server,
        databases: [CRM_DB, MARKETING_DB],
        systems: map.systems.map((s) => s.id),
        rowsLoaded,
        dataMapDigest: dataMapDigest(map),
        retention,
        stop: () => server.stop(),
      },
    };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/** Lines for the `custos demo` banner: where the bank's systems run and how to see a request run across them. */
export function demoBankSystemLines(s: DemoBankSystems, flags: string): string[] {
  return [
    `The bank keeps its customers in PostgreSQL too (databases ${s.databases.join(' and ')} on 127.0.0.1:${s.server.port}, stopped with the demo)${s.rowsLoaded > 0 ? `: ${s.rowsLoaded} rows loaded` : ''}.`,
    `  Its data map (systems ${s.systems.join(', ')}) is on the ledger; retention runs in its systems every ${Math.round(s.retention.intervalMs / 60_000)} minute(s).`,
    `  Ask for erasure as Ada in the portal, then run it as the bank: ${cliCommand(`org requests --org bank${flags}`)}, ${cliCommand(`org request execute <id> --org bank${flags}`)}`,
  ];
}
