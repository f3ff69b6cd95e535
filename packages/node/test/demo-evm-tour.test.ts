/**
 * The README's EVM step, one command at a time (docs/interop.md, "The demo"): the demo's EVM part
 * writes `<home>/demo-evm.json` (the EVM chain's URL, the contract, the loyalty swap's xtx id),
 * and the README's block of commands (read it, make a read token, show both legs) runs in bash as
 * a newcomer runs it, `npm run custos --` being the built CLI. Integration tier: a listening server
 * and Hardhat.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EVM_FILE, type DemoEvmFile, startDemoEvmSide } from '../src/cli/demo-evm.js';
import { type Peer, startPeer } from '../src/cli/peer.js';
import { loadDemoCustomers } from '../src/demo/customers.js';
import { initHome } from '../src/home.js';
import { readmeBlock, TOUR_PRELUDE } from './readme-tour.js';

const CLI = fileURLToPath(new URL('../dist/bin/custos.js', import.meta.url));
const passphrase = 'demo evm tour passphrase';
let dir: string;
let home: string;
let peer: Peer;
const notes: string[] = [];

function bash(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', TOUR_PRELUDE + script],
      {
        env: {
          ...process.env,
          TOUR_CLI: CLI,
          CUSTOS_HOME: home,
          CUSTOS_NODE: peer.url,
          CUSTOS_PASSPHRASE: passphrase,
        },
      },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custos-demo-evm-tour-'));
  home = join(dir, 'home');
  initHome({
    home,
    chainId: 'demo',
    orgs: ['bank', 'insurer', 'retailer'].map((id) => ({ id, name: id })),
    passphrase,
  });
  peer = await startPeer({ home, passphrase, host: '127.0.0.1', port: 0, logger: false, operatorLog: false });
  await loadDemoCustomers({ node: peer.node, orgs: peer.orgs, home, passphrase });
  const out = { json: false, result: () => {}, note: (l: string) => notes.push(l) };
  const started = await startDemoEvmSide(out, peer, { home, passphrase, fresh: true });
  if (started.evm === undefined) throw new Error(`no EVM part: ${started.note}`);
}, 240_000);

afterAll(async () => {
  await peer?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("the README's EVM step, one command at a time", () => {
  it('demo-evm.json names the EVM chain and the swap; xtx status and xtx evm-members show both sides', async () => {
    const file = JSON.parse(readFileSync(join(home, DEMO_EVM_FILE), 'utf8')) as DemoEvmFile;
    expect(file.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(file.xtxId).toMatch(/^[0-9a-f]{64}$/);
    expect(notes.join('\n')).toContain(file.rpcUrl);
    expect(notes.join('\n')).toContain(file.xtxId);

    const run = await bash(readmeBlock('demo-evm-tour.test.ts'));
    expect(run.code, run.stderr).toBe(0);
    // xtx status: both legs committed, the EVM leg's contract; evm-members: the contract up to date.
    expect(run.stdout).toContain(`Cross-chain transaction ${file.xtxId}: committed`);
    expect(run.stdout).toMatch(new RegExp(`${file.participant}\\s+committed; vote YES proven`));
    expect(run.stdout).not.toContain('updateMembers pending');
  }, 120_000);
});
