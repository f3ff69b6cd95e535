/**
 * The `custos` command line: builds the commander program and runs it, mapping every failure to
 * `error CODE: message` on stderr and the error registry's exit code.
 */
import { Command, CommanderError } from 'commander';
import { installNativeCrypto } from '../crypto/native.js';
import { ERROR_REGISTRY } from '../errors.js';
import { registerBackupCommands } from './commands-backup.js';
import { registerContractCommands } from './commands-contract.js';
import { registerContractCheckCommand } from './commands-contract-check.js';
import { registerContractInitCommand } from './commands-contract-init.js';
import { registerCustomerCommands } from './commands-customer.js';
import { registerHomeCommands } from './commands-home.js';
import { registerNetworkCommands } from './commands-network.js';
import { registerNodeCommands } from './commands-node.js';
import { registerOrgCommands } from './commands-org.js';
import { registerOrgRectifyCommands } from './commands-org-rectify.js';
import { registerOrgRisk } from './commands-org-risk.js';
import { registerProofCommands } from './commands-proof.js';
import { registerQueryCommands } from './commands-query.js';
import { registerRelayCommands } from './commands-relay.js';
import { registerSnapshotCommands } from './commands-snapshot.js';
import { registerXtxCommands } from './commands-xtx.js';
import { reportError } from './output.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('custos')
    .description('Custos: a consortium ledger for customer data that the customer controls')
    .version(VERSION)
    // Lets a command own its options ahead of its subcommands' (`tx --node` vs `tx show --node`).
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // Usage errors in the same shape as every other error.
      outputError: (str, write) => write(`error BAD_REQUEST: ${str.replace(/^error: /, '')}`),
    });
  registerHomeCommands(program);
  registerNodeCommands(program);
  registerQueryCommands(program);
  registerProofCommands(program);
  registerCustomerCommands(program);
  registerOrgCommands(program);
  registerOrgRisk(program.commands.find((c) => c.name() === 'org')!);
  registerOrgRectifyCommands(program.commands.find((c) => c.name() === 'org')!);
  registerRelayCommands(program);
  registerXtxCommands(program);
  registerNetworkCommands(program);
  registerBackupCommands(program);
  registerSnapshotCommands(program);
  registerContractCheckCommand(program);
  registerContractInitCommand(program);
  registerContractCommands(program);
  return program;
}

/** Runs the CLI on `argv` (as process.argv); resolves to the exit code (long-running commands keep the process alive). */
export async function runCli(argv: string[]): Promise<number> {
  installNativeCrypto();
  const program = buildProgram();
  let json = argv.includes('--json');
  program.hook('preAction', (_program, action) => {
    json = action.opts().json === true;
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version exit 0; usage errors were printed by outputError.
      return e.exitCode === 0 ? 0 : ERROR_REGISTRY.BAD_REQUEST.exitCode;
    }
    return reportError(e, json);
  }
}
