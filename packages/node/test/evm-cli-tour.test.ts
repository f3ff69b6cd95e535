/**
 * The README's "Across Custos and an EVM chain, one command a step", run in bash as a newcomer
 * runs it (`npm run custos --` being the built CLI): a real Hardhat chain from `custos evm chain
 * start`, a real node from `custos node start` running its members' EVM duties, `custos evm
 * deploy`, an xtx with an EVM leg planned, signed, prepared and locked, a relayer, and `xtx
 * status --wait`. The block's fixed ports are swapped for free ones; its background processes are
 * ended with the script's process group. Then what the user checks: both legs committed, the kv
 * value, the 100 points at the recipient, and the explorer's cross-chain page served with the
 * EVM leg's public records behind it. Integration tier: processes, Hardhat.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../src/consortium/processes.js';
import { readmeBlock, TOUR_PRELUDE } from './readme-tour.js';

const CLI = fileURLToPath(new URL('../dist/bin/custos.js', import.meta.url));
let dir: string | undefined;
let child: ChildProcess | undefined;

/** Runs `script` in its own process group (its background jobs outlive it until afterAll). */
function bash(script: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TOUR_CLI: CLI };
  for (const k of ['CUSTOS_HOME', 'CUSTOS_NODE', 'CUSTOS_PASSPHRASE', 'CUSTOS_TOKEN']) delete env[k];
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child = spawn('bash', ['-c', TOUR_PRELUDE + script], { cwd, env, detached: true });
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function rpc(url: string, method: string, params: unknown[]): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return ((await res.json()) as { result: string }).result;
}

afterAll(async () => {
  if (child?.pid !== undefined) {
    // The relayer, the node and the EVM chain (which stops its Hardhat process on SIGTERM).
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 3_000));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // all stopped
    }
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("the README's EVM step without the demo, one command a step", () => {
  it('starts an EVM chain and a node, deploys, runs one xtx with a relayer: both legs committed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-evm-tour-'));
    const [evmPort, nodePort] = (await freePorts(2)) as [number, number];
    const script = readmeBlock('evm-cli-tour.test.ts')
      .replaceAll('8545', String(evmPort))
      .replaceAll('7373', String(nodePort));
    expect(script).not.toContain('8545');

    const run = await bash(script, dir);
    expect(run.code, `${run.stderr.slice(-3000)}\n${run.stdout.slice(-2000)}`).toBe(0);
    const deployed = JSON.parse(readFileSync(join(dir, 'evm-gamma.json'), 'utf8')) as {
      participant: string;
      token: string;
      accounts: string[];
    };
    const xtxId = /Cross-chain transaction ([0-9a-f]{64}): committed/.exec(run.stdout)?.[1];
    expect(xtxId, run.stdout.slice(-3000)).toBeDefined();
    // Both legs: the Custos chain's vote and the contract's outcome, proven on the decision chain.
    expect(run.stdout).toMatch(/gamma\s+committed \(voted YES\)/);
    expect(run.stdout).toMatch(
      new RegExp(`${deployed.participant}\\s+committed; vote YES proven; prepare 0x[0-9a-f]{64} in block \\d+`),
    );
    expect(run.stdout).toContain('"value": "100 points"');

    // The 100 points reached the leg's recipient on the EVM chain (balanceOf).
    const evm = `http://127.0.0.1:${evmPort}`;
    const to = deployed.accounts[1]!.slice(2).padStart(64, '0');
    expect(BigInt(await rpc(evm, 'eth_call', [{ to: deployed.token, data: `0x70a08231${to}` }, 'latest']))).toBe(100n);

    // The explorer's cross-chain page, and the public records it shows for the EVM leg.
    const node = `http://127.0.0.1:${nodePort}`;
    const page = await fetch(`${node}/explorer/xtx`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const votes = (await (await fetch(`${node}/v1/state?prefix=${encodeURIComponent(`xtxevm/${xtxId}/`)}`)).json()) as {
      entries?: { key: string }[];
    };
    expect(votes.entries?.map((e) => e.key)).toEqual([`xtxevm/${xtxId}/${deployed.participant}`]);
  }, 240_000);
});
