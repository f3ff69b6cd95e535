/**
 * Data breaches (GDPR Arts. 33-34): the org's incidents with the 72-hour clock for the supervisory
 * authority, registering one, recording the notification to the authority (its SHA-256, computed
 * here: the text never leaves the browser), notifying the customers affected, and closing.
 */
import { labelOf } from '@custos/protocol/consent';
import {
  INCIDENT_DELAY_REASONS,
  INCIDENT_NATURES,
  INCIDENT_RISKS,
  type IncidentDelayReason,
  type IncidentNature,
  type IncidentRisk,
} from '@custos/protocol/ledger';
import type { OrgIncidents } from '@custos/sdk';
import { resultText } from '@custos/sdk/views';
import { useCallback, useEffect, useId, useState } from 'react';
import { errorText } from '../lib/api.js';
import { dateTime, plural } from '../lib/format.js';
import { Badge, Empty, Notice } from '../ui/ui.js';
import type { OrgData } from './data.js';

type Row = OrgIncidents['incidents'][number];
const HOUR = 3_600_000;

const NATURE_TEXT: Record<IncidentNature, string> = {
  confidentiality: 'Confidentiality: data seen or taken by someone not allowed',
  integrity: 'Integrity: data changed without authority',
  availability: 'Availability: data lost or unreachable',
};
const RISK_TEXT: Record<IncidentRisk, string> = {
  unlikely: 'A risk to people is unlikely (no notification needed)',
  risk: 'A risk to people: tell the authority within 72 hours',
  high: 'A high risk: tell the authority and the customers affected',
};
const DELAY_TEXT: Record<IncidentDelayReason, string> = {
  'scope-being-established': 'The scope of the breach was still being established',
  'phased-notification': 'Notified in phases as facts became known (Art. 33(4))',
  'detected-by-processor': 'A processor told us late (Art. 33(2))',
};

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function IncidentsPage({ d }: { d: OrgData }) {
  const id = useId();
  const [list, setList] = useState<OrgIncidents>();
  const [busy, setBusy] = useState<string>();
  const [message, setMessage] = useState<{ tone: 'ok' | 'danger'; text: string }>();
  const load = useCallback(() => {
    d.api.orgIncidents(d.org).then(setList, (e: unknown) => setMessage({ tone: 'danger', text: errorText(e) }));
  }, [d]);
  useEffect(load, [load]);
  const categories = [...new Set(d.records.map((r) => r.category))].sort();
  const [form, setForm] = useState({
    hoursAgo: '2',
    nature: 'confidentiality' as IncidentNature,
    category: '',
    risk: 'high' as IncidentRisk,
  });
  const [report, setReport] = useState<Record<string, string>>({});
  const [delay, setDelay] = useState<IncidentDelayReason>(INCIDENT_DELAY_REASONS[0]);

  /** Runs one action; its message is what it answers (`text`), or `done`. */
  const act = async (key: string, done: string, fn: () => Promise<{ code: string; text?: string }>) => {
    setBusy(key);
    setMessage(undefined);
    try {
      const r = await fn();
      if (r.code !== 'OK') throw new Error(resultText(r.code).text);
      setMessage({ tone: 'ok', text: r.text ?? done });
      load();
    } catch (e) {
      setMessage({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(undefined);
    }
  };

  const open = () =>
    act('open', 'Incident registered: the 72-hour clock runs from its detection.', () =>
      d.api.openIncident(d.org, {
        detectedAt: Math.min(d.now, Date.now()) - Math.max(0, Number(form.hoursAgo) || 0) * HOUR,
        nature: [form.nature],
        categories: [form.category || categories[0] || 'pd:EmailAddress'],
        risk: form.risk,
      }),
    );

  const tellAuthority = (r: Row) =>
    act(`auth:${r.id}`, 'Notification to the authority recorded (its SHA-256 only).', async () => {
      const digest = await sha256Hex(report[r.id] ?? '');
      const late = Date.now() > r.authorityDeadline;
      return d.api.notifyAuthority(d.org, r.id, { digest, ...(late ? { delayReason: delay } : {}) });
    });

  const notify = (r: Row) =>
    act(`notify:${r.id}`, '', async () => {
      const { results } = await d.api.notifySubjects(d.org, r.id);
      const failed = results.find((x) => x.code !== 'OK');
      if (failed !== undefined) return failed;
      return {
        code: 'OK',
        text:
          results.length === 0
            ? 'Every customer affected was already notified.'
            : `Notified ${plural(results.length, 'customer', 'customers')} in their portal.`,
      };
    });

  const rows = list?.incidents ?? [];
  return (
    <div className="stack-lg">
      <div aria-live="polite" role="status">
        {message !== undefined && <Notice tone={message.tone}>{message.text}</Notice>}
      </div>
      <section className="card" aria-labelledby={`${id}-list`}>
        <h2 id={`${id}-list`}>Data breaches</h2>
        {rows.length === 0 ? (
          <Empty title="No breach registered.">
            <p>Register one as soon as you become aware of it: the authority must hear of it within 72 hours.</p>
          </Empty>
        ) : (
          <ul className="plain-list item-list">
            {rows.map((r) => {
              const left = Math.floor((r.authorityDeadline - Date.now()) / HOUR);
              const late = Date.now() > r.authorityDeadline;
              return (
                <li key={r.id} className="stack">
                  <p className="fact-line row">
                    <strong>
                      {r.nature.map((n) => n[0]!.toUpperCase() + n.slice(1)).join(', ')} breach of{' '}
                      {r.categories.map((c) => labelOf(c).toLowerCase()).join(', ')}
                    </strong>
                    {r.closedAt !== null ? (
                      <Badge tone="neutral">Closed {dateTime(r.closedAt)}</Badge>
                    ) : r.authorityNotifiedAt !== null ? (
                      <Badge tone="ok">Authority told {dateTime(r.authorityNotifiedAt)}</Badge>
                    ) : r.authorityOverdue ? (
                      <Badge tone="danger">Authority not told: 72 hours passed</Badge>
                    ) : r.risk === 'unlikely' ? (
                      <Badge tone="neutral">Risk unlikely</Badge>
                    ) : (
                      <Badge tone="warn">{left} hours left to tell the authority</Badge>
                    )}
                  </p>
                  <p className="fact-line muted small">
                    Detected {dateTime(r.detectedAt)}; authority deadline {dateTime(r.authorityDeadline)}.{' '}
                    {RISK_TEXT[r.risk]}. {plural(r.notified, 'customer', 'customers')} notified.
                    {r.delayReason !== null && ` Late because: ${DELAY_TEXT[r.delayReason].toLowerCase()}.`}
                  </p>
                  {r.closedAt === null && (
                    <div className="stack">
                      {r.authorityNotifiedAt === null && (
                        <div className="field">
                          <label htmlFor={`${id}-report-${r.id}`}>
                            What you sent the authority (only its SHA-256 goes on the ledger)
                          </label>
                          <textarea
                            id={`${id}-report-${r.id}`}
                            rows={3}
                            value={report[r.id] ?? ''}
                            onChange={(e) => setReport({ ...report, [r.id]: e.target.value })}
                          />
                          {late && (
                            <>
                              <label htmlFor={`${id}-delay-${r.id}`}>Why after 72 hours</label>
                              <select
                                id={`${id}-delay-${r.id}`}
                                value={delay}
                                onChange={(e) => setDelay(e.target.value as IncidentDelayReason)}
                              >
                                {INCIDENT_DELAY_REASONS.map((c) => (
                                  <option key={c} value={c}>
                                    {DELAY_TEXT[c]}
                                  </option>
                                ))}
                              </select>
                            </>
                          )}
                        </div>
                      )}
                      <div className="row">
                        {r.authorityNotifiedAt === null && (
                          <button
                            type="button"
                            className="btn btn-small btn-primary"
                            disabled={busy !== undefined || (report[r.id] ?? '').trim() === ''}
                            onClick={() => tellAuthority(r)}
                          >
                            Record the notification to the authority
                          </button>
                        )}
                        <button
                          type="button"
                          className="btn btn-small"
                          disabled={busy !== undefined}
                          onClick={() => notify(r)}
                        >
                          Notify the customers affected
                        </button>
                        <button
                          type="button"
                          className="btn btn-small"
                          disabled={busy !== undefined}
                          onClick={() =>
                            act(`close:${r.id}`, 'Incident closed.', () => d.api.closeIncident(d.org, r.id))
                          }
                        >
                          Close
                        </button>
                      </div>
                    </div>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby={`${id}-new`}>
        <h2 id={`${id}-new`}>Register a breach</h2>
        <div className="grid-2">
          <div className="field">
            <label htmlFor={`${id}-ago`}>Detected how many hours ago</label>
            <input
              id={`${id}-ago`}
              type="number"
              min={0}
              max={8760}
              value={form.hoursAgo}
              onChange={(e) => setForm({ ...form, hoursAgo: e.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-nature`}>What it touched</label>
            <select
              id={`${id}-nature`}
              value={form.nature}
              onChange={(e) => setForm({ ...form, nature: e.target.value as IncidentNature })}
            >
              {INCIDENT_NATURES.map((n) => (
                <option key={n} value={n}>
                  {NATURE_TEXT[n]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-cat`}>Data concerned</label>
            <select
              id={`${id}-cat`}
              value={form.category || categories[0] || ''}
              onChange={(e) => setForm({ ...form, category: e.target.value })}
            >
              {categories.map((c) => (
                <option key={c} value={c}>
                  {labelOf(c)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-risk`}>Risk to people</label>
            <select
              id={`${id}-risk`}
              value={form.risk}
              onChange={(e) => setForm({ ...form, risk: e.target.value as IncidentRisk })}
            >
              {INCIDENT_RISKS.map((r) => (
                <option key={r} value={r}>
                  {RISK_TEXT[r]}
                </option>
              ))}
            </select>
          </div>
        </div>
        <button
          type="button"
          className="btn btn-primary"
          disabled={busy !== undefined || categories.length === 0}
          onClick={open}
        >
          Register the breach
        </button>
      </section>
    </div>
  );
}
