/**
 * The operator's view of one correction carried into the org's systems (GDPR Art. 16): each system
 * `rectify.apply` named, with its recorded `rectify.step` (done or failed, rows, salted digest, error
 * code, failures, time, txId) or `pending`; how many are done; and the item's legal deadline. Read
 * from the ledger's state, plus the failed step's message this node kept (never a value).
 */
import { isRectificationOverdue, type Rectification } from '@custos/protocol/ledger';
import { NodeError } from '../errors.js';
import { rectificationKey } from '../modules/rectify.js';
import type { OrgService } from '../orgs/org-service.js';
import { correctionStep } from './correction-run.js';
import { stepErrorsOf } from './step-errors.js';
import type { StepState } from './steps-view.js';

export interface CorrectionStepsView {
  item: string;
  record: string;
  kind: Rectification['kind'];
  status: Rectification['status'];
  jurisdiction: string;
  /** The latest block time: the clock of `overdue` and `late`. */
  now: number;
  openedAt: number;
  deadline: number;
  originalDeadline: number | null;
  /** Pending past its deadline. */
  overdue: boolean;
  /** Applied, but not yet done in every system, and past the deadline. */
  late: boolean;
  /** A system's last step failed: it waits for a re-run. */
  paused: boolean;
  /** Systems done, of `systems`. */
  complete: number;
  systems: number;
  steps: StepState[];
}

export function correctionStepsView(orgs: OrgService, org: string, id: string, now: number): CorrectionStepsView {
  const text = orgs.node.store.getState(rectificationKey(org, id));
  if (text === undefined) throw new NodeError('NOT_FOUND', `no correction ${id} sent to ${org}`);
  const r = JSON.parse(text) as Rectification;
  const errors = stepErrorsOf(orgs.localDb());
  const steps: StepState[] = (r.systems ?? []).map((system) => {
    const step: StepState = correctionStep(orgs, org, id, system) ?? { request: id, system, outcome: 'pending' };
    const message = step.outcome === 'failed' ? errors.get(org, id, system)?.message : undefined;
    return { ...step, ...(message === undefined ? {} : { message }) };
  });
  const complete = steps.filter((s) => s.outcome === 'done').length;
  return {
    item: id,
    record: r.record,
    kind: r.kind,
    status: r.status,
    jurisdiction: r.jurisdiction,
    now,
    openedAt: r.openedAt,
    deadline: r.deadline,
    originalDeadline: r.originalDeadline ?? null,
    overdue: isRectificationOverdue(r, now),
    late: r.status === 'applied' && complete < steps.length && now > r.deadline,
    paused: steps.some((s) => s.outcome === 'failed'),
    complete,
    systems: steps.length,
    steps,
  };
}
