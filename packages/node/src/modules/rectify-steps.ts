/**
 * A correction carried into the org's own systems (issue 16 point 3 for GDPR Art. 16, issue 17):
 * when the org applies a customer's correction (`rectify.apply`), it names the systems of its data
 * map in force that hold the record's category (`systems`), and its node records one step per system
 * as it updates them: `rectify.step {item, system, outcome, rows, digest | error, attempts}`, as
 * `request.step` does for requests (the outcome, the row count, the salted digest of the rows as they
 * were, never a value). A done step is final; a failed one is recorded with its error code and can be
 * run again. The customer reads "corrected in N of M systems" from these entries.
 *
 * State: `rectstep/<org>/<item>/<system>` -> RequestStep (its `request` is the item's id).
 */
import type { Rectification } from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure } from '../exec/module.js';
import { hash32 } from './common.js';
import { DATAMAP_SYSTEM_ID, dataMapInForce, MAX_DATAMAP_SYSTEMS } from './datamap.js';
import { type RequestStep, STEP_ERROR_CODE } from './request-steps.js';

const MAX_ROWS = 1_000_000_000;
const MAX_ATTEMPTS = 100;

export function rectifyStepKey(org: string, item: string, system: string): string {
  return `rectstep/${org}/${item}/${system}`;
}

/**
 * `rectify.apply`'s optional `systems`: distinct ids of systems of the org's data map in force, or
 * undefined when absent (the org runs the correction in no system of its own).
 */
export function correctionSystems(ctx: ExecContext, args: Args, org: string): string[] | undefined {
  if (args.systems === undefined) return undefined;
  const systems = arg.strList(args, 'systems', MAX_DATAMAP_SYSTEMS, 32, DATAMAP_SYSTEM_ID);
  if (new Set(systems).size !== systems.length) {
    throw new ExecFailure('INVALID_ARGS', 'expected args.systems without repeats');
  }
  const map = dataMapInForce(ctx, org);
  const unknown = systems.filter((s) => map === undefined || !map.systems.includes(s));
  if (unknown.length > 0) {
    throw new ExecFailure(
      'NOT_FOUND',
      `expected args.systems from the data map ${org} has in force, not ${unknown[0]}`,
    );
  }
  return systems;
}

/** `rectify.step`: one system's update of an applied item `r` (the signer's own; checked by the caller). */
export function recordRectifyStep(ctx: ExecContext, args: Args, r: Rectification): void {
  const system = arg.str(args, 'system', 32, DATAMAP_SYSTEM_ID);
  const outcome = arg.oneOf(args, 'outcome', ['done', 'failed'] as const);
  if (r.status !== 'applied') {
    throw new ExecFailure('CONFLICT', `the correction is ${r.status}: only an applied one is run in the org's systems`);
  }
  if (!(r.systems ?? []).includes(system)) {
    throw new ExecFailure('NOT_FOUND', `system '${system}' is not one the correction was applied to reach`);
  }
  const key = rectifyStepKey(r.org, r.id, system);
  const cur = ctx.get(key) as unknown as RequestStep | undefined;
  if (cur !== undefined && cur.outcome !== 'failed') {
    throw new ExecFailure('CONFLICT', `the rectify step in ${system} is already ${cur.outcome}`);
  }
  let rows = 0;
  let digest: string | null = null;
  let error: string | null = null;
  let attempts = 0;
  if (outcome === 'done') {
    arg.only(args, ['item', 'system', 'outcome', 'rows', 'digest']);
    rows = arg.int(args, 'rows', 0, MAX_ROWS);
    digest = hash32(args, 'digest');
  } else {
    arg.only(args, ['item', 'system', 'outcome', 'error', 'attempts']);
    error = arg.str(args, 'error', 40, STEP_ERROR_CODE);
    attempts = arg.int(args, 'attempts', 1, MAX_ATTEMPTS);
  }
  const allAttempts = (cur?.attempts ?? 0) + attempts;
  const entry: RequestStep = {
    request: r.id,
    system,
    step: 'rectify',
    outcome,
    rows,
    digest,
    exception: null,
    error,
    failures: (cur?.failures ?? 0) + (outcome === 'failed' ? 1 : 0),
    ...(allAttempts === 0 ? {} : { attempts: allAttempts }),
    time: ctx.time,
    txId: ctx.txId,
  };
  ctx.put(key, entry);
}
