/**
 * `custos keys evm new | prove | register` run as the built CLI (integration tier: child
 * processes): the key encrypted in the home's `keys/<org>-evm.json`, its proof of possession, the
 * registration on a running node (`member.setEvmKey`), and a proof printed for a governance
 * `setEvmKey` proposal submitted with `custos tx`.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyEvmKeyProof } from '@custos/protocol/interop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliHarness, type Run } from './fixtures/cli.js';

let cli: CliHarness;
let home: string;
let server: ChildProcess | undefined;

const custos = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> => cli.run(args, env);

async function custosJson(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const r = await custos([...args, '--json'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

beforeAll(async () => {
  cli = new CliHarness('custos-cli-evm-');
  home = cli.home;
  const init = await custos(['init', '--chain-id', 'evm-cli', '--orgs', 'bank,insurer,retailer']);
  expect(init.code).toBe(0);
  const { child, match } = await cli.serve(
    ['node', 'start', '--port', '0'],
    /^Custos node evm-cli listening on (http:\/\/127\.0\.0\.1:\d+)$/m,
  );
  server = child;
  cli.env.CUSTOS_NODE = match[1]!;
}, 60_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  await cli?.cleanup();
});

describe('custos keys evm', () => {
  let bankAddress: string;

  it('creates an encrypted key in keys/<org>-evm.json, and refuses to overwrite it', async () => {
    const made = await custosJson(['keys', 'evm', 'new', '--org', 'bank']);
    const file = join(home, 'keys', 'bank-evm.json');
    expect(made.file).toBe(file);
    bankAddress = made.address as string;
    expect(bankAddress).toMatch(/^0x[0-9a-f]{40}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored).toMatchObject({ version: 1, curve: 'secp256k1', address: bankAddress });
    expect(stored.cipher.name).toBe('aes-256-gcm');
    // No hex secret key in the file.
    expect(readFileSync(file, 'utf8')).not.toMatch(/[0-9a-f]{64}/);
    const again = await custos(['keys', 'evm', 'new', '--org', 'bank']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/^error BAD_REQUEST: .*refusing to overwrite/);
    expect(JSON.parse(readFileSync(file, 'utf8')).address).toBe(bankAddress);
  });

  it('proves possession for the home’s chain and the org; a wrong passphrase and bad flags are refused', async () => {
    const p = await custosJson(['keys', 'evm', 'prove', '--org', 'bank']);
    expect(p).toMatchObject({ address: bankAddress, chainId: 'evm-cli', member: 'bank' });
    expect(verifyEvmKeyProof({ chainId: 'evm-cli', member: 'bank', address: bankAddress }, p.proof)).toBe(true);
    const wrong = join(cli.tmp.dir, 'wrong-pass');
    writeFileSync(wrong, 'not the passphrase\n');
    const bad = await custos(['keys', 'evm', 'prove', '--org', 'bank', '--passphrase-file', wrong]);
    expect(bad.stderr).toMatch(/^error WRONG_PASSPHRASE: /);
    expect((await custos(['keys', 'evm', 'prove', '--org', 'Bank!'])).stderr).toMatch(/expected --org as a member id/);
    expect((await custos(['keys', 'evm', 'prove'])).stderr).toMatch(/exactly one of --key FILE or --org ID/);
    expect((await custos(['keys', 'evm', 'prove', '--org', 'nobody'])).stderr).toMatch(/^error /);
  });

  it('registers the key on the ledger with the org key (member.setEvmKey)', async () => {
    const r = await custosJson(['keys', 'evm', 'register', '--org', 'bank']);
    expect(r).toMatchObject({ code: 'OK', org: 'bank', address: bankAddress });
    const member = await custosJson(['state', 'member/bank']);
    expect(member.value).toMatchObject({ evmKey: bankAddress });
    const set = await custosJson(['state', 'gov/evm-memberset']);
    expect(set.value).toMatchObject({ epoch: 1, ready: false, addresses: [bankAddress] });
    // The same key again is a conflict, reported with exit status 1.
    const again = await custos(['keys', 'evm', 'register', '--org', 'bank']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/result CONFLICT/);
  });

  it('a key for another member, made into a file, is set by a governance vote with its printed proof', async () => {
    const keyFile = join(cli.tmp.dir, 'insurer-evm.json');
    // A file outside the home: its passphrase is given, not the home's.
    const pass = { CUSTOS_PASSPHRASE: 'the insurer recovery passphrase' };
    expect((await custos(['keys', 'evm', 'new', '--out', keyFile])).stderr).toMatch(/expected a passphrase/);
    const made = await custosJson(['keys', 'evm', 'new', '--out', keyFile], pass);
    const args = ['keys', 'evm', 'prove', '--key', keyFile, '--member', 'insurer', '--chain-id', 'evm-cli'];
    const proof = await custosJson(args, pass);
    expect(proof.address).toBe(made.address);
    const action = { kind: 'setEvmKey', member: 'insurer', address: made.address, proof: proof.proof };
    const p = await custosJson([
      'tx',
      '--org',
      'bank',
      '--type',
      'gov.propose',
      '--args',
      JSON.stringify({ action, reason: 'the insurer lost its member keys' }),
    ]);
    expect(p.code).toBe('OK');
    const v = await custosJson([
      'tx',
      '--org',
      'retailer',
      '--type',
      'gov.vote',
      '--args',
      JSON.stringify({ proposal: p.txId, vote: 'yes' }),
    ]);
    expect(v.code).toBe('OK');
    const member = await custosJson(['state', 'member/insurer']);
    expect(member.value).toMatchObject({ evmKey: made.address });
    const set = await custosJson(['state', 'gov/evm-memberset']);
    expect(set.value).toMatchObject({ epoch: 2 });
  });
});
