/**
 * Which data map an org had in force when (issue 16, docs/customer-data.md "The data map"): the org
 * publishes the digest of each version of its map, with the ids of its systems and its counts, never
 * the map itself (which names its tables and columns). Versions only go up; publishing the digest
 * already in force is a CONFLICT, so every entry is a real change. Public, like governance: a
 * regulator reads which map was in force at any height without asking the org.
 *
 * State: `datamap/<org>` -> DataMapEntry (the one in force); `datamap/<org>/v/<version>` -> the same
 * entry for every version published, so the history survives the next publication.
 */
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { hash32, signerOrg } from './common.js';

/** A system id in a data map: 1-32 characters a-z 0-9 -, starting with a letter. */
export const DATAMAP_SYSTEM_ID = /^[a-z][a-z0-9-]{0,31}$/;
export const MAX_DATAMAP_SYSTEMS = 64;
const MAX_VERSION = 2_147_483_647;

export interface DataMapEntry {
  org: string;
  version: number;
  digest: string;
  systems: string[];
  tables: number;
  fields: number;
  publishedAt: number;
  height: number;
  txId: string;
  /** The version this one replaced, or null for the first. */
  previous: number | null;
}

export function dataMapKey(org: string): string {
  return `datamap/${org}`;
}

export function dataMapVersionKey(org: string, version: number): string {
  return `datamap/${org}/v/${String(version).padStart(10, '0')}`;
}

/** The map `org` has in force, or undefined if it never published one. */
export function dataMapInForce(ctx: Pick<ExecContext, 'get'>, org: string): DataMapEntry | undefined {
  return ctx.get(dataMapKey(org)) as unknown as DataMapEntry | undefined;
}

export const datamapModule: Module = {
  name: 'datamap',
  actions: {
    publish(ctx: ExecContext, args: Args) {
      arg.only(args, ['version', 'digest', 'systems', 'tables', 'fields']);
      const org = signerOrg(ctx);
      const version = arg.int(args, 'version', 1, MAX_VERSION);
      const digest = hash32(args, 'digest');
      const systems = arg.strList(args, 'systems', MAX_DATAMAP_SYSTEMS, 32, DATAMAP_SYSTEM_ID);
      if (new Set(systems).size !== systems.length) {
        throw new ExecFailure('INVALID_ARGS', 'expected args.systems without repeats');
      }
      const tables = arg.int(args, 'tables', 0, 64 * 256);
      const fields = arg.int(args, 'fields', 0, 10_000);
      const cur = dataMapInForce(ctx, org);
      if (cur !== undefined) {
        if (version <= cur.version) {
          throw new ExecFailure('CONFLICT', `expected a version above ${cur.version}, the one in force`);
        }
        if (digest === cur.digest) {
          throw new ExecFailure('CONFLICT', `this map is already in force as version ${cur.version}`);
        }
      }
      const entry: DataMapEntry = {
        org,
        version,
        digest,
        systems,
        tables,
        fields,
        publishedAt: ctx.time,
        height: ctx.height,
        txId: ctx.txId,
        previous: cur?.version ?? null,
      };
      ctx.put(dataMapKey(org), entry);
      ctx.put(dataMapVersionKey(org, version), entry);
      return 'OK';
    },
  },
};
