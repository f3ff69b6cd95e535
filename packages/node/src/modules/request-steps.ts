/**
 * Execution with proof (issue 16, point 3): while an org fulfils a request across the systems of its
 * data map, it records each system's step on the ledger: `request.step {request, system, step,
 * outcome, rows, digest | exception | error}`. A step done (or kept under a legal exception) is final:
 * nothing is done twice. A failed step is recorded too, with its error code (no free text on the
 * ledger: the operator reads the message in the run's answer and the node's log), and counts
 * its attempts. `request.fulfil` of an access, export, erasure or rectification is accepted only when
 * every system of the map in force has its step done or excepted.
 *
 * State: `reqstep/<org>/<request>/<system>` -> RequestStep.
 */

import { type DataRequest, ERASURE_EXCEPTIONS } from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure } from '../exec/module.js';
import { hash32 } from './common.js';
import { DATAMAP_SYSTEM_ID, dataMapInForce } from './datamap.js';

export const STEP_KINDS = ['export', 'erase', 'rectify'] as const;
export type StepKind = (typeof STEP_KINDS)[number];
export const STEP_OUTCOMES = ['done', 'failed', 'exception'] as const;
export type StepOutcome = (typeof STEP_OUTCOMES)[number];
/** A failed step's error: a code of the node's error registry (docs/errors.md), e.g. CONNECTOR_FAILED. */
export const STEP_ERROR_CODE = /^[A-Z][A-Z0-9_]{1,39}$/;
const MAX_ROWS = 1_000_000_000;
/** Most attempts one failed run may report. */
const MAX_ATTEMPTS = 100;

export interface RequestStep {
  request: string;
  system: string;
  step: StepKind;
  outcome: StepOutcome;
  rows: number;
  digest: string | null;
  exception: string | null;
  error: string | null;
  /** How many failed runs were recorded before this entry (this one included when it failed). */
  failures: number;
  /**
   * Attempts of the connector's step in the failed runs recorded (each run retries with backoff), when
   * the org said; absent on entries recorded before this field existed.
   */
  attempts?: number;
  time: number;
  txId: string;
}

export function requestStepKey(org: string, request: string, system: string): string {
  return `reqstep/${org}/${request}/${system}`;
}

/** The step a request of `kind` needs in each system, or undefined if its fulfilment runs no step. */
export function stepOf(kind: string): StepKind | undefined {
  if (kind === 'access' || kind === 'export') return 'export';
  if (kind === 'erase') return 'erase';
  if (kind === 'rectify') return 'rectify';
  return undefined;
}

/** Records one system's step of request `r` (open, the signer's org; checked by the caller). */
export function recordStep(ctx: ExecContext, args: Args, r: DataRequest): void {
  const system = arg.str(args, 'system', 32, DATAMAP_SYSTEM_ID);
  const step = arg.oneOf(args, 'step', STEP_KINDS);
  const outcome = arg.oneOf(args, 'outcome', STEP_OUTCOMES);
  const needed = stepOf(r.kind);
  if (needed === undefined || needed !== step) {
    throw new ExecFailure(
      'INVALID_ARGS',
      needed === undefined
        ? `a ${r.kind} request runs no step in the org's systems`
        : `expected args.step ${needed} for a ${r.kind} request`,
    );
  }
  const map = dataMapInForce(ctx, r.org);
  if (map === undefined || !map.systems.includes(system)) {
    throw new ExecFailure('NOT_FOUND', `no system '${system}' in the data map ${r.org} has in force`);
  }
  const key = requestStepKey(r.org, r.id, system);
  const cur = ctx.get(key) as unknown as RequestStep | undefined;
  if (cur !== undefined && cur.outcome !== 'failed') {
    throw new ExecFailure('CONFLICT', `the ${step} step in ${system} is already ${cur.outcome}`);
  }
  let rows = 0;
  let digest: string | null = null;
  let exception: string | null = null;
  let error: string | null = null;
  let attempts = 0;
  if (outcome === 'done') {
    arg.only(args, ['request', 'system', 'step', 'outcome', 'rows', 'digest']);
    rows = arg.int(args, 'rows', 0, MAX_ROWS);
    digest = hash32(args, 'digest');
  } else if (outcome === 'failed') {
    arg.only(args, ['request', 'system', 'step', 'outcome', 'error', 'attempts']);
    error = arg.str(args, 'error', 40, STEP_ERROR_CODE);
    if (args.attempts !== undefined) attempts = arg.int(args, 'attempts', 1, MAX_ATTEMPTS);
  } else {
    arg.only(args, ['request', 'system', 'step', 'outcome', 'exception']);
    const codes: readonly string[] = ERASURE_EXCEPTIONS[r.jurisdiction];
    if (step !== 'erase') throw new ExecFailure('INVALID_ARGS', 'expected a legal exception only on an erasure step');
    exception = arg.str(args, 'exception', 32);
    if (!codes.includes(exception)) {
      throw new ExecFailure('INVALID_ARGS', `expected args.exception as one of ${codes.join(', ')}`);
    }
  }
  const failures = (cur?.failures ?? 0) + (outcome === 'failed' ? 1 : 0);
  const allAttempts = (cur?.attempts ?? 0) + attempts;
  const entry: RequestStep = {
    request: r.id,
    system,
    step,
    outcome,
    rows,
    digest,
    exception,
    error,
    failures,
    ...(allAttempts === 0 ? {} : { attempts: allAttempts }),
    time: ctx.time,
    txId: ctx.txId,
  };
  ctx.put(key, entry);
}

/**
 * Throws CONFLICT unless every system of the map `r.org` has in force has its step of `r` done or
 * excepted. Requests whose fulfilment runs no step, and orgs without a map, pass.
 */
export function checkStepsComplete(ctx: ExecContext, r: DataRequest): void {
  if (stepOf(r.kind) === undefined) return;
  const map = dataMapInForce(ctx, r.org);
  if (map === undefined) return;
  const missing = map.systems.filter((s) => {
    const step = ctx.get(requestStepKey(r.org, r.id, s)) as unknown as RequestStep | undefined;
    return step === undefined || step.outcome === 'failed';
  });
  if (missing.length > 0) {
    throw new ExecFailure(
      'CONFLICT',
      `the request has no completed step in ${missing.length} system(s) of data map version ${map.version} (${missing.join(', ')}); run them or record a legal exception`,
    );
  }
}
