/**
 * The system actions a contract may call with `host.system` when its manifest grants them:
 * `data.access` and `data.share`, run by the data module's own code (lawful basis, consent, opt-out,
 * erasure and restriction checks) as if the caller's org had sent them directly, inside the call's
 * overlay (rolled back with a failed call). The purposes and the record's category must also be in
 * the manifest. The transaction is filed in the data subject's history, so the customer sees a use
 * made by a contract on behalf of the org; the contract gets `{ok: true}` and never the record.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import { type ContractSystemHost, SystemActionRefused } from '../contracts/types.js';
import { type Args, type ExecContext, ExecFailure } from '../exec/module.js';
import { signerOrg } from './common.js';
import { type DataRecord, dataModule, recordKey } from './data.js';

const ACTIONS: Record<string, (ctx: ExecContext, args: Args) => unknown> = {
  'data.access': dataModule.actions.access as (ctx: ExecContext, args: Args) => unknown,
  'data.share': dataModule.actions.share as (ctx: ExecContext, args: Args) => unknown,
};

export function contractSystemHost(outer: ExecContext): ContractSystemHost {
  return {
    call(action, args, sys) {
      const run = ACTIONS[action];
      if (run === undefined) {
        throw new SystemActionRefused('CONTRACT_FORBIDDEN', `system action ${action} is not available to contracts`);
      }
      if (typeof args !== 'object' || args === null || Array.isArray(args)) {
        throw new SystemActionRefused('INVALID_ARGS', `expected the arguments of ${action} as an object`);
      }
      const a = args as Args;
      const ctx: ExecContext = {
        chainId: outer.chainId,
        height: sys.height,
        time: sys.time,
        txId: outer.txId,
        signer: outer.signer,
        get: (k) => sys.state.get(k),
        put: (k, v) => sys.state.put(k, v as JsonValue),
        del: (k) => sys.state.del(k),
        index: (s) => outer.index(s),
      };
      try {
        if (typeof a.purpose !== 'string' || !sys.manifest.purposes.includes(a.purpose)) {
          throw new ExecFailure(
            'CONTRACT_FORBIDDEN',
            `the manifest does not list purpose ${String(a.purpose).slice(0, 80)}`,
          );
        }
        if (typeof a.record === 'string') {
          const rec = ctx.get(recordKey(signerOrg(ctx), a.record)) as unknown as DataRecord | undefined;
          if (rec !== undefined && !sys.manifest.categories.includes(rec.category)) {
            throw new ExecFailure('CONTRACT_FORBIDDEN', `the manifest does not list category ${rec.category}`);
          }
        }
        run(ctx, a);
      } catch (e) {
        if (e instanceof ExecFailure) throw new SystemActionRefused(e.result, `${action}: ${e.message}`);
        throw e;
      }
      return { ok: true };
    },
  };
}
