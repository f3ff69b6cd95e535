/**
 * What `custos org datamap check | scan | schema | publish` do, loaded when one of them runs: the
 * data map's schema and checks, the PostgreSQL scan and the signing stay out of the CLI's start-up.
 */
import { signTx } from '@custos/protocol/ledger';
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

export interface PublishFlags {
  key?: string;
  org?: string;
  home?: string;
  passphraseFile?: string;
  node: string;
  json?: boolean;
}

export function checkDataMapFile(file: string, flags: { json?: boolean }): void {
  const map = readDataMap(file);
  output(flags.json === true).result(dataMapCoverage(map), coverageLines(map));
}

export async function scanDataMap(flags: {
  postgres: string;
  map?: string;
  sample?: string;
  json?: boolean;
}): Promise<void> {
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
}

export function printDataMapSchema(): void {
  process.stdout.write(`${JSON.stringify(DataMapSchema, null, 2)}\n`);
}

export async function publishDataMap(file: string, flags: PublishFlags): Promise<void> {
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
}
