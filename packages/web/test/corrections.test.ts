/**
 * The customer as the source of their data (issue 17, ADR 0018) in a real browser against a real
 * node with three orgs: the customer changes their address once in the portal and sends it to the
 * two companies they choose (sealed with HPKE in the browser, each under its own pseudonym); each
 * company's node applies it into its vault and the portal shows who applied it, and in how many of
 * its systems (the bank's data map names its vault: "Corrected in 1 of 1 system"); the third company
 * keeps the old value. The customer flags a record as wrong and sees the deadline; the company
 * explains with a reason code and the portal says so. Screens checked with axe-core and saved at
 * desktop and phone size.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { CustosClient, signedBy } from '@custos/sdk';
import { parseDataMap, publishArgs, VaultConnector } from '@custos/test-utils/postgres';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PASSPHRASE = 'correct horse battery staple';
const NEW_ADDRESS = '2 New Road, Leeds LS1 1AA';

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let browser: Browser;
let page: Page;
const orgClients: Record<string, CustosClient> = {};
const dids: Record<string, string> = {};
const records: Record<string, string> = {};

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.map(
    (v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  expect(bad).toEqual([]);
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Moves within the app, as its links do (a reload would lock the wallet again). */
async function go(p: Page, path: string): Promise<void> {
  await p.evaluate((to) => {
    window.history.pushState(null, '', to);
    window.dispatchEvent(new PopStateEvent('popstate'));
  }, path);
}

async function storedValue(org: string, record: string) {
  const r = await orgClients[org]!.accessRecord(org, record, 'dpv:ServiceProvision', 'contract');
  expect(r.code).toBe('OK');
  return r.value;
}

