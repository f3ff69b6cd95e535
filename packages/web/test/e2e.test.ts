/**
 * The web app in a real browser (Debian's Chromium through playwright-core) against a real node
 * (in-process CustosNode and HTTP server with three orgs and their vaults) serving the built app.
 * A customer creates a wallet, consents, sees a company's use appear, withdraws and sees the next use
 * refused, asks for erasure and sees the company fulfil it from its console; Global Privacy Control
 * is honoured; a proof is verified in the explorer. Every main screen is checked with axe-core and
 * saved as a screenshot at desktop and phone size under test-results/screenshots/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { CustosClient, signedBy } from '@custos/sdk';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, ROOT, SHOTS, startWebNode } from './browser.js';

const CLI = join(ROOT, 'packages/node/dist/bin/custos.js');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PASSPHRASE = 'correct horse battery staple';

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let tmp: string;
let base: string;
let api: CustosClient;
/** The bank's own systems: requests signed (RFC 9421) with its member key. */
let bank: CustosClient;
let consoleToken: string;
let browser: Browser;
let desk: BrowserContext;
let page: Page;
let bankDid: string;
let emailRecord: string;
let allowedAccess: string;
let backupFile: string;

/** Fails on any serious or critical accessibility violation of the page as it is now. */
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

/** A phone screenshot, and no part of the page wider than the screen (no sideways scrolling). */
async function phoneShot(p: Page, name: string): Promise<void> {
  await shot(p, name);
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} is wider than the screen`).toBeLessThanOrEqual(0);
}

async function unlock(p: Page): Promise<void> {
  await p.getByRole('heading', { name: 'Unlock your wallet' }).waitFor();
  await p.getByLabel('Passphrase').fill(PASSPHRASE);
  await p.getByRole('button', { name: 'Unlock', exact: true }).click();
}

async function openCompany(p: Page, name: string): Promise<void> {
  await p
    .getByRole('link', { name: new RegExp(`^(Manage )?${name}$`) })
    .first()
    .click();
  await p.getByRole('heading', { level: 1, name }).waitFor();
}

async function refresh(p: Page): Promise<void> {
  await p.getByRole('button', { name: 'Refresh' }).click();
  await p.getByRole('button', { name: 'Refresh' }).waitFor();
}

describe.skipIf(!needsChromium(import.meta.url))('web app in a browser', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    tmp = web.tmp.dir;
    base = web.url;
    const signers = web.fx.orgs;
    api = new CustosClient({ baseUrl: base });
    bank = new CustosClient({ baseUrl: base, sign: signedBy(signers.bank!) });
    consoleToken = (await bank.createToken('bank', { scopes: ['read', 'write'], label: 'console' })).token;
    browser = await launchChromium();
    desk = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    page = await desk.newPage();
  }, 60_000);

  // A failed step leaves a picture of what the browser showed.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && page !== undefined) {
      await shot(page, `failed-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {});
    }
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('serves the app at / and at its own routes, and keeps API 404s as problems', async () => {
    for (const path of ['/', '/portal', '/console/bank/requests', '/explorer/verify']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    }
    const missing = await fetch(`${base}/v1/nothing-here`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('NOT_FOUND');
    expect((await fetch(`${base}/etc/passwd`)).status).toBe(404);
    expect((await fetch(`${base}/assets/..%2f..%2fpackage.json`)).status).toBe(404);
    const demo = await fetch(`${base}/v1/demo/wallets`);
    expect(demo.status).toBe(404);
  });

  it('lands, and a customer creates a wallet', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('heading', { level: 1, name: /Who holds your data/ }).waitFor();
    await shot(page, 'landing-desktop');
    await checkA11y(page, 'landing');
    await page
      .getByRole('link', { name: /Your data/ })
      .first()
      .click();
    await page.getByRole('heading', { name: 'Your data, in your hands' }).waitFor();
    await shot(page, 'welcome-desktop');
    await checkA11y(page, 'welcome');
    const create = page.getByRole('region', { name: 'New here? Create your wallet' });
    await create.getByLabel('Passphrase').fill(PASSPHRASE);
    await create.getByLabel('Type it again').fill(PASSPHRASE);
    await create.getByRole('button', { name: 'Create my wallet' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page.getByText('No company holds anything about you yet').waitFor();
    await openCompany(page, 'Example Bank');
    bankDid = (await page.locator('[data-did]').getAttribute('data-did')) ?? '';
    expect(bankDid).toMatch(/^did:key:z/);
  });

  it('shows what a company registered, and a consent turns its use from refused to allowed', async () => {
    const email = await bank.registerRecord('bank', {
      subject: bankDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent', 'dpv:AccountManagement': 'contract' },
      source: 'subject',
      retentionDays: 730,
      value: { email: 'casey@example.org' },
    });
    expect(email.code).toBe('OK');
    emailRecord = email.recordId;
    const name = await bank.registerRecord('bank', {
      subject: bankDid,
      category: 'pd:Name',
      purposes: { 'dpv:AccountManagement': 'contract' },
      source: 'subject',
      retentionDays: 3650,
      value: { name: 'Casey Example' },
    });
    expect(name.code).toBe('OK');
    await refresh(page);
    await page.getByText(/Example Bank uses your email address for .*marketing, because you agreed/).waitFor();

    const marketing = page.getByRole('switch', { name: 'Your email address for marketing' });
    expect(await marketing.getAttribute('aria-checked')).toBe('false');
    await marketing.click();
    await page.getByText('Saved: Example Bank may now use your data for marketing.').waitFor({ timeout: 15_000 });
    await expect.poll(() => marketing.getAttribute('aria-checked'), { timeout: 15_000 }).toBe('true');

    const used = await bank.accessRecord('bank', emailRecord, 'dpv:Marketing', 'consent');
    expect(used.code).toBe('OK');
    allowedAccess = used.txId;
    await refresh(page);
    const timeline = page.getByRole('region', { name: /Uses and sharing/ });
    await timeline.getByText('Example Bank used your email address for marketing, because you agreed.').waitFor();
    await timeline.getByText('Allowed').first().waitFor();
    await shot(page, 'company-desktop');
    await checkA11y(page, 'company');
  });

  it('withdrawing consent makes the next use refused, and the customer sees it', async () => {
    const marketing = page.getByRole('switch', { name: 'Your email address for marketing' });
    await marketing.click();
    await page.getByText('Saved: Example Bank may no longer use your data for marketing.').waitFor({ timeout: 15_000 });
    await expect.poll(() => marketing.getAttribute('aria-checked'), { timeout: 15_000 }).toBe('false');
    const refused = await bank.accessRecord('bank', emailRecord, 'dpv:Marketing', 'consent');
    expect(refused.code).toBe('NO_LAWFUL_BASIS');
    expect(refused.value).toBeUndefined();
    // No click: the page follows new blocks and reads the reports again by itself.
    const timeline = page.getByRole('region', { name: /Uses and sharing/ });
    await timeline.getByText('Refused: no consent or other lawful reason').waitFor();
  });

  it('pauses the use of its data at the bank (every record, no list), and lifts the pause', async () => {
    await page.getByRole('button', { name: 'Pause the use of my data' }).click();
    await page.getByText('You asked for a pause in the use of your data').waitFor({ timeout: 15_000 });
    const asked = (await bank.orgRequests('bank')).requests.find((r) => r.kind === 'restrict' && r.status === 'open');
    expect(asked).toBeDefined();
    expect((await bank.fulfilRequest('bank', asked!.id)).code).toBe('OK');
    // Refused whatever the basis: the pause comes before the lawful-basis check.
    expect((await bank.accessRecord('bank', emailRecord, 'dpv:Marketing', 'consent')).code).toBe('RESTRICTED');
    await page.getByText(/In force since/).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Lift the pause' }).click();
    await page.getByText(/Lifted: Example Bank may use your data again/).waitFor({ timeout: 15_000 });
    await page.getByText(/Lifted on/).waitFor({ timeout: 15_000 });
    await page.getByText('You lifted the pause in the use of your data by Example Bank.').waitFor({ timeout: 15_000 });
    // Back to the lawful-basis check: the consent was withdrawn above.
    expect((await bank.accessRecord('bank', emailRecord, 'dpv:Marketing', 'consent')).code).toBe('NO_LAWFUL_BASIS');
    await checkA11y(page, 'company with a lifted pause');
  });

  it('objects to direct marketing: refused at once whatever the basis, until withdrawn', async () => {
    const objection = page.getByRole('switch', { name: 'No direct marketing' });
    expect(await objection.getAttribute('aria-checked')).toBe('false');
    await objection.click();
    await page
      .getByText('Saved: Example Bank may no longer use your data for direct marketing.')
      .waitFor({ timeout: 15_000 });
    await expect.poll(() => objection.getAttribute('aria-checked'), { timeout: 15_000 }).toBe('true');
    // Refused for the objection before any lawful basis is looked at.
    expect((await bank.accessRecord('bank', emailRecord, 'dpv:Marketing', 'consent')).code).toBe('OPTED_OUT');
    const timeline = page.getByRole('region', { name: /Uses and sharing/ });
    await timeline.getByText('Refused: you objected').waitFor({ timeout: 15_000 });
    await checkA11y(page, 'company with an objection');
    await objection.click();
    await page
      .getByText('Saved: your objection to direct marketing by Example Bank is withdrawn.')
      .waitFor({ timeout: 15_000 });
    await expect.poll(() => objection.getAttribute('aria-checked'), { timeout: 15_000 }).toBe('false');
    expect((await bank.accessRecord('bank', emailRecord, 'dpv:Marketing', 'consent')).code).toBe('NO_LAWFUL_BASIS');
  });

  it('asks for erasure, with its legal deadline', async () => {
    await page.getByRole('button', { name: 'Erase my data' }).click();
    const dialog = page.getByRole('dialog', { name: 'Ask Example Bank to erase your data?' });
    await dialog.getByRole('button', { name: 'Ask for erasure' }).click();
    await page.getByText('You asked for erasure of your data').waitFor({ timeout: 15_000 });
    await page.getByText(/Waiting: due in/).waitFor();
    // Keep a backup for the next contexts (restore flow).
    await page.getByRole('link', { name: 'Your data', exact: true }).first().click();
    await page.getByRole('link', { name: 'Your wallet and trust' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your wallet' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download backup file' }).click(),
    ]);
    backupFile = join(tmp, 'backup.json');
    await download.saveAs(backupFile);
    await shot(page, 'wallet-desktop');
    await checkA11y(page, 'wallet');
  });

  it('the company console shows the request in its queue, and the company fulfils it', async () => {
    // Without a token, the console asks for one.
    await page.goto(`${base}/console/bank`);
    await page.getByRole('heading', { level: 1, name: 'Sign in as Example Bank' }).waitFor();
    await checkA11y(page, 'console sign-in');
    // The link `custos demo` prints carries a token in the fragment (never sent to the server).
    await page.goto(`${base}/console#token=${consoleToken}`);
    await page.getByRole('link', { name: /Example Bank/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Example Bank: overview' }).waitFor();
    await page.getByText('Privacy risk in money').waitFor();
    await page.getByText('uses refused by the ledger').waitFor();
    await shot(page, 'console-overview-desktop');
    await checkA11y(page, 'console overview');
    await page.getByRole('link', { name: 'Data inventory' }).click();
    await page.getByRole('heading', { name: 'By purpose, with consent coverage' }).waitFor();
    await shot(page, 'console-inventory-desktop');
    await checkA11y(page, 'console inventory');
    await page.getByRole('link', { name: 'Requests' }).click();
    const queue = page.getByRole('region', { name: 'Open requests, soonest deadline first' });
    await queue.getByText('Erasure').waitFor();
    await queue.getByText(/days left/).waitFor();
    await shot(page, 'console-requests-desktop');
    await checkA11y(page, 'console requests');
    await queue.getByRole('button', { name: 'Erase and answer' }).click();
    await page.getByText(/Answered: the request \(erasure\) is fulfilled/).waitFor({ timeout: 15_000 });
    await page
      .getByRole('region', { name: 'Answered' })
      .getByText(/Fulfilled on/)
      .first()
      .waitFor();
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByText('No proposal yet.').waitFor();
    await checkA11y(page, 'console members');
  });

  it('the customer sees the erasure done, every fact verified', async () => {
    await page.goto(`${base}/portal`);
    await unlock(page);
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page.getByText('Holds nothing about you now').waitFor();
    await shot(page, 'portal-home-desktop');
    await checkA11y(page, 'portal home');
    await openCompany(page, 'Example Bank');
    await page.getByText(/Example Bank erased your email address for good/).waitFor();
    await page.getByText(/Done on/).waitFor();
    // A verified mark opens onto what was checked and the proof itself.
    await page.locator('details.proof > summary').first().click();
    await page
      .getByText(/Checked in this browser/)
      .first()
      .waitFor();
  });

  it('trust #5: the explorer works for an anonymous visitor: private transactions shown as such, proofs verify', async () => {
    await page.goto(`${base}/explorer`);
    await page.getByRole('heading', { name: 'Latest blocks' }).waitFor();
    await page.getByRole('heading', { name: 'Latest checkpoint' }).waitFor();
    await page.locator('details.proof > summary').first().waitFor();
    await shot(page, 'explorer-desktop');
    await checkA11y(page, 'explorer');
    // trust #5: an anonymous visitor sees where a transaction is and its result, not who or what.
    await page.goto(`${base}/explorer/tx/${allowedAccess}`);
    await page.getByRole('heading', { name: 'A private transaction' }).waitFor();
    expect(await page.content()).not.toContain(bankDid);
    await shot(page, 'explorer-tx-desktop');
    await page.getByRole('link', { name: 'Check the proof' }).click();
    await page.getByText('Proven', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByText(/is entry \d+ of the ledger’s history/).waitFor();
    await shot(page, 'verify-desktop');
    await checkA11y(page, 'verify');
    const box = page.getByLabel('Proof', { exact: true });
    const bundle = JSON.parse(await box.inputValue()) as { leafIndex: number };
    bundle.leafIndex += 1;
    await box.fill(JSON.stringify(bundle));
    await page.getByRole('button', { name: 'Check it' }).click();
    await page.getByText('Not proven').waitFor();
  });

  it('honours Global Privacy Control: the opt-out is recorded and shown as honored', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP, extraHTTPHeaders: { 'Sec-GPC': '1' } });
    await ctx.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });
    });
    const p = await ctx.newPage();
    await p.goto(`${base}/portal`);
    const restore = p.getByRole('region', { name: 'Restore your wallet' });
    await restore.getByLabel('Backup file').setInputFiles(backupFile);
    await restore.getByLabel('Passphrase').fill(PASSPHRASE);
    await restore.getByRole('button', { name: 'Restore' }).click();
    await p.getByText('Global Privacy Control is on: opt-out honored').waitFor({ timeout: 20_000 });
    await p.getByText('No sale (GPC)').waitFor({ timeout: 15_000 });
    await p.getByText('No sharing (GPC)').waitFor();
    // The customer's preferences are the bank's and hers to read (trust #5), not a stranger's.
    await expect(api.stateEntry(`pref/bank/${bankDid}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const pref = await bank.stateEntry(`pref/bank/${bankDid}`);
    expect(pref.value).toMatchObject({ sale: { source: 'gpc' }, share: { source: 'gpc' } });
    await shot(p, 'portal-gpc-desktop');
    await checkA11y(p, 'portal with GPC');
    await ctx.close();
  });

  it('works on a phone-sized screen', async () => {
    const phone = await browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      storageState: await desk.storageState(),
    });
    const p = await phone.newPage();
    await p.goto(`${base}/`);
    await p.getByRole('heading', { level: 1 }).waitFor();
    await phoneShot(p, 'landing-phone');
    await p.goto(`${base}/portal`);
    await unlock(p);
    await p.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await phoneShot(p, 'portal-home-phone');
    await checkA11y(p, 'portal home (phone)');
    await openCompany(p, 'Example Bank');
    await phoneShot(p, 'company-phone');
    await p.goto(`${base}/console/bank#token=${consoleToken}`);
    await p.getByText('Privacy risk in money').waitFor();
    await phoneShot(p, 'console-overview-phone');
    await checkA11y(p, 'console overview (phone)');
    await p.goto(`${base}/console/bank/requests`);
    await p.getByRole('region', { name: 'Answered' }).waitFor();
    await phoneShot(p, 'console-requests-phone');
    await p.goto(`${base}/explorer`);
    await p.getByRole('heading', { name: 'Latest blocks' }).waitFor();
    await phoneShot(p, 'explorer-phone');
    await checkA11y(p, 'explorer (phone)');
    await p.goto(`${base}/explorer/verify?tx=${allowedAccess}`);
    await p.getByText('Proven', { exact: true }).waitFor({ timeout: 15_000 });
    await phoneShot(p, 'verify-phone');
    // The dark scheme keeps its contrast too.
    await p.emulateMedia({ colorScheme: 'dark' });
    await phoneShot(p, 'verify-phone-dark');
    await checkA11y(p, 'verify (phone, dark)');
    await p.getByRole('link', { name: 'Your data', exact: true }).first().click();
    await unlock(p);
    await p.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await phoneShot(p, 'portal-home-phone-dark');
    await checkA11y(p, 'portal home (phone, dark)');
    await phone.close();
  });

  it('offers the demo customers of `custos demo`, and opens one', async () => {
    expect(existsSync(CLI), 'expected the built CLI: run `npm run build` first').toBe(true);
    const home = join(tmp, 'demo-home');
    const demo: ChildProcess = spawn(process.execPath, [CLI, 'demo', '--no-evm', '--port', '0'], {
      env: { ...process.env, CUSTOS_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        // The demo starts node processes and seeds its chain: on a CI machine busy with the unit
        // tier beside this one, it once took over 60 s to listen.
        const timer = setTimeout(() => reject(new Error(`custos demo did not start: ${out}`)), 120_000);
        demo.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on (http:\/\/[^\s]+)/.exec(out);
          if (m !== null && out.includes('Stop with Ctrl-C')) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        demo.on('exit', (code) => reject(new Error(`custos demo exited with ${code}: ${out}`)));
      });
      const ctx = await browser.newContext({ viewport: DESKTOP });
      const p = await ctx.newPage();
      await p.goto(`${url}/portal`);
      const demos = p.getByRole('region', { name: 'Just looking? Try a demo customer' });
      await demos.getByRole('button', { name: 'Be Ada' }).click();
      await p.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 30_000 });
      await p
        .getByText(/Demo Bank|Bank/)
        .first()
        .waitFor();
      await p
        .getByText(/uses your email address for/)
        .first()
        .waitFor();
      await shot(p, 'demo-portal-desktop');
      await checkA11y(p, 'demo portal');
      await ctx.close();
    } finally {
      demo.kill('SIGTERM');
    }
  }, 180_000);
});
