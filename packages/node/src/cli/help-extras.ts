/**
 * Help text built from modules too heavy to load for a command's run (every system module, for
 * `custos tx --help`): `loadHelpExtras` loads them before the command line is parsed, only when it
 * asks for help, and the help callbacks read them synchronously.
 */

let txTypes: readonly string[] | undefined;

/** Whether `args` (the arguments after `custos`) may print a help text. */
export function asksForHelp(args: readonly string[]): boolean {
  return args[0] === 'help' || args.includes('--help') || args.includes('-h');
}

export async function loadHelpExtras(): Promise<void> {
  const [{ Executor }, { SYSTEM_MODULES }] = await Promise.all([
    import('../exec/executor.js'),
    import('../modules/index.js'),
  ]);
  txTypes = new Executor(SYSTEM_MODULES).types();
}

/** The transaction types a node executes, by module, and where their arguments are documented. */
export function txTypesHelp(): string {
  if (txTypes === undefined) throw new Error('loadHelpExtras() must run before the help is printed');
  const byModule = new Map<string, string[]>();
  for (const t of txTypes) {
    const [mod = t, action = ''] = t.split('.');
    byModule.set(mod, [...(byModule.get(mod) ?? []), action]);
  }
  return [
    '',
    'Transaction types (--type):',
    ...[...byModule].map(([mod, actions]) => `  ${`${mod}.`.padEnd(10)} ${actions.join(', ')}`),
    '',
    'Their arguments (--args, a JSON object): kv.put {ns, key, value}, kv.delete {ns, key},',
    'member.update {name?, endpoint?}, member.addKey / member.revokeKey {key}; the customer-data',
    'types in docs/customer-data.md, gov in docs/operations.md, xtx and interop in',
    'docs/architecture.md. An argument that does not fit ends the transaction with INVALID_ARGS,',
    'and the detail names the argument and what was expected. Example:',
    `  custos tx --org bank --type kv.put --args '{"ns":"demo","key":"hello","value":"world"}'`,
  ].join('\n');
}
