/**
 * `custos evm chain start | duties | deploy`: an EVM participant from the command line, one
 * command a step (docs/interop.md#from-the-command-line): a local EVM chain (Hardhat, the
 * checkout's devDependency, as in the tests), the members' EVM keys and `<home>/evm.json` for
 * their peers' duties, and the retailer's loyalty token and the participant contract deployed and
 * registered on the Custos chain (`member.setEvmKey` per member, then `evm.register`, co-signed by
 * the home's members). viem and the contracts load only in these commands' actions.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { NodeError } from '../errors.js';
import { KEYS_DIR, requirePassphrase, resolveHome } from '../home.js';
import { cliCommand } from '../invocation.js';
import { parsePort, parsePositiveInt } from './args.js';
import { evmKeyFile, homeMembers } from './commands-evm-keys.js';
import { readEvmKeyFile } from './evm-key-file.js';
import { nodeOption } from './options.js';
import { output, table } from './output.js';
import { checkEvmRpcUrls } from './relay-evm-flags.js';

interface HomeFlags {
  home?: string;
  passphraseFile?: string;
  json?: boolean;
}

interface DeployFlags extends HomeFlags {
  evmRpc?: string;
  evmKeyFile?: string;
  from?: string;
  mint: string;
  out?: string;
  node: string;
}

function bad(message: string): NodeError {
  return new NodeError('BAD_REQUEST', message);
}

function passphraseOf(home: string, flags: HomeFlags): string {
  return requirePassphrase({
    home,
    ...(flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile }),
  });
}

/** One `--evm-rpc` URL, checked. */
function rpcUrl(value: string | undefined): string {
  if (value === undefined) throw bad('expected --evm-rpc: the JSON-RPC URL of the EVM chain');
  if (value.length > 512) throw bad('expected --evm-rpc of at most 512 characters');
  checkEvmRpcUrls([value]);
  return value;
}

