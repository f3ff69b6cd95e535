/**
 * The console's privacy risk in money on the demo chain (`custos demo`), in a real browser: the
 * demo bank shows the expected loss, percentiles, the loss exceedance curve and the causes as
 * accessible SVG with tables, what-ifs, and the baseline without Custos; editing an assumption
 * changes the figures; the figures are the ones the node's API gives for the same assumptions.
 * Screens checked with axe-core at desktop and phone size.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, needsChromium, ROOT, SHOTS } from './browser.js';

const CLI = join(ROOT, 'packages/node/dist/bin/custos.js');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let demo: ChildProcess | undefined;
let tmp = '';
let url = '';
let token = '';
let browser: Browser;

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

const euros = (text: string) => Number(text.replace(/[^0-9.]/g, ''));

describe.skipIf(!needsChromium(import.meta.url))('privacy risk in the console', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'custos-risk-web-'));
    demo = spawn(process.execPath, [CLI, 'demo', '--no-evm', '--port', '0'], {
      env: { ...process.env, CUSTOS_HOME: join(tmp, 'home') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`custos demo did not start: ${text}`)), 90_000);
      demo!.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('Stop with Ctrl-C')) {
          clearTimeout(timer);
          resolve(text);
        }
      });
      demo!.on('exit', (code) => reject(new Error(`custos demo exited with ${code}: ${text}`)));
    });
    url = /listening on (http:\/\/[^\s]+)/.exec(out)![1]!;
    token = /bank\s+\S+#token=(\S+)/.exec(out)![1]!;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    demo?.kill('SIGTERM');
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the demo bank its expected loss, curve and causes; an edited assumption changes them', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    await p.goto(`${url}/console/bank#token=${token}`);
    const section = p.getByRole('region', { name: 'Privacy risk in money' });
    const expected = section.getByTestId('expected-loss');
    await expected.waitFor({ timeout: 60_000 });
    const before = euros((await expected.textContent()) ?? '');
    // The same figure as the node's API with the same (default) assumptions.
    const api = await fetch(`${url}/v1/orgs/bank/risk`, { headers: { authorization: `Bearer ${token}` } });
    const doc = (await api.json()) as { result: { expectedAnnualLoss: number; worstCase: number } };
    expect(before).toBe(Math.round(doc.result.expectedAnnualLoss));
    await section.getByRole('img', { name: 'Loss exceedance curve' }).waitFor();
    expect(await p.getByTestId('lec-path').getAttribute('d')).toMatch(/^M[0-9.]+ [0-9.]+ H/);
    await section.getByRole('img', { name: 'Expected annual loss by cause' }).waitFor();
    await section.getByRole('row', { name: /1 year in 100 worse than/ }).waitFor();
    await section.getByRole('img', { name: "Expected annual loss over the ledger's history" }).waitFor();
    const worst = (await section.getByRole('row', { name: /Worst case/ }).textContent()) ?? '';
    expect(euros(worst)).toBe(Math.round(doc.result.worstCase));
    await section.getByText(/Without Custos \(no enforced consent/).waitFor();
    await section.getByRole('cell', { name: /Pause contract income-check/ }).waitFor();
    await p.screenshot({ path: join(SHOTS, 'console-risk-desktop.png'), fullPage: true });
    await checkA11y(p, 'console risk');

    await section.getByText('Assumptions (edit them)').click();
    await section.getByLabel('Breaches per year (per year)').fill('3');
    await expect
      .poll(async () => euros((await expected.textContent()) ?? ''), { timeout: 30_000 })
      .toBeGreaterThan(before);
    const bad = section.getByLabel('Regulator action per violation per year (ratio)');
    await bad.fill('7');
    await section.getByText("expected assumption 'complaintRate' as a number from 0 to 1").waitFor();
    await checkA11y(p, 'console risk, assumptions open');
    await ctx.close();
  });

  it('fits a phone', async () => {
    const ctx = await browser.newContext({ viewport: PHONE });
    const p = await ctx.newPage();
    await p.goto(`${url}/console/bank#token=${token}`);
    await p.getByTestId('expected-loss').waitFor({ timeout: 60_000 });
    await p.getByRole('img', { name: 'Loss exceedance curve' }).waitFor();
    await p.screenshot({ path: join(SHOTS, 'console-risk-phone.png'), fullPage: true });
    await checkA11y(p, 'console risk (phone)');
    await ctx.close();
  });
});
