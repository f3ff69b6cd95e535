/**
 * Issue 15's demo in a real browser: `custos demo` with its EVM part (a Hardhat chain, the
 * retailer's loyalty points). Ada's portal shows the cross-chain transaction she took part in with
 * both sides: on Custos her consent and the share (each with its proof), and on the EVM chain the
 * points paid, with the contract's vote and outcome proven on the ledger and the members'
 * certificate checked in the browser; the explorer shows the same EVM leg. Screenshots at desktop
 * and phone size, no serious accessibility violation.
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

let tmp: string;
let demo: ChildProcess;
let browser: Browser;
let url: string;
let xtxId: string;

async function checkA11y(p: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

/** Desktop, then phone (no sideways scrolling) of the page as it is, each checked with axe. */
async function bothSizes(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await checkA11y(p, `${name} (desktop)`);
  await p.setViewportSize(PHONE);
  await p.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  expect(await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await checkA11y(p, `${name} (phone)`);
}

/** The EVM leg as a user reads it: points paid, the vote and outcome proven, the certificate checked here. */
async function seesEvmLeg(p: Page, title: string): Promise<void> {
  const leg = p.getByRole('region', { name: title }).filter({ hasText: 'Paid on the EVM chain' });
  await leg.waitFor({ timeout: 30_000 });
  await leg.getByText('Checked in this browser').waitFor();
  expect(await leg.textContent()).toMatch(/Yes: the tokens are locked, in EVM block \d+/);
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'custos-evm-legs-'));
  demo = spawn(process.execPath, [CLI, 'demo', '--port', '0'], {
    env: { ...process.env, CUSTOS_HOME: join(tmp, 'home'), CUSTOS_PASSPHRASE: 'a demo passphrase' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The node's URL from the banner, the loyalty swap's id from the EVM part's lines after it.
  [url, xtxId] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the demo's EVM part did not finish: ${out}`)), 240_000);
    const seen = () => {
      const u = /listening on (http:\/\/[^\s]+)/.exec(out);
      const x = /xtx status ([0-9a-f]{64})/.exec(out);
      if (u !== null && x !== null) {
        clearTimeout(timer);
        resolve([u[1]!, x[1]!]);
      }
    };
    demo.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      seen();
    });
    demo.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
      seen();
    });
    demo.on('exit', (code) => reject(new Error(`custos demo exited with ${code}: ${out}`)));
  });
  browser = await launchChromium();
}, 270_000);

afterAll(async () => {
  await browser?.close();
  if (demo !== undefined && demo.exitCode === null) {
    const exited = new Promise((r) => demo.once('exit', r));
    demo.kill('SIGTERM');
    await exited;
  }
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!needsChromium(import.meta.url))('loyalty points for consent, both legs in the browser', () => {
  it("Ada's portal shows both sides of the swap with their proofs", async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    await p.goto(`${url}/portal`);
    await p
      .getByRole('region', { name: 'Just looking? Try a demo customer' })
      .getByRole('button', { name: 'Be Ada' })
      .click();
    await p.getByRole('heading', { level: 1, name: 'Your data' }).waitFor({ timeout: 30_000 });
    await p
      .getByRole('link', { name: /Retailer/ })
      .first()
      .click();
    // The Custos side: her consent to share her purchases, and the cross-chain transaction that
    // carried it and the share, in her timeline with its proof.
    await p
      .getByText(/Cross-chain transaction completed/i)
      .first()
      .waitFor({ timeout: 30_000 });
    await p
      .getByText(/purchases/i)
      .first()
      .waitFor();
    await seesEvmLeg(p, 'The other side, on an EVM chain');
    // The first try, which the token refused: nothing moved on either side.
    const refused = p
      .getByRole('region', { name: 'The other side, on an EVM chain' })
      .filter({ hasText: 'Returned on the EVM chain' });
    expect(await refused.textContent()).toMatch(/No: the token refused the transfer/);
    await bothSizes(p, 'evm-legs-portal');
    await ctx.close();
  }, 120_000);

  it('the explorer shows the EVM leg of the cross-chain transaction', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    await p.goto(`${url}/explorer/xtx/${xtxId}`);
    await p.getByRole('heading', { level: 1, name: 'Cross-chain transaction' }).waitFor({ timeout: 30_000 });
    await p.getByText('Committed').first().waitFor();
    await seesEvmLeg(p, 'On the EVM chain');
    await bothSizes(p, 'evm-legs-explorer');
    await ctx.close();
  }, 120_000);
});
