/**
 * The `custos` command line: builds the commander program and runs it, mapping every failure to
 * `error CODE: message` on stderr and the error registry's exit code. Start-up is kept cheap: a
 * command's module is loaded only when the command line names it (all of them for the overall help),
 * and each module loads its heavy parts only in the actions that need them (docs/performance.md,
 * "CLI start-up").
 */
import { Command, CommanderError } from 'commander';
import { ERROR_REGISTRY } from '../errors.js';
import { asksForHelp, loadHelpExtras } from './help-extras.js';
import { reportError } from './output.js';

export const VERSION = '0.1.0';

type Register = (program: Command) => void;

/** The subcommand `org`, to which the org's later command groups add theirs. */
const orgOf = (program: Command): Command => program.commands.find((c) => c.name() === 'org')!;

/**
 * Every command group, in the order `custos --help` lists their commands: the top-level commands
 * each one adds to (a command may take subcommands from several groups), and how to load its
 * registration. A test checks that every command's help is the same loaded this way.
 */
export const COMMAND_GROUPS: readonly { commands: readonly string[]; load: () => Promise<Register> }[] = [
  { commands: ['init', 'keys'], load: async () => (await import('./commands-home.js')).registerHomeCommands },
  { commands: ['node', 'demo'], load: async () => (await import('./commands-node.js')).registerNodeCommands },
  {
    commands: ['tx', 'block', 'state'],
    load: async () => (await import('./commands-query.js')).registerQueryCommands,
  },
  { commands: ['proof', 'verify'], load: async () => (await import('./commands-proof.js')).registerProofCommands },
  // The customer's side, one file per responsibility under customer/: the wallet, consent and
  // opt-outs, age, rights requests, corrections, the verified history, authorised agents, a parent's consent.
  { commands: ['wallet'], load: async () => (await import('./customer/wallet.js')).registerWalletCommands },
  {
    commands: ['consent', 'optout', 'object'],
    load: async () => (await import('./customer/consent.js')).registerConsentCommands,
  },
  { commands: ['age'], load: async () => (await import('./customer/age.js')).registerAgeCommands },
  { commands: ['request'], load: async () => (await import('./customer/requests.js')).registerRequestCommands },
  {
    commands: ['correct', 'flag'],
    load: async () => (await import('./customer/corrections.js')).registerCorrectionCommands,
  },
  { commands: ['history'], load: async () => (await import('./customer/history.js')).registerHistoryCommands },
  { commands: ['agent', 'link'], load: async () => (await import('./customer/agents.js')).registerAgentCommands },
  {
    commands: ['guardian'],
    load: async () => (await import('./customer/guardian.js')).registerGuardianCommands,
  },
  { commands: ['org'], load: async () => (await import('./commands-org.js')).registerOrgCommands },
  {
    commands: ['org'],
    load: async () => {
      const { registerOrgRisk } = await import('./commands-org-risk.js');
      return (program) => registerOrgRisk(orgOf(program));
    },
  },
  {
    commands: ['org'],
    load: async () => {
      const { registerOrgRectifyCommands } = await import('./commands-org-rectify.js');
      return (program) => registerOrgRectifyCommands(orgOf(program));
    },
  },
  { commands: ['relay', 'xtx'], load: async () => (await import('./commands-relay.js')).registerRelayCommands },
  { commands: ['interop', 'xtx'], load: async () => (await import('./commands-xtx.js')).registerXtxCommands },
  { commands: ['xtx'], load: async () => (await import('./commands-xtx-evm.js')).registerXtxEvmCommands },
  { commands: ['evm'], load: async () => (await import('./commands-evm.js')).registerEvmCommands },
  { commands: ['network'], load: async () => (await import('./commands-network.js')).registerNetworkCommands },
  {
    commands: ['backup', 'restore'],
    load: async () => (await import('./commands-backup.js')).registerBackupCommands,
  },
  { commands: ['snapshot'], load: async () => (await import('./commands-snapshot.js')).registerSnapshotCommands },
  {
    commands: ['contract'],
    load: async () => (await import('./commands-contract-check.js')).registerContractCheckCommand,
  },
  {
    commands: ['contract'],
    load: async () => (await import('./commands-contract-init.js')).registerContractInitCommand,
  },
  { commands: ['contract'], load: async () => (await import('./commands-contract.js')).registerContractCommands },
];

/**
 * The groups a command line needs: none for `--version`, the groups of the command it names, and
 * every group otherwise (the overall help, `help CMD`, a misspelt command and its suggestion).
 */
export function groupsFor(args: readonly string[]): typeof COMMAND_GROUPS {
  const [first] = args;
  if (first === '-V' || first === '--version') return [];
  const named = COMMAND_GROUPS.filter((g) => first !== undefined && g.commands.includes(first));
  return named.length > 0 ? named : COMMAND_GROUPS;
}

/** The program with the commands `args` (the arguments after `custos`) may run; all of them without `args`. */
export async function buildProgram(args?: readonly string[]): Promise<Command> {
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
  const groups = args === undefined ? COMMAND_GROUPS : groupsFor(args);
  const [registrations] = await Promise.all([
    Promise.all(groups.map((g) => g.load())),
    args === undefined || asksForHelp(args) ? loadHelpExtras() : undefined,
  ]);
  for (const register of registrations) register(program);
  return program;
}

/** Runs the CLI on `argv` (as process.argv); resolves to the exit code (long-running commands keep the process alive). */
export async function runCli(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const program = await buildProgram(argv.slice(2));
    program.hook('preAction', async (_program, action) => {
      json = action.opts().json === true;
      // node:crypto's SHA-256 for the protocol's hashing; help and --version never hash.
      (await import('../crypto/native.js')).installNativeCrypto();
    });
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
