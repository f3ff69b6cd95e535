/**
 * The company console: pick an org this node holds (authenticated with an org API token when the
 * node asks for one), then its overview with privacy risk in money, data inventory and consent
 * coverage, the requests queue by deadline, records past retention, and the consortium's members.
 */
import { type CustosClient, isApiError } from '@custos/sdk';
import { orgName } from '@custos/sdk/views';
import { type FormEvent, useEffect, useId, useMemo, useState } from 'react';
import { CONSOLE_TOKEN_KEY, client, errorText } from '../lib/api.js';
import { useLiveHeight } from '../lib/live.js';
import { Link, match, useLocation } from '../lib/router.js';
import { loadChain } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, ErrorBox, Loading, Notice, PageHead } from '../ui/ui.js';
import { ContractsPage } from './contracts.js';
import { CopiesPage } from './copies.js';
import { CorrectionsConsolePage } from './corrections.js';
import { loadOrgData } from './data.js';
import { IncidentsPage } from './incidents.js';
import { InventoryPage } from './inventory.js';
import { MembersPage } from './members.js';
import { ObligationsPage } from './obligations.js';
import { OverviewPage } from './overview.js';
import { RequestsPage } from './requests.js';
import { RetentionPage } from './retention.js';
import { SignalsPage } from './signals.js';

const TOKEN_KEY = CONSOLE_TOKEN_KEY;
const AUTH_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'SIGNATURE_EXPIRED', 'REPLAYED_REQUEST'];

export const TABS = [
  { id: '', label: 'Overview' },
  { id: 'inventory', label: 'Data inventory' },
  { id: 'requests', label: 'Requests' },
  { id: 'retention', label: 'Retention' },
  { id: 'incidents', label: 'Breaches' },
  { id: 'copies', label: 'Copies' },
  { id: 'records', label: 'Records of processing' },
  { id: 'corrections', label: 'Corrections' },
  { id: 'signals', label: 'Consent signals' },
  { id: 'members', label: 'Members' },
  { id: 'contracts', label: 'Contracts' },
] as const;

/** The org API token: from the link `custos demo` prints (`#token=...`), kept for this tab only. */
function useToken(): [string | undefined, (t: string | undefined) => void] {
  const [token, setToken] = useState<string | undefined>(() => {
    const fromHash = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (fromHash !== null && fromHash.length > 0) {
      sessionStorage.setItem(TOKEN_KEY, fromHash);
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
      return fromHash;
    }
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  });
  const set = (t: string | undefined) => {
    if (t === undefined) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, t);
    setToken(t);
  };
  return [token, set];
}

export function Console() {
  const { path } = useLocation();
  const [token, setToken] = useToken();
  const api = useMemo(() => (token === undefined ? client : client.withToken(token)), [token]);
  const orgs = useAsync(
    async (signal) => {
      const [ctx, local] = await Promise.all([loadChain(signal), api.localOrgs({ signal })]);
      return { ctx, local: local.local };
    },
    [token],
  );
  const params: { org: string; tab?: string } | undefined =
    match<'org'>('/console/:org', path) ?? match<'org' | 'tab'>('/console/:org/:tab', path);

  if (orgs.status === 'error' && isApiError(orgs.error, ...AUTH_CODES)) {
    return <TokenForm onToken={setToken} rejected={token !== undefined ? orgs.error : undefined} />;
  }
  return (
    <AsyncView state={orgs} loading="Finding the companies this node works for…">
      {({ ctx, local }) => {
        if (params === undefined) {
          return (
            <>
              <PageHead title="Company console">
                <p>
                  For the companies whose keys this node holds: what data you hold and why, whether consent covers it,
                  the requests customers made and their legal deadlines, and what it all risks in money.
                </p>
              </PageHead>
              {local.length === 0 ? (
                <Notice title="This node works for no company">
                  <p>It holds no organisation’s keys, so there is nothing to manage here.</p>
                </Notice>
              ) : (
                <div className="grid">
                  {local.map((org) => (
                    <Link key={org} href={`/console/${org}`} className="card card-link">
                      <h2>{orgName(ctx.trust, org)}</h2>
                      <p className="muted">Open the console of {orgName(ctx.trust, org)}</p>
                    </Link>
                  ))}
                </div>
              )}
              {token !== undefined && (
                <p className="muted small mt-5">
                  Signed in with an organisation token.{' '}
                  <button type="button" className="link-button" onClick={() => setToken(undefined)}>
                    Sign out
                  </button>
                </p>
              )}
            </>
          );
        }
        if (!local.includes(params.org)) {
          return (
            <>
              <PageHead title="Not a company of this node" />
              <p>
                This node does not hold the keys of <code>{params.org}</code>.{' '}
                <Link href="/console">Choose another</Link>.
              </p>
            </>
          );
        }
        return (
          <OrgConsole
            api={api}
            org={params.org}
            tab={params.tab ?? ''}
            name={orgName(ctx.trust, params.org)}
            token={token}
            setToken={setToken}
          />
        );
      }}
    </AsyncView>
  );
}

