/**
 * The console's requests queue with the org's own systems (issue 16, point 4), in a real browser
 * against a real node and a real PostgreSQL: an erasure run while the database is down pauses on its
 * failed step (error code and attempts shown, the request flagged), and once the database is back
 * "Re-run from crm" completes it; another erasure keeps crm under a legal exception chosen in words,
 * then completes. Screens checked with axe at desktop and phone size, saved as screenshots.
 */
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { signTx } from '@custos/protocol/ledger';
import { CustosClient, signedBy } from '@custos/sdk';
import { userSigner } from '@custos/test-utils/node';
import {
  needsPostgres,
  PostgresConnector,
  PostgresServer,
  parseDataMap,
  publishArgs,
  VaultConnector,
} from '@custos/test-utils/postgres';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const enabled = needsChromium(import.meta.url) && needsPostgres(import.meta.url);

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
  }),
);

let web: Awaited<ReturnType<typeof startWebNode>>;
let server: PostgresServer;
let sql: pg.Client;
let crm: PostgresConnector;
let token: string;
let browser: Browser;

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.map(
    (v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  expect(bad).toEqual([]);
}

async function customerWithErasure(): Promise<{ signer: Signer; did: string; request: string }> {
  const signer = userSigner();
  const did = didFromPublicKey(signer.publicKey);
  await sql.query('INSERT INTO customers (custos_subject, email) VALUES ($1, $2), ($1, $3)', [
    did,
    'one@example.org',
    'two@example.org',
  ]);
  const reg = await web.orgs.register('bank', {
    subject: did,
    category: 'pd:EmailAddress',
    purposes: { 'dpv:ServiceProvision': 'contract' },
    source: 'subject',
    retentionDays: 365,
    value: 'one@example.org',
  });
  expect(reg.code).toBe('OK');
  const open = await web.node.submitAndWait(
    signTx(
      { chainId: web.node.chainId, type: 'request.open', args: { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' } },
      signer,
    ),
  );
  expect(open.code).toBe('OK');
  return { signer, did, request: open.txId };
}

async function openQueue(p: Page) {
  await p.goto(`${web.url}/console/bank/requests#token=${token}`);
  const queue = p.getByRole('region', { name: 'Open requests, soonest deadline first' });
  await queue
    .getByText(/Complete in/)
    .first()
    .waitFor({ timeout: 30_000 });
  return queue;
}

describe.skipIf(!enabled)('the requests queue with the org systems', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    web = await startWebNode();
    server = await PostgresServer.start();
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE crm');
    await admin.end();
    sql = new pg.Client({ connectionString: server.url('crm') });
    sql.on('error', () => {});
    await sql.connect();
    await sql.query('CREATE TABLE customers (id serial PRIMARY KEY, custos_subject text, email text)');
    crm = new PostgresConnector({
      system: 'crm',
      url: server.url('crm'),
      tables: map.systems[0]!.tables!,
      connectTimeoutMs: 2000,
    });
    web.orgs.setConnectors('bank', [crm, new VaultConnector('vault', web.orgs, 'bank')]);
    expect((await web.orgs.submit('bank', 'datamap.publish', publishArgs(map))).code).toBe('OK');
    const bank = new CustosClient({ baseUrl: web.url, sign: signedBy(web.fx.orgs.bank!) });
    token = (await bank.createToken('bank', { scopes: ['read', 'write'], label: 'console' })).token;
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await crm?.close();
    await sql?.end().catch(() => {});
    await server?.stop();
    await web?.close();
  });

  it('pauses on the failed system, shows it, and re-runs from it once the database is back', async () => {
    const ada = await customerWithErasure();
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    const queue = await openQueue(p);
    await queue.getByText('Complete in 0 of 2 systems').waitFor();
    await sql.end();
    await server.halt();
    await queue.getByRole('button', { name: 'Run in every system' }).click();
    await p
      .getByText(/Paused at crm after 3 attempts: CONNECTOR_FAILED: crm: cannot reach PostgreSQL/)
      .waitFor({ timeout: 30_000 });
    await queue.getByText('Failed: CONNECTOR_FAILED (1 run, 3 attempts)').waitFor({ timeout: 15_000 });
    await queue.getByText('Paused on a failed step').waitFor();
    await queue.getByRole('button', { name: 'Re-run from crm' }).waitFor();
    await p.screenshot({ path: join(SHOTS, 'console-steps-paused-desktop.png'), fullPage: true });
    await checkA11y(p, 'requests queue, paused');

    const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    const pp = await phone.newPage();
    const phoneQueue = await openQueue(pp);
    await phoneQueue.getByText('Failed: CONNECTOR_FAILED (1 run, 3 attempts)').waitFor();
    // A fresh page still reads the failure's message, kept by the node (the ledger holds its code).
    await phoneQueue.getByText(/^CONNECTOR_FAILED: crm: cannot reach PostgreSQL/).waitFor();
    await pp.screenshot({ path: join(SHOTS, 'console-steps-paused-phone.png'), fullPage: true });
    const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await checkA11y(pp, 'requests queue, paused (phone)');
    await phone.close();

    await server.resume();
    sql = new pg.Client({ connectionString: server.url('crm') });
    sql.on('error', () => {});
    await sql.connect();
    await queue.getByRole('button', { name: 'Re-run from crm' }).click();
    await p.getByText('Fulfilled: complete in 2 of 2 systems.').waitFor({ timeout: 30_000 });
    expect((await sql.query('SELECT 1 FROM customers WHERE custos_subject = $1', [ada.did])).rowCount).toBe(0);
    expect(web.orgs.requestStep('bank', ada.request, 'crm')).toMatchObject({ outcome: 'done', rows: 2, failures: 1 });
    expect(web.orgs.request('bank', ada.request)!.status).toBe('fulfilled');
    await ctx.close();
  });

  it('keeps crm under a legal exception chosen in words, then completes the request', async () => {
    const bob = await customerWithErasure();
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    const queue = await openQueue(p);
    await queue.getByRole('button', { name: 'Record a legal exception' }).click();
    const dialog = p.getByRole('dialog', { name: 'Keep the data in one system under a legal exception' });
    await dialog.getByLabel('System').selectOption('crm');
    await dialog.getByLabel('Legal exception (GDPR)').selectOption({ label: 'legal claims (GDPR Art. 17(3)(e))' });
    await p.screenshot({ path: join(SHOTS, 'console-steps-exception-desktop.png'), fullPage: true });
    await checkA11y(p, 'legal exception dialog');
    await dialog.getByRole('button', { name: 'Record the exception' }).click();
    await p.getByText('Recorded: system crm keeps the data under a legal exception.').waitFor({ timeout: 15_000 });
    await queue.getByText('Kept: legal claims (GDPR Art. 17(3)(e))').waitFor({ timeout: 15_000 });
    expect(web.orgs.requestStep('bank', bob.request, 'crm')).toMatchObject({
      outcome: 'exception',
      exception: 'gdpr-17-3-e',
    });
    await queue.getByRole('button', { name: 'Re-run from vault' }).click();
    await p.getByText('Fulfilled: complete in 2 of 2 systems.').waitFor({ timeout: 30_000 });
    // Kept under the exception: the rows are still there.
    expect((await sql.query('SELECT 1 FROM customers WHERE custos_subject = $1', [bob.did])).rowCount).toBe(2);
    expect(web.orgs.request('bank', bob.request)!.status).toBe('fulfilled');
    await ctx.close();
  });
});
