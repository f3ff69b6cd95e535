/**
 * Copies follow the original in a real browser (GDPR Art. 19): the bank shares a customer's email
 * with the insurer and the shop, then erases it at the customer's request. The portal sends an
 * erasure at the shop under the pseudonym the shop's copy sits under too; the insurer's console
 * lists its copy to erase with the due date and erases it; a month and more later (the node's clock
 * moved on) the shop's console shows its copy overdue, the bank's which recipients complied, and the
 * customer's portal "erased at 1 of 2", the shop's marked overdue. Screens checked with axe-core at
 * desktop and phone size, saved under test-results/screenshots/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { exportWallet, Wallet } from '@custos/protocol/wallet';
import { CustosClient, customerTx, signedBy } from '@custos/sdk';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PASSPHRASE = 'correct horse battery staple';
const DAY = 86_400_000;

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let base: string;
let browser: Browser;
let desk: BrowserContext;
let page: Page;
let offset = 0;
const now = () => Date.now() + offset;
const wallet = Wallet.create();
const bankDid = wallet.relationship('example', 'bank').did;
const orgClient = (org: string) => new CustosClient({ baseUrl: base, sign: signedBy(web!.fx.orgs[org]!) });
const tokens: Record<string, string> = {};
let backupFile: string;

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Desktop and phone screenshots and an axe check of the page as it is. */
async function bothSizes(p: Page, name: string): Promise<void> {
  await shot(p, `${name}-desktop`);
  await checkA11y(p, `${name} (desktop)`);
  await p.setViewportSize(PHONE);
  await shot(p, `${name}-phone`);
  await checkA11y(p, `${name} (phone)`);
  await p.setViewportSize(DESKTOP);
}

/** A transaction the customer signs with the wallet's pseudonym towards the bank, dated on the node's clock. */
async function asCustomer(type: string, args: Record<string, unknown>) {
  const r = await orgClient('bank').submitAndWait(
    customerTx(wallet, 'example', 'bank', type, args as never, { now: now() }),
  );
  expect(r.code).toBe('OK');
  return r;
}

async function openConsole(org: string, name: RegExp): Promise<void> {
  await page.goto(`${base}/console#token=${tokens[org]}`);
  await page.getByRole('link', { name }).first().click();
  await page.getByRole('link', { name: 'Copies', exact: true }).first().click();
}