export function registerEvmCommands(program: Command): void {
  const evm = program
    .command('evm')
    .description("an EVM chain as a cross-chain participant: a local chain, members' duties, the contracts");

  evm
    .command('chain')
    .description('a local EVM chain (Hardhat) for trying cross-chain transactions')
    .command('start')
    .description('run a local EVM chain (Hardhat, its own process on 127.0.0.1) until stopped')
    .option('--port <port>', 'TCP port on 127.0.0.1 (default: a free one)')
    .option('--chain-id <id>', 'EIP-155 chain id', '31337')
    .option('--log-file <file>', "where Hardhat's output goes (default: a temp file)")
    .option(
      '--log-calls',
      'also log every JSON-RPC call and transaction there (costs the chain a quarter to a half more CPU per call)',
    )
    .option('--json', 'print one JSON document once it answers')
    .action(async (flags: { port?: string; chainId: string; logFile?: string; logCalls?: boolean; json?: boolean }) => {
      const out = output(flags.json === true);
      const chainId = parsePositiveInt(flags.chainId, '--chain-id');
      const { HardhatChain } = await import('../interop/evm/hardhat.js');
      const chain = await HardhatChain.start({
        chainId,
        ...(flags.port === undefined ? {} : { port: parsePort(flags.port) }),
        ...(flags.logFile === undefined ? {} : { logFile: flags.logFile }),
        logCalls: flags.logCalls === true,
      });
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      out.result({ rpcUrl: chain.rpcUrl, chainId, pid: process.pid, hardhatPid: chain.pid ?? null }, [
        `EVM chain ${chainId} (Hardhat, a block per transaction) on ${chain.rpcUrl}`,
        `Its state lives in memory: stopping it ends the chain. Stop with Ctrl-C or kill ${process.pid}.`,
        `Next: ${cliCommand(`evm duties --evm-rpc ${chain.rpcUrl} --home DIR`)}`,
      ]);
      await stopped;
      await chain.stop();
    });

  evm
    .command('duties')
    .description(
      "give each member of the home an EVM key and write <home>/evm.json: its peer (started after) attests the chain's blocks and signs decisions",
    )
    .option('--evm-rpc <url>', "the members' own JSON-RPC endpoint of the EVM chain")
    .option('--confirmations <n>', 'blocks on top before a block is final to the members (0: a local chain)', '0')
    .option('--interval <ms>', 'pause between passes of the duties', '500')
    .option('--home <dir>', 'home directory (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the key passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--json', 'print one JSON document')
    .action(async (flags: HomeFlags & { evmRpc?: string; confirmations: string; interval: string }) => {
      const out = output(flags.json === true);
      const url = rpcUrl(flags.evmRpc);
      const confirmations = Number(flags.confirmations);
      if (!/^[0-9]{1,5}$/.test(flags.confirmations) || confirmations > 10_000)
        throw bad(`expected --confirmations as an integer from 0 to 10000, got '${flags.confirmations.slice(0, 20)}'`);
      const intervalMs = parsePositiveInt(flags.interval, '--interval');
      const home = resolveHome(flags.home);
      const { orgs } = homeMembers(home);
      const { EVM_CONFIG_FILE, parseEvmDutiesConfig } = await import('../interop/evm/evm-duties.js');
      const path = join(home, EVM_CONFIG_FILE);
      if (existsSync(path)) throw bad(`${path} exists; edit it to add a chain (docs/operations.md)`);
      const { evmAddress, evmSecretKey } = await import('@custos/protocol/interop');
      const { loadEvmKey, writeEvmKeystore } = await import('../keys/keystore.js');
      const passphrase = passphraseOf(home, flags);
      const keys: [string, string][] = [];
      for (const org of orgs) {
        const file = evmKeyFile(home, org);
        // A key the home already holds (`custos keys evm new`) is kept.
        const address = existsSync(file)
          ? evmAddress(loadEvmKey(file, passphrase))
          : writeEvmKeystore(file, evmSecretKey(), passphrase);
        keys.push([org, address]);
      }
      const config = parseEvmDutiesConfig({
        chains: [{ rpcUrl: url, confirmations, headEvery: 1 }],
        orgs: Object.fromEntries(orgs.map((org) => [org, { evmKeystore: `${KEYS_DIR}/${org}-evm.json` }])),
        intervalMs: Math.max(100, intervalMs),
      });
      writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
      out.result({ file: path, evmKeys: Object.fromEntries(keys), config }, [
        `Wrote ${path}: the members' peer attests ${url} and signs decisions (read when the peer starts).`,
        'EVM keys (encrypted in the home, registered on the ledger by `custos evm deploy`):',
        ...table(keys),
      ]);
    });

  evm
    .command('deploy')
    .description(
      "register the home's members' EVM keys, deploy a loyalty token (ERC-20) and the participant contract, and register the contract on the chain",
    )
    .option('--evm-rpc <url>', 'JSON-RPC endpoint of the EVM chain')
    .option(
      '--evm-key-file <file>',
      'EVM keystore (custos keys evm new) of the account that deploys and holds the minted points, signing locally (a real chain)',
    )
    .option(
      '--from <address>',
      'instead of --evm-key-file: an account the endpoint signs for (a development chain; default its first account)',
    )
    .option('--mint <points>', 'points of the token minted to --from', '1000000')
    .option('--out <file>', 'also write the JSON document to this file')
    .option('--home <dir>', 'home holding the member keys (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the key passphrase (else $CUSTOS_PASSPHRASE)')
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (flags: DeployFlags) => {
      const out = output(flags.json === true);
      const url = rpcUrl(flags.evmRpc);
      if (!/^[1-9][0-9]{0,30}$/.test(flags.mint))
        throw bad('expected --mint as a positive integer of at most 31 digits');
      if (flags.from !== undefined && flags.evmKeyFile !== undefined)
        throw bad('expected --from or --evm-key-file, not both');
      const home = resolveHome(flags.home);
      const passphrase = passphraseOf(home, flags);
      const secretKey =
        flags.evmKeyFile === undefined
          ? undefined
          : readEvmKeyFile(flags.evmKeyFile, { passphrase: () => passphrase, warn: (l) => out.note(l) });
      const { deployEvmParticipant } = await import('./evm-deploy.js');
      const d = await deployEvmParticipant({
        home,
        passphrase,
        ...(secretKey === undefined ? {} : { secretKey }),
        node: flags.node,
        rpcUrl: url,
        mint: BigInt(flags.mint),
        ...(flags.from === undefined ? {} : { from: flags.from }),
        note: (l) => out.note(l),
      });
      if (flags.out !== undefined) writeFileSync(flags.out, `${JSON.stringify(d, null, 2)}\n`);
      out.result(d, [
        `EVM participant ${d.participant} registered on '${d.chainId}' (height ${d.height}).`,
        ...table([
          ['contract', d.contract],
          ['token', `${d.token} (${d.minted} points minted to ${d.holder})`],
          [
            'member set',
            `epoch ${d.memberSet.epoch}, ${d.memberSet.addresses.length} keys, threshold ${d.memberSet.threshold}`,
          ],
        ]),
        ...(flags.out === undefined ? [] : [`Written to ${flags.out}.`]),
        `Plan a transaction with a leg on it: ${cliCommand(`xtx new --chain ${flags.node} --decision-chain ${d.chainId} --op JSON --evm-leg JSON --out plan.json`)}`,
      ]);
    });
}
