/**
 * The migration an activation runs (docs/contracts.md#upgrades-and-migrations): when the code a
 * `contract.activate` vote puts in force declares `manifest.migrate`, the deciding transaction runs
 * that method of the new code once, under the manifest's `maxGas`, against the state the contract
 * has then (the old version's). Only a migration ending OK activates the code, with its writes; a
 * failed one leaves the code in force (and its state) as they were. Either way its receipt goes to
 * `contract-receipt/<deciding txId>` and the outcome to the contract's record (`migration`).
 */

import type { JsonValue } from '@custos/protocol/jcs';
import type { ExecContext, ExecHost } from '../exec/module.js';
import type { CallReceipt, ContractRecord, StoredCode } from './contract-state.js';
import { receiptKey } from './contract-state.js';
import { runOnLedger } from './contract-system.js';
import { memberOfKey } from './member-state.js';

export interface MigrationOutcome {
  ok: boolean;
  receipt: CallReceipt;
}

/** Runs `code.manifest.migrate` of the code being activated; writes its state changes only if it ends OK. */
export function runMigration(
  ctx: ExecContext,
  rec: ContractRecord,
  code: StoredCode,
  host: ExecHost | undefined,
): MigrationOutcome {
  const method = code.manifest.migrate as string;
  const base = { contract: rec.id, method, caller: ctx.signer, gasLimit: code.manifest.maxGas, events: [] };
  const runtime = host?.nested === true ? undefined : host?.contracts;
  const range = ctx.range;
  if (runtime === undefined || range === undefined) {
    const receipt: CallReceipt = {
      ...base,
      code: 'INVALID_ARGS',
      gasUsed: 0,
      returnValue: null,
      error: 'a migration runs only in a top-level transaction on a peer with the contract runtime',
    };
    ctx.put(receiptKey(ctx.txId), receipt);
    return { ok: false, receipt };
  }
  const { result, receipt } = runOnLedger(ctx, runtime, range, {
    contract: rec.id,
    code,
    method,
    // What the migration migrates from: null on a first activation.
    args: { fromVersion: rec.version, fromDigest: rec.digest },
    // The deciding voter's member id (a vote is signed by a member key), as for a call.
    caller: memberOfKey(ctx, ctx.signer) ?? ctx.signer,
    gasLimit: code.manifest.maxGas,
  });
  ctx.put(receiptKey(ctx.txId), receipt);
  if (!result.ok) return { ok: false, receipt };
  for (const [k, v] of result.writes) {
    if (v === null) ctx.del(k);
    else ctx.put(k, JSON.parse(v) as JsonValue);
  }
  return { ok: true, receipt };
}
