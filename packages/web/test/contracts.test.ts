/**
 * Contracts in the console and the explorer, in a real browser (issue 14, point 6): the bank
 * proposes a contract (through the node), the insurer sees the proposal with its risk report in its
 * console and votes it active, the retailer calls it; the console shows it active with its gas and
 * the report, the bank pauses it from its console and sees it paused, and the explorer shows the
 * call's gas and the events it emitted. Screens are checked with axe-core.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { JsonValue } from '@custos/protocol/jcs';
import { CustosClient, signedBy } from '@custos/sdk';
import { tx } from '@custos/test-utils/node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, SHOTS, startWebNode } from './browser.js';

const CODE = `
exports.add = function (args) {
  const cur = host.get('main/total') || { n: 0 };
  cur.n += args.n;
  host.put('main/total', cur);
  host.emit({ type: 'added', n: args.n });
  return cur.n;
};
`;
const MANIFEST = {
  name: 'tally',
  version: '1.0.0',
  namespaces: ['main'],
  grants: [],
  categories: [],
  purposes: [],
  maxGas: 2_000_000,
};

let web: Awaited<ReturnType<typeof startWebNode>> | undefined;
let base: string;
let browser: Browser;
let page: Page;
const tokens: Record<string, string> = {};
let callTx = '';
let proposeTx = '';

const send = (org: string, type: string, args: { [k: string]: JsonValue }) =>
  web!.node.submitAndWait(tx(web!.fx.orgs[org]!, type, args, { chainId: 'example' }));

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

describe.skipIf(!needsChromium(import.meta.url))('contracts in the console and explorer', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    web = await startWebNode();
    base = web.url;
    for (const o of ['bank', 'insurer']) {
      const c = new CustosClient({ baseUrl: base, sign: signedBy(web.fx.orgs[o]!) });
      tokens[o] = (await c.createToken(o, { scopes: ['read', 'write', 'governance'] })).token;
    }
    const p = await send('bank', 'contract.propose', {
      code: CODE,
      manifest: MANIFEST,
      tests: [{ method: 'add', args: { n: 1 }, caller: 'bank' }],
      reason: 'A shared tally of the alliance.',
    });
    expect(p.code).toBe('OK');
    proposeTx = p.txId;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('shows the proposal with its risk report, and votes it active from the console', async () => {
    await page.goto(`${base}/console/insurer#token=${tokens.insurer}`);
    await page.getByRole('link', { name: 'Contracts' }).click();
    const card = page.getByRole('region', { name: /^tally/ });
    await card.getByText('Proposed', { exact: true }).waitFor();
    await card.getByRole('heading', { level: 3, name: 'Proposal: version 1.0.0' }).waitFor();
    await card.getByText('1 yes of 2 needed;').waitFor();
    // The risk report of the proposed code: findings by rule and the dry run's gas per test call.
    const report = card.getByRole('region', { name: 'Proposed: version 1.0.0' });
    await report.getByRole('table', { name: 'Dry run of the declared test calls' }).waitFor();
    await report.getByRole('rowheader', { name: 'add' }).waitFor();
    await report.getByText('Risk check passed').waitFor();
    await checkA11y(page, 'console contracts with a proposal');
    await page.getByRole('button', { name: 'Vote yes on tally 1.0.0' }).click();
    await page.getByText('You voted yes on tally 1.0.0.').waitFor();
    await card.getByText('Active', { exact: true }).waitFor();
    const list = await new CustosClient({ baseUrl: base }).contractList();
    expect(list.contracts[0]).toMatchObject({ name: 'tally', status: 'active', pending: null });
  });

  it('shows the active contract with its gas and report, and pauses it from the console', async () => {
    const c = await send('retailer', 'contract.call', { contract: 'tally', method: 'add', args: { n: 4 } });
    expect(c.code).toBe('OK');
    callTx = c.txId;
    const { contracts } = await new CustosClient({ baseUrl: base }).contractList();
    const gas = contracts[0]!.gasUsed;
    expect(gas).toBeGreaterThan(0);

    await page.goto(`${base}/console/bank/contracts#token=${tokens.bank}`);
    const card = page.getByRole('region', { name: /^tally/ });
    await card.getByText('Active', { exact: true }).waitFor();
    const facts = card.locator('dl.facts');
    await facts.getByText(gas.toLocaleString('en-US'), { exact: true }).waitFor();
    await card.getByRole('region', { name: 'In force: version 1.0.0' }).waitFor();
    const calls = card.getByRole('table', { name: 'Recent calls' });
    await calls.getByRole('cell', { name: 'Example Shop' }).waitFor();
    await calls.getByRole('cell', { name: gas.toLocaleString('en-US') }).waitFor();
    await checkA11y(page, 'console contracts active');

    await page.getByRole('button', { name: 'Pause tally' }).click();
    await page
      .getByRole('dialog', { name: 'Pause tally?' })
      .getByRole('button', { name: 'Pause the contract' })
      .click();
    await page.getByText('You asked for the pause of tally.').waitFor();
    await card.locator('.badge').getByText('Paused', { exact: true }).waitFor();
    await card.getByText(/by Example Bank/).waitFor();
    const after = await new CustosClient({ baseUrl: base }).contractList();
    expect(after.contracts[0]!.status).toBe('paused');
    expect(after.contracts[0]!.pause.votes).toEqual(['bank']);
  });

  it("shows the call's contract, method, caller, gas and events in the explorer", async () => {
    // Same tab as the console: the explorer can read as that org (receipts are members' data).
    await page.goto(`${base}/explorer/tx/${callTx}`);
    // Private to an anonymous visitor; read as the org on request.
    await page.getByRole('heading', { name: 'A private transaction' }).waitFor();
    await page.getByRole('button', { name: 'Read it as your organisation' }).click();
    const call = page.getByRole('region', { name: 'Contract call' });
    await call.getByText('add', { exact: true }).waitFor();
    await call.getByText('Example Shop').waitFor();
    const receipt = await new CustosClient({ baseUrl: base }).withToken(tokens.bank).contractReceipt(callTx);
    await call
      .getByText(`${receipt.gasUsed.toLocaleString('en-US')} of ${(2_000_000).toLocaleString('en-US')}`)
      .waitFor();
    await call.getByText('"type": "added"').waitFor();
    await checkA11y(page, 'explorer contract call');
    await page.screenshot({ path: join(SHOTS, 'explorer-contract-call-desktop.png'), fullPage: true });
    // The proposal shows its risk report summary.
    await page.goto(`${base}/explorer/tx/${proposeTx}`);
    await page.getByRole('button', { name: 'Read it as your organisation' }).click();
    const proposal = page.getByRole('region', { name: 'Contract proposal' });
    await proposal.getByText('Passed', { exact: true }).waitFor();
    await proposal.getByText('1 test call').waitFor();
  });
});
