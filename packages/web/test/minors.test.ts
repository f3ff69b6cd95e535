/**
 * Children in a real browser (issue 19, point 5; GDPR Art. 8, CCPA 1798.120(c)): a child's
 * relationship shows its band and that a parent's consent is required; the child names the
 * parent's key and sends a link; the parent, signed in with their own wallet, reads the terms and
 * approves; the child records the consent from the link back, and the bank may then use the data;
 * the parent withdraws it. The console records a band the company verified and shows what the
 * ledger blocks. Screenshots at desktop and phone size; axe finds no serious or critical violation.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { CustosClient, signedBy } from '@custos/sdk';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const CHILD_PASS = 'correct horse child staple';
const PARENT_PASS = 'correct horse parent staple';

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let base: string;
let bank: CustosClient;
let token: string;
let browser: Browser;
let childCtx: BrowserContext;
let parentCtx: BrowserContext;
let child: Page;
let parent: Page;
let childDid: string;
let record: string;

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

async function createWallet(p: Page, passphrase: string): Promise<void> {
  await p.goto(`${base}/portal`);
  const create = p.getByRole('region', { name: 'New here? Create your wallet' });
  await create.getByLabel('Passphrase').fill(passphrase);
  await create.getByLabel('Type it again').fill(passphrase);
  await create.getByRole('button', { name: 'Create my wallet' }).click();
  await p.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
}

/** Opens `url` in the portal, unlocking the wallet the page asks for. */
async function openUnlocked(p: Page, url: string, passphrase: string): Promise<void> {
  // A link that differs only in its fragment would not load the page again.
  await p.goto('about:blank');
  await p.goto(url);
  await p.getByRole('heading', { name: 'Unlock your wallet' }).waitFor();
  await p.getByLabel('Passphrase').fill(passphrase);
  await p.getByRole('button', { name: 'Unlock', exact: true }).click();
}

const access = async () => (await bank.accessRecord('bank', record, 'dpv:Marketing', 'consent')).code;

