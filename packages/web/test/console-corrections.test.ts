/**
 * The console's corrections queue (GDPR Arts. 12(3) and 16) in a real browser against a real node
 * and a real PostgreSQL: the org extends a flag's deadline once with a reason code chosen in words
 * (`rectify.extend`), and the form is gone after; a customer's new email is carried into the bank's
 * systems while the database is down, so the queue shows "Corrected in 1 of 2 systems: paused on a
 * failed step" with the error, and once the database is back "Run the remaining 1 system again"
 * completes it. Screens checked with axe at desktop and phone size, saved as screenshots.
 */
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { signTx } from '@custos/protocol/ledger';
import { CustosClient, type Rectification, sendCorrections, signedBy, Wallet } from '@custos/sdk';
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
let bank: CustosClient;
let token: string;
let browser: Browser;

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.map(
    (v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  expect(bad).toEqual([]);
}

/** A customer of the bank with an email in its CRM and its vault. */
async function customer(email: string) {
  const wallet = Wallet.create();
  wallet.addRelationship(web.node.chainId, 'bank');
  const me = wallet.relationship(web.node.chainId, 'bank');
  await sql.query('INSERT INTO customers (custos_subject, email) VALUES ($1, $2)', [me.did, email]);
  const reg = await web.orgs.register('bank', {
    subject: me.did,
    category: 'pd:EmailAddress',
    purposes: { 'dpv:ServiceProvision': 'contract' },
    source: 'subject',
    retentionDays: 365,
    value: email,
  });
  expect(reg.code).toBe('OK');
  return { wallet, me, record: reg.recordId };
}

async function crmEmail(did: string): Promise<string> {
  return (await sql.query('SELECT email FROM customers WHERE custos_subject = $1', [did])).rows[0]?.email;
}

async function openQueue(p: Page) {
  await p.goto(`${web.url}/console/bank/corrections#token=${token}`);
  const queue = p.getByTestId('console-corrections');
  await queue.waitFor({ timeout: 30_000 });
  return queue;
}

describe.skipIf(!enabled)('the corrections queue: deadline extension and the org systems', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    web = await startWebNode();
    server = await PostgresServer.start();
    const url = await server.createDatabase('crm');
    sql = new pg.Client({ connectionString: url });
    sql.on('error', () => {});
    await sql.connect();
    await sql.query('CREATE TABLE customers (id serial PRIMARY KEY, custos_subject text, email text)');
    crm = new PostgresConnector({ system: 'crm', url, tables: map.systems[0]!.tables!, connectTimeoutMs: 2000 });
    web.orgs.setConnectors('bank', [crm, new VaultConnector('vault', web.orgs, 'bank')]);
    expect((await web.orgs.submit('bank', 'datamap.publish', publishArgs(map))).code).toBe('OK');
    bank = new CustosClient({ baseUrl: web.url, sign: signedBy(web.fx.orgs.bank!) });
    expect((await bank.rotateHpkeKey('bank')).code).toBe('OK');
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

  it("extends a flag's deadline once, for a reason chosen in words", async () => {
    const bob = await customer('bob@example.org');
    const flag = await web.node.submitAndWait(
      signTx(
        {
          chainId: web.node.chainId,
          type: 'rectify.flag',
          args: { org: 'bank', record: bob.record, reason: 'incomplete', jurisdiction: 'GDPR' },
        },
        bob.me.signer,
      ),
    );
    expect(flag.code).toBe('OK');
    const before = (await bank.rectifications('bank')).items.find((r) => r.id === flag.txId)!;

    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    const queue = await openQueue(p);
    const item = queue.getByRole('listitem').filter({ hasText: 'Flagged as incomplete' });
    await item.getByText(/Due by .* days left/).waitFor({ timeout: 30_000 });
    await p.screenshot({ path: join(SHOTS, 'console-corrections-extend-desktop.png'), fullPage: true });
    await checkA11y(p, 'corrections queue, extend form');
    await item
      .getByLabel('Need more time? Extend the deadline because')
      .selectOption({ label: 'They received many requests (GDPR Art. 12(3))' });
    await item.getByRole('button', { name: 'Extend deadline' }).click();
    await p
      .getByText('Deadline extended once: the customer sees the new date and your reason.')
      .waitFor({ timeout: 30_000 });
    await item.getByText('Extended: they received many requests (GDPR Art. 12(3))').waitFor({ timeout: 30_000 });
    // Once only: the form is gone.
    await expect.poll(() => item.getByRole('button', { name: 'Extend deadline' }).count()).toBe(0);
    const after = (await bank.rectifications('bank')).items.find((r) => r.id === flag.txId)! as Rectification;
    expect(after).toMatchObject({
      status: 'pending',
      extensionReason: 'number-of-requests',
      originalDeadline: before.deadline,
    });
    // GDPR Art. 12(3): two further months, three from receipt.
    expect(after.deadline).toBeGreaterThan(before.deadline + 55 * 86_400_000);

    await p.setViewportSize(PHONE);
    await p.screenshot({ path: join(SHOTS, 'console-corrections-extend-phone.png'), fullPage: true });
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await checkA11y(p, 'corrections queue, extended (phone)');
    await ctx.close();
  });

  it("shows a correction's step in each system, paused on the database, and runs the failed one again", async () => {
    const ada = await customer('ada@old.example');
    await sql.end();
    await server.halt();
    let sent: Awaited<ReturnType<typeof sendCorrections>>;
    try {
      sent = await sendCorrections(new CustosClient({ baseUrl: web.url }), ada.wallet, {
        chainId: web.node.chainId,
        targets: [{ org: 'bank', record: ada.record }],
        value: 'ada@new.example',
        jurisdiction: 'GDPR',
      });
      expect(sent[0]!.applied).toMatchObject({ code: 'OK' });
      // The node runs the steps after answering the delivery: crm fails (retried), the vault is done.
      const item = sent[0]!.item!;
      await expect
        .poll(
          async () => {
            const s = await bank.correctionSteps('bank', item);
            return s.paused && s.complete === 1;
          },
          { timeout: 30_000 },
        )
        .toBe(true);
      const ctx = await browser.newContext({ viewport: DESKTOP });
      const p = await ctx.newPage();
      const queue = await openQueue(p);
      const steps = queue.getByTestId('correction-steps');
      await steps.getByText('Corrected in 1 of 2 systems: paused on a failed step').waitFor({ timeout: 30_000 });
      await steps.getByText('Failed: CONNECTOR_FAILED (1 run, 3 attempts)').waitFor();
      await steps.getByText(/^CONNECTOR_FAILED: crm: cannot reach PostgreSQL/).waitFor();
      await steps.getByText('Corrected 1 row on', { exact: false }).waitFor();
      await p.screenshot({ path: join(SHOTS, 'console-corrections-steps-paused-desktop.png'), fullPage: true });
      await checkA11y(p, 'corrections queue, paused step');

      const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
      const pp = await phone.newPage();
      await (await openQueue(pp))
        .getByText('Corrected in 1 of 2 systems: paused on a failed step')
        .waitFor({ timeout: 30_000 });
      await pp.screenshot({ path: join(SHOTS, 'console-corrections-steps-paused-phone.png'), fullPage: true });
      const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await checkA11y(pp, 'corrections queue, paused step (phone)');
      await phone.close();

      await server.resume();
      sql = new pg.Client({ connectionString: server.url('crm') });
      sql.on('error', () => {});
      await sql.connect();
      expect(await crmEmail(ada.me.did)).toBe('ada@old.example');
      await steps.getByRole('button', { name: 'Run the remaining 1 system again' }).click();
      await p.getByText('Run again: corrected in every system.').waitFor({ timeout: 30_000 });
      await steps.getByText('Corrected in 2 of 2 systems').waitFor({ timeout: 30_000 });
      expect(await crmEmail(ada.me.did)).toBe('ada@new.example');
      const s = await bank.correctionSteps('bank', item);
      expect(s.steps.map((x) => [x.system, x.outcome, x.rows, x.failures])).toEqual([
        ['crm', 'done', 1, 1],
        ['vault', 'done', 1, 0],
      ]);
      await p.screenshot({ path: join(SHOTS, 'console-corrections-steps-done-desktop.png'), fullPage: true });
      await checkA11y(p, 'corrections queue, corrected everywhere');
      await ctx.close();
    } finally {
      await server.resume().catch(() => {});
    }
  });
});
