/** `custos tx` (sign and submit), `custos tx show`, `custos block` and `custos state`: a node over HTTP. */
import type { Command } from 'commander';
import { parseHeight, parseTxId } from './args.js';
import { NodeClient } from './client.js';
import { txTypesHelp } from './help-extras.js';
import { nodeOption, type ReadAuthFlags, readAuthOf, readAuthOptions } from './options.js';
import { output, table } from './output.js';
import type { TxFlags } from './tx-signer.js';

/** The sentence to print where a body was withheld from a reader. */
export const WITHHELD =
  'withheld: only its parties may read it (pass --token with an org API token, or --as ORG to sign with that org key; a customer reads their own with `custos history`)';

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
    .action(async (flags: TxFlags) => (await import('./tx-submit.js')).submitTx(flags));

  readAuthOptions(tx.command('show').description('show a committed transaction').argument('<txId>', 'transaction id'))
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (txId: string, flags: ReadAuthFlags & { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const t = await new NodeClient(flags.node, await readAuthOf(flags)).tx(parseTxId(txId));
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
      const client = new NodeClient(flags.node, await readAuthOf(flags));
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
      const e = await new NodeClient(flags.node, await readAuthOf(flags)).stateEntry(key);
      out.result(e, [`${e.key} at height ${e.height}:`, JSON.stringify(e.value, null, 2)]);
    });
}
