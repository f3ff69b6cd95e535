/** The portal's home: at a glance, which companies hold what about you, why, since and until when. */
import { recordDates, recordSentence } from '@custos/sdk/views';
import { BROWSER_FORMAT, count, day, daysUntil, list, plural } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Avatar, Badge, ErrorBox, Notice, PageHead } from '../ui/ui.js';
import type { GpcState, PortalData } from './data.js';
import { FactProof } from './facts.js';
import { GpcBanner } from './gpc.js';
import type { OrgResult } from './model.js';
import { TrustNote } from './trust-note.js';

export function Home({
  data,
  reload,
  refreshing,
  gpc,
}: {
  data: PortalData;
  reload: () => void;
  refreshing: boolean;
  gpc: GpcState;
}) {
  const active = data.orgs.filter((o) => o.error !== undefined || o.view?.active === true);
  const idle = data.orgs.filter((o) => o.error === undefined && o.view?.active !== true);
  const views = active.flatMap((o) => (o.view === undefined ? [] : [o.view]));
  const kinds = views.reduce((n, v) => n + v.records.filter((r) => r.state !== 'erased').length, 0);
  const open = views.flatMap((v) => v.requests.filter((r) => r.status === 'open'));
  const now = Date.now();
  const uses = views.reduce(
    (n, v) =>
      n + v.events.filter((e) => e.type === 'data.access' && e.code === 'OK' && now - e.at < 30 * 86_400_000).length,
    0,
  );
  return (
    <>
      <PageHead title="Your data">
        <p>
          Every company in this alliance that holds data about you, what it holds, why, and until when. Lines marked
          “Verified” were checked in this browser against the ledger’s proofs.
        </p>
      </PageHead>
      <div className="stack-lg">
        <GpcBanner gpc={gpc} views={views} />
        <div className="card">
          <div className="stats">
            <Stat
              value={count(views.filter((v) => v.records.some((r) => r.state !== 'erased')).length)}
              label="companies hold data about you"
            />
            <Stat value={count(kinds)} label="pieces of your data held" />
            <Stat value={count(uses)} label="uses in the last 30 days" />
            <Stat value={count(open.length)} label="open requests" />
          </div>
          <div className="row mt-4">
            <button type="button" className="btn btn-small" onClick={reload} disabled={refreshing}>
              {refreshing ? 'Refreshing…' : 'Refresh'}
            </button>
            <span className="muted small">As of block {data.orgs[0]?.view?.history.height ?? '—'}</span>
          </div>
        </div>

        {active.length === 0 && (
          <Notice title="No company holds anything about you yet">
            <p>
              When a company of the alliance records data about you, it appears here. To connect with a company, open it
              below and link your account with the one-time code the company gives you.
            </p>
          </Notice>
        )}

        {active.map((o) => (
          <CompanyCard key={o.org} o={o} data={data} />
        ))}

        {idle.length > 0 && (
          <section className="card" aria-labelledby="idle-title">
            <h2 id="idle-title">Companies with nothing about you</h2>
            <p className="muted">
              {list(idle.map((o) => o.name))} {idle.length === 1 ? 'holds' : 'hold'} no data about you and{' '}
              {idle.length === 1 ? 'has' : 'have'} no consent from you.
            </p>
            <ul className="plain-list row">
              {idle.map((o) => (
                <li key={o.org}>
                  <Link className="btn btn-small" href={`/portal/company/${o.org}`}>
                    {o.name}
                  </Link>
                </li>
              ))}
            </ul>
          </section>
        )}
        <TrustNote data={data} />
      </div>
    </>
  );
}

function Stat({ value, label }: { value: string; label: string }) {
  return (
    <div className="stat">
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
    </div>
  );
}

function CompanyCard({ o, data }: { o: OrgResult; data: PortalData }) {
  const href = `/portal/company/${o.org}`;
  if (o.view === undefined) {
    return (
      <section className="card" aria-labelledby={`co-${o.org}`}>
        <div className="company-head">
          <Avatar name={o.name} />
          <h2 id={`co-${o.org}`}>{o.name}</h2>
        </div>
        <ErrorBox title={`We could not verify what the node says about ${o.name}`} error={o.error} />
        <p className="muted small">Nothing unverified is shown. Try again later, or use another node.</p>
      </section>
    );
  }
  const v = o.view;
  const held = v.records.filter((r) => r.state !== 'erased');
  const erased = v.records.filter((r) => r.state === 'erased');
  const live = v.consents.filter((c) => c.state === 'live');
  const open = v.requests.filter((r) => r.status === 'open');
  const soonest = open[0];
  return (
    <section className="card" aria-labelledby={`co-${o.org}`}>
      <div className="row-between">
        <div className="company-head">
          <Avatar name={v.name} />
          <div>
            <h2 id={`co-${o.org}`} className="m-0">
              {v.name}
            </h2>
            <span className="muted small">
              {held.length === 0
                ? 'Holds nothing about you now'
                : `Holds ${plural(held.length, 'piece', 'pieces')} of your data`}
              {erased.length > 0 ? ` · erased ${count(erased.length)}` : ''}
            </span>
          </div>
        </div>
        <Link className="btn btn-small" href={href}>
          Manage<span className="visually-hidden"> {v.name}</span>
        </Link>
      </div>
      {held.length > 0 && (
        <ul className="plain-list item-list mt-4">
          {held.map((r) => {
            const d = recordDates(r, BROWSER_FORMAT);
            return (
              <li key={r.id}>
                <p className="fact-line">
                  <strong>{r.label}</strong> — {recordSentence(r, v.name, BROWSER_FORMAT)}
                </p>
                <p className="fact-line muted small row">
                  <span>{d.text}</span>
                  {d.warning !== undefined && <Badge tone="warn">{d.warning}</Badge>}
                  <FactProof view={v} factKey={r.key} trust={data.ctx.trust} pages={r.pages} />
                </p>
              </li>
            );
          })}
        </ul>
      )}
      <div className="row mt-4">
        <Badge tone={live.length > 0 ? 'accent' : 'neutral'}>
          {live.length === 0 ? 'No consent given' : plural(live.length, 'consent given', 'consents given')}
        </Badge>
        {v.prefs.sale !== null && <Badge tone="ok">No sale{v.prefs.sale.source === 'gpc' ? ' (GPC)' : ''}</Badge>}
        {v.prefs.share !== null && <Badge tone="ok">No sharing{v.prefs.share.source === 'gpc' ? ' (GPC)' : ''}</Badge>}
        {soonest !== undefined && (
          <Badge tone={soonest.overdue ? 'danger' : 'warn'}>
            {soonest.overdue
              ? `Request overdue since ${day(soonest.deadline)}`
              : `${plural(open.length, 'open request', 'open requests')}: answer due ${day(soonest.deadline)} (${daysUntil(soonest.deadline)} days)`}
          </Badge>
        )}
      </div>
    </section>
  );
}
