/** The requests queue: soonest deadline first, overdue ones flagged; answer, extend or refuse each. */

import {
  EXTEND_REASONS,
  type ExtendReason,
  REJECT_REASONS,
  REVIEW_OUTCOMES,
  type RejectReason,
  type ReviewOutcome,
} from '@custos/protocol/ledger';
import type { RequestSteps } from '@custos/sdk';
import { extendReasonText, rejectReasonText, resultText, reviewOutcomeText } from '@custos/sdk/views';
import { useId, useState } from 'react';
import { errorText } from '../lib/api.js';
import { day, daysUntil, short } from '../lib/format.js';
import { useAsync } from '../lib/use-async.js';
import { requestConsoleText } from '../lib/words.js';
import { Badge, ConfirmDialog, Empty, Notice } from '../ui/ui.js';
import type { ConsoleRequest, OrgData } from './data.js';
import { ExceptDialog, loadOpenSteps, runText, STEP_KINDS, StepsCell } from './request-steps.js';

type Dialog = { kind: 'extend' | 'reject' | 'review'; request: ConsoleRequest } | undefined;

/** The reason codes, or the outcomes of a review, a dialog offers, in words. */
function dialogCodes(kind: 'extend' | 'reject' | 'review'): { codes: readonly string[]; text: (c: string) => string } {
  if (kind === 'extend') return { codes: EXTEND_REASONS, text: extendReasonText };
  if (kind === 'review') {
    const text = (c: string) => reviewOutcomeText(c).replace(/^./, (x) => x.toUpperCase());
    return { codes: REVIEW_OUTCOMES, text };
  }
  return { codes: REJECT_REASONS, text: rejectReasonText };
}

