/**
 * Automated decisions and procedure in a real browser: the customer sees which decisions a company
 * takes by machine and asks a person to review one (GDPR Art. 22(3)); the company's console confirms
 * receipt of a CCPA request (regulations 7021) and records the review's outcome; the portal shows
 * both, and where to complain under a refusal. Screens checked with axe-core at desktop and phone
 * size, saved under test-results/screenshots/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { CustosClient, signedBy } from '@custos/sdk';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PASSPHRASE = 'correct horse battery staple';

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let base: string;
let insurer: CustosClient;
let consoleToken: string;
let browser: Browser;
let desk: BrowserContext;
let page: Page;
let did: string;

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

describe.skipIf(!needsChromium(import.meta.url))('automated decisions and procedure', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    base = web.url;
    insurer = new CustosClient({ baseUrl: base, sign: signedBy(web.fx.orgs.insurer!) });
    consoleToken = (await insurer.createToken('insurer', { scopes: ['read', 'write'], label: 'console' })).token;
    browser = await launchChromium();
    desk = await browser.newContext({ viewport: DESKTOP });
    page = await desk.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('shows a decision taken by machine, and the customer asks a person to review it', async () => {
    await page.goto(`${base}/portal`);
    const create = page.getByRole('region', { name: 'New here? Create your wallet' });
    await create.getByLabel('Passphrase').fill(PASSPHRASE);
    await create.getByLabel('Type it again').fill(PASSPHRASE);
    await create.getByRole('button', { name: 'Create my wallet' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page
      .getByRole('link', { name: /^(Manage )?Example Insurance$/ })
      .first()
      .click();
    await page.getByRole('heading', { level: 1, name: 'Example Insurance' }).waitFor();
    did = (await page.locator('[data-did]').getAttribute('data-did')) ?? '';
    expect(did).toMatch(/^did:key:z/);
    // Before anything is decided by machine, there is nothing to review.
    await expect(page.getByRole('button', { name: 'Ask a person to review a decision' }).count()).resolves.toBe(0);
    const scored = await insurer.registerRecord('insurer', {
      subject: did,
      category: 'pd:Income',
      purposes: { 'dpv:CreditChecking': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { income: 42_000 },
      automated: ['dpv:CreditChecking'],
    });
    expect(scored.code).toBe('OK');
    await page
      .getByText('Decisions for credit checks are taken by machine: you can ask a person to review them.')
      .waitFor({
        timeout: 20_000,
      });
    await page.getByRole('button', { name: 'Ask a person to review a decision' }).click();
    await page.getByText('You asked for a person to review a decision taken by machine').waitFor({ timeout: 15_000 });
    await shot(page, 'portal-review-desktop');
    await checkA11y(page, 'portal with a review request');
  });

  it('asks under California law for a copy, and sees when the company must confirm receipt', async () => {
    await page.getByLabel('Under which law?').selectOption('CCPA');
    await page.getByRole('button', { name: 'Get a copy of my data' }).click();
    await page.getByText('You asked for a copy of your data').waitFor({ timeout: 15_000 });
    await page.getByText(/Example Insurance must confirm it received your request by/).waitFor();
  });

  it('the console confirms receipt and records the review; the customer sees both', async () => {
    await page.goto(`${base}/console#token=${consoleToken}`);
    await page.getByRole('link', { name: /Example Insurance/ }).click();
    await page.getByRole('link', { name: 'Requests', exact: true }).first().click();
    const queue = page.getByRole('region', { name: 'Open requests, soonest deadline first' });
    await queue.getByText('Human review of an automated decision').waitFor();
    await queue.getByText(/Confirm receipt by/).waitFor();
    await shot(page, 'console-requests-ack-desktop');
    await checkA11y(page, 'console requests with a confirmation due');
    await queue.getByRole('button', { name: 'Confirm receipt' }).click();
    await page.getByText('Receipt confirmed; the customer sees it.').waitFor({ timeout: 15_000 });
    await queue.getByText(/^Receipt confirmed \w/).waitFor({ timeout: 15_000 });

    const review = queue.getByRole('row', { name: /Human review of an automated decision/ });
    await review.getByRole('button', { name: 'Mark answered' }).click();
    const dialog = page.getByRole('dialog', { name: 'Record the human review' });
    await dialog.getByLabel('Outcome').selectOption('changed');
    await checkA11y(page, 'console review dialog');
    await dialog.getByRole('button', { name: 'Record the outcome' }).click();
    await page.getByText('Review recorded; the customer sees the outcome.').waitFor({ timeout: 15_000 });
    const answered = page.getByRole('region', { name: 'Answered' });
    await answered.getByText(/a person reviewed the decision and changed it/).waitFor();
    const queued = (await insurer.orgRequests('insurer')).requests;
    expect(queued.find((r) => r.kind === 'review')).toMatchObject({ status: 'fulfilled', reviewOutcome: 'changed' });
    expect(queued.find((r) => r.kind === 'access')?.acknowledgedAt).toBeGreaterThan(0);

    await page.goto(`${base}/portal`);
    await page.getByRole('heading', { name: 'Unlock your wallet' }).waitFor();
    await page.getByLabel('Passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page
      .getByRole('link', { name: /^(Manage )?Example Insurance$/ })
      .first()
      .click();
    await page.getByText('The answer: a person reviewed the decision and changed it.').waitFor({ timeout: 15_000 });
    await page.getByText(/Example Insurance confirmed it received your request on/).waitFor();
  });

  it('the console registers a breach and notifies the customer, who sees it with its proof', async () => {
    await page.goto(`${base}/console/insurer/incidents`);
    await page.getByRole('heading', { name: 'Register a breach' }).waitFor({ timeout: 20_000 });
    await page.getByText('No breach registered.').waitFor();
    await page.getByLabel('Detected how many hours ago').fill('3');
    await page.getByLabel('Risk to people').selectOption('high');
    await page.getByRole('button', { name: 'Register the breach' }).click();
    await page
      .getByText('Incident registered: the 72-hour clock runs from its detection.')
      .waitFor({ timeout: 15_000 });
    await page.getByText(/hours left to tell the authority/).waitFor();
    await checkA11y(page, 'console breaches');
    await shot(page, 'console-breaches-desktop');
    await page.getByRole('button', { name: 'Notify the customers affected' }).click();
    await page.getByText('Notified 1 customer in their portal.').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Close' }).click();
    // Not before the authority was told: the ledger refuses, and the console says so.
    await page.getByText('Refused: it conflicts with what is already recorded').waitFor({ timeout: 15_000 });
    expect((await insurer.orgIncidents('insurer')).incidents[0]!.closedAt).toBeNull();
    await page.getByLabel(/What you sent the authority/).fill('Our notification to the authority, reference 42.');
    await page.getByRole('button', { name: 'Record the notification to the authority' }).click();
    await page.getByText('Notification to the authority recorded (its SHA-256 only).').waitFor({ timeout: 15_000 });
    const [incident] = (await insurer.orgIncidents('insurer')).incidents;
    expect(incident).toMatchObject({ notified: 1, risk: 'high', categories: ['pd:Income'] });
    expect(incident!.authorityDigest).toMatch(/^[0-9a-f]{64}$/);

    await page.goto(`${base}/portal`);
    await page.getByRole('heading', { name: 'Unlock your wallet' }).waitFor();
    await page.getByLabel('Passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page
      .getByRole('link', { name: /^(Manage )?Example Insurance$/ })
      .first()
      .click();
    const breaches = page.getByRole('region', { name: 'Data breaches Example Insurance told you of' });
    await breaches
      .getByText(/A breach detected on .*: your income someone who should not have could see or take/)
      .waitFor({
        timeout: 15_000,
      });
    await breaches.getByText('High risk').waitFor();
    await page
      .getByText(/told you of a personal data breach that may concern your data/)
      .first()
      .waitFor();
    await checkA11y(page, 'portal with a breach notice');
    await shot(page, 'portal-breach-desktop');
  });

  it('a refusal says where to complain, on a phone too', async () => {
    const open = (await insurer.orgRequests('insurer')).requests.find((r) => r.status === 'open');
    expect(open).toMatchObject({ kind: 'access', jurisdiction: 'CCPA' });
    expect((await insurer.rejectRequest('insurer', open!.id, 'identity-not-verified')).code).toBe('OK');
    await page
      .getByText(/complain to the California Privacy Protection Agency \(cppa\.ca\.gov\)/)
      .waitFor({ timeout: 20_000 });
    await checkA11y(page, 'portal with a refusal');
    await page.setViewportSize(PHONE);
    await shot(page, 'portal-refusal-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.goto(`${base}/console/insurer/requests`);
    await page.getByRole('region', { name: 'Answered' }).waitFor();
    await shot(page, 'console-requests-phone');
    await checkA11y(page, 'console requests on a phone');
    await page.setViewportSize(DESKTOP);
  });

  it("the console shows the org's records of processing and DPIA draft, on a phone too", async () => {
    const ropa = await insurer.orgRopa('insurer');
    expect(ropa.activities.length).toBeGreaterThan(0);
    const opened = await insurer.openIncident('insurer', {
      detectedAt: Date.now() - 3_600_000,
      nature: ['confidentiality'],
      categories: ['pd:Income'],
      risk: 'risk',
    });
    expect(opened.code).toBe('OK');
    await page.goto(`${base}/console/insurer/records`);
    const table = page.getByRole('table', { name: /^Records of processing at height \d+$/ });
    await table.waitFor({ timeout: 20_000 });
    await page.getByText(`${ropa.controller!.legalName} (${ropa.controller!.registration})`).waitFor();
    const rows = table.locator('tbody tr');
    await expect(rows.count()).resolves.toBe(ropa.activities.length);
    for (const [i, a] of ropa.activities.entries()) {
      await expect(rows.nth(i).locator('td[data-label="Records"]').textContent()).resolves.toBe(String(a.records));
      await expect(rows.nth(i).locator('td[data-label="Lawful bases"]').textContent()).resolves.toContain(
        a.lawfulBases[0],
      );
    }
    await page.getByText('Draft for the DPO').waitFor();
    // The DPIA lists the breach still open in the incident register, with where the count comes from.
    const breach = page.locator('li[data-risk="open-breaches"]');
    const open = (await insurer.orgIncidents('insurer')).incidents.filter((i) => i.closedAt === null).length;
    expect(open).toBeGreaterThan(0);
    await expect(breach.locator('strong').textContent()).resolves.toBe(String(open));
    await expect(breach.textContent()).resolves.toMatch(
      /From state rows incident\/insurer\/\* at height \d+: breaches not closed/,
    );
    await expect(page.locator('li[data-risk="overdue-copies"]').textContent()).resolves.toMatch(
      /past the due date.*: 0.*From state rows record\/insurer\/\*/,
    );
    await checkA11y(page, 'console records of processing');
    await shot(page, 'console-records-desktop');
    await page.setViewportSize(PHONE);
    await shot(page, 'console-records-phone');
    await checkA11y(page, 'console records of processing on a phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewportSize(DESKTOP);
  });

  it('an export request answered with the data itself: downloaded, checked complete, saved as JSON and CSV', async () => {
    await page.goto(`${base}/portal`);
    await page.getByRole('heading', { name: 'Unlock your wallet' }).waitFor();
    await page.getByLabel('Passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page
      .getByRole('link', { name: /^(Manage )?Example Insurance$/ })
      .first()
      .click();
    await page.getByLabel('Under which law?').selectOption('GDPR');
    await page.getByRole('button', { name: 'Get my data in a file' }).click();
    await page.getByText('You asked for your data in a file you can take elsewhere').waitFor({ timeout: 15_000 });
    const open = (await insurer.orgRequests('insurer')).requests.find(
      (r) => r.status === 'open' && r.kind === 'export',
    );
    expect((await insurer.fulfilRequest('insurer', open!.id)).code).toBe('OK');
    const section = page.getByRole('region', { name: /Example Insurance sent you your data: one record/ });
    await section.getByRole('button', { name: 'Download your data' }).click({ timeout: 20_000 });
    await section.getByText('complete: 1 of 1 records').waitFor({ timeout: 15_000 });
    await section.getByText(/Automated decisions: your income, for credit/i).waitFor();
    await section.getByText('Transfers outside the EEA: none recorded.').waitFor();
    await expect(section.getByRole('link', { name: 'CSV file' }).getAttribute('download')).resolves.toMatch(/\.csv$/);
    const saved = page.waitForEvent('download');
    await section.getByRole('link', { name: 'JSON file' }).click();
    const file = await (await saved).path();
    expect(JSON.parse(readFileSync(file, 'utf8')).records[0].value).toEqual({ income: 42_000 });
    await checkA11y(page, 'portal with a checked data export');
    await shot(page, 'portal-data-export-desktop');
    await page.setViewportSize(PHONE);
    await shot(page, 'portal-data-export-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.setViewportSize(DESKTOP);
  });
});