describe.skipIf(!needsChromium(import.meta.url))("a parent's consent in a browser", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    base = web.url;
    bank = new CustosClient({ baseUrl: base, sign: signedBy(web.fx.orgs.bank!) });
    token = (await bank.createToken('bank', { scopes: ['read', 'write'], label: 'console' })).token;
    browser = await launchChromium();
    childCtx = await browser.newContext({ viewport: DESKTOP });
    parentCtx = await browser.newContext({ viewport: DESKTOP });
    child = await childCtx.newPage();
    parent = await parentCtx.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('the child asks, the parent approves in their own wallet, the consent is granted and shown', async () => {
    await createWallet(parent, PARENT_PASS);
    await openUnlocked(parent, `${base}/portal/settings`, PARENT_PASS);
    await parent.getByRole('link', { name: 'Consent as a parent or guardian' }).click();
    const parentKey = (await parent.getByTestId('guardian-key').textContent({ timeout: 20_000 }))?.trim() ?? '';
    expect(parentKey).toMatch(/^did:key:z6Mk/);

    await createWallet(child, CHILD_PASS);
    await child
      .getByRole('link', { name: /^(Manage )?Example Bank$/ })
      .first()
      .click();
    childDid = (await child.locator('[data-did]').getAttribute('data-did')) ?? '';
    const r = await bank.registerRecord('bank', {
      subject: childDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      source: 'subject',
      retentionDays: 365,
      value: { email: 'sam@example.org' },
    });
    expect(r.code).toBe('OK');
    record = r.txId;
    await child.getByRole('button', { name: 'Refresh' }).click();
    const allow = child.getByRole('region', { name: 'What you allow' });
    await allow.getByLabel('Your age band at Example Bank').selectOption('under13');
    await allow.getByRole('button', { name: 'Save my age band' }).click();
    await child.getByText('Saved: your age band at Example Bank is under 13.').waitFor({ timeout: 20_000 });
    await allow.getByText(/Under 13, as you said on/).waitFor({ timeout: 10_000 });
    await allow.getByText('A parent’s or guardian’s consent is required').waitFor();
    await allow.getByLabel('Your parent’s or guardian’s key').fill(parentKey);
    await allow.getByRole('button', { name: 'Save their key' }).click();
    await allow.getByText(parentKey).waitFor({ timeout: 20_000 });
    await allow.getByLabel('Ask them to consent to').selectOption('dpv:Marketing');
    await allow.getByRole('button', { name: 'Ask my parent or guardian' }).click();
    const link = await allow.getByLabel('Send this link to your parent or guardian').inputValue();
    expect(link).toContain('/portal/guardian#request=');
    await shots(child, 'minors-child-asks');
    // Without a parent's consent the bank may not use the child's email address.
    expect(await access()).not.toBe('OK');

    await openUnlocked(parent, link, PARENT_PASS);
    const terms = parent.getByTestId('guardian-terms');
    await terms.waitFor({ timeout: 20_000 });
    expect(await terms.textContent()).toContain('Example Bank asks to use your child’s email address for marketing');
    await parent.getByRole('button', { name: 'Approve with my wallet' }).click();
    const back = await parent.getByLabel('Send this link back to your child').inputValue();
    expect(back).toContain('/portal/company/bank#approval=');
    await shots(parent, 'minors-parent-approves');

    await openUnlocked(child, back, CHILD_PASS);
    const allowed = child.getByRole('region', { name: 'What you allow' });
    await allowed.getByRole('button', { name: 'Record the consent' }).click();
    await child
      .getByText('Saved: your consent, with your parent’s or guardian’s, is recorded.')
      .waitFor({ timeout: 20_000 });
    const given = allowed.getByRole('list', { name: 'Consents your parent or guardian gave' });
    await given.getByText('Parent’s consent given').waitFor({ timeout: 20_000 });
    expect(await access()).toBe('OK');
    await shots(child, 'minors-child-consented');
  });

  it('the parent withdraws what they approved; the child sees it withdrawn and the bank is refused', async () => {
    await parent.getByRole('button', { name: 'Withdraw what I approved at Example Bank' }).click();
    await parent
      .getByText('Withdrawn: Example Bank may no longer rely on the consents you approved.')
      .waitFor({ timeout: 20_000 });
    expect(await access()).not.toBe('OK');
    await child.getByRole('button', { name: 'Refresh' }).click();
    const given = child.getByRole('list', { name: 'Consents your parent or guardian gave' });
    await given.getByText('Withdrawn').waitFor({ timeout: 20_000 });
  });

  it('the console records a band the bank verified and shows what the ledger blocks', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    await p.goto(`${base}/console/bank/signals#token=${token}`);
    const form = p.getByRole('region', { name: 'Children: age bands' });
    await form.getByLabel('Customer pseudonym').fill(childDid);
    await form.getByRole('button', { name: 'Show what is blocked' }).click();
    const blocks = form.getByTestId('minor-blocks');
    await expect
      .poll(() => blocks.textContent(), { timeout: 20_000 })
      .toContain('Age band under 13, recorded by the customer');
    expect(await blocks.textContent()).toContain('Sale and sharing: refused unless a parent or guardian consented');
    // The bank verified the child is 14, in France: its band stands, with the hash of its evidence.
    await form.getByLabel('Age band').selectOption('13-15');
    await form.getByLabel('EU member state (age of digital consent)').selectOption('FR');
    await form.getByLabel('How you verified it').selectOption('signed-form');
    await form.getByRole('button', { name: 'Record the age band' }).click();
    await form
      .getByText(/expected|Choose the evidence/)
      .first()
      .waitFor();
    await form.getByLabel('Your evidence (hashed in this browser)').setInputFiles({
      name: 'form.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4 signed form'),
    });
    await form.getByRole('button', { name: 'Record the age band' }).click();
    await form.getByText(/Recorded: the band 13 to 15/).waitFor({ timeout: 20_000 });
    await expect
      .poll(() => blocks.textContent(), { timeout: 20_000 })
      .toContain('Age band 13 to 15, recorded by the company with its evidence, member state FR');
    expect(await blocks.textContent()).toContain(
      'Uses on consent under GDPR: refused unless a parent or guardian consented (Art. 8, age 15 in FR)',
    );
    await shots(p, 'minors-console');
    await ctx.close();
  });
});
