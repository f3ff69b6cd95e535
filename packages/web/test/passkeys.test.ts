/**
 * Passkeys in a real browser (issue 17 part 1, ADR 0016). Chromium's virtual authenticators
 * (Chrome DevTools Protocol `WebAuthn.addVirtualAuthenticator`, with the PRF extension) stand in
 * for a laptop, a phone and a new device: a customer signs up with a passkey (no passphrase, no
 * file) and keeps the recovery code; grants a consent the bank's use then relies on; opens a link
 * on a "second device" (another browser context with its own authenticator), which adds its own
 * passkey and opens the same wallet; removes that passkey, which no longer signs in; and recovers
 * on a third device with the code, after which the old passkeys no longer sign in. Every screen
 * is checked with axe-core and saved at desktop and phone size.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { CustosClient, signedBy } from '@custos/sdk';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let base: string;
let browser: Browser;
let bank: CustosClient;
const contexts: BrowserContext[] = [];
let laptop: Page;
let phone: Page;
let recoveryCode = '';
let bankDid = '';
let emailRecord = '';

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  if ((p.viewportSize()?.width ?? 0) <= PHONE.width) {
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} is wider than the screen`).toBeLessThanOrEqual(0);
  }
}

/** A fresh browser context (its own storage) with its own virtual platform authenticator: one "device". */
async function device(viewport: { width: number; height: number }): Promise<Page> {
  const ctx = await browser.newContext({ viewport });
  contexts.push(ctx);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false } as never);
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      hasPrf: true,
      automaticPresenceSimulation: true,
    },
  } as never);
  return page;
}

async function bankIdOn(p: Page): Promise<string> {
  await p
    .getByRole('link', { name: /^(Manage )?Example Bank$/ })
    .first()
    .click();
  await p.getByRole('heading', { level: 1, name: 'Example Bank' }).waitFor();
  return (await p.locator('[data-did]').getAttribute('data-did')) ?? '';
}

async function openWalletPage(p: Page): Promise<void> {
  await p.getByRole('link', { name: 'Your data', exact: true }).first().click();
  await p.getByRole('link', { name: 'Your wallet and trust' }).click();
  await p.getByRole('heading', { name: 'Your passkeys' }).waitFor();
}

async function signOut(p: Page): Promise<void> {
  await openWalletPage(p);
  await p.getByRole('button', { name: 'Sign out' }).click();
  await p.getByRole('heading', { name: 'Your data, in your hands' }).waitFor();
}