function OrgConsole({
  api,
  org,
  tab,
  name,
  token,
  setToken,
}: {
  api: CustosClient;
  org: string;
  tab: string;
  name: string;
  token: string | undefined;
  setToken: (t: string | undefined) => void;
}) {
  const data = useAsync((signal) => loadOrgData(api, org, signal), [org, api]);
  const live = useLiveHeight();
  const current = TABS.find((t) => t.id === tab) ?? TABS[0];
  useEffect(() => {
    document.title = `${current.label} · ${name} · Custos`;
  }, [current, name]);
  if (data.status === 'error' && isApiError(data.error, ...AUTH_CODES)) {
    return <TokenForm onToken={setToken} rejected={token !== undefined ? data.error : undefined} org={name} />;
  }
  return (
    <>
      <PageHead
        title={`${name}: ${current.label.toLowerCase()}`}
        crumbs={
          <>
            <Link href="/console">Company console</Link> › {name}
          </>
        }
      />
      <nav aria-label={`${name} console`} className="tabs">
        {TABS.map((t) => (
          <Link
            key={t.id}
            href={t.id === '' ? `/console/${org}` : `/console/${org}/${t.id}`}
            aria-current={t.id === current.id ? 'page' : undefined}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      {data.status === 'loading' && data.data !== undefined && <Loading label="Refreshing…" />}
      {data.status === 'ok' && live !== undefined && live > data.data.ctx.chain.height && (
        <div className="notice notice-info row-between mb-4">
          <span>The ledger has new blocks since this page was loaded.</span>
          <button type="button" className="btn btn-small" onClick={data.reload}>
            Refresh
          </button>
        </div>
      )}
      <AsyncView state={data} loading="Reading your data from the ledger…">
        {(d) =>
          current.id === 'inventory' ? (
            <InventoryPage d={d} />
          ) : current.id === 'requests' ? (
            <RequestsPage d={d} reload={data.reload} />
          ) : current.id === 'records' ? (
            <ObligationsPage d={d} />
          ) : current.id === 'incidents' ? (
            <IncidentsPage d={d} />
          ) : current.id === 'copies' ? (
            <CopiesPage d={d} />
          ) : current.id === 'retention' ? (
            <RetentionPage d={d} reload={data.reload} />
          ) : current.id === 'corrections' ? (
            <CorrectionsConsolePage d={d} />
          ) : current.id === 'signals' ? (
            <SignalsPage d={d} />
          ) : current.id === 'members' ? (
            <MembersPage d={d} />
          ) : current.id === 'contracts' ? (
            <ContractsPage d={d} />
          ) : (
            <OverviewPage d={d} />
          )
        }
      </AsyncView>
    </>
  );
}

function TokenForm({ onToken, rejected, org }: { onToken: (t: string) => void; rejected: unknown; org?: string }) {
  const id = useId();
  const [error, setError] = useState<string>();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const t = String(new FormData(e.currentTarget).get('token') ?? '').trim();
    if (t.length === 0) {
      setError('Paste your organisation’s API token.');
      return;
    }
    onToken(t);
  };
  return (
    <>
      <PageHead title={org === undefined ? 'Sign in as a company' : `Sign in as ${org}`}>
        <p>
          This node shows a company’s data only to that company: paste an API token it issued (the{' '}
          <code>custos demo</code> banner prints a link with one).
        </p>
      </PageHead>
      <form className="card form-narrow" onSubmit={submit}>
        {rejected !== undefined && <ErrorBox title="That token was not accepted" error={rejected} />}
        <div className="field">
          <label htmlFor={`${id}-t`}>Organisation API token</label>
          <input id={`${id}-t`} name="token" type="password" autoComplete="off" required />
          <span className="hint">Kept in this tab only, and sent to this node only.</span>
        </div>
        {error !== undefined && <p role="alert">{errorText(new Error(error))}</p>}
        <button type="submit" className="btn btn-primary">
          Sign in
        </button>
      </form>
    </>
  );
}
