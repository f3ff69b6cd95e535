/**
 * Runs a customer's request across every system of the org's data map, with proof (issue 16,
 * point 3): for each system in the order of the map in force, the connector's step (export for an
 * access or export request, erase for an erasure, rectify for a rectification), then
 * `request.step` on the ledger with the outcome, the row count and the salted digest of what was
 * exported or erased (never the data). A step already done or excepted is skipped, so a run that
 * stopped (a failure, a crash) resumes where it stopped. A failing step is retried with exponential
 * backoff; if it still fails, its error code is recorded (the message, which never holds a value,
 * is in the answer) and the request pauses there.
 * Once every system is done or excepted, `request.fulfil` commits: the ledger itself refuses it
 * otherwise.
 */
import { createHash } from 'node:crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { errorCode, NodeError } from '../errors.js';
import { type RequestStep, type StepKind, stepOf } from '../modules/request-steps.js';
import { exportServiceOf } from '../orgs/export-service.js';
import type { OrgService } from '../orgs/org-service.js';
import {
  type Connector,
  checkRectifications,
  type Rectification,
  type SubjectRef,
  type TableRows,
} from './connector.js';
import { attemptStep, defaultSleep, retryStep, stepErrorText } from './step-attempt.js';
import { stepErrorsOf } from './step-errors.js';
import { stepJournalOf } from './step-journal.js';

export interface ExecuteOptions {
  /** Rectifications by system id, for a rectification request. */
  rectifications?: Readonly<Record<string, readonly Rectification[]>>;
  /** Identity values the vault holds for the subject, for tables linked through them. */
  vaultIdentities?: SubjectRef['vaultIdentities'];
  /** Attempts per step before it is recorded as failed (default 3). */
  attempts?: number;
  /** First backoff (ms), doubled after each failed attempt (default 500). */
  backoffMs?: number;
  /** How to wait (tests pass a recorder). */
  sleep?: (ms: number) => Promise<void>;
}

/** What an access export hands the customer for one system: the rows and the salt of the recorded digest. */
export interface ExportedSystem {
  system: string;
  salt: string;
  digest: string;
  tables: TableRows[];
}

export interface StepReport {
  system: string;
  step: StepKind;
  outcome: RequestStep['outcome'] | 'skipped';
  rows: number;
  digest: string | null;
  txId: string | null;
  attempts: number;
  error?: string;
  /** The step's outcome came from the journal of a run that stopped after its system committed (a crash). */
  recovered?: boolean;
}

export interface ExecutionReport {
  request: string;
  status: 'fulfilled' | 'paused';
  steps: StepReport[];
  /** The fulfilment's transaction, once fulfilled. */
  fulfilTxId?: string;
  /** For access and export requests: what each system exported in this run. */
  exports: ExportedSystem[];
}

/**
 * The same key for every attempt of one step (retries, and runs after a crash): a system that takes
 * idempotency keys applies the step once.
 */
export function stepIdempotencyKey(org: string, request: string, system: string, step: StepKind): string {
  return createHash('sha256').update(`custos-step/${org}/${request}/${system}/${step}`).digest('base64url');
}

/** An error's message for the run's answer (never on the ledger): the connectors' messages name systems and codes, never values. */
/** Requests being run in this process, by org service: a second run of the same request is refused. */
const running = new WeakMap<OrgService, Set<string>>();

/**
 * Runs the request's steps (see the file's comment). One run per request at a time in this process:
 * a second concurrent run is refused with BAD_REQUEST instead of acting on the systems twice.
 */
export async function executeRequest(
  orgs: OrgService,
  org: string,
  requestId: string,
  connectors: readonly Connector[],
  opts: ExecuteOptions = {},
): Promise<ExecutionReport> {
  let mine = running.get(orgs);
  if (mine === undefined) {
    mine = new Set();
    running.set(orgs, mine);
  }
  const key = `${org}/${requestId}`;
  if (mine.has(key)) throw new NodeError('BAD_REQUEST', `request ${requestId} is already running; wait for it to end`);
  mine.add(key);
  try {
    return await runSteps(orgs, org, requestId, connectors, opts);
  } finally {
    mine.delete(key);
  }
}

