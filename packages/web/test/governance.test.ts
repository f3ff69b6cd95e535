/**
 * Governance from the company console in a real browser: the bank proposes to admit a new member
 * (the form checks its fields first), the insurer votes yes from its own console, and the proposal
 * is adopted: the new member is listed. The org routes refuse a read-only token and sign with the
 * org's key. A compromised EVM key is taken out by vote from the console (removeEvmKey), and the
 * form refuses a removal that would leave fewer EVM keys than the quorum. The explorer's
 * cross-chain view says, in words, that there is none yet. Screens are
 * checked with axe-core and saved at desktop and phone size under test-results/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { nativeSigner } from '@custos/node';
import { didFromPublicKey, randomSecretKey } from '@custos/protocol/crypto';
import { evmSecretKey, proveEvmKey } from '@custos/protocol/interop';
import { proveMemberKey, signTx } from '@custos/protocol/ledger';
import { CustosClient, signedBy } from '@custos/sdk';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let base: string;
let browser: Browser;
let page: Page;
let phone: Page;
const tokens: Record<string, string> = {};
let readOnly: string;
const newSigner = nativeSigner(randomSecretKey());
const newKey = didFromPublicKey(newSigner.publicKey);

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

async function shots(p: Page, ph: Page, url: string, name: string, ready: (q: Page) => Promise<void>): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await ph.goto(url);
  await ready(ph);
  await ph.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  const overflow = await ph.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} is wider than a phone screen`).toBeLessThanOrEqual(0);
}

describe.skipIf(!needsChromium(import.meta.url))('governance in the console', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    base = web.url;
    const signers = web.fx.orgs;
    for (const o of ['bank', 'insurer']) {
      const c = new CustosClient({ baseUrl: base, sign: signedBy(signers[o]!) });
      tokens[o] = (await c.createToken(o, { scopes: ['read', 'write', 'governance'] })).token;
    }
    const bank = new CustosClient({ baseUrl: base, sign: signedBy(signers.bank!) });
    readOnly = (await bank.createToken('bank', { scopes: ['read'] })).token;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('lists members and proposals publicly, and needs a write token to propose', async () => {
    const pub = await new CustosClient({ baseUrl: base }).govProposals();
    expect(pub.members.map((m) => m.id).sort()).toEqual(['bank', 'insurer', 'retailer']);
    expect(pub.proposals).toEqual([]);
    const ro = new CustosClient({ baseUrl: base }).withToken(readOnly);
    await expect(
      ro.govPropose('bank', { action: { kind: 'remove', id: 'retailer' }, reason: 'x' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('proposes from the console, with the form checked first', async () => {
    await page.goto(`${base}/console/bank#token=${tokens.bank}`);
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByRole('heading', { name: 'Members of example' }).waitFor();
    await page.getByText('No proposal yet.').waitFor();
    // Invalid fields are said next to them, and nothing is sent.
    await page.getByLabel('Member id').fill('Credit Union');
    await page.getByRole('button', { name: 'Propose' }).click();
    await page.getByText('Use 1 to 32 lower-case letters').waitFor();
    await page.getByText('Paste 1 to 8 signing keys').waitFor();
    await checkA11y(page, 'propose form with errors');
    await page.getByLabel('Organisation name').fill('Example Credit Union');
    await page.getByLabel('Member id').fill('credit-union');
    await page.getByLabel('Signing keys').fill(newKey);
    await page.getByLabel('Address of its node').fill('https://custos.credit-union.example');
    await page.getByLabel('Why').fill('They run a node and joined the alliance.');
    // trust #4: a proof not signed by the new key (here the bank's own) is refused by the ledger, in words.
    const chainId = (await new CustosClient({ baseUrl: base }).chain()).chainId;
    const forged = proveMemberKey(web!.fx.orgs.bank!, { chainId, member: 'credit-union', action: 'admit' });
    await page.getByLabel('Proofs of possession').fill(forged.proof);
    await page.getByRole('button', { name: 'Propose' }).click();
    await page.getByText('Refused: the new key did not prove it is held by the member').waitFor();
    // The new member signs its proof with its own key (custos keys prove) and hands it over.
    const proven = proveMemberKey(newSigner, { chainId, member: 'credit-union', action: 'admit' });
    await page.getByLabel('Proofs of possession').fill(proven.proof);
    await page.getByRole('button', { name: 'Propose' }).click();
    await page.getByText('Proposed: “Admit Example Credit Union”').waitFor();
    await page.getByRole('heading', { level: 3, name: 'Admit Example Credit Union' }).waitFor();
    await page.getByText('1 yes, 0 no; 2 yes needed.').waitFor();
    await checkA11y(page, 'console members with a proposal');
    await shots(page, phone, `${base}/console/bank/members#token=${tokens.bank}`, 'console-members', (q) =>
      q.getByRole('heading', { level: 3, name: 'Admit Example Credit Union' }).waitFor(),
    );
  });

  it('another member votes yes from its console, and the new member is admitted', async () => {
    await page.goto(`${base}/console/insurer/members#token=${tokens.insurer}`);
    await page.getByRole('heading', { level: 3, name: 'Admit Example Credit Union' }).waitFor();
    await page.getByRole('button', { name: 'Vote yes: Admit Example Credit Union' }).click();
    await page.getByText('You voted yes on “Admit Example Credit Union”.').waitFor();
    await page.getByText('Adopted', { exact: true }).waitFor();
    const members = page.getByRole('region', { name: 'Members of example' });
    await members.getByText('Example Credit Union').waitFor();
    await members.getByText('https://custos.credit-union.example').waitFor();
    await checkA11y(page, 'console members after the vote');
    const pub = await new CustosClient({ baseUrl: base }).govProposals();
    expect(pub.proposals[0]).toMatchObject({ state: 'executed', action: { kind: 'admit', id: 'credit-union' } });
    expect(pub.members.map((m) => m.id)).toContain('credit-union');
    // Another proposal: the quorum form (params), then voting no on it leaves it open.
    await page.getByLabel('Change the quorum').check();
    await page.getByLabel('Quorum: signatures that make a block final').fill('3');
    await page.getByLabel('Why').fill('Four members now: three signatures.');
    await page.getByRole('button', { name: 'Propose' }).click();
    await page.getByRole('heading', { level: 3, name: 'Change the quorum to 3 of 4' }).waitFor();
    await shots(page, phone, `${base}/console/insurer/members#token=${tokens.insurer}`, 'console-members-voted', (q) =>
      q.getByRole('heading', { level: 3, name: 'Change the quorum to 3 of 4' }).waitFor(),
    );
  });

  it('the explorer has a cross-chain view, and says a governance transaction in words', async () => {
    await page.goto(`${base}/explorer`);
    await page.getByRole('link', { name: 'Cross-chain' }).click();
    await page.getByRole('heading', { level: 1, name: 'Cross-chain transactions' }).waitFor();
    await page.getByText('No cross-chain transaction yet.').waitFor();
    await checkA11y(page, 'explorer cross-chain');
    await shots(page, phone, `${base}/explorer/xtx`, 'explorer-xtx', (q) =>
      q.getByRole('heading', { level: 1, name: 'Cross-chain transactions' }).waitFor(),
    );
    const pub = await new CustosClient({ baseUrl: base }).govProposals();
    const admit = pub.proposals.find((p) => p.action.kind === 'admit')!;
    await page.goto(`${base}/explorer/tx/${admit.id}`);
    await page.getByRole('heading', { name: 'Governance proposal' }).waitFor();
    await page.getByText(/Example Bank proposed: admit Example Credit Union/).waitFor();
    await checkA11y(page, 'explorer governance tx');
  });

  it('takes a compromised EVM key out by vote, and refuses to go below the quorum of EVM keys', async () => {
    const chainId = (await new CustosClient({ baseUrl: base }).chain()).chainId;
    const signers = web!.fx.orgs;
    // Every member registers an EVM key (the admitted credit union with its own signing key).
    const members = (await new CustosClient({ baseUrl: base }).govProposals()).members.map((m) => m.id);
    for (const o of members) {
      const { address, proof } = proveEvmKey(evmSecretKey(), { chainId, member: o });
      const signer = signers[o] ?? newSigner;
      const signed = signTx({ chainId, type: 'member.setEvmKey', args: { address, proof } }, signer);
      expect((await web!.node.submitAndWait(signed)).code).toBe('OK');
    }
    await page.goto(`${base}/console/bank/members#token=${tokens.bank}`);
    await page.getByRole('heading', { name: 'Members of example' }).waitFor();
    await page.getByLabel('Remove an EVM key').check();
    await page.getByRole('button', { name: 'Propose' }).click();
    await page.getByText('Choose the member whose EVM key to remove.').waitFor();
    await page.getByLabel('EVM key to remove').selectOption('insurer');
    await page.getByLabel('Why').fill('The insurer’s EVM key leaked; a new one follows.');
    await page.getByRole('button', { name: 'Propose' }).click();
    await page.getByRole('heading', { level: 3, name: 'Remove Example Insurance’s EVM key' }).waitFor();
    await checkA11y(page, 'console members, EVM key removal proposed');
    const open = (await new CustosClient({ baseUrl: base }).govProposals()).proposals.find(
      (p) => p.action.kind === 'removeEvmKey',
    )!;
    for (const o of ['insurer', 'retailer']) {
      const c = new CustosClient({ baseUrl: base, sign: signedBy(signers[o]!) });
      const t = tokens[o] ?? (await c.createToken(o, { scopes: ['read', 'write', 'governance'] })).token;
      const now = await new CustosClient({ baseUrl: base }).govProposals();
      if (now.proposals.find((p) => p.id === open.id)?.state !== 'open') break;
      await c.withToken(t).govVote(o, open.id, 'yes');
    }
    const pub = await new CustosClient({ baseUrl: base }).govProposals();
    expect(pub.proposals.find((p) => p.id === open.id)).toMatchObject({ state: 'executed' });
    expect(pub.members.find((m) => m.id === 'insurer')).toMatchObject({ evmKey: null });
    // One key fewer than members is left; one more would go below the quorum: refused by the form, in words.
    expect(pub.params.threshold).toBe(members.length - 1);
    await page.reload();
    await page.getByRole('heading', { name: 'Members of example' }).waitFor();
    await page.getByLabel('Remove an EVM key').check();
    await page.getByLabel('EVM key to remove').selectOption('retailer');
    await page.getByLabel('Why').fill('Just to see.');
    await page.getByRole('button', { name: 'Propose' }).click();
    await page
      .getByText(
        `Removing it would leave ${members.length - 2} EVM keys, fewer than the quorum (${members.length - 1})`,
      )
      .waitFor();
    await checkA11y(page, 'EVM key removal refused');
    await shots(page, phone, `${base}/console/bank/members#token=${tokens.bank}`, 'console-members-evm-key', (q) =>
      q.getByRole('heading', { level: 3, name: 'Remove Example Insurance’s EVM key' }).waitFor(),
    );
  });
});