describe.skipIf(!needsChromium(import.meta.url))('copies follow the original', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode({ now });
    base = web.url;
    for (const org of ['bank', 'insurer', 'retailer']) {
      tokens[org] = (await orgClient(org).createToken(org, { scopes: ['read', 'write'], label: 'console' })).token;
    }
    backupFile = join(web.tmp.dir, 'backup.json');
    writeFileSync(backupFile, JSON.stringify(await exportWallet(wallet, PASSPHRASE, { scryptN: 2 ** 10 })));
    // The customer lets the bank share their email; the bank shares it with the insurer and the shop,
    // which register their copies.
    await asCustomer('consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: Date.now() + 365 * DAY,
      jurisdiction: 'GDPR',
      notice: 'ab'.repeat(32),
      share: true,
    });
    const bank = orgClient('bank');
    const reg = await bank.registerRecord('bank', {
      subject: bankDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      source: 'subject',
      retentionDays: 365,
      value: { email: 'ada@example.org' },
    });
    expect(reg.code).toBe('OK');
    for (const org of ['insurer', 'retailer']) {
      expect(
        (await bank.shareRecord('bank', reg.recordId, { recipient: org, purpose: 'dpv:Marketing', sale: false })).code,
      ).toBe('OK');
      const copy = await orgClient(org).registerRecord(org, {
        subject: bankDid,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:Marketing': 'consent' },
        source: 'third-party',
        retentionDays: 365,
        value: { email: 'ada@example.org' },
        sourceRecord: { org: 'bank', id: reg.recordId },
      });
      expect(copy.code).toBe('OK');
    }
    // The customer asks the bank to erase; the bank erases: each copy must follow within a month.
    await asCustomer('request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' });
    expect((await bank.erase('bank', { subject: bankDid, reason: 'request' })).results.map((r) => r.code)).toEqual([
      'OK',
    ]);
    browser = await launchChromium();
    desk = await browser.newContext({ viewport: DESKTOP });
    page = await desk.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('the portal sends an erasure at the shop under the pseudonym its copy sits under too', async () => {
    await page.goto(`${base}/portal`);
    const restore = page.getByRole('region', { name: 'Restore your wallet' });
    await restore.getByLabel('Backup file').setInputFiles(backupFile);
    await restore.getByLabel('Passphrase').fill(PASSPHRASE);
    await restore.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page
      .getByRole('link', { name: /^(Manage )?Example Shop$/ })
      .first()
      .click();
    await page.getByRole('heading', { level: 1, name: 'Example Shop' }).waitFor();
    await page.getByRole('button', { name: 'Erase my data' }).click();
    await page
      .getByRole('dialog', { name: 'Ask Example Shop to erase your data?' })
      .getByRole('button', { name: 'Ask for erasure' })
      .click();
    await page
      .getByText('It reaches the copy Example Shop received from Example Bank too.', { exact: false })
      .waitFor({ timeout: 20_000 });
    // The shop's queue holds the request signed with the pseudonym its copy sits under.
    const queue = (await orgClient('retailer').orgRequests('retailer')).requests;
    expect(queue.filter((r) => r.kind === 'erase').map((r) => r.subject)).toContain(bankDid);
  });

  it("the insurer's console lists its copy to erase with the due date, and erases it", async () => {
    await openConsole('insurer', /Example Insurance/);
    const held = page.getByRole('region', { name: 'Copies you must act on' });
    await held.getByText(/Erase the copy of email address from bank/i).waitFor({ timeout: 15_000 });
    await held.getByText(/^Due .*\d{4}$/).waitFor();
    await held.getByText('1 copy pending, 0 overdue.', { exact: false }).waitFor();
    await bothSizes(page, 'console-copies-due');
    await held.getByRole('button', { name: 'Erase the copy' }).click();
    await page.getByText('Copy erased: its keys are destroyed and the erasure is on the ledger.').waitFor({
      timeout: 15_000,
    });
    await held.getByText(/^Done .*\d{4}$/).waitFor({ timeout: 15_000 });
  });

  it("a month and more later: the shop's copy is overdue in its console, and the bank sees who complied", async () => {
    offset = 40 * DAY;
    // A block dated on the moved clock: the customer's opt-out of sale at the bank.
    await asCustomer('optout.set', { org: 'bank', kinds: ['sale'] });
    await openConsole('retailer', /Example Shop/);
    const held = page.getByRole('region', { name: 'Copies you must act on' });
    await held.getByText(/^Overdue: was due .*\d{4}$/).waitFor({ timeout: 15_000 });
    await held.getByLabel('Only overdue').check();
    await held.getByText('1 copy pending, 1 overdue.', { exact: false }).waitFor();
    await held.getByText(/Erase the copy of email address from bank/i).waitFor();
    await bothSizes(page, 'console-copies-overdue');

    await openConsole('bank', /Example Bank/);
    const recipients = page.getByRole('region', { name: 'Your recipients' });
    const shop = recipients.getByRole('row', { name: /retailer/ });
    await shop.getByText('1 overdue').waitFor({ timeout: 15_000 });
    await expect(recipients.getByRole('row', { name: /insurer/ }).textContent()).resolves.not.toContain('overdue');
    await bothSizes(page, 'console-copies-recipients');
  });

  it("the customer's portal shows the erasure at 1 of 2 recipients, the shop's copy overdue", async () => {
    await page.goto(`${base}/portal`);
    await page.getByRole('heading', { name: 'Unlock your wallet' }).waitFor();
    await page.getByLabel('Passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page
      .getByRole('link', { name: /^(Manage )?Example Bank$/ })
      .first()
      .click();
    const copies = page.getByTestId('copies-of-erasure');
    await copies
      .getByText('Copies: erased at 1 of 2 companies Example Bank shared your data with')
      .waitFor({ timeout: 20_000 });
    await copies.getByText('1 overdue', { exact: true }).waitFor();
    await copies
      .getByRole('listitem')
      .filter({ hasText: 'Example Insurance' })
      .getByText(/^Erased on /)
      .waitFor();
    await copies
      .getByRole('listitem')
      .filter({ hasText: 'Example Shop' })
      .getByText(/^Overdue: was due /)
      .waitFor();
    await copies.scrollIntoViewIfNeeded();
    await bothSizes(page, 'portal-copies-erasure');
  });
});
