/**
 * Consent signals in a real browser (issue 17, part 3): a customer whose browser sends Global
 * Privacy Control sees the evidence of each opt-out it caused in the portal (request id, route,
 * ledger transaction); the company sees the same rows in its console's "Consent signals", and the
 * GPP string for its ad stack equal to the IAB reference string its banner recorded; the customer's
 * switch limiting the use of their sensitive data and their age band (issue 19), shown in the
 * console. Screenshots at desktop and phone size; axe finds no serious or critical violation.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { CustosClient, signedBy } from '@custos/sdk';
import { GppModel } from '@iabgpp/cmpapi';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PASSPHRASE = 'correct horse battery staple';
/** IAB reference string (the iabgpp-es library's test suite): US National, every opt-out taken. */
const USNAT_OPTED_OUT = 'DBABLA~CVVVkkkkkpFY.YA';
/** IAB reference string with a TCF EU v2 section (GppModel.test.ts). */
const TCF = 'DBABMA~CPSG_8APSG_8AAAAAAENAAFgAAAAAAAAAAAAAOwAQAOgAAAA.IAOgBgAAgAAA.YAAAAAAAAAAA';

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let base: string;
let bank: CustosClient;
let consoleToken: string;
let browser: Browser;
let gpcContext: BrowserContext;
let page: Page;
let bankDid: string;

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.map(
    (v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  expect(bad).toEqual([]);
}

async function shots(p: Page, name: string): Promise<void> {
  await p.setViewportSize(DESKTOP);
  await p.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await checkA11y(p, `${name} desktop`);
  await p.setViewportSize(PHONE);
  await p.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} is wider than the phone screen`).toBeLessThanOrEqual(0);
  await checkA11y(p, `${name} phone`);
  await p.setViewportSize(DESKTOP);
}

describe.skipIf(!needsChromium(import.meta.url))('consent signals in a browser', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    base = web.url;
    bank = new CustosClient({ baseUrl: base, sign: signedBy(web.fx.orgs.bank!) });
    consoleToken = (await bank.createToken('bank', { scopes: ['read', 'write'], label: 'console' })).token;
    browser = await launchChromium();
    // A browser with Global Privacy Control on: the header on every request, and the DOM flag.
    gpcContext = await browser.newContext({ viewport: DESKTOP, extraHTTPHeaders: { 'Sec-GPC': '1' } });
    await gpcContext.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
    });
    page = await gpcContext.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('the portal shows the evidence of each GPC opt-out the signal caused', async () => {
    await page.goto(`${base}/portal`);
    const create = page.getByRole('region', { name: 'New here? Create your wallet' });
    await create.getByLabel('Passphrase').fill(PASSPHRASE);
    await create.getByLabel('Type it again').fill(PASSPHRASE);
    await create.getByRole('button', { name: 'Create my wallet' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page
      .getByRole('link', { name: /^(Manage )?Example Bank$/ })
      .first()
      .click();
    bankDid = (await page.locator('[data-did]').getAttribute('data-did')) ?? '';
    expect(bankDid).toMatch(/^did:key:z/);
    // The bank holds something on the customer: the portal now applies GPC there.
    const r = await bank.registerRecord('bank', {
      subject: bankDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:AccountManagement': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { email: 'casey@example.org' },
    });
    expect(r.code).toBe('OK');
    await page.goto(`${base}/portal`);
    await page.getByRole('heading', { name: 'Unlock your wallet' }).waitFor();
    await page.getByLabel('Passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await page.getByText('Global Privacy Control is on: opt-out honored').waitFor({ timeout: 20_000 });
    // The portal reloads once the opt-out is recorded, and the evidence with it.
    const evidence = page.getByRole('region', { name: 'Global Privacy Control: the evidence' });
    const row = evidence.getByRole('row', { name: /Example Bank/ });
    await row.waitFor({ timeout: 30_000 });
    await expect.poll(() => row.textContent()).toContain('Example Bank');
    expect(await row.textContent()).toContain('sale and sharing');
    expect(await row.textContent()).toContain('/v1/txs');
    await shots(page, 'signals-portal');
  });

  it('the console lists the same evidence, and the GPP string its banner recorded, equal', async () => {
    const recorded = await bank.recordGpp('bank', bankDid, USNAT_OPTED_OUT);
    expect(recorded.code).toBe('OK');
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    await p.goto(`${base}/console/bank/signals#token=${consoleToken}`);
    const gpc = p.getByRole('region', { name: 'Global Privacy Control: evidence' });
    await gpc.getByRole('row').nth(1).waitFor({ timeout: 20_000 });
    const { evidence } = await bank.gpcEvidence('bank');
    expect(evidence.length).toBeGreaterThan(0);
    expect(await gpc.getByRole('row').nth(1).textContent()).toContain(evidence[0]!.requestId.slice(0, 8));
    const form = p.getByRole('region', { name: 'GPP string for your ad stack' });
    await form.getByLabel('Customer pseudonym').fill(bankDid);
    await form.getByRole('button', { name: 'Show the GPP string' }).click();
    await expect.poll(() => form.getByTestId('gpp-string').textContent(), { timeout: 10_000 }).toBe(USNAT_OPTED_OUT);
    await shots(p, 'signals-console');
    // A malformed pseudonym is answered in words.
    await form.getByLabel('Customer pseudonym').fill('not-a-did');
    await form.getByRole('button', { name: 'Show the GPP string' }).click();
    await form
      .getByText(/did:key/)
      .first()
      .waitFor();
    await ctx.close();
  });

  it('a consent the bank’s banner recorded waits for the customer, who signs it in the portal', async () => {
    const m = new GppModel(TCF);
    m.setFieldValue(
      'tcfeuv2',
      'PurposeConsents',
      (m.getFieldValue('tcfeuv2', 'PurposeConsents') as boolean[]).map((_, i) => i === 1),
    );
    const consented = m.encode();
    const byOrg = await bank.recordGpp('bank', bankDid, consented);
    expect(byOrg).toMatchObject({ code: 'OK', needsCustomer: true });
    await page.goto(`${base}/portal`);
    await page.getByRole('heading', { name: 'Unlock your wallet' }).waitFor();
    await page.getByLabel('Passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock', exact: true }).click();
    const notice = page.getByText('Example Bank’s consent banner: confirm your choices');
    await notice.waitFor({ timeout: 20_000 });
    await page.getByText(/you chose to allow using your browsing data for advertising/).waitFor();
    await shots(page, 'signals-portal-confirm');
    await page.getByRole('button', { name: 'Confirm with my wallet' }).click();
    await notice.waitFor({ state: 'detached', timeout: 20_000 });
    const out = await bank.emittedGpp('bank', bankDid);
    expect(out.choices.consented).toEqual(['dpv:Advertising']);
    expect(out.gpp).toBe(consented);
  });

  it('the customer limits the use of their sensitive data and records their age band; the console shows the band', async () => {
    // The previous case left the portal unlocked, on the list of companies.
    await page
      .getByRole('link', { name: /^(Manage )?Example Bank$/ })
      .first()
      .click();
    const allow = page.getByRole('region', { name: 'What you allow' });
    const limit = allow.getByRole('switch', { name: 'Limit the use of my sensitive data' });
    await limit.waitFor({ timeout: 20_000 });
    // The bank's banner limited it (its GPP string): the customer lifts the limit, then sets it again.
    expect(await limit.getAttribute('aria-checked')).toBe('true');
    await allow.getByText(/from a consent banner/).waitFor();
    await limit.click();
    await page
      .getByText('Saved: Example Bank may use your sensitive data where you allow it.')
      .waitFor({ timeout: 20_000 });
    await expect.poll(() => limit.getAttribute('aria-checked'), { timeout: 10_000 }).toBe('false');
    expect((await bank.emittedGpp('bank', bankDid)).choices.sensitive).toBe(false);
    await limit.click();
    await page
      .getByText('Saved: Example Bank may use your sensitive data only to serve you.')
      .waitFor({ timeout: 20_000 });
    await expect.poll(() => limit.getAttribute('aria-checked'), { timeout: 10_000 }).toBe('true');
    await allow.getByLabel('Your age band at Example Bank').selectOption('13-15');
    await allow.getByRole('button', { name: 'Save my age band' }).click();
    await page.getByText('Saved: your age band at Example Bank is 13 to 15.').waitFor({ timeout: 20_000 });
    await allow.getByText(/13 to 15, as you said on/).waitFor({ timeout: 10_000 });
    const out = await bank.emittedGpp('bank', bankDid);
    expect(out.choices.sensitive).toBe(true);
    expect(out.age).toEqual({ band: '13-15', by: 'customer', memberState: null });
    await shots(page, 'minors-portal');
    // The company's console shows the band in the customer's view.
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    await p.goto(`${base}/console/bank/signals#token=${consoleToken}`);
    const form = p.getByRole('region', { name: 'GPP string for your ad stack' });
    await form.getByLabel('Customer pseudonym').fill(bankDid);
    await form.getByRole('button', { name: 'Show the GPP string' }).click();
    await expect
      .poll(() => form.getByTestId('age-band').textContent(), { timeout: 10_000 })
      .toContain('13-15, recorded by the customer');
    await ctx.close();
  });
});
