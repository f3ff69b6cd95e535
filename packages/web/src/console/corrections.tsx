/**
 * The customers' corrections and flags sent to the org (issue 17, ADR 0018): each with its legal
 * deadline, overdue flagged; a flagged record corrected here (the value into the vault, `rectify.apply`)
 * or kept with a reason code (`rectify.explain`). A correction the customer sealed is applied by
 * the node as it arrives, then carried into every system of the org's data map that holds it, each
 * step shown (`correction-steps.tsx`). The deadline of a pending item can be extended once, for a
 * reason code (`rectify.extend`, GDPR Art. 12(3)). Also whether the org has published its HPKE key.
 */
import { EXTEND_REASONS, type ExtendReason } from '@custos/protocol/ledger';
import { EXPLAIN_REASONS, type ExplainReason } from '@custos/sdk';
import { extendReasonText } from '@custos/sdk/views';
import { useId, useState } from 'react';
import { errorText } from '../lib/api.js';
import { day, daysUntil, plural, short } from '../lib/format.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Badge, Empty, Notice } from '../ui/ui.js';
import { CorrectionStepsCell } from './correction-steps.js';
import type { OrgData } from './data.js';

const EXPLAIN_TEXT: Record<ExplainReason, string> = {
  'accurate-verified': 'We checked: it is accurate',
  'identity-not-verified': 'We could not verify the identity',
  'legal-obligation': 'The law requires us to keep it as it was',
  'manifestly-unfounded': 'Manifestly unfounded',
  excessive: 'Excessive',
};

