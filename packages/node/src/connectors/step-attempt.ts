/**
 * One attempt of one system's step, journalled (step-journal.ts): an erasure or rectification writes
 * its outcome (row count and salted digest) to the node's journal before the system's transaction
 * commits, or, for a system without transactions the node can ask about (the vault, a webhook), as
 * soon as the call returns. An attempt that finds a journal entry settles it first: a committed
 * transaction's outcome is the step's (the system is not touched again, so nothing is erased twice and
 * the count is the one of the run that erased); a rolled-back one is dropped and the step runs.
 * Exports only read: they are never journalled, a re-run reads again.
 */
import { errorCode, NodeError } from '../errors.js';
import type { StepKind } from '../modules/request-steps.js';
import {
  type CallOptions,
  type Connector,
  type ConnectorResult,
  evidenceDigest,
  newEvidenceSalt,
  type Rectification,
  type SubjectRef,
} from './connector.js';
import type { StepJournal } from './step-journal.js';

export interface StepOutcome {
  rows: number;
  digest: string;
  /** The rows and the digest's salt, for an export (handed to the customer); absent otherwise. */
  exported?: { salt: string; result: ConnectorResult };
  /** True when the outcome is a previous run's, read from the journal after a crash. */
  recovered: boolean;
}

export interface StepTarget {
  org: string;
  request: string;
  system: string;
  step: StepKind;
  subject: SubjectRef;
  changes: readonly Rectification[] | undefined;
  idempotencyKey: string;
}

function call(c: Connector, t: StepTarget, opts: CallOptions): Promise<ConnectorResult> {
  if (t.step === 'export') return c.export(t.subject, opts);
  if (t.step === 'erase') return c.erase(t.subject, opts);
  return c.rectify(t.subject, t.changes ?? [], opts);
}

/** What a journal entry left by an earlier run says now: its outcome, or undefined to run the step. */
async function settle(c: Connector, journal: StepJournal, t: StepTarget): Promise<StepOutcome | undefined> {
  const e = journal.get(t.org, t.request, t.system);
  if (e === undefined) return undefined;
  if (e.step !== t.step) {
    journal.drop(t.org, t.request, t.system);
    return undefined;
  }
  const state = e.settle === null ? 'committed' : c.settled === undefined ? 'unknown' : await c.settled(e.settle);
  if (state === 'committed') return { rows: e.rows, digest: e.digest, recovered: true };
  if (state === 'in-progress') {
    // The killed run's connection is still being closed by the server: the next attempt asks again.
    throw new NodeError('CONNECTOR_FAILED', `${t.system}: the transaction of an earlier run is still open`);
  }
  // Rolled back (or too old to tell: the step runs again and its own count is recorded).
  journal.drop(t.org, t.request, t.system);
  return undefined;
}

export async function attemptStep(c: Connector, journal: StepJournal, t: StepTarget): Promise<StepOutcome> {
  const salt = newEvidenceSalt();
  if (t.step === 'export') {
    const result = await call(c, t, { idempotencyKey: t.idempotencyKey });
    const digest = evidenceDigest(salt, result);
    return { rows: result.rows, digest, exported: { salt: salt.toString('hex'), result }, recovered: false };
  }
  const earlier = await settle(c, journal, t);
  if (earlier !== undefined) return earlier;
  let journalled: string | undefined;
  const record = (result: ConnectorResult, token: string | null) => {
    journalled = evidenceDigest(salt, result);
    journal.put({
      org: t.org,
      request: t.request,
      system: t.system,
      step: t.step,
      rows: result.rows,
      digest: journalled,
      settle: token,
    });
  };
  const result = await call(c, t, {
    idempotencyKey: t.idempotencyKey,
    beforeCommit: (r, token) => record(r, token),
  });
  if (journalled === undefined) record(result, null);
  return { rows: result.rows, digest: journalled!, recovered: false };
}

/** The operator's text of a failed step: its code and message, at most 500 characters (never a value). */
export function stepErrorText(e: unknown): string {
  const text = `${errorCode(e)}: ${e instanceof Error ? e.message : String(e)}`;
  return text.length > 500 ? `${text.slice(0, 499)}…` : text;
}

export const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `attempt` up to `attempts` times, waiting `backoffMs` and then twice as long after each failure;
 * input the system refuses (BAD_REQUEST) does not get better by waiting, so it is not tried again.
 * Resolves to the outcome, or to the last error, with the number of attempts made.
 */
export async function retryStep(
  attempt: () => Promise<StepOutcome>,
  opts: { attempts: number; backoffMs: number; sleep: (ms: number) => Promise<void> },
): Promise<{ outcome?: StepOutcome; lastError?: unknown; tried: number }> {
  let lastError: unknown;
  for (let tried = 0; tried < opts.attempts; ) {
    if (tried > 0) await opts.sleep(opts.backoffMs * 2 ** (tried - 1));
    tried++;
    try {
      return { outcome: await attempt(), tried };
    } catch (e) {
      lastError = e;
      if (errorCode(e) === 'BAD_REQUEST') return { lastError, tried };
    }
  }
  return { lastError, tried: opts.attempts };
}
