/**
 * The system actions a contract may call with `host.system` when its manifest grants them:
 * `data.access` and `data.share`, run by the data module's own code (lawful basis, consent, opt-out,
 * erasure and restriction checks) as if the caller's org had sent them directly, inside the call's
 * overlay (rolled back with a failed call). The purposes and the record's category must also be in
 * the manifest. The transaction is filed in the data subject's history, so the customer sees a use
 * made by a contract on behalf of the org; the contract gets `{ok: true}` and never the record.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import type { ContractResult } from '../contracts/index.js';
import type { ContractRuntime } from '../contracts/runtime.js';
import { type ContractSystemHost, SystemActionRefused } from '../contracts/types.js';
import { type Args, type ExecContext, ExecFailure } from '../exec/module.js';
import { signerOrg } from './common.js';
import type { CallReceipt, StoredCode } from './contract-state.js';
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

/** One run of a contract method inside a transaction: what `contract.call` and a migration share. */
export interface LedgerRun {
  contract: string;
  code: StoredCode;
  method: string;
  args: JsonValue;
  /** What the contract sees as `call.caller`: the calling member's id. */
  caller: string;
  gasLimit: number;
}

/**
 * Runs `run` against the transaction's view of the ledger (its state reads, range reads and the
 * system actions the manifest grants), at the block's height and time; returns the result and its
 * receipt (the receipt names the key that signed as its caller).
 */
export function runOnLedger(
  ctx: ExecContext,
  runtime: ContractRuntime,
  range: NonNullable<ExecContext['range']>,
  run: LedgerRun,
): { result: ContractResult; receipt: CallReceipt } {
  const result = runtime.call({
    contract: run.contract,
    code: run.code.code,
    manifest: run.code.manifest,
    method: run.method,
    args: run.args,
    caller: run.caller,
    height: ctx.height,
    time: ctx.time,
    gasLimit: run.gasLimit,
    state: {
      get: (key) => {
        const v = ctx.get(key);
        return v === undefined ? undefined : canonicalize(v);
      },
      range,
    },
    system: contractSystemHost(ctx),
  });
  const receipt: CallReceipt = {
    contract: run.contract,
    method: run.method,
    caller: ctx.signer,
    code: result.code,
    gasUsed: result.gasUsed,
    gasLimit: result.gasLimit,
    events: result.events,
    returnValue: result.returnValue,
    ...(result.error === undefined ? {} : { error: result.error }),
  };
  return { result, receipt };
}
