/**
 * `--evm-key-file` of `custos evm deploy` and `custos xtx lock` against a real Hardhat chain, run
 * as the built CLI: a fresh key that the endpoint does not hold, encrypted with `custos keys evm
 * new --import`, funded by a transfer from a development account, deploys the contracts and locks
 * a leg, and the chain shows those transactions from its address. A wrong passphrase and a plain
 * key file are answered as a user reads them. Integration tier: Hardhat, a node process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evmAddress } from '@custos/protocol/interop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HardhatChain } from '../src/interop/evm/hardhat.js';
import { CliHarness, type Run } from './fixtures/cli.js';

const PASS = 'cli evm key file passphrase';
const SECRET = `0x${'5e'.repeat(32)}`;
const ADDRESS = evmAddress(Buffer.from(SECRET.slice(2), 'hex')).toLowerCase();
let cli: CliHarness;
let chain: HardhatChain;
let node: string;
const custos = (args: string[]): Promise<Run> => cli.run(args, { CUSTOS_PASSPHRASE: PASS });
const file = (name: string) => join(cli.tmp.dir, name);

async function rpc<T>(method: string, params: unknown[]): Promise<T> {
  const res = await fetch(chain.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result: T; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

function ok(r: Run): Run {
  expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
}

beforeAll(async () => {
  chain = await HardhatChain.start();
  cli = new CliHarness('custos-cli-evm-key-file-', { CUSTOS_PASSPHRASE: PASS });
  ok(await custos(['init', '--chain-id', 'evmkey', '--orgs', 'bank,retailer']));
  ok(await custos(['evm', 'duties', '--evm-rpc', chain.rpcUrl]));
  const { match } = await cli.serve(['node', 'start', '--port', '0'], /^Custos node evmkey listening on (\S+)$/m);
  node = match[1]!;
}, 90_000);

afterAll(async () => {
  await cli?.cleanup();
  await chain?.stop();
});

describe('custos evm deploy and xtx lock --evm-key-file: a key the endpoint does not hold', () => {
  let deployed: { participant: string; contract: string; token: string; holder: string; accounts: string[] };

  it('encrypts a plain key with keys evm new --import, and a funded fresh key deploys the contracts', async () => {
    writeFileSync(file('plain.key'), `${SECRET}\n`, { mode: 0o600 });
    const made = JSON.parse(
      ok(await custos(['keys', 'evm', 'new', '--import', file('plain.key'), '--out', file('holder.json'), '--json']))
        .stdout,
    ) as { address: string };
    expect(made.address.toLowerCase()).toBe(ADDRESS);

    const devAccounts = await rpc<string[]>('eth_accounts', []);
    expect(devAccounts.map((a) => a.toLowerCase())).not.toContain(ADDRESS);
    await rpc('eth_sendTransaction', [{ from: devAccounts[0], to: ADDRESS, value: `0x${(10n ** 19n).toString(16)}` }]);

    const r = ok(
      await custos([
        'evm',
        'deploy',
        '--node',
        node,
        '--evm-rpc',
        chain.rpcUrl,
        '--evm-key-file',
        file('holder.json'),
        '--mint',
        '5000',
        '--json',
      ]),
    );
    expect(r.stderr).not.toMatch(/unencrypted/);
    deployed = JSON.parse(r.stdout);
    expect(deployed.holder).toBe(ADDRESS);
    // The chain: the participant contract was created by a transaction from the key's address,
    // and the minted points are that address's.
    const head = Number(await rpc<string>('eth_blockNumber', []));
    const creators: string[] = [];
    for (let n = 1; n <= head; n++) {
      const block = await rpc<{ transactions: { hash: string; from: string }[] }>('eth_getBlockByNumber', [
        `0x${n.toString(16)}`,
        true,
      ]);
      for (const tx of block.transactions) {
        const receipt = await rpc<{ contractAddress: string | null }>('eth_getTransactionReceipt', [tx.hash]);
        if (receipt.contractAddress?.toLowerCase() === deployed.contract) creators.push(tx.from.toLowerCase());
      }
    }
    expect(creators).toEqual([ADDRESS]);
    const balance = await rpc<string>('eth_call', [
      { to: deployed.token, data: `0x70a08231${ADDRESS.slice(2).padStart(64, '0')}` },
      'latest',
    ]);
    expect(BigInt(balance)).toBe(5000n);
  }, 120_000);

  it('locks a leg of that holder: a wrong passphrase is refused first, never printing the key', async () => {
    const leg = {
      participant: deployed.participant,
      token: deployed.token,
      from: ADDRESS,
      to: deployed.accounts[1],
      amount: '100',
    };
    const op = { chainId: 'evmkey', org: 'retailer', type: 'kv.put', args: { ns: 'loyalty', key: 'k', value: 'v' } };
    const plan = file('plan.json');
    ok(
      await custos([
        'xtx',
        'new',
        '--chain',
        node,
        '--decision-chain',
        'evmkey',
        '--deadline-blocks',
        '100',
        '--out',
        plan,
        '--evm-leg',
        JSON.stringify(leg),
        '--op',
        JSON.stringify(op),
      ]),
    );
    ok(await custos(['xtx', 'sign', plan, '--org', 'retailer']));

    writeFileSync(file('wrong.txt'), 'not the passphrase\n');
    const lock = ['xtx', 'lock', plan, '--evm-rpc', chain.rpcUrl, '--evm-key-file', file('holder.json')];
    const refused = await custos([...lock, '--passphrase-file', file('wrong.txt')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /^error WRONG_PASSPHRASE: cannot decrypt the EVM key in .*holder\.json: wrong passphrase/,
    );
    expect(`${refused.stdout}${refused.stderr}`).not.toContain(SECRET.slice(2));

    const locked = JSON.parse(ok(await custos([...lock, '--json'])).stdout) as {
      legs: { participant: string; status: string; prepareTx: string | null }[];
    };
    expect(locked.legs).toHaveLength(1);
    expect(locked.legs[0]?.status).toBe('prepared (YES vote)');
    const tx = await rpc<{ from: string; to: string }>('eth_getTransactionByHash', [locked.legs[0]?.prepareTx]);
    expect(tx.from.toLowerCase()).toBe(ADDRESS);
    expect(tx.to.toLowerCase()).toBe(deployed.contract);
  }, 120_000);

  it('still takes a plain key file, warning on stderr how to encrypt it', async () => {
    const again = await custos([
      'xtx',
      'lock',
      file('plan.json'),
      '--evm-rpc',
      chain.rpcUrl,
      '--evm-key-file',
      file('plain.key'),
    ]);
    ok(again);
    expect(again.stdout).toContain('prepared (YES vote)');
    expect(again.stderr).toMatch(
      /warning: .*plain\.key holds an EVM secret key unencrypted; encrypt it with `custos keys evm new --import/,
    );
    expect(`${again.stdout}${again.stderr}`).not.toContain(SECRET.slice(2));
  }, 60_000);
});
