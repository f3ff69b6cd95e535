/** The console's overview: privacy risk in money, with its assumptions and formulas, and key figures. */
import { useId, useMemo, useState } from 'react';
import { count, money, percent, plural } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Badge } from '../ui/ui.js';
import { covered, type OrgData } from './data.js';
import { type Assumptions, computeRisk, countsOf, DEFAULT_ASSUMPTIONS } from './risk.js';

const FIELDS: { key: keyof Assumptions; label: string; hint: string; step: number; scale?: number }[] = [
  {
    key: 'turnoverEur',
    label: 'Worldwide annual turnover (EUR)',
    hint: 'Of the whole group, last financial year.',
    step: 1_000_000,
  },
  { key: 'gdprRate', label: 'GDPR cap, % of turnover', hint: 'Art. 83(5): 4%.', step: 0.5, scale: 100 },
  {
    key: 'gdprFloorEur',
    label: 'GDPR fixed cap (EUR)',
    hint: 'Art. 83(5): EUR 20 million, if higher.',
    step: 1_000_000,
  },
  { key: 'ccpaPerViolationUsd', label: 'CCPA per violation (USD)', hint: 'USD 2,663 since 2025.', step: 1 },
  {
    key: 'ccpaPerIntentionalUsd',
    label: 'CCPA per intentional violation (USD)',
    hint: 'USD 7,988 since 2025.',
    step: 1,
  },
  {
    key: 'breachPerRecordUsd',
    label: 'Breach cost per record (USD)',
    hint: 'From your insurer or a published study.',
    step: 1,
  },
  { key: 'usdPerEur', label: 'US dollars per euro', hint: 'To add it all up in euros.', step: 0.01 },
];

function storedAssumptions(org: string): Assumptions {
  try {
    const raw = localStorage.getItem(`custos.risk.${org}`);
    return raw === null
      ? DEFAULT_ASSUMPTIONS
      : { ...DEFAULT_ASSUMPTIONS, ...(JSON.parse(raw) as Partial<Assumptions>) };
  } catch {
    return DEFAULT_ASSUMPTIONS;
  }
}

export function OverviewPage({ d }: { d: OrgData }) {
  const id = useId();
  const [a, setA] = useState<Assumptions>(() => storedAssumptions(d.org));
  const counts = useMemo(() => countsOf(d), [d]);
  const risk = computeRisk(counts, a);
  const set = (key: keyof Assumptions, value: number) => {
    const next = { ...a, [key]: value };
    setA(next);
    localStorage.setItem(`custos.risk.${d.org}`, JSON.stringify(next));
  };
  const live = d.records.filter((r) => r.erasedAt === null);
  const consentUses = live.flatMap((r) =>
    Object.entries(r.purposes)
      .filter(([, b]) => b === 'consent')
      .map(([p]) => covered(d, r, p)),
  );
  const coverage = consentUses.length === 0 ? 1 : consentUses.filter(Boolean).length / consentUses.length;
  const open = d.requests.filter((r) => r.status === 'open');
  const overdue = open.filter((r) => r.overdue);
  return (
    <div className="stack-lg">
      <section className="card" aria-labelledby="risk-title">
        <div className="section-title">
          <h2 id="risk-title">Privacy risk in money</h2>
          <Badge tone={risk.issues === 0 ? 'ok' : 'danger'}>
            {risk.issues === 0 ? 'No issue found' : `${plural(risk.issues, 'issue', 'issues')} found`}
          </Badge>
        </div>
        <p className="stat-value money">{money(risk.totalEur, 'EUR')}</p>
        <p className="muted">
          Worst-case exposure from your own ledger data, not a prediction. Change the assumptions below to match your
          company.
        </p>
        <div className="table-wrap">
          <table className="responsive">
            <thead>
              <tr>
                <th scope="col">Exposure</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col">How it is worked out</th>
              </tr>
            </thead>
            <tbody>
              {risk.lines.map((l) => (
                <tr key={l.name}>
                  <td data-label="Exposure">
                    <strong>{l.name}</strong>
                    <div className="muted small">{l.why}</div>
                  </td>
                  <td data-label="Amount" className="num money">
                    {money(l.amount, l.currency)}
                  </td>
                  <td data-label="Formula" className="formula">
                    {l.formula}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <details className="disclosure mt-4">
          <summary>Assumptions (edit them)</summary>
          <div className="grid mt-4">
            {FIELDS.map((f) => (
              <div className="field" key={f.key}>
                <label htmlFor={`${id}-${f.key}`}>{f.label}</label>
                <input
                  id={`${id}-${f.key}`}
                  type="number"
                  min={0}
                  step={f.step}
                  value={Number(((a[f.key] as number) * (f.scale ?? 1)).toFixed(4))}
                  onChange={(e) => {
                    const v = Number(e.target.value);
                    if (Number.isFinite(v) && v >= 0) set(f.key, v / (f.scale ?? 1));
                  }}
                  aria-describedby={`${id}-${f.key}-h`}
                />
                <span id={`${id}-${f.key}-h`} className="hint">
                  {f.hint}
                </span>
              </div>
            ))}
          </div>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              setA(DEFAULT_ASSUMPTIONS);
              localStorage.removeItem(`custos.risk.${d.org}`);
            }}
          >
            Back to the defaults
          </button>
        </details>
      </section>

      <section className="card" aria-labelledby="figures-title">
        <h2 id="figures-title">From your ledger</h2>
        <div className="stats">
          <Figure value={count(live.length)} label="records held" href={`/console/${d.org}/inventory`} />
          <Figure value={count(new Set(live.map((r) => r.subject)).size)} label="customers" />
          <Figure
            value={percent(coverage)}
            label="of consent-based uses covered by consent"
            href={`/console/${d.org}/inventory`}
          />
          <Figure value={count(open.length)} label="open requests" href={`/console/${d.org}/requests`} />
          <Figure
            value={count(overdue.length)}
            label="overdue requests"
            href={`/console/${d.org}/requests`}
            tone={overdue.length > 0 ? 'danger' : undefined}
          />
          <Figure
            value={count(counts.pastRetention)}
            label="records past retention"
            href={`/console/${d.org}/retention`}
            tone={counts.pastRetention > 0 ? 'danger' : undefined}
          />
          <Figure
            value={count(d.scan.refusedAccesses)}
            label="uses refused by the ledger"
            tone={d.scan.refusedAccesses > 0 ? 'danger' : undefined}
          />
          <Figure
            value={count(d.scan.refusedShares)}
            label="shares refused (no consent or opted out)"
            tone={d.scan.refusedShares > 0 ? 'danger' : undefined}
          />
        </div>
        <p className="muted small mt-4">
          Uses and shares counted over{' '}
          {d.scan.complete ? 'the whole ledger' : `the last ${count(d.scan.toHeight - d.scan.fromHeight + 1)} blocks`}{' '}
          (blocks {count(d.scan.fromHeight)} to {count(d.scan.toHeight)}): {count(d.scan.accesses)} uses,{' '}
          {count(d.scan.shares)} shares, {count(d.scan.sales)} sales.
        </p>
      </section>
    </div>
  );
}

function Figure({
  value,
  label,
  href,
  tone,
}: {
  value: string;
  label: string;
  href?: string;
  tone?: 'danger' | undefined;
}) {
  const body = (
    <>
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
    </>
  );
  return (
    <div className={`stat${tone === 'danger' ? ' stat-danger' : ''}`}>
      {href === undefined ? (
        body
      ) : (
        <Link href={href} className="stat-link">
          {body}
        </Link>
      )}
    </div>
  );
}
