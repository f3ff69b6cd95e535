/**
 * Copies follow the original (GDPR Art. 19): the copies this org received whose source was erased,
 * corrected or restricted, each with its due date (overdue ones first), acted on from here; and how
 * the org's own recipients complied with what its erasures asked, without a record or a subject.
 */
import { labelOf } from '@custos/protocol/consent';
import type { CopyObligations, HeldCopyObligation } from '@custos/protocol/ledger';
import { resultText } from '@custos/sdk/views';
import { useCallback, useEffect, useId, useState } from 'react';
import { errorText } from '../lib/api.js';
import { day, plural, short } from '../lib/format.js';
import { Badge, Empty, Notice } from '../ui/ui.js';
import type { OrgData } from './data.js';

const ASK: Record<HeldCopyObligation['kind'], string> = {
  erase: 'Erase',
  rectify: 'Correct',
  restrict: 'Restrict',
};

function State({ o }: { o: { doneAt: number | null; due: number; overdue: boolean } }) {
  if (o.doneAt !== null) {
    return (
      <Badge
        tone={o.doneAt > o.due ? 'warn' : 'ok'}
      >{`Done ${day(o.doneAt)}${o.doneAt > o.due ? ', late' : ''}`}</Badge>
    );
  }
  return o.overdue ? (
    <Badge tone="danger">Overdue: was due {day(o.due)}</Badge>
  ) : (
    <Badge tone="warn">Due {day(o.due)}</Badge>
  );
}

export function CopiesPage({ d }: { d: OrgData }) {
  const id = useId();
  const [overdueOnly, setOverdueOnly] = useState(false);
  const [doc, setDoc] = useState<CopyObligations>();
  const [busy, setBusy] = useState<string>();
  const [message, setMessage] = useState<{ tone: 'ok' | 'danger'; text: string }>();
  const load = useCallback(() => {
    d.api
      .orgCopies(d.org, overdueOnly ? { overdue: true } : {})
      .then(setDoc, (e: unknown) => setMessage({ tone: 'danger', text: errorText(e) }));
  }, [d, overdueOnly]);
  useEffect(load, [load]);

  const act = async (key: string, done: string, fn: () => Promise<{ code: string }>) => {
    setBusy(key);
    setMessage(undefined);
    try {
      const r = await fn();
      if (r.code !== 'OK') throw new Error(resultText(r.code).text);
      setMessage({ tone: 'ok', text: done });
      load();
    } catch (e) {
      setMessage({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(undefined);
    }
  };
  const erase = (h: HeldCopyObligation) =>
    act(`erase:${h.record}`, 'Copy erased: its keys are destroyed and the erasure is on the ledger.', async () => {
      const { results } = await d.api.erase(d.org, { records: [h.record], reason: 'request' });
      return results.find((r) => r.code !== 'OK') ?? { code: 'OK' };
    });
  const restrict = (h: HeldCopyObligation) =>
    act(`restrict:${h.record}`, 'Recorded: the copy is restricted in your systems.', () =>
      d.api.restrictCopies(d.org, [h.record]),
    );

  const held = doc?.held ?? [];
  const pending = held.filter((h) => h.doneAt === null);
  return (
    <div className="stack-lg">
      <div aria-live="polite" role="status">
        {message !== undefined && <Notice tone={message.tone}>{message.text}</Notice>}
      </div>
      <section className="card" aria-labelledby={`${id}-held`}>
        <h2 id={`${id}-held`}>Copies you must act on</h2>
        <p className="muted small">
          When the company that shared data with you erases, corrects or restricts it, your copy must follow within a
          month (GDPR Art. 19).
          {doc !== undefined &&
            ` ${plural(pending.length, 'copy', 'copies')} pending, ${pending.filter((h) => h.overdue).length} overdue.`}
        </p>
        <label className="row small">
          <input type="checkbox" checked={overdueOnly} onChange={(e) => setOverdueOnly(e.target.checked)} /> Only
          overdue
        </label>
        {held.length === 0 ? (
          <Empty title={overdueOnly ? 'Nothing overdue.' : 'Nothing asked of your copies.'} />
        ) : (
          <ul className="plain-list item-list">
            {held.map((h) => (
              <li key={`${h.record}/${h.kind}`} className="stack">
                <p className="fact-line row">
                  <strong>
                    {ASK[h.kind]} the copy of {labelOf(h.category).toLowerCase()} from {h.source}
                  </strong>
                  <State o={h} />
                </p>
                <p className="fact-line muted small">
                  Copy <code title={h.record}>{short(h.record)}</code>; {h.source} acted on {day(h.at)}.
                  {h.kind === 'rectify' && h.doneAt === null && ' Correct it in the data inventory with the new value.'}
                </p>
                {h.doneAt === null && h.kind !== 'rectify' && (
                  <div className="row">
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      disabled={busy !== undefined}
                      onClick={() => (h.kind === 'erase' ? erase(h) : restrict(h))}
                    >
                      {h.kind === 'erase' ? 'Erase the copy' : 'Record it restricted'}
                    </button>
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby={`${id}-recipients`}>
        <h2 id={`${id}-recipients`}>Your recipients</h2>
        {(doc?.recipients ?? []).length === 0 ? (
          <Empty title="Nothing asked of your recipients." />
        ) : (
          <div className="table-wrap">
            <table className="responsive">
              <caption>What your erasures, corrections and restrictions asked of the companies you shared with</caption>
              <thead>
                <tr>
                  <th scope="col">Recipient</th>
                  <th scope="col">Done</th>
                  <th scope="col">Done late</th>
                  <th scope="col">Pending</th>
                  <th scope="col">Overdue</th>
                  <th scope="col">Next due</th>
                </tr>
              </thead>
              <tbody>
                {doc!.recipients.map((r) => (
                  <tr key={r.recipient}>
                    <td data-label="Recipient">{r.recipient}</td>
                    <td data-label="Done">{r.done}</td>
                    <td data-label="Done late">{r.late}</td>
                    <td data-label="Pending">{r.pending}</td>
                    <td data-label="Overdue">
                      {r.overdue > 0 ? <Badge tone="danger">{r.overdue} overdue</Badge> : '0'}
                    </td>
                    <td data-label="Next due">{r.nextDue === null ? '–' : day(r.nextDue)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