describe.skipIf(!needsChromium(import.meta.url))('corrections in the portal', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    for (const org of ['bank', 'insurer', 'retailer']) {
      orgClients[org] = new CustosClient({ baseUrl: web.url, sign: signedBy(web.fx.orgs[org]!) });
      expect((await orgClients[org]!.rotateHpkeKey(org)).code).toBe('OK');
    }
    // The bank's data map: its vault is the one system holding addresses.
    const map = parseDataMap(
      JSON.stringify({ custosDataMap: 1, org: 'bank', version: 1, systems: [{ id: 'vault', kind: 'vault' }] }),
    );
    web.orgs.setConnectors('bank', [new VaultConnector('vault', web.orgs, 'bank')]);
    expect((await web.orgs.submit('bank', 'datamap.publish', publishArgs(map))).code).toBe('OK');
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  }, 60_000);

  // A failed step leaves a picture of what the browser showed.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && page !== undefined) {
      await shot(page, `failed-corrections-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => {});
    }
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('a customer with records at three companies', async () => {
    await page.goto(`${web!.url}/portal`);
    const create = page.getByRole('region', { name: 'New here? Create your wallet' });
    await create.getByLabel('Passphrase').fill(PASSPHRASE);
    await create.getByLabel('Type it again').fill(PASSPHRASE);
    await create.getByRole('button', { name: 'Create my wallet' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    for (const [org, name] of [
      ['bank', 'Example Bank'],
      ['insurer', 'Example Insurance'],
      ['retailer', 'Example Shop'],
    ] as const) {
      await go(page, `/portal/company/${org}`);
      await page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 20_000 });
      dids[org] = (await page.locator('[data-did]').getAttribute('data-did')) ?? '';
      const r = await orgClients[org]!.registerRecord(org, {
        subject: dids[org]!,
        category: 'pd:PhysicalAddress',
        purposes: { 'dpv:ServiceProvision': 'contract' },
        source: 'subject',
        retentionDays: 365,
        value: { value: '1 Old Lane, York' },
      });
      expect(r.code).toBe('OK');
      records[org] = r.recordId;
    }
    expect(new Set(Object.values(dids)).size).toBe(3);
  });

  it('updates the address once; the two companies chosen apply it, the third keeps the old one', async () => {
    await go(page, '/portal');
    await page.getByRole('link', { name: 'Update your data' }).click();
    await page.getByRole('heading', { level: 1, name: 'Update your data' }).waitFor({ timeout: 20_000 });
    await page.getByLabel('What changed').selectOption('pd:PhysicalAddress');
    await page.getByLabel('The new value').fill(NEW_ADDRESS);
    await page.getByRole('checkbox', { name: 'Example Shop' }).uncheck();
    await page.getByRole('button', { name: 'Send to 2 companies' }).click();
    await page
      .getByText('Sent to Example Bank and Example Insurance; applied by 2 of 2 so far.')
      .waitFor({ timeout: 30_000 });
    const list = page.getByTestId('corrections');
    await list.getByText(/^Example Bank: /).waitFor({ timeout: 30_000 });
    await expect.poll(() => list.getByText(/^Applied /).count(), { timeout: 30_000 }).toBe(2);
    expect(await storedValue('bank', records.bank!)).toEqual({ value: NEW_ADDRESS });
    expect(await storedValue('insurer', records.insurer!)).toEqual({ value: NEW_ADDRESS });
    expect(await storedValue('retailer', records.retailer!)).toEqual({ value: '1 Old Lane, York' });
    // The bank carried it into the one system of its data map holding addresses; the portal proves it.
    await go(page, '/portal');
    await go(page, '/portal/corrections');
    const systems = page.getByTestId('correction-systems');
    await systems.getByText('Corrected in 1 of 1 system').waitFor({ timeout: 30_000 });
    await systems.getByText(/^vault: corrected 1 row, /).waitFor();
    // The insurer names no systems: its line says only that it applied the change.
    expect(await systems.count()).toBe(1);
    // The retailer's queue holds nothing of it.
    expect((await orgClients.retailer!.rectifications('retailer')).items).toEqual([]);
    await shot(page, 'portal-corrections-desktop');
    await checkA11y(page, 'corrections');
  });

  it('flags a record as wrong; the company explains with a code and the portal says so', async () => {
    await page.getByLabel('Which record').selectOption(`retailer:${records.retailer}`);
    await page.getByLabel('Why').selectOption('outdated');
    await page.getByRole('button', { name: 'Flag as wrong' }).click();
    await page.getByText('Flagged: Example Shop must correct it or explain why not.').waitFor({ timeout: 30_000 });
    const list = page.getByTestId('corrections');
    await list.getByText(/Not applied yet: due by/).waitFor({ timeout: 30_000 });
    const [item] = (await orgClients.retailer!.rectifications('retailer')).items;
    expect(item).toMatchObject({ kind: 'flag', reason: 'outdated', status: 'pending', overdue: false });
    // The shop answers from its console: it keeps the record, with a reason code.
    const { token } = await orgClients.retailer!.createToken('retailer', {
      scopes: ['read', 'write'],
      label: 'console',
    });
    const desk = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    await desk.goto(`${web!.url}/console/retailer/corrections#token=${token}`);
    const queue = desk.getByTestId('console-corrections');
    await queue.getByText('Flagged as outdated').waitFor({ timeout: 30_000 });
    await queue.getByText(/Due by .* days left/).waitFor();
    await desk.getByText(/Key [0-9a-f]{16} in force since/).waitFor();
    await desk.screenshot({ path: join(SHOTS, 'console-corrections-desktop.png'), fullPage: true });
    await checkA11y(desk, 'console corrections');
    await queue.getByLabel('Or keep it because').selectOption('accurate-verified');
    await queue.getByRole('button', { name: 'Explain' }).click();
    await desk.getByText('Explained: the customer sees your reason.').waitFor({ timeout: 30_000 });
    await queue.getByText('Explained: accurate-verified').waitFor({ timeout: 30_000 });
    expect((await orgClients.retailer!.rectifications('retailer')).items[0]).toMatchObject({
      id: item!.id,
      status: 'explained',
      answer: 'accurate-verified',
    });
    await desk.setViewportSize(PHONE);
    await desk.screenshot({ path: join(SHOTS, 'console-corrections-phone.png'), fullPage: true });
    await checkA11y(desk, 'console corrections (phone)');
    await desk.close();
    await go(page, '/portal');
    await go(page, '/portal/corrections');
    await page.getByText('Kept as it was: they checked it and say it is accurate').waitFor({ timeout: 30_000 });
    await checkA11y(page, 'corrections, answered');
  });

  it('fits a phone', async () => {
    await page.setViewportSize(PHONE);
    await go(page, '/portal');
    await go(page, '/portal/corrections');
    await page.getByRole('heading', { level: 1, name: 'Update your data' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('corrections').waitFor();
    await shot(page, 'portal-corrections-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await checkA11y(page, 'corrections (phone)');
  });
});
