/**
 * `custos contract init <name> [--dir <dir>] [--json]`: scaffolds a new contract in a directory
 * (default `./<name>`): `contract.js` with one method using host.get, host.put and host.emit,
 * `manifest.json` with the name, and `tests.json` with one declared test call. The scaffold passes
 * `custos contract check` as written. Existing files are never overwritten: if any of the three is
 * there, nothing is written.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { NodeError } from '../errors.js';
import { cliCommand } from '../invocation.js';
import { contractGroup } from './commands-contract-check.js';
import { output } from './output.js';

const CONTRACT_NAME = /^[a-z][a-z0-9-]{1,62}$/;

export const SCAFFOLD_FILES = ['contract.js', 'manifest.json', 'tests.json'] as const;

/** The three files of a new contract named `name`. */
export function scaffold(name: string): Record<(typeof SCAFFOLD_FILES)[number], string> {
  const code = `// ${name}: a contract for the Custos ledger (docs/contracts.md). Every key is <namespace>/<rest>
// with a namespace the manifest lists. Keep pseudonyms or commitments in state, never personal data.

exports.add = function (args, call) {
  if (!Number.isInteger(args.n) || args.n < 1 || args.n > 1000000) {
    throw new Error('expected args.n as a whole number from 1 to 1000000');
  }
  const total = host.get('main/total') || { n: 0 };
  total.n += args.n;
  host.put('main/total', total);
  host.emit({ type: 'added', n: args.n, height: call.height });
  return total.n;
};
`;
  const manifest = {
    name,
    version: '0.1.0',
    namespaces: ['main'],
    grants: [],
    categories: [],
    purposes: [],
    maxGas: 1_000_000,
  };
  const tests = [{ method: 'add', args: { n: 1 }, caller: 'bank' }];
  return {
    'contract.js': code,
    'manifest.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'tests.json': `${JSON.stringify(tests, null, 2)}\n`,
  };
}

export function registerContractInitCommand(program: Command): void {
  contractGroup(program)
    .command('init')
    .description('scaffold a new contract: contract.js, manifest.json and tests.json in a new directory')
    .argument('<name>', "the contract's id: 2-63 characters a-z 0-9 -, starting with a letter")
    .option('--dir <dir>', 'where to write the files (default ./<name>)')
    .option('--json', 'print one JSON document')
    .action((name: string, flags: { dir?: string; json?: boolean }) => {
      if (!CONTRACT_NAME.test(name)) {
        throw new NodeError(
          'BAD_REQUEST',
          'expected a contract name of 2-63 characters a-z 0-9 -, starting with a letter (e.g. loyalty-points)',
        );
      }
      const dir = flags.dir ?? name;
      const files = scaffold(name);
      const paths = SCAFFOLD_FILES.map((f) => join(dir, f));
      const existing = paths.filter((p) => existsSync(p));
      if (existing.length > 0) {
        throw new NodeError(
          'ALREADY_INITIALIZED',
          `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing was overwritten (choose another --dir)`,
        );
      }
      mkdirSync(dir, { recursive: true });
      // 'wx': a file that appeared meanwhile is not overwritten either.
      for (const f of SCAFFOLD_FILES) writeFileSync(join(dir, f), files[f], { flag: 'wx' });
      const [code, manifest, tests] = paths as [string, string, string];
      const check = cliCommand(`contract check ${code} --manifest ${manifest} --tests ${tests}`);
      const propose = cliCommand(
        `contract propose ${code} --manifest ${manifest} --tests ${tests} --reason 'what it is for' --org ORG`,
      );
      output(flags.json === true).result({ name, dir, files: paths, check, propose }, [
        `Created contract ${name} in ${dir}: ${SCAFFOLD_FILES.join(', ')}.`,
        `Check it offline: ${check}`,
        `Then propose it:  ${propose}`,
      ]);
    });
}
