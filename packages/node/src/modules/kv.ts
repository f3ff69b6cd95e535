/**
 * A simple owned key-value store, so the chain does something useful before the customer-data
 * modules: the first writer of a key owns it; only the owner may overwrite or delete it.
 *
 * Org-owned namespaces: in `privacy` (an org's public controller profile, privacy policy, DPO
 * contact, which consent receipts are exported with), every key is `<org>.<name>` and only a
 * member key of `<org>` may write or delete it, whoever wrote it before (after a key rotation the
 * org keeps its keys; a squatter's earlier write never locks the org out). Anyone else is refused
 * with `RESERVED_NAMESPACE`.
 *
 * State: `kv/<ns>/<key>` -> {value, owner, updatedAt}; org-owned keys also carry `org`.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { MEMBER_ID, memberOfKey } from './member-state.js';

const NAME = /^[A-Za-z0-9._:@-]{1,128}$/;
export const MAX_KV_VALUE_BYTES = 4096;

/** Namespaces whose keys are `<org>.<name>`, writable only by that org's member keys. */
export const ORG_NAMESPACES: readonly string[] = ['privacy'];

export function kvKey(ns: string, key: string): string {
  return `kv/${ns}/${key}`;
}

/**
 * The org that owns `ns`/`key`, or undefined for a first-writer key. Pure: the API and receipts use
 * it to decide whom to trust for a value, the module to decide who may write it.
 */
export function orgOwnerOf(ns: string, key: string): string | undefined {
  if (!ORG_NAMESPACES.includes(ns)) return undefined;
  const dot = key.indexOf('.');
  const org = dot < 0 ? key : key.slice(0, dot);
  return org;
}

interface KvEntry {
  value: JsonValue;
  owner: string;
  updatedAt: number;
  org?: string;
}

/** Checks the signer may write `ns`/`key`; returns the current entry (if any) and the owning org. */
function writable(ctx: ExecContext, ns: string, key: string): { cur: KvEntry | undefined; org: string | undefined } {
  const k = kvKey(ns, key);
  const cur = ctx.get(k) as unknown as KvEntry | undefined;
  const org = orgOwnerOf(ns, key);
  if (org !== undefined) {
    if (!MEMBER_ID.test(org) || key.length === org.length + 1 || !key.startsWith(`${org}.`)) {
      throw new ExecFailure('RESERVED_NAMESPACE', `expected a key in '${ns}' of the form <org>.<name>`);
    }
    if (memberOfKey(ctx, ctx.signer) !== org) {
      throw new ExecFailure('RESERVED_NAMESPACE', `keys '${ns}/${org}.*' are written only by member org '${org}'`);
    }
    return { cur, org };
  }
  if (cur !== undefined && cur.owner !== ctx.signer) {
    throw new ExecFailure('UNAUTHORIZED', 'key is owned by another signer');
  }
  return { cur, org };
}

/** The entry `put` and `delete` read first (their owner check), when `args` name a valid one. */
function kvKeyOfArgs(args: Args): string | undefined {
  const { ns, key } = args;
  return typeof ns === 'string' && typeof key === 'string' && NAME.test(ns) && ns.length <= 64 && NAME.test(key)
    ? kvKey(ns, key)
    : undefined;
}

export const kvModule: Module = {
  name: 'kv',
  reads: { put: kvKeyOfArgs, delete: kvKeyOfArgs },
  actions: {
    put(ctx: ExecContext, args: Args) {
      arg.only(args, ['ns', 'key', 'value']);
      const ns = arg.str(args, 'ns', 64, NAME);
      const key = arg.str(args, 'key', 128, NAME);
      const value = args.value;
      if (value === undefined) throw new ExecFailure('INVALID_ARGS', 'expected args.value');
      if (canonicalize(value).length > MAX_KV_VALUE_BYTES) {
        throw new ExecFailure('LIMIT_EXCEEDED', `expected args.value of at most ${MAX_KV_VALUE_BYTES} bytes`);
      }
      const { org } = writable(ctx, ns, key);
      ctx.put(kvKey(ns, key), {
        value,
        owner: ctx.signer,
        updatedAt: ctx.time,
        ...(org === undefined ? {} : { org }),
      });
      return 'OK';
    },
    delete(ctx: ExecContext, args: Args) {
      arg.only(args, ['ns', 'key']);
      const ns = arg.str(args, 'ns', 64, NAME);
      const key = arg.str(args, 'key', 128, NAME);
      const { cur } = writable(ctx, ns, key);
      if (cur === undefined) throw new ExecFailure('NOT_FOUND', 'no such key');
      ctx.del(kvKey(ns, key));
      return 'OK';
    },
  },
};
