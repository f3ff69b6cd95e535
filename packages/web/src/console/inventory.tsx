/** The data inventory: what the org holds by category, purpose and lawful basis, retention, and consent coverage. */
import { labelOf } from '@custos/protocol/consent';
import { basisShort } from '@custos/sdk/views';
import { count, day, percent, plural } from '../lib/format.js';
import { Empty } from '../ui/ui.js';
import { covered, type OrgData } from './data.js';

export function InventoryPage({ d }: { d: OrgData }) {
  const live = d.records.filter((r) => r.erasedAt === null);
  if (live.length === 0) {
    return (
      <div className="card">
        <Empty title="You hold no customer data.">
          <p>Records you register appear here, by category and purpose.</p>
        </Empty>
      </div>
    );
  }
  const byCategory = new Map<string, typeof live>();
  for (const r of live) byCategory.set(r.category, [...(byCategory.get(r.category) ?? []), r]);
  const categories = [...byCategory].sort((a, b) => b[1].length - a[1].length);
  const max = Math.max(...categories.map(([, rs]) => rs.length));

  const byPurpose = new Map<
    string,
    { basis: Map<string, number>; records: number; consent: number; covered: number }
  >();
  for (const r of live) {
    for (const [p, b] of Object.entries(r.purposes)) {
      const e = byPurpose.get(p) ?? { basis: new Map(), records: 0, consent: 0, covered: 0 };
      e.records++;
      e.basis.set(b, (e.basis.get(b) ?? 0) + 1);
      if (b === 'consent') {
        e.consent++;
        if (covered(d, r, p)) e.covered++;
      }
      byPurpose.set(p, e);
    }
  }
  const purposes = [...byPurpose].sort((a, b) => b[1].records - a[1].records);
  return (
    <div className="stack-lg">
      <section className="card" aria-labelledby="cat-title">
        <h2 id="cat-title">By category</h2>
        <ul className="bar-list">
          {categories.map(([c, rs]) => (
            <li key={c}>
              <div className="bar-label">
                <span>{labelOf(c)}</span>
                <span className="muted">{plural(rs.length, 'record', 'records')}</span>
              </div>
              <div className="bar" aria-hidden="true">
                <span style={{ width: `${(rs.length / max) * 100}%` }} />
              </div>
            </li>
          ))}
        </ul>
        <div className="table-wrap mt-4">
          <table className="responsive">
            <thead>
              <tr>
                <th scope="col">Category</th>
                <th scope="col" className="num">
                  Records
                </th>
                <th scope="col" className="num">
                  Customers
                </th>
                <th scope="col">Kept until</th>
                <th scope="col" className="num">
                  Past retention
                </th>
              </tr>
            </thead>
            <tbody>
              {categories.map(([c, rs]) => {
                const until = rs.map((r) => r.retentionUntil).sort((a, b) => a - b);
                const past = rs.filter((r) => r.pastRetention).length;
                return (
                  <tr key={c} className={past > 0 ? 'row-danger' : undefined}>
                    <td data-label="Category">{labelOf(c)}</td>
                    <td data-label="Records" className="num">
                      {count(rs.length)}
                    </td>
                    <td data-label="Customers" className="num">
                      {count(new Set(rs.map((r) => r.subject)).size)}
                    </td>
                    <td data-label="Kept until">
                      {day(until[0]!)}
                      {until.length > 1 && until[until.length - 1] !== until[0]
                        ? ` – ${day(until[until.length - 1]!)}`
                        : ''}
                    </td>
                    <td data-label="Past retention" className="num">
                      {count(past)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <section className="card" aria-labelledby="purpose-title">
        <h2 id="purpose-title">By purpose, with consent coverage</h2>
        <p className="muted">
          A use that rests on consent is covered when the customer’s consent is live for that purpose and category. The
          ledger refuses any use that is not.
        </p>
        <div className="table-wrap">
          <table className="responsive">
            <thead>
              <tr>
                <th scope="col">Purpose</th>
                <th scope="col">Lawful basis</th>
                <th scope="col" className="num">
                  Records
                </th>
                <th scope="col">Consent coverage</th>
              </tr>
            </thead>
            <tbody>
              {purposes.map(([p, e]) => (
                <tr key={p}>
                  <td data-label="Purpose">{labelOf(p)}</td>
                  <td data-label="Lawful basis">
                    {[...e.basis].map(([b, n]) => `${basisShort(b)} (${count(n)})`).join(', ')}
                  </td>
                  <td data-label="Records" className="num">
                    {count(e.records)}
                  </td>
                  <td data-label="Consent coverage">
                    {e.consent === 0 ? (
                      <span className="muted">No consent needed</span>
                    ) : (
                      <>
                        <span>
                          {percent(e.covered / e.consent)} ({count(e.covered)} of {count(e.consent)})
                        </span>
                        <div
                          className={`bar ${e.covered === e.consent ? 'bar-ok' : 'bar-warn'}`}
                          role="img"
                          aria-label={`${percent(e.covered / e.consent)} covered`}
                        >
                          <span style={{ width: `${(e.covered / e.consent) * 100}%` }} />
                        </div>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