describe.skipIf(!needsChromium(import.meta.url))('passkeys in the portal', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    // A browser refuses an IP address as a WebAuthn relying party: the portal is opened as localhost.
    base = web.url.replace('127.0.0.1', 'localhost');
    bank = new CustosClient({ baseUrl: web.url, sign: signedBy(web.fx.orgs.bank!) });
    browser = await launchChromium();
    laptop = await device(DESKTOP);
  }, 60_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') {
      for (const [i, c] of contexts.entries()) {
        for (const p of c.pages()) await shot(p, `failed-passkey-${i}`).catch(() => {});
      }
    }
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('signs up with a passkey, with no passphrase and no file, and shows the recovery code once', async () => {
    await laptop.goto(`${base}/portal`);
    const card = laptop.getByRole('region', { name: 'Use a passkey' });
    await card.waitFor();
    await shot(laptop, 'passkey-welcome-desktop');
    await checkA11y(laptop, 'passkey welcome');
    await card.getByLabel('Name this passkey').fill('Laptop');
    await card.getByRole('button', { name: 'Create my wallet with a passkey' }).click();
    await laptop.getByRole('heading', { name: 'Write down your recovery code' }).waitFor({ timeout: 30_000 });
    recoveryCode = (await laptop.locator('[data-recovery-code]').getAttribute('data-recovery-code')) ?? '';
    expect(recoveryCode).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
    await shot(laptop, 'passkey-recovery-code-desktop');
    await checkA11y(laptop, 'passkey recovery code');
    await laptop.getByRole('button', { name: 'I have written it down' }).click();
    await laptop.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 30_000 });
    // Nothing of the wallet is left in the browser's storage: it is sealed on the node.
    expect(await laptop.evaluate(() => localStorage.getItem('custos.wallet.v1'))).toBeNull();
    bankDid = await bankIdOn(laptop);
    expect(bankDid).toMatch(/^did:key:z6Mk/);
    // The node holds a sealed wallet and a salted hash of the code, never the code.
    const row = web!.node.store.db.prepare('SELECT wallet, recovery_hash FROM passkey_identities').get() as {
      wallet: string;
      recovery_hash: Buffer;
    };
    expect(row.wallet).not.toContain(recoveryCode);
    expect(JSON.parse(row.wallet).cipher.name).toBe('aes-256-gcm');
    expect(row.recovery_hash.length).toBe(32);
  });

  it('grants a consent with the passkey wallet, and the bank’s use is then allowed', async () => {
    const email = await bank.registerRecord('bank', {
      subject: bankDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      source: 'subject',
      retentionDays: 365,
      value: { email: 'kim@example.org' },
    });
    expect(email.code).toBe('OK');
    emailRecord = email.recordId;
    expect((await bank.accessRecord('bank', emailRecord, 'dpv:Marketing', 'consent')).code).toBe('NO_LAWFUL_BASIS');
    await laptop.getByRole('button', { name: 'Refresh' }).click();
    const marketing = laptop.getByRole('switch', { name: 'Your email address for marketing' });
    await marketing.waitFor({ timeout: 20_000 });
    await marketing.click();
    await laptop.getByText('Saved: Example Bank may now use your data for marketing.').waitFor({ timeout: 20_000 });
    expect((await bank.accessRecord('bank', emailRecord, 'dpv:Marketing', 'consent')).code).toBe('OK');
    await shot(laptop, 'passkey-consent-desktop');
  });

  it('adds a second device from a link: its own passkey opens the same wallet', async () => {
    await openWalletPage(laptop);
    await laptop.getByRole('button', { name: 'Link another device' }).click();
    const linkUrl = (await laptop.locator('[data-device-link]').getAttribute('data-device-link')) ?? '';
    expect(linkUrl).toMatch(/\/portal\/link#[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    await shot(laptop, 'passkey-wallet-desktop');
    await checkA11y(laptop, 'passkey wallet page');

    phone = await device(PHONE);
    await phone.goto(linkUrl);
    await phone.getByRole('heading', { name: 'Add this device' }).waitFor();
    await shot(phone, 'passkey-add-device-phone');
    await checkA11y(phone, 'passkey add device');
    await phone.getByLabel('Name this passkey').fill('Phone');
    await phone.getByRole('button', { name: 'Add this device' }).click();
    await phone.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 30_000 });
    expect(await bankIdOn(phone)).toBe(bankDid);
    const marketing = phone.getByRole('switch', { name: 'Your email address for marketing' });
    await expect.poll(() => marketing.getAttribute('aria-checked'), { timeout: 20_000 }).toBe('true');
    await shot(phone, 'passkey-company-phone');
    // The phone signs in again with its own passkey after signing out.
    await signOut(phone);
    await shot(phone, 'passkey-welcome-phone');
    await phone.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await phone.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 30_000 });
    await openWalletPage(phone);
    await shot(phone, 'passkey-wallet-phone');
    await checkA11y(phone, 'passkey wallet page (phone)');
  });

  it('lists the passkeys and removes one, which then no longer signs in', async () => {
    await laptop.goto(`${base}/portal`);
    // A reload ends the in-memory session: sign in again with the laptop's passkey.
    await laptop.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await laptop.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 30_000 });
    await openWalletPage(laptop);
    const list = laptop.getByRole('list', { name: 'Passkeys' });
    await list.getByText('Phone').waitFor();
    await expect.poll(() => list.getByRole('listitem').count()).toBe(2);
    await laptop.getByRole('button', { name: 'Remove passkey Phone' }).click();
    const dialog = laptop.getByRole('dialog', { name: /Remove the passkey/ });
    await checkA11y(laptop, 'passkey remove dialog');
    await dialog.getByRole('button', { name: 'Remove it' }).click();
    await expect.poll(() => list.getByRole('listitem').count(), { timeout: 15_000 }).toBe(1);
    await laptop.getByText('passkey removed (Phone)').count();

    await signOut(phone);
    await phone.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await phone
      .getByRole('alert')
      .getByText(/not registered/)
      .waitFor({ timeout: 30_000 });
    await shot(phone, 'passkey-removed-phone');
  });

  it('recovers on a new device with the recovery code; the old passkeys stop working', async () => {
    const fresh = await device(DESKTOP);
    await fresh.goto(`${base}/portal`);
    await fresh.getByRole('button', { name: 'Lost every passkey? Use your recovery code' }).click();
    const form = fresh.getByRole('form', { name: 'Recover with your recovery code' });
    await form.getByLabel('Recovery code').fill(recoveryCode.toLowerCase());
    await form.getByLabel('Name the new passkey').fill('New laptop');
    await checkA11y(fresh, 'passkey recover');
    await shot(fresh, 'passkey-recover-desktop');
    await form.getByRole('button', { name: 'Recover my wallet' }).click();
    await fresh.getByRole('heading', { name: 'Write down your recovery code' }).waitFor({ timeout: 30_000 });
    const newCode = (await fresh.locator('[data-recovery-code]').getAttribute('data-recovery-code')) ?? '';
    expect(newCode).not.toBe(recoveryCode);
    await fresh.getByRole('button', { name: 'I have written it down' }).click();
    await fresh.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 30_000 });
    expect(await bankIdOn(fresh)).toBe(bankDid);

    // The laptop's passkey was removed by the recovery; the old code is used up.
    await signOut(laptop);
    await laptop.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await laptop
      .getByRole('alert')
      .getByText(/not registered/)
      .waitFor({ timeout: 30_000 });
    const again = await new CustosClient({ baseUrl: web!.url })
      .passkeyRecover(
        await import('@custos/sdk')
          .then((m) => m.recoveryKeys(recoveryCode))
          .then(({ lookup, auth }) => ({ lookup, auth })),
      )
      .then(
        () => 'accepted',
        (e: { code?: string }) => e.code,
      );
    expect(again).toBe('UNAUTHENTICATED');
  });
});
