/**
 * `custos evm duties`, and the clear refusals of `custos evm chain start | deploy`, `xtx new
 * --evm-leg` and `xtx lock` before they reach a node or an EVM chain, run as the built CLI. The
 * commands' happy path with a real Hardhat chain and node is evm-cli-tour.test.ts (the README).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evmAddress } from '@custos/protocol/interop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvmDutiesConfig } from '../src/interop/evm/evm-duties.js';
import { loadEvmKey } from '../src/keys/keystore.js';
import { CliHarness, type Run } from './fixtures/cli.js';

const PASS = 'cli evm duties passphrase';
let cli: CliHarness;
const custos = (args: string[]): Promise<Run> => cli.run(args, { CUSTOS_PASSPHRASE: PASS });

/** A command refused with BAD_REQUEST and a message matching `message`, before any network. */
async function refused(args: string[], message: RegExp): Promise<void> {
  const r = await custos(args);
  expect(r.code, r.stdout).not.toBe(0);
  expect(r.stderr).toMatch(/^error BAD_REQUEST: /);
  expect(r.stderr).toMatch(message);
}

beforeAll(async () => {
  cli = new CliHarness('custos-cli-evm-duties-');
  const init = await custos(['init', '--chain-id', 'evm-duties', '--orgs', 'bank,retailer']);
  expect(init.code, init.stderr).toBe(0);
}, 60_000);

afterAll(() => cli?.cleanup());

describe('custos evm duties', () => {
  it("gives each member an EVM key and writes evm.json that the peer's loader accepts; never overwrites it", async () => {
    const r = await custos(['evm', 'duties', '--evm-rpc', 'http://127.0.0.1:8545', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { file: string; evmKeys: Record<string, string> };
    expect(doc.file).toBe(join(cli.home, 'evm.json'));
    const config = parseEvmDutiesConfig(JSON.parse(readFileSync(doc.file, 'utf8')));
    expect(config.chains).toEqual([{ rpcUrl: 'http://127.0.0.1:8545', confirmations: 0, headEvery: 1 }]);
    expect(Object.keys(config.orgs)).toEqual(['bank', 'retailer']);
    for (const org of ['bank', 'retailer']) {
      const key = loadEvmKey(join(cli.home, config.orgs[org]!.evmKeystore), PASS);
      expect(evmAddress(key)).toBe(doc.evmKeys[org]);
    }
    const again = await custos(['evm', 'duties', '--evm-rpc', 'http://127.0.0.1:9545']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/^error BAD_REQUEST: .*evm\.json exists/);
    expect(readFileSync(doc.file, 'utf8')).toContain('8545');
  });

  it('refuses a missing or bad endpoint, bad confirmations and a home without a chain', async () => {
    await refused(['evm', 'duties'], /expected --evm-rpc/);
    await refused(['evm', 'duties', '--evm-rpc', 'ftp://127.0.0.1:1'], /expected --evm-rpc as an http\(s\) URL/);
    await refused(
      ['evm', 'duties', '--evm-rpc', 'http://127.0.0.1:1', '--confirmations', '-3'],
      /expected --confirmations as an integer from 0 to 10000/,
    );
    await refused(
      ['evm', 'duties', '--evm-rpc', 'http://127.0.0.1:1', '--home', join(cli.tmp.dir, 'none')],
      /expected an initialized home/,
    );
  });
});

describe('bad input to the other EVM commands is refused with what was expected', () => {
  it('evm chain start and evm deploy', async () => {
    await refused(['evm', 'chain', 'start', '--chain-id', '0'], /--chain-id/);
    await refused(['evm', 'chain', 'start', '--port', '70000'], /port/);
    await refused(['evm', 'deploy'], /expected --evm-rpc/);
    await refused(['evm', 'deploy', '--evm-rpc', 'http://127.0.0.1:1', '--mint', '0'], /expected --mint/);
    await refused(
      ['evm', 'deploy', '--evm-rpc', 'http://127.0.0.1:1', '--from', `0x${'22'.repeat(20)}`, '--evm-key-file', 'k'],
      /expected --from or --evm-key-file, not both/,
    );
  });

  it('xtx new --evm-leg: the participant, addresses, amount, fields and one leg per participant', async () => {
    const leg = {
      participant: `evm:31337:0x${'ab'.repeat(20)}`,
      token: `0x${'11'.repeat(20)}`,
      from: `0x${'22'.repeat(20)}`,
      to: `0x${'33'.repeat(20)}`,
      amount: '100',
    };
    const base = ['xtx', 'new', '--chain', 'http://127.0.0.1:1', '--decision-chain', 'a', '--deadline-blocks', '5'];
    const plan = ['--out', join(cli.tmp.dir, 'plan.json'), '--op', '{}'];
    const withLeg = (l: unknown) => [...base, '--evm-leg', typeof l === 'string' ? l : JSON.stringify(l), ...plan];
    await refused(withLeg('{"participant": '), /--evm-leg 1 is not valid JSON/);
    await refused(withLeg({ ...leg, participant: 'evm:1:0x12' }), /expected "participant" as evm:<chainId>/);
    await refused(withLeg({ ...leg, to: 'bob' }), /expected "to" as a 0x address/);
    await refused(withLeg({ ...leg, amount: '-1' }), /expected "amount" as a positive whole number/);
    await refused(withLeg({ ...leg, amount: `1${'0'.repeat(78)}` }), /expected "amount"/);
    await refused(withLeg({ ...leg, memo: 'x' }), /unexpected field 'memo'/);
    await refused(withLeg(`{"participant":"${'x'.repeat(2000)}"}`), /at most 1024 characters/);
    await refused(
      [...base, '--evm-leg', JSON.stringify(leg), '--evm-leg', JSON.stringify(leg), ...plan],
      /a second leg for evm:31337/,
    );
  });

  it('xtx lock: the endpoint, the lock length and the plan file', async () => {
    const file = join(cli.tmp.dir, 'not-a-plan.json');
    writeFileSync(file, '{"format": "something else"}\n');
    await refused(['xtx', 'lock', file], /expected --evm-rpc/);
    await refused(
      ['xtx', 'lock', file, '--evm-rpc', 'http://127.0.0.1:1', '--lock-blocks', '100001'],
      /at most 100000/,
    );
    await refused(['xtx', 'lock', file, '--evm-rpc', 'http://127.0.0.1:1'], /expected a custos-xtx-plan\/1 file/);
    const notAKey = await custos(['xtx', 'lock', file, '--evm-rpc', 'http://127.0.0.1:1', '--evm-key-file', file]);
    expect(notAKey.code).not.toBe(0);
    expect(notAKey.stderr).toMatch(
      /^error BAD_KEYSTORE: expected .*not-a-plan\.json to hold an EVM keystore \(custos keys evm new\) or an EVM secret key .*: expected a secp256k1 keystore file/,
    );
    expect(existsSync(join(cli.tmp.dir, 'plan.json'))).toBe(false);
  });
});
