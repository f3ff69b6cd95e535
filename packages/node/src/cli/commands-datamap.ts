/**
 * `custos org datamap check | publish | schema` (docs/customer-data.md, "The data map"): checks an
 * org's data-map file offline and prints its coverage; publishes its digest on the ledger
 * (`datamap.publish`, signed with the org's key); prints the file's JSON Schema.
 */
import type { Command } from 'commander';
import type { PublishFlags } from './datamap-actions.js';
import { nodeOption } from './options.js';

export function registerDatamapCommands(org: Command): void {
  const group = org
    .command('datamap')
    .description("the org's data map: where its customer data lives, checked offline, its digest on the ledger");

  group
    .command('check')
    .description('check a data-map file (JSON) and print what it covers; nothing is sent')
    .argument('<file>', "the data map ('-' for stdin)")
    .option('--json', 'print one JSON document')
    .action(async (file: string, flags: { json?: boolean }) =>
      (await import('./datamap-actions.js')).checkDataMapFile(file, flags),
    );

  group
    .command('scan')
    .description('list the columns of a PostgreSQL database that look like personal data and the map does not cover')
    .requiredOption(
      '--postgres <url>',
      'postgres://user@host:port/db (the password from $PGPASSWORD, never on the command line)',
    )
    .option('--map <file>', 'the data map: columns it covers are not listed')
    .option('--sample <n>', 'values sampled per text column (1-1000, default 50)')
    .option('--json', 'print one JSON document')
    .action(async (flags: { postgres: string; map?: string; sample?: string; json?: boolean }) =>
      (await import('./datamap-actions.js')).scanDataMap(flags),
    );

  group
    .command('schema')
    .description("print the data map's JSON Schema")
    .action(async () => (await import('./datamap-actions.js')).printDataMapSchema());

  group
    .command('publish')
    .description("record the map's digest on the ledger (datamap.publish, signed with the org key)")
    .argument('<file>', 'the data map')
    .option('--org <id>', "sign with this org's key from the home directory (must be the map's org)")
    .option('--key <file>', 'sign with this keystore file')
    .option('--home <dir>', 'home directory for --org (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (else $CUSTOS_PASSPHRASE)')
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (file: string, flags: PublishFlags) =>
      (await import('./datamap-actions.js')).publishDataMap(file, flags),
    );
}
