/** `custos tx` (sign and submit), `custos tx show`, `custos block` and `custos state`: a node over HTTP. */
import { join } from 'node:path';
import { type Signer, signTx } from '@custos/protocol';
import { type Command, Option } from 'commander';
import { NodeError } from '../errors.js';
import { Executor } from '../exec/executor.js';
import { GENESIS_FILE, loadOrgSigner, readGenesisFile, requirePassphrase, resolveHome } from '../home.js';
import { loadSigner } from '../keys/keystore.js';
import { SYSTEM_MODULES } from '../modules/index.js';
import { parseArgsObject, parseHeight, parseTxId } from './args.js';
import { DEFAULT_NODE_URL, NodeClient } from './client.js';
import { output, table } from './output.js';

export function nodeOption(): Option {
  return new Option('--node <url>', 'node URL').env('CUSTOS_NODE').default(DEFAULT_NODE_URL);
}

interface TxFlags {
  type?: string;
  args?: string;
  key?: string;
  org?: string;
  home?: string;
  passphraseFile?: string;
  node: string;
  wait: boolean;
  json?: boolean;
}

/** Exit status of a committed transaction whose result code is not OK (it ran, and failed). */
const TX_FAILED_EXIT = 1;

function signerOf(flags: TxFlags): { signer: Signer; chainId?: string } {
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
      const r = await client.submit(signed, flags.wait);
      if (!('code' in r)) {
        out.result(r, `Transaction ${r.txId} accepted; it will be in one of the next blocks.`);
        return;
      }
      out.result(r, [
        `Transaction ${r.txId} committed: height ${r.height}, index ${r.index}, result ${r.code}${r.detail === undefined ? '' : `: ${r.detail}`}.`,
      ]);
      if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
    });

  tx.command('show')
    .description('show a committed transaction')
    .argument('<txId>', 'transaction id')
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (txId: string, flags: { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const t = await new NodeClient(flags.node).tx(parseTxId(txId));
      out.result(t, [
        `Transaction ${t.txId}`,
        ...table([
          ['type', t.tx.body.type],
          ['signer', t.tx.body.signer],
          ['block', `${t.height} (index ${t.index}, log index ${t.logIndex})`],
          ['result', t.detail === undefined ? t.code : `${t.code}: ${t.detail}`],
          ['created', new Date(t.tx.body.createdAt).toISOString()],
          ['args', JSON.stringify(t.tx.body.args)],
        ]),
      ]);
    });

  program
    .command('block')
    .description('show a block')
    .argument('[height]', "block height or 'latest'", 'latest')
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (height: string, flags: { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const b = await new NodeClient(flags.node).block(height === 'latest' ? 'latest' : parseHeight(height));
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
        ...b.txIds.map((id, i) => `  ${i}  ${id}  ${b.results[i]}`),
      ]);
    });

  program
    .command('state')
    .description('show the current value of a state key, e.g. member/bank or kv/privacy/bank.policy')
    .argument('<key>', 'state key')
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (key: string, flags: { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const e = await new NodeClient(flags.node).stateEntry(key);
      out.result(e, [`${e.key} at height ${e.height}:`, JSON.stringify(e.value, null, 2)]);
    });
}
