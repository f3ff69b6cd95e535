/**
 * `custos xtx lock`: the holder's side of an EVM leg (docs/interop.md#from-the-command-line). For
 * each leg of a fully signed plan on the EVM chain at `--evm-rpc`, its holder (`from`) approves the
 * participant contract for the amount and calls `prepare`: the tokens are locked until a deadline
 * block and the contract emits its vote, which a relayer carries to the decision chain. The holder
 * signs with its key (`--evm-key-file`), or the EVM node signs for it (a development chain, as
 * `custos evm chain start` runs).
 */
import type { Command } from 'commander';
import { NodeError } from '../errors.js';
import { requirePassphrase } from '../home.js';
import { cliCommand } from '../invocation.js';
import { parsePositiveInt } from './args.js';
import { assemblePlan, readPlan } from './commands-xtx.js';
import { readEvmKeyFile } from './evm-key-file.js';
import { output, table } from './output.js';
import { checkEvmRpcUrls } from './relay-evm-flags.js';

/** The contract's `MAX_LOCK_BLOCKS`. */
const MAX_LOCK_BLOCKS = 100_000;

interface LockFlags {
  evmRpc?: string;
  evmKeyFile?: string;
  passphraseFile?: string;
  lockBlocks: string;
  json?: boolean;
}

export function registerXtxEvmCommands(program: Command): void {
  const xtx = program.commands.find((c) => c.name() === 'xtx') ?? program.command('xtx');
  xtx
    .command('lock')
    .description("lock each EVM leg's tokens on its contract (approve, then prepare: the contract's vote)")
    .argument('<plan>', 'plan file, every operation signed (custos xtx sign)')
    .option('--evm-rpc <url>', 'JSON-RPC endpoint of the EVM chain')
    .option(
      '--evm-key-file <file>',
      "the holder's EVM keystore (custos keys evm new), signing locally; without it the endpoint signs (a development chain)",
    )
    .option('--passphrase-file <file>', 'file holding the passphrase of --evm-key-file (else $CUSTOS_PASSPHRASE)')
    .option('--lock-blocks <n>', 'EVM blocks the tokens stay locked at most (after that, only an abort)', '200')
    .option('--json', 'print one JSON document')
    .action(async (file: string, flags: LockFlags) => {
      const out = output(flags.json === true);
      if (flags.evmRpc === undefined) throw new NodeError('BAD_REQUEST', 'expected --evm-rpc: the EVM chain');
      checkEvmRpcUrls([flags.evmRpc]);
      const lockBlocks = parsePositiveInt(flags.lockBlocks, '--lock-blocks');
      if (lockBlocks > MAX_LOCK_BLOCKS) {
        throw new NodeError(
          'BAD_REQUEST',
          `expected --lock-blocks of at most ${MAX_LOCK_BLOCKS} (the contract's limit)`,
        );
      }
      const passphraseFile = flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile };
      const secretKey =
        flags.evmKeyFile === undefined
          ? undefined
          : readEvmKeyFile(flags.evmKeyFile, {
              passphrase: () => requirePassphrase(passphraseFile),
              warn: (l) => out.note(l),
            });
      const p = readPlan(file);
      const { xtxId } = assemblePlan(p);
      const { lockLegs } = await import('./xtx-evm-lock.js');
      const locked = await lockLegs(flags.evmRpc, xtxId, p.plan.legs ?? {}, BigInt(lockBlocks), secretKey);
      if (locked.length === 0) {
        throw new NodeError('NOT_FOUND', `the plan in ${file} has no EVM leg on the chain at ${flags.evmRpc}`);
      }
      out.result({ xtxId, legs: locked }, [
        `Cross-chain transaction ${xtxId}: ${locked.length} EVM leg(s)`,
        ...table(
          locked.map((l) => [
            l.participant,
            `${l.amount} from ${l.holder}: ${l.status} until EVM block ${l.deadline}${l.prepareTx === null ? '' : ` (prepare ${l.prepareTx})`}`,
          ]),
        ),
        `A relayer carries the vote: ${cliCommand(`relay --chain URL --token TOKEN --evm-rpc ${flags.evmRpc} --evm-key-file KEYSTORE`)}`,
      ]);
      if (locked.some((l) => l.status === 'refused (NO vote)')) process.exitCode = 1;
    });
}