export function RequestsPage({ d, reload }: { d: OrgData; reload: () => void }) {
  const id = useId();
  const [busy, setBusy] = useState<string>();
  const [message, setMessage] = useState<{ tone: 'ok' | 'danger'; text: string }>();
  const [dialog, setDialog] = useState<Dialog>();
  const [reason, setReason] = useState<string>('');
  const open = d.requests.filter((r) => r.status === 'open').sort((a, b) => a.deadline - b.deadline);
  const closed = d.requests.filter((r) => r.status !== 'open').sort((a, b) => (b.closedAt ?? 0) - (a.closedAt ?? 0));
  const stepIds = open.filter((r) => STEP_KINDS.has(r.kind)).map((r) => r.id);
  // Each open request's steps in the org's systems (issue 16), reloaded with the queue.
  const steps = useAsync((signal) => loadOpenSteps(d.api, d.org, stepIds, signal), [d, stepIds.join(',')]);
  const [excepting, setExcepting] = useState<RequestSteps>();

  /** Runs the request in every system of the data map, from the first one not complete (the node resumes there). */
  const run = async (r: ConsoleRequest) => {
    setBusy(r.id);
    setMessage(undefined);
    try {
      setMessage(runText(await d.api.executeRequest(d.org, r.id)));
    } catch (e) {
      setMessage({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(undefined);
      steps.reload();
      reload();
    }
  };

  const act = async (r: ConsoleRequest, what: string, fn: () => Promise<{ code: string }>) => {
    setBusy(r.id);
    setMessage(undefined);
    try {
      const res = await fn();
      if (res.code !== 'OK') throw new Error(resultText(res.code).text);
      setMessage({ tone: 'ok', text: what });
      reload();
    } catch (e) {
      setMessage({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(undefined);
    }
  };

  /**
   * Erasure first (crypto-shredding in the vault, then `data.erased`) of everything the org holds on
   * the subject, as the ledger requires for the answer (trust #9), then the answer.
   */
  const fulfil = (r: ConsoleRequest) =>
    act(r, `Answered: the request (${requestConsoleText(r.kind).toLowerCase()}) is fulfilled.`, async () => {
      if (r.kind === 'erase') {
        const { results } = await d.api.erase(d.org, { subject: r.subject, reason: 'request' });
        const failed = results.find((x) => x.code !== 'OK');
        if (failed !== undefined) return failed;
      }
      return d.api.fulfilRequest(d.org, r.id);
    });

  return (
    <div className="stack-lg">
      <div aria-live="polite" role="status">
        {message !== undefined && <Notice tone={message.tone}>{message.text}</Notice>}
      </div>
      <section className="card" aria-labelledby="queue-title">
        <h2 id="queue-title">Open requests, soonest deadline first</h2>
        {open.length === 0 ? (
          <Empty title="No open request.">
            <p>When a customer asks for a copy, a correction or erasure, it appears here with its legal deadline.</p>
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="responsive">
              <thead>
                <tr>
                  <th scope="col">Deadline</th>
                  <th scope="col">Request</th>
                  <th scope="col">Customer</th>
                  <th scope="col">Asked on</th>
                  <th scope="col">In your systems</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {open.map((r) => {
                  const left = daysUntil(r.deadline, d.now);
                  const s = steps.data?.get(r.id);
                  return (
                    <tr key={r.id} className={r.overdue ? 'row-danger' : undefined}>
                      <td data-label="Deadline">
                        <strong>{day(r.deadline)}</strong>
                        <div>
                          {r.overdue ? (
                            <Badge tone="danger">Overdue by {-left} days</Badge>
                          ) : (
                            <Badge tone={left <= 7 ? 'warn' : 'neutral'}>{left} days left</Badge>
                          )}
                        </div>
                        {s?.atRisk === true && (
                          <div>
                            <Badge tone="danger">At risk: a failed step keeps it open</Badge>
                          </div>
                        )}
                        {s?.paused === true && !s.atRisk && (
                          <div>
                            <Badge tone="warn">Paused on a failed step</Badge>
                          </div>
                        )}
                        {r.originalDeadline !== null && (
                          <div className="muted small">Extended from {day(r.originalDeadline)}</div>
                        )}
                        {r.ackDeadline !== undefined && r.acknowledgedAt === undefined && (
                          <div>
                            <Badge tone={d.now > r.ackDeadline ? 'danger' : 'warn'}>
                              {d.now > r.ackDeadline ? 'Receipt not confirmed, due' : 'Confirm receipt by'}{' '}
                              {day(r.ackDeadline)}
                            </Badge>
                          </div>
                        )}
                        {r.acknowledgedAt !== undefined && (
                          <div className="muted small">Receipt confirmed {day(r.acknowledgedAt)}</div>
                        )}
                      </td>
                      <td data-label="Request">
                        {requestConsoleText(r.kind)}
                        <div className="muted small">
                          {r.jurisdiction}
                          {r.records.length > 0 ? ` · ${r.records.length} records named` : ' · everything held'}
                        </div>
                      </td>
                      <td data-label="Customer">
                        <code title={r.subject}>{short(r.subject)}</code>
                        {r.agent !== undefined && (
                          <div>
                            <Badge tone="accent">By authorised agent</Badge>
                            <div className="muted small">
                              agent <code title={r.agent.key}>{short(r.agent.key)}</code>, with the customer’s signed
                              permission
                            </div>
                          </div>
                        )}
                      </td>
                      <td data-label="Asked on">{day(r.openedAt)}</td>
                      <td data-label="In your systems">
                        {s === undefined ? (
                          <span className="muted">
                            {STEP_KINDS.has(r.kind) && steps.data === undefined ? '…' : '—'}
                          </span>
                        ) : (
                          <StepsCell
                            s={s}
                            busy={busy !== undefined}
                            onRun={() => run(r)}
                            onExcept={() => setExcepting(s)}
                          />
                        )}
                      </td>
                      <td data-label="Actions">
                        <div className="row">
                          {r.ackDeadline !== undefined && r.acknowledgedAt === undefined && (
                            <button
                              type="button"
                              className="btn btn-small"
                              disabled={busy !== undefined}
                              onClick={() =>
                                act(r, 'Receipt confirmed; the customer sees it.', () =>
                                  d.api.acknowledgeRequest(d.org, r.id),
                                )
                              }
                            >
                              Confirm receipt
                            </button>
                          )}
                          {s === undefined && (
                            <button
                              type="button"
                              className="btn btn-small btn-primary"
                              disabled={busy !== undefined}
                              onClick={() => {
                                if (r.kind !== 'review') {
                                  void fulfil(r);
                                  return;
                                }
                                setReason(REVIEW_OUTCOMES[0]);
                                setDialog({ kind: 'review', request: r });
                              }}
                            >
                              {busy === r.id ? 'Working…' : r.kind === 'erase' ? 'Erase and answer' : 'Mark answered'}
                            </button>
                          )}
                          {r.originalDeadline === null && !r.overdue && (
                            <button
                              type="button"
                              className="btn btn-small"
                              disabled={busy !== undefined}
                              onClick={() => {
                                setReason(EXTEND_REASONS[0]);
                                setDialog({ kind: 'extend', request: r });
                              }}
                            >
                              Extend
                            </button>
                          )}
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            disabled={busy !== undefined}
                            onClick={() => {
                              setReason(REJECT_REASONS[0]);
                              setDialog({ kind: 'reject', request: r });
                            }}
                          >
                            Refuse
                          </button>
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="closed-title">
        <h2 id="closed-title">Answered</h2>
        {closed.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <ul className="plain-list item-list">
            {closed.map((r) => (
              <li key={r.id} className="row-between">
                <span>
                  {requestConsoleText(r.kind)} for <code>{short(r.subject)}</code>
                  {r.reason !== null && <span className="muted"> — {rejectReasonText(r.reason)}</span>}
                  {r.reviewOutcome !== undefined && (
                    <span className="muted"> — {reviewOutcomeText(r.reviewOutcome)}</span>
                  )}
                </span>
                <Badge tone={r.status === 'fulfilled' ? 'ok' : 'danger'}>
                  {r.status === 'fulfilled' ? 'Fulfilled' : 'Refused'} on {day(r.closedAt!)}
                  {r.closedAt! > r.deadline ? ' (late)' : ''}
                </Badge>
              </li>
            ))}
          </ul>
        )}
      </section>

      <ExceptDialog
        s={excepting}
        onCancel={() => setExcepting(undefined)}
        onConfirm={(system, code) => {
          const s = excepting;
          setExcepting(undefined);
          const r = open.find((x) => x.id === s?.request);
          if (r === undefined) return;
          act(r, `Recorded: system ${system} keeps the data under a legal exception.`, async () => {
            const res = await d.api.exceptRequestStep(d.org, r.id, system, code);
            steps.reload();
            return res;
          });
        }}
      />

      <ConfirmDialog
        open={dialog !== undefined}
        title={
          dialog?.kind === 'extend'
            ? 'Extend the deadline once'
            : dialog?.kind === 'review'
              ? 'Record the human review'
              : 'Refuse this request'
        }
        confirm={dialog?.kind === 'extend' ? 'Extend' : dialog?.kind === 'review' ? 'Record the outcome' : 'Refuse'}
        danger={dialog?.kind === 'reject'}
        onCancel={() => setDialog(undefined)}
        onConfirm={() => {
          const dl = dialog;
          if (dl === undefined) return;
          setDialog(undefined);
          const r = dl.request;
          if (dl.kind === 'review') {
            const outcome = (REVIEW_OUTCOMES as readonly string[]).includes(reason)
              ? (reason as ReviewOutcome)
              : 'upheld';
            act(r, 'Review recorded; the customer sees the outcome.', () =>
              d.api.fulfilRequest(d.org, r.id, { outcome }),
            );
          } else if (dl.kind === 'extend') {
            const code = (EXTEND_REASONS as readonly string[]).includes(reason)
              ? (reason as ExtendReason)
              : 'complexity';
            act(r, 'Deadline extended; the customer sees your reason.', () => d.api.extendRequest(d.org, r.id, code));
          } else {
            const code = (REJECT_REASONS as readonly string[]).includes(reason)
              ? (reason as RejectReason)
              : 'identity-not-verified';
            act(r, 'Request refused; the customer sees your reason.', () => d.api.rejectRequest(d.org, r.id, code));
          }
        }}
      >
        <p>
          {dialog?.kind === 'extend'
            ? 'The law allows one extension (GDPR: two more months; CCPA: 45 more days). The customer sees the reason.'
            : dialog?.kind === 'review'
              ? 'A person, not a machine, looked at the decision and heard the customer (GDPR Art. 22(3)). The customer sees the outcome.'
              : 'The customer sees the reason, and can take it to a regulator.'}
        </p>
        <div className="field">
          <label htmlFor={`${id}-reason`}>{dialog?.kind === 'review' ? 'Outcome' : 'Reason'}</label>
          {/* Codes, not free text: the ledger keeps what is written on it for good. */}
          <select id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value)}>
            {dialogCodes(dialog?.kind ?? 'reject').codes.map((code) => (
              <option key={code} value={code}>
                {dialogCodes(dialog?.kind ?? 'reject').text(code)}
              </option>
            ))}
          </select>
        </div>
      </ConfirmDialog>
    </div>
  );
}
