/**
 * What the web tests share: Debian's Chromium with the flags this machine needs, and a real node
 * (in-process, three orgs with vaults) serving the built app on a free loopback port.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gate } from '@custos/test-utils';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_DIST = join(ROOT, 'packages/web/dist/index.html');
export const SHOTS = join(ROOT, 'test-results/screenshots');
export const ORGS = [
  { id: 'bank', name: 'Example Bank' },
  { id: 'insurer', name: 'Example Insurance' },
  { id: 'retailer', name: 'Example Shop' },
];

/**
 * True if this file's browser tests can run; otherwise prints `SKIPPED: <file>: needs the chromium
 * package` (or, with CI=true, fails). Pass the test file's `import.meta.url`.
 */
export function needsChromium(fileUrl: string): boolean {
  return gate(existsSync(CHROMIUM), fileUrl, 'chromium');
}

/** A fresh headless Chromium (playwright-core gives each launch its own temporary profile). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/**
 * A node on chain `example` with the three example orgs, serving the built app; rate limits off.
 * `now`: the node's clock, for a test that moves it on to see a deadline pass.
 */
export async function startWebNode(opts: { now?: () => number } = {}): Promise<ApiNode & { url: string }> {
  if (!existsSync(WEB_DIST)) throw new Error('expected the built web app: run `npm run build` first');
  const api = await startApiNode({
    chainId: 'example',
    names: Object.fromEntries(ORGS.map((o) => [o.id, o.name])),
    orgIds: ORGS.map((o) => o.id),
    server: { rateLimit: false },
    listen: true,
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  return api as ApiNode & { url: string };
}
