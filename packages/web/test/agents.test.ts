/**
 * Authorised agents and account links in a real browser: the customer links their account at the
 * bank with a one-time code the bank's node issued (the wallet signs it), grants an agent a signed
 * permission, sees the agent's request marked "By authorised agent", and revokes the permission on
 * the ledger, after which the agent is refused. Screens checked with axe-core at desktop and phone
 * size, saved under test-results/screenshots/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { didFromPublicKey } from '@custos/protocol/crypto';
import { agentRequestTx, CustosClient, type DelegationCredential, signedBy } from '@custos/sdk';
import { userSigner } from '@custos/test-utils/node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PASSPHRASE = 'correct horse battery staple';

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let bank: CustosClient;
let anon: CustosClient;
let browser: Browser;
let page: Page;
let did: string;
const agent = userSigner();
const agentDid = didFromPublicKey(agent.publicKey);

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

describe.skipIf(!needsChromium(import.meta.url))('authorised agents and account links', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    bank = new CustosClient({ baseUrl: web.url, sign: signedBy(web.fx.orgs.bank!) });
    anon = new CustosClient({ baseUrl: web.url });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: DESKTOP, acceptDownloads: true })).newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('links the account at the bank with the one-time code the bank issued', async () => {
    await page.goto(`${web!.url}/portal`);
    const create = page.getByRole('region', { name: 'New here? Create your wallet' });
    await create.getByLabel('Passphrase').fill(PASSPHRASE);
    await create.getByLabel('Type it again').fill(PASSPHRASE);
    await create.getByRole('button', { name: 'Create my wallet' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 20_000 });
    await page
      .getByRole('link', { name: /^(Manage )?Example Bank$/ })
      .first()
      .click();
    await page.getByRole('heading', { level: 1, name: 'Example Bank' }).waitFor();
    did = (await page.locator('[data-did]').getAttribute('data-did')) ?? '';
    const linkCard = page.getByRole('region', { name: 'Link your account with Example Bank' });
    // A code that is not one is refused in words, before anything is signed.
    await linkCard.getByLabel('One-time code from Example Bank').fill('not-a-code');
    await linkCard.getByRole('button', { name: 'Link my account' }).click();
    await linkCard.getByText(/Enter the 43-character code/).waitFor();
    const c = await bank.linkChallenge('bank', 'acct-2041');
    await linkCard.getByLabel('One-time code from Example Bank').fill(c.challenge);
    await linkCard.getByRole('button', { name: 'Link my account' }).click();
    await page.getByText(/^Linked: Example Bank now knows your account/).waitFor({ timeout: 15_000 });
    expect((await bank.linkedAccount('bank', 'acct-2041')).subject).toBe(did);
  });

  it('grants an agent, shows the agent’s request marked, and revokes the permission', async () => {
    const agents = page.getByRole('region', { name: 'Authorised agents' });
    await agents.getByLabel('The agent’s key').fill(agentDid);
    await agents.getByLabel('erasure').check();
    const download = page.waitForEvent('download');
    await agents.getByRole('button', { name: 'Sign the permission' }).click();
    const file = await (await download).path();
    const vc = JSON.parse(readFileSync(file, 'utf8')) as DelegationCredential;
    expect(vc.issuer).toBe(did);
    expect(vc.credentialSubject).toMatchObject({ id: agentDid, org: 'bank', requestKinds: ['access', 'erase'] });

    const r = await anon.submitAndWait(agentRequestTx(agent, 'example', vc, { kind: 'erase', jurisdiction: 'CCPA' }));
    expect(r.code).toBe('OK');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('Your authorised agent asked for erasure of your data').waitFor({ timeout: 15_000 });
    await agents.getByText('By authorised agent').first().waitFor();
    await page.screenshot({ path: join(SHOTS, 'portal-agents-desktop.png'), fullPage: true });
    await checkA11y(page, 'portal with an agent request');
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SHOTS, 'portal-agents-phone.png'), fullPage: true });
    await checkA11y(page, 'portal with an agent request (phone)');
    await page.setViewportSize(DESKTOP);

    await agents.getByRole('button', { name: 'Revoke' }).first().click();
    await page.getByText('Revoked: no request under it is accepted any more.').waitFor({ timeout: 15_000 });
    await agents.getByText('Revoked', { exact: true }).waitFor({ timeout: 15_000 });
    const after = await anon.submitAndWait(
      agentRequestTx(agent, 'example', vc, { kind: 'access', jurisdiction: 'GDPR' }),
    );
    expect(after.code).toBe('UNAUTHORIZED');
  });
});