export function CorrectionsConsolePage({ d }: { d: OrgData }) {
  const id = useId();
  const state = useAsync(
    async (signal) => {
      const [page, keys] = await Promise.all([
        d.api.rectifications(d.org, {}, { signal }),
        d.api.orgHpkeKey(d.org, { signal }),
      ]);
      return { items: [...page.items].sort((a, b) => a.deadline - b.deadline), keys };
    },
    [d],
  );
  const [busy, setBusy] = useState<string>();
  const [message, setMessage] = useState<{ tone: 'ok' | 'danger'; text: string }>();
  const [reasons, setReasons] = useState<Record<string, ExplainReason>>({});
  const [values, setValues] = useState<Record<string, string>>({});
  const [extendReasons, setExtendReasons] = useState<Record<string, ExtendReason>>({});
  const [version, setVersion] = useState(0);
  const act = async (key: string, fn: () => Promise<{ code: string }>, done: string) => {
    setBusy(key);
    setMessage(undefined);
    try {
      const r = await fn();
      setMessage(r.code === 'OK' ? { tone: 'ok', text: done } : { tone: 'danger', text: `Refused: ${r.code}` });
      state.reload();
    } catch (e) {
      setMessage({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(undefined);
      setVersion((v) => v + 1);
    }
  };
  const run = (item: string) =>
    act(
      `r:${item}`,
      async () => {
        const r = await d.api.runCorrection(d.org, item);
        return { code: r.complete === r.total ? 'OK' : 'A_STEP_FAILED' };
      },
      'Run again: corrected in every system.',
    );
  return (
    <div className="stack-lg">
      <div aria-live="polite" role="status">
        {message !== undefined && <Notice tone={message.tone}>{message.text}</Notice>}
      </div>
      <AsyncView state={state} loading="Reading the corrections sent to you…">
        {({ items, keys }) => (
          <>
            <section className="card" aria-labelledby={`${id}-key`}>
              <h2 id={`${id}-key`}>Your HPKE key</h2>
              {keys.published === null ? (
                <p>
                  No key published: customers cannot send you corrections yet. Publish one with{' '}
                  <code>custos org hpke rotate --org {d.org}</code> (a member key, not a token).
                </p>
              ) : (
                <p>
                  Key <code>{keys.published.kid}</code> in force since {day(keys.published.since)}; this node holds{' '}
                  {plural(keys.held.length, 'key', 'keys')}.
                </p>
              )}
            </section>
            <section className="card" aria-labelledby={`${id}-list`}>
              <h2 id={`${id}-list`}>Corrections and flags</h2>
              {items.length === 0 ? (
                <Empty title="Nothing to correct.">
                  <p>
                    When a customer sends a new value or flags a record as wrong, it appears here with its deadline.
                  </p>
                </Empty>
              ) : (
                <ul className="plain-list item-list" data-testid="console-corrections">
                  {items.map((r) => (
                    <li key={r.id}>
                      <p className="fact-line row">
                        <strong>
                          {r.kind === 'flag' ? `Flagged as ${r.reason ?? 'wrong'}` : 'New value from the customer'}
                        </strong>
                        <span className="muted small">
                          record {short(r.record)}, customer {short(r.subject, 20)}, {r.jurisdiction}, on{' '}
                          {day(r.openedAt)}
                        </span>
                        {r.status === 'applied' && <Badge tone="ok">Applied {day(r.closedAt ?? 0)}</Badge>}
                        {r.status === 'pending' && r.extensionReason !== undefined && (
                          <Badge tone="neutral">Extended: {extendReasonText(r.extensionReason)}</Badge>
                        )}
                        {r.status === 'explained' && <Badge tone="warn">Explained: {r.answer}</Badge>}
                        {r.status === 'pending' &&
                          (r.overdue ? (
                            <Badge tone="danger">Overdue since {day(r.deadline)}</Badge>
                          ) : (
                            <Badge tone="neutral">
                              Due by {day(r.deadline)} ({plural(daysUntil(r.deadline, d.now), 'day', 'days')} left)
                            </Badge>
                          ))}
                      </p>
                      {r.status === 'pending' && (
                        <div className="row">
                          {r.kind === 'flag' && (
                            <>
                              <label htmlFor={`${id}-v-${r.id}`}>Corrected value</label>
                              <input
                                id={`${id}-v-${r.id}`}
                                type="text"
                                maxLength={2000}
                                autoComplete="off"
                                value={values[r.id] ?? ''}
                                onChange={(e) => setValues({ ...values, [r.id]: e.currentTarget.value })}
                              />
                              <button
                                type="button"
                                className="btn btn-small btn-primary"
                                disabled={busy !== undefined || (values[r.id] ?? '').trim() === ''}
                                onClick={() =>
                                  act(
                                    `c:${r.id}`,
                                    () => d.api.correctFlagged(d.org, r.id, { value: (values[r.id] ?? '').trim() }),
                                    'Corrected: the vault holds the new value, the ledger its commitment.',
                                  )
                                }
                              >
                                Correct
                              </button>
                            </>
                          )}
                          <label htmlFor={`${id}-r-${r.id}`}>Or keep it because</label>
                          <select
                            id={`${id}-r-${r.id}`}
                            value={reasons[r.id] ?? 'accurate-verified'}
                            onChange={(e) => setReasons({ ...reasons, [r.id]: e.currentTarget.value as ExplainReason })}
                          >
                            {EXPLAIN_REASONS.map((x) => (
                              <option key={x} value={x}>
                                {EXPLAIN_TEXT[x]}
                              </option>
                            ))}
                          </select>
                          <button
                            type="button"
                            className="btn btn-small"
                            disabled={busy !== undefined}
                            onClick={() =>
                              act(
                                `e:${r.id}`,
                                () => d.api.explainRectification(d.org, r.id, reasons[r.id] ?? 'accurate-verified'),
                                'Explained: the customer sees your reason.',
                              )
                            }
                          >
                            Explain
                          </button>
                        </div>
                      )}
                      {r.status === 'pending' && r.originalDeadline === undefined && !r.overdue && (
                        <div className="row">
                          <label htmlFor={`${id}-x-${r.id}`}>Need more time? Extend the deadline because</label>
                          <select
                            id={`${id}-x-${r.id}`}
                            value={extendReasons[r.id] ?? 'complexity'}
                            onChange={(e) =>
                              setExtendReasons({ ...extendReasons, [r.id]: e.currentTarget.value as ExtendReason })
                            }
                          >
                            {EXTEND_REASONS.map((x) => (
                              <option key={x} value={x}>
                                {extendReasonText(x).replace(/^./, (c) => c.toUpperCase())}
                              </option>
                            ))}
                          </select>
                          <button
                            type="button"
                            className="btn btn-small"
                            disabled={busy !== undefined}
                            onClick={() =>
                              act(
                                `x:${r.id}`,
                                () => d.api.extendRectification(d.org, r.id, extendReasons[r.id] ?? 'complexity'),
                                'Deadline extended once: the customer sees the new date and your reason.',
                              )
                            }
                          >
                            Extend deadline
                          </button>
                        </div>
                      )}
                      {r.status === 'applied' && r.systems !== undefined && (
                        <CorrectionStepsCell
                          d={d}
                          item={r.id}
                          busy={busy !== undefined}
                          version={version}
                          onRun={run}
                        />
                      )}
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </>
        )}
      </AsyncView>
    </div>
  );
}