async function runSteps(
  orgs: OrgService,
  org: string,
  requestId: string,
  connectors: readonly Connector[],
  opts: ExecuteOptions,
): Promise<ExecutionReport> {
  const r = orgs.request(org, requestId);
  if (r === undefined) throw new NodeError('NOT_FOUND', `no request ${requestId} to ${org}`);
  if (r.status !== 'open') throw new NodeError('BAD_REQUEST', `the request is already ${r.status}`);
  const step = stepOf(r.kind);
  if (step === undefined) {
    throw new NodeError('BAD_REQUEST', `a ${r.kind} request runs no step in the org's systems; answer it directly`);
  }
  const map = orgs.dataMap(org);
  if (map === undefined) {
    throw new NodeError('BAD_REQUEST', `${org} has no data map in force: publish one (custos org datamap publish)`);
  }
  const bySystem = new Map(connectors.map((c) => [c.system, c]));
  const missing = map.systems.filter((s) => !bySystem.has(s));
  if (missing.length > 0) {
    throw new NodeError(
      'BAD_REQUEST',
      `no connector for system(s) ${missing.join(', ')} of data map version ${map.version}`,
    );
  }
  if (opts.rectifications !== undefined && step !== 'rectify') {
    throw new NodeError('BAD_REQUEST', `expected rectifications only for a rectification request, not ${r.kind}`);
  }
  if (step === 'rectify') {
    // Bad input is refused before any system is touched (not recorded as a failed step).
    for (const [s, changes] of Object.entries(opts.rectifications ?? {})) {
      if (!map.systems.includes(s)) {
        throw new NodeError(
          'BAD_REQUEST',
          `expected rectifications for systems of data map version ${map.version}, not ${s}`,
        );
      }
      checkRectifications(changes);
    }
    for (const s of map.systems) {
      if ((opts.rectifications?.[s]?.length ?? 0) === 0 && orgs.requestStep(org, requestId, s)?.outcome !== 'done') {
        throw new NodeError('BAD_REQUEST', `expected the rectifications of system ${s}`);
      }
    }
  }
  const attempts = Math.max(1, opts.attempts ?? 3);
  const backoff = opts.backoffMs ?? 500;
  const sleep = opts.sleep ?? defaultSleep;
  const subject: SubjectRef = {
    did: r.subject,
    ...(opts.vaultIdentities === undefined ? {} : { vaultIdentities: opts.vaultIdentities }),
  };
  const report: ExecutionReport = { request: requestId, status: 'paused', steps: [], exports: [] };

  const journal = stepJournalOf(orgs.localDb());
  const errors = stepErrorsOf(orgs.localDb());
  for (const system of map.systems) {
    const prior = orgs.requestStep(org, requestId, system);
    if (prior !== undefined && prior.outcome !== 'failed') {
      // Recorded already: a journal entry left by a crash after the record is stale.
      journal.drop(org, requestId, system);
      report.steps.push({
        system,
        step,
        outcome: 'skipped',
        rows: prior.rows,
        digest: prior.digest,
        txId: prior.txId,
        attempts: 0,
      });
      continue;
    }
    const target = {
      org,
      request: requestId,
      system,
      step,
      subject,
      changes: opts.rectifications?.[system],
      idempotencyKey: stepIdempotencyKey(org, requestId, system, step),
    };
    const { outcome, lastError, tried } = await retryStep(() => attemptStep(bySystem.get(system)!, journal, target), {
      attempts,
      backoffMs: backoff,
      sleep,
    });
    if (outcome === undefined) {
      const error = stepErrorText(lastError);
      // The ledger gets the error's code only (no free text on the ledger); the answer has the message.
      const c = await orgs.submit(org, 'request.step', {
        request: requestId,
        system,
        step,
        outcome: 'failed',
        error: errorCode(lastError),
        attempts: tried,
      });
      errors.put(org, requestId, system, error);
      report.steps.push({
        system,
        step,
        outcome: 'failed',
        rows: 0,
        digest: null,
        txId: c.txId,
        attempts: tried,
        error,
      });
      return report;
    }
    const c = await orgs.submit(org, 'request.step', {
      request: requestId,
      system,
      step,
      outcome: 'done',
      rows: outcome.rows,
      digest: outcome.digest,
    });
    if (c.code !== 'OK') {
      throw new NodeError(
        'CONNECTOR_FAILED',
        `request.step for ${system} ended ${c.code}${c.detail ? `: ${c.detail}` : ''}`,
      );
    }
    journal.drop(org, requestId, system);
    errors.drop(org, requestId, system);
    report.steps.push({
      system,
      step,
      outcome: 'done',
      rows: outcome.rows,
      digest: outcome.digest,
      txId: c.txId,
      attempts: tried,
      ...(outcome.recovered ? { recovered: true } : {}),
    });
    if (outcome.exported !== undefined) {
      const { salt, result } = outcome.exported;
      report.exports.push({ system, salt, digest: outcome.digest, tables: result.tables });
    }
  }
  // An access or export request goes with the data itself from the vault, sealed to the customer (ADR 0021).
  const f = await exportServiceOf(orgs).fulfil(org, requestId);
  if (f.code !== 'OK') {
    throw new NodeError('CONNECTOR_FAILED', `request.fulfil ended ${f.code}${f.detail ? `: ${f.detail}` : ''}`);
  }
  report.status = 'fulfilled';
  report.fulfilTxId = f.txId;
  return report;
}

/** The export package of an access request as JSON, for the customer (rows and salts, to recompute each digest). */
export function exportPackage(report: ExecutionReport): JsonValue {
  return { request: report.request, systems: report.exports as unknown as JsonValue };
}

/**
 * Records that `system` keeps the subject's data under a legal exception of the request's
 * jurisdiction (an erasure only, e.g. `gdpr-17-3-b`): the step counts as complete.
 */
export async function exceptStep(
  orgs: OrgService,
  org: string,
  requestId: string,
  system: string,
  exception: string,
): Promise<string> {
  const c = await orgs.submit(org, 'request.step', {
    request: requestId,
    system,
    step: 'erase',
    outcome: 'exception',
    exception,
  });
  if (c.code !== 'OK')
    throw new NodeError('BAD_REQUEST', `request.step ended ${c.code}${c.detail ? `: ${c.detail}` : ''}`);
  return c.txId;
}
