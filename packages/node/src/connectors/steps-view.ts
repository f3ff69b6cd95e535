/**
 * The operator's view of one request's execution (issue 16, point 4): each system's step of the data
 * map in force (done, failed, exception or pending), how many are complete, and the request's legal
 * deadline (computed on the ledger: GDPR one month plus two on extension, CCPA 45 plus 45 days) with
 * the flags the requests queue shows: `overdue` (open past its deadline), `paused` (a failed step
 * keeps it open) and `atRisk` (paused with the deadline within `AT_RISK_DAYS`, or already past); a
 * step whose outcome a stopped run left in the node's step journal is marked `journalled`.
 * Read from the ledger's state only; the API's steps answer and the CLI print it.
 */
import { NodeError } from '../errors.js';
import type { DataRequest } from '../modules/request.js';
import type { RequestStep } from '../modules/request-steps.js';
import type { OrgService } from '../orgs/org-service.js';
import { stepErrorsOf } from './step-errors.js';
import { stepJournalOf } from './step-journal.js';

/** A paused request whose deadline is this close (or past) is at risk of being answered late. */
export const AT_RISK_DAYS = 7;
const DAY = 86_400_000;

export type StepState = (RequestStep | { request: string; system: string; outcome: 'pending' }) & {
  /** The node's step journal holds this step's outcome from a run that stopped before recording it. */
  journalled?: boolean;
  /** A failed step's last error message, when this node ran it (never a value: systems, tables, SQLSTATEs). */
  message?: string;
};

export interface RequestStepsView {
  request: string;
  kind: string;
  jurisdiction: string;
  status: string;
  /** The latest block time: the clock of `overdue` and `atRisk`. */
  now: number;
  openedAt: number;
  deadline: number;
  /** The deadline before the one extension the law allows, or null. */
  originalDeadline: number | null;
  overdue: boolean;
  /** A failed step is the last word of at least one system: the request waits for the operator. */
  paused: boolean;
  atRisk: boolean;
  map: { version: number; digest: string } | null;
  complete: number;
  systems: number;
  steps: StepState[];
}

/** The queue's flags of request `r` with these steps, as of block time `now`. */
export function deadlineFlags(
  r: Pick<DataRequest, 'status' | 'deadline'>,
  steps: readonly Pick<StepState, 'outcome'>[],
  now: number,
): { overdue: boolean; paused: boolean; atRisk: boolean } {
  const open = r.status === 'open';
  const paused = open && steps.some((s) => s.outcome === 'failed');
  return { overdue: open && now > r.deadline, paused, atRisk: paused && r.deadline - now <= AT_RISK_DAYS * DAY };
}

export function requestStepsView(orgs: OrgService, org: string, id: string, now: number): RequestStepsView {
  const r = orgs.request(org, id);
  if (r === undefined) throw new NodeError('NOT_FOUND', `no request ${id} to ${org}`);
  const map = orgs.dataMap(org);
  const journal = stepJournalOf(orgs.localDb());
  const errors = stepErrorsOf(orgs.localDb());
  const steps: StepState[] = (map?.systems ?? []).map((system) => {
    const step: StepState = orgs.requestStep(org, id, system) ?? { request: id, system, outcome: 'pending' };
    // A step a stopped run left in the journal: the next run records it (or runs it, if it rolled back).
    const waiting = step.outcome !== 'done' && step.outcome !== 'exception' && journal.get(org, id, system);
    // The failed step's message, kept by this node (the ledger holds only its code).
    const message = step.outcome === 'failed' ? errors.get(org, id, system)?.message : undefined;
    return {
      ...step,
      ...(waiting ? { journalled: true } : {}),
      ...(message === undefined ? {} : { message }),
    };
  });
  const complete = steps.filter((s) => s.outcome === 'done' || s.outcome === 'exception').length;
  return {
    request: id,
    kind: r.kind,
    jurisdiction: r.jurisdiction,
    status: r.status,
    now,
    openedAt: r.openedAt,
    deadline: r.deadline,
    originalDeadline: r.originalDeadline,
    ...deadlineFlags(r, steps, now),
    map: map === undefined ? null : { version: map.version, digest: map.digest },
    complete,
    systems: steps.length,
    steps,
  };
}
