/**
 * A simple owned key-value store, so the chain does something useful before the customer-data
 * modules: the first writer of a key owns it; only the owner may overwrite or delete it.
 *
 * State: `kv/<ns>/<key>` -> {value, owner, updatedAt}.
 */
import { canonicalize, type JsonValue } from '@custos/protocol';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';

const NAME = /^[A-Za-z0-9._:@-]{1,128}$/;
export const MAX_KV_VALUE_BYTES = 4096;

export function kvKey(ns: string, key: string): string {
  return `kv/${ns}/${key}`;
}

function owned(ctx: ExecContext, k: string): { value: JsonValue; owner: string } | undefined {
  const cur = ctx.get(k) as { value: JsonValue; owner: string } | undefined;
  if (cur !== undefined && cur.owner !== ctx.signer)
    throw new ExecFailure('UNAUTHORIZED', 'key is owned by another signer');
  return cur;
}

export const kvModule: Module = {
  name: 'kv',
  actions: {
    put(ctx: ExecContext, args: Args) {
      arg.only(args, ['ns', 'key', 'value']);
      const k = kvKey(arg.str(args, 'ns', 64, NAME), arg.str(args, 'key', 128, NAME));
      const value = args.value;
      if (value === undefined) throw new ExecFailure('INVALID_ARGS', 'expected args.value');
      if (canonicalize(value).length > MAX_KV_VALUE_BYTES) {
        throw new ExecFailure('LIMIT_EXCEEDED', `expected args.value of at most ${MAX_KV_VALUE_BYTES} bytes`);
      }
      owned(ctx, k);
      ctx.put(k, { value, owner: ctx.signer, updatedAt: ctx.time });
      return 'OK';
    },
    delete(ctx: ExecContext, args: Args) {
      arg.only(args, ['ns', 'key']);
      const k = kvKey(arg.str(args, 'ns', 64, NAME), arg.str(args, 'key', 128, NAME));
      if (owned(ctx, k) === undefined) throw new ExecFailure('NOT_FOUND', 'no such key');
      ctx.del(k);
      return 'OK';
    },
  },
};
