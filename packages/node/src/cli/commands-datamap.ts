/**
 * `custos org datamap check | publish | schema` (docs/customer-data.md, "The data map"): checks an
 * org's data-map file offline and prints its coverage; publishes its digest on the ledger
 * (`datamap.publish`, signed with the org's key); prints the file's JSON Schema.
 */
import { signTx } from '@custos/protocol/ledger';
import type { Command } from 'commander';
import {
  type DataMap,
  DataMapError,
  DataMapSchema,
  dataMapCoverage,
  MAX_DATAMAP_BYTES,
  parseDataMap,
  publishArgs,
} from '../connectors/datamap.js';
import { scanPostgres } from '../connectors/scan.js';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { parsePositiveInt } from './args.js';
import { NodeClient } from './client.js';
import { nodeOption } from './options.js';
import { output, TX_FAILED_EXIT, table } from './output.js';
import { signerOf } from './tx-signer.js';

/** The checked map in `file` ('-' for stdin); every problem with its path, as BAD_REQUEST. */
export function readDataMap(file: string): DataMap {
  const text = readBoundedFile(file, { what: 'a data map (JSON)', maxBytes: MAX_DATAMAP_BYTES }).toString('utf8');
  try {
    return parseDataMap(text);
  } catch (e) {
    if (e instanceof DataMapError) {
      const lines = e.problems.map((p) => `  ${p.path}: ${p.message}`);
      throw new NodeError(
        'BAD_REQUEST',
        `${file === '-' ? 'stdin' : file} is not a valid data map:\n${lines.join('\n')}`,
      );
    }
    throw e;
  }
}

function coverageLines(map: DataMap): string[] {
  const c = dataMapCoverage(map);
  const lines = [
    `Data map of ${c.org}, version ${c.version}: valid.`,
    `  digest ${c.digest}`,
    `  ${c.systems.length} system(s), ${c.tables} table(s), ${c.fields} personal field(s)`,
    ...table(
      c.systems.map((s) => [
        `${s.id} (${s.kind})`,
        s.kind === 'vault'
          ? 'the vault: every registered record'
          : `${s.tables} table(s), ${s.fields} field(s), retention by age on ${s.retentionByTime} of ${s.tables} table(s)`,
      ]),
    ),
    'Categories (fields):',
    ...table(Object.entries(c.categories).map(([k, v]) => [k, v])),
    'Purposes (fields):',
    ...table(Object.entries(c.purposes).map(([k, v]) => [k, v])),
  ];
  if (c.withoutTimestamp.length > 0) {
    lines.push(
      `Retention cannot erase by age (no timestampField) in ${c.withoutTimestamp.length} table(s): ${c.withoutTimestamp.join(', ')}`,
    );
  }
  if (!map.systems.some((s) => s.kind === 'vault')) {
    lines.push('The vault is not in the map: requests will not reach the values registered in it.');
  }
  return lines;
}

interface PublishFlags {
  key?: string;
  org?: string;
  home?: string;
  passphraseFile?: string;
  node: string;
  json?: boolean;
}

export function registerDatamapCommands(org: Command): void {
  const group = org
    .command('datamap')
    .description("the org's data map: where its customer data lives, checked offline, its digest on the ledger");

  group
    .command('check')
    .description('check a data-map file (JSON) and print what it covers; nothing is sent')
    .argument('<file>', "the data map ('-' for stdin)")
    .option('--json', 'print one JSON document')
    .action((file: string, flags: { json?: boolean }) => {
      const map = readDataMap(file);
      output(flags.json === true).result(dataMapCoverage(map), coverageLines(map));
    });

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
    .action(async (flags: { postgres: string; map?: string; sample?: string; json?: boolean }) => {
      let url: URL;
      try {
        url = new URL(flags.postgres);
      } catch {
        throw new NodeError('BAD_REQUEST', 'expected --postgres as postgres://user@host:port/db');
      }
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        throw new NodeError('BAD_REQUEST', 'expected --postgres as postgres://user@host:port/db');
      }
      if (url.password !== '') {
        throw new NodeError(
          'BAD_REQUEST',
          'expected no password in --postgres (command lines are visible to other users): set PGPASSWORD',
        );
      }
      const sample = flags.sample === undefined ? undefined : parsePositiveInt(flags.sample, '--sample');
      const map = flags.map === undefined ? undefined : readDataMap(flags.map);
      const r = await scanPostgres(flags.postgres, {
        ...(map === undefined ? {} : { map }),
        ...(sample === undefined ? {} : { sample }),
      });
      output(flags.json === true).result(r, [
        `${r.findings.length} column(s) of ${r.columns} look like personal data${map === undefined ? '' : ' and are not in the map'}:`,
        ...table(
          r.findings.map((f) => [
            `${f.table}.${f.column}`,
            `${f.category} (${f.by === 'name' ? 'by its name' : `${f.matched} of ${f.sampled} sampled values`})`,
          ]),
        ),
      ]);
    });

  group
    .command('schema')
    .description("print the data map's JSON Schema")
    .action(() => {
      process.stdout.write(`${JSON.stringify(DataMapSchema, null, 2)}\n`);
    });

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
    .action(async (file: string, flags: PublishFlags) => {
      const map = readDataMap(file);
      if (flags.org !== undefined && flags.org !== map.org) {
        throw new NodeError('BAD_REQUEST', `the map is org '${map.org}''s, not '${flags.org}''s`);
      }
      const out = output(flags.json === true);
      const { signer, chainId: homeChain } = signerOf(flags);
      const client = new NodeClient(flags.node);
      const { chainId } = await client.chain();
      if (homeChain !== undefined && homeChain !== chainId) {
        throw new NodeError(
          'BAD_REQUEST',
          `the node serves chain '${chainId}', but the home's genesis is for '${homeChain}'`,
        );
      }
      const args = publishArgs(map);
      const r = await client.submit(signTx({ chainId, type: 'datamap.publish', args }, signer), true);
      if (!('code' in r)) throw new NodeError('TIMEOUT', `transaction ${r.txId} was not committed in time`);
      const what = `Data map ${map.org} version ${map.version} (digest ${String(args.digest)})`;
      out.result(
        { ...r, version: map.version, digest: args.digest },
        r.code === 'OK'
          ? `${what} published: transaction ${r.txId} at height ${r.height}.`
          : `${what}: refused, ${r.code}${r.detail ? `: ${r.detail}` : ''} (transaction ${r.txId}, height ${r.height}).`,
      );
      if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
    });
}
