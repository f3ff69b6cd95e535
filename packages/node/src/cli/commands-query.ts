/** `custos tx` (sign and submit), `custos tx show`, `custos block` and `custos state`: a node over HTTP. */
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import { signTx } from '@custos/protocol/ledger';
import type { Command } from 'commander';
import { NodeError } from '../errors.js';
import { Executor } from '../exec/executor.js';
import { GENESIS_FILE, loadOrgSigner, readGenesisFile, requirePassphrase, resolveHome } from '../home.js';
import { loadSigner } from '../keys/keystore.js';
import { SYSTEM_MODULES } from '../modules/index.js';
import { parseArgsObject, parseHeight, parsePositiveInt, parseTxId } from './args.js';
import { NodeClient } from './client.js';
import { nodeOption, type ReadAuthFlags, readAuthOf, readAuthOptions } from './options.js';
import { output, table } from './output.js';

/** The sentence to print where a body was withheld from a reader. */
export const WITHHELD =
  'withheld: only its parties may read it (pass --token with an org API token, or --as ORG to sign with that org key; a customer reads their own with `custos history`)';

export interface TxFlags {
  type?: string;
  args?: string;
  key?: string;
  org?: string;
  home?: string;
  passphraseFile?: string;
  node: string;
  wait: boolean;
  waitTimeout?: string;
  json?: boolean;
}

/** Exit status of a committed transaction whose result code is not OK (it ran, and failed). */
export const TX_FAILED_EXIT = 1;

export function signerOf(flags: Pick<TxFlags, 'key' | 'org' | 'home' | 'passphraseFile'>): {
  signer: Signer;
  chainId?: string;
} {
  const passFile = flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile };
  if ((flags.key === undefined) === (flags.org === undefined)) {
    throw new NodeError('BAD_REQUEST', 'expected exactly one of --key FILE or --org ID');
  }
  if (flags.key !== undefined) return { signer: loadSigner(flags.key, requirePassphrase(passFile)) };
  const home = resolveHome(flags.home);
  const signer = loadOrgSigner(home, flags.org as string, requirePassphrase({ home, ...passFile }));
  return { signer, chainId: readGenesisFile(join(home, GENESIS_FILE)).chainId };
}

/** The transaction types a node executes, by module, and where their arguments are documented. */
function txTypesHelp(): string {
  const byModule = new Map<string, string[]>();
  for (const t of new Executor(SYSTEM_MODULES).types()) {
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

export function registerQueryCommands(program: Command): void {
  const tx = program
    .command('tx')
    .description('sign and submit a transaction (or `tx show TXID`)')
    // `tx show TXID --node URL`: options after `show` belong to `show`, not to `tx`.
    .enablePositionalOptions()
    .option('--type <type>', 'transaction type, e.g. kv.put')
    .option('--args <json>', 'arguments as a JSON object')
    .option('--key <file>', 'sign with this keystore file')
    .option('--org <id>', "sign with this org's key from the home directory")
    .option('--home <dir>', 'home directory for --org (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (else $CUSTOS_PASSPHRASE)')
    .addOption(nodeOption())
    .option('--no-wait', 'return once admitted, without waiting for the commit')
    .option(
      '--wait-timeout <seconds>',
      'longest wait for the commit (default 75); then TIMEOUT names the txId to look up later',
    )
    .option('--json', 'print one JSON document')
    .addHelpText('after', txTypesHelp)
    .action(async (flags: TxFlags) => {
      const out = output(flags.json === true);
      if (flags.type === undefined || flags.args === undefined) {
        throw new NodeError('BAD_REQUEST', "expected --type and --args (or a subcommand: 'tx show TXID')");
      }
      const args = parseArgsObject(flags.args);
      const { signer, chainId: homeChain } = signerOf(flags);
      const client = new NodeClient(flags.node);
      const { chainId } = await client.chain();
      if (homeChain !== undefined && homeChain !== chainId) {
        throw new NodeError(
          'BAD_REQUEST',
          `the node serves chain '${chainId}', but the home's genesis is for '${homeChain}'`,
        );
      }
      const signed = signTx({ chainId, type: flags.type, args }, signer);
      const r = await client.submit(
        signed,
        flags.wait,
        flags.waitTimeout === undefined ? undefined : parsePositiveInt(flags.waitTimeout, '--wait-timeout') * 1000,
      );
      if (!('code' in r)) {
        out.result(r, `Transaction ${r.txId} accepted; it will be in one of the next blocks.`);
        return;
      }
      out.result(r, [
        `Transaction ${r.txId} committed: height ${r.height}, index ${r.index}, result ${r.code}${r.detail === undefined ? '' : `: ${r.detail}`}.`,
      ]);
      if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
    });

  readAuthOptions(tx.command('show').description('show a committed transaction').argument('<txId>', 'transaction id'))
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (txId: string, flags: ReadAuthFlags & { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const t = await new NodeClient(flags.node, readAuthOf(flags)).tx(parseTxId(txId));
      const body = t.tx?.body;
      out.result(t, [
        `Transaction ${t.txId}`,
        ...table([
          ['block', `${t.height} (index ${t.index}, log index ${t.logIndex})`],
          ['result', t.detail === undefined ? t.code : `${t.code}: ${t.detail}`],
          ...(body === undefined
            ? [['body', WITHHELD] as [string, string]]
            : ([
                ['type', body.type],
                ['signer', body.signer],
                ['created', new Date(body.createdAt).toISOString()],
                ['args', JSON.stringify(body.args)],
              ] as [string, string][])),
        ]),
      ]);
    });

  readAuthOptions(
    program
      .command('block')
      .description('show a block (its transactions: those your credentials may read)')
      .argument('[height]', "block height or 'latest'", 'latest'),
  )
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (height: string, flags: ReadAuthFlags & { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const client = new NodeClient(flags.node, readAuthOf(flags));
      const b = await client.block(height === 'latest' ? 'latest' : parseHeight(height));
      const withheld = b.withheld ?? 0;
      out.result(b, [
        `Block ${b.height} ${b.hash}`,
        ...table([
          ['time', new Date(b.header.time).toISOString()],
          ['transactions', b.header.txCount],
          ['log size', String(b.header.logSize)],
          ['log root', String(b.header.logRoot)],
          ['state root', String(b.header.stateRoot)],
          ['signatures', b.qc === null ? 'none' : b.qc.signatures.length],
        ]),
        ...b.txIds.map((id, i) => `  ${b.indexes?.[i] ?? i}  ${id}  ${b.results[i]}`),
        ...(b.commitments ?? []).map((c) => `  ${c.index}  ${c.txId}  ${c.code}  (another org's: body withheld)`),
        ...(withheld > 0 ? [`  ${withheld} transaction(s) ${WITHHELD}`] : []),
      ]);
    });

  readAuthOptions(
    program
      .command('state')
      .description('show the current value of a state key, e.g. member/bank or kv/privacy/bank.policy')
      .argument('<key>', 'state key'),
  )
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (key: string, flags: ReadAuthFlags & { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const e = await new NodeClient(flags.node, readAuthOf(flags)).stateEntry(key);
      out.result(e, [`${e.key} at height ${e.height}:`, JSON.stringify(e.value, null, 2)]);
    });
}
