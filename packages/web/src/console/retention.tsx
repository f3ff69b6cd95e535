/** Records kept past their retention: non-compliant until erased; erase them here. */
import { labelOf } from '@custos/protocol/consent';
import { useState } from 'react';
import { errorText } from '../lib/api.js';
import { day, plural, short } from '../lib/format.js';
import { Empty, Notice } from '../ui/ui.js';
import type { OrgData } from './data.js';

export function RetentionPage({ d, reload }: { d: OrgData; reload: () => void }) {
  const past = d.records.filter((r) => r.erasedAt === null && r.pastRetention);
  const soon = d.records
    .filter((r) => r.erasedAt === null && !r.pastRetention && r.retentionUntil - d.now < 30 * 86_400_000)
    .sort((a, b) => a.retentionUntil - b.retentionUntil);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ tone: 'ok' | 'danger'; text: string }>();
  const erase = async () => {
    setBusy(true);
    setMessage(undefined);
    try {
      const { results } = await d.api.erase(d.org, { records: past.map((r) => r.id), reason: 'retention' });
      const failed = results.filter((r) => r.code !== 'OK').length;
      setMessage(
        failed === 0
          ? { tone: 'ok', text: `Erased ${plural(past.length, 'record', 'records')} for good.` }
          : { tone: 'danger', text: `${failed} erasures were refused by the ledger.` },
      );
      reload();
    } catch (e) {
      setMessage({ tone: 'danger', text: errorText(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="stack-lg">
      <div aria-live="polite" role="status">
        {message !== undefined && <Notice tone={message.tone}>{message.text}</Notice>}
      </div>
      <section className="card" aria-labelledby="past-title">
        <div className="section-title">
          <h2 id="past-title">Kept past retention</h2>
          {past.length > 0 && (
            <button type="button" className="btn btn-danger btn-small" disabled={busy} onClick={erase}>
              {busy ? 'Erasing…' : `Erase all ${past.length} now`}
            </button>
          )}
        </div>
        {past.length === 0 ? (
          <Empty title="Nothing is kept too long.">
            <p>The node erases records by itself when their retention ends, and logs each erasure on the ledger.</p>
          </Empty>
        ) : (
          <RecordTable records={past} />
        )}
      </section>
      <section className="card" aria-labelledby="soon-title">
        <h2 id="soon-title">Ending in the next 30 days</h2>
        {soon.length === 0 ? <p className="muted">None.</p> : <RecordTable records={soon} />}
      </section>
    </div>
  );
}

function RecordTable({ records }: { records: OrgData['records'] }) {
  return (
    <div className="table-wrap">
      <table className="responsive">
        <thead>
          <tr>
            <th scope="col">Category</th>
            <th scope="col">Customer</th>
            <th scope="col">Recorded</th>
            <th scope="col">Retention ends</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.id} className={r.pastRetention ? 'row-danger' : undefined}>
              <td data-label="Category">{labelOf(r.category)}</td>
              <td data-label="Customer">
                <code title={r.subject}>{short(r.subject)}</code>
              </td>
              <td data-label="Recorded">{day(r.registeredAt)}</td>
              <td data-label="Retention ends">{day(r.retentionUntil)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
