/** The console's overview: privacy risk in money (risk-view.tsx, docs/risk.md) and key figures. */
import { count, percent } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { covered, type OrgData } from './data.js';
import { RiskSection } from './risk-view.js';

export function OverviewPage({ d }: { d: OrgData }) {
  const pastRetention = d.records.filter((r) => r.erasedAt === null && r.pastRetention).length;
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
      <RiskSection d={d} />

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
            value={count(pastRetention)}
            label="records past retention"
            href={`/console/${d.org}/retention`}
            tone={pastRetention > 0 ? 'danger' : undefined}
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
