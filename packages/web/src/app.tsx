/**
 * The app shell: a skip link, the header with the three parts of the app (the customer portal,
 * the company console, the explorer), and the page of the current path.
 */
import { Console } from './console/console.js';
import { Explorer } from './explorer/explorer.js';
import { LiveHeightProvider } from './lib/live.js';
import { Link, useLocation } from './lib/router.js';
import { Portal } from './portal/portal.js';
import { WalletProvider } from './portal/wallet.js';
import { ErrorBoundary, PageHead } from './ui/ui.js';

const SECTIONS = [
  { href: '/portal', label: 'Your data' },
  { href: '/console', label: 'For companies' },
  { href: '/explorer', label: 'Explorer' },
] as const;

export function App() {
  const { path } = useLocation();
  const section = SECTIONS.find((s) => path === s.href || path.startsWith(`${s.href}/`));
  return (
    <LiveHeightProvider>
      <WalletProvider>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="site-header">
          <div className="site-header-inner">
            <Link href="/" className="brand">
              <img src="/favicon.svg" alt="" />
              Custos
            </Link>
            <nav aria-label="Main" className="main-nav">
              {SECTIONS.map((s) => (
                <Link key={s.href} href={s.href} aria-current={section?.href === s.href ? 'page' : undefined}>
                  {s.label}
                </Link>
              ))}
            </nav>
          </div>
        </header>
        <main id="main">
          <ErrorBoundary resetKey={path}>
            {section?.href === '/portal' ? (
              <Portal />
            ) : section?.href === '/console' ? (
              <Console />
            ) : section?.href === '/explorer' ? (
              <Explorer />
            ) : path === '/' ? (
              <Landing />
            ) : (
              <NotFound />
            )}
          </ErrorBoundary>
        </main>
        <footer className="site-footer">
          <p>
            Custos keeps no identifying data on the ledger: only pseudonyms, commitments and events, readable only by
            those allowed. Each company keeps its customers’ data encrypted, and can erase it for good.
          </p>
        </footer>
      </WalletProvider>
    </LiveHeightProvider>
  );
}

function Landing() {
  return (
    <>
      <div className="hero">
        <PageHead title="Who holds your data, and what do they do with it?">
          <p>
            Companies in this alliance record on a shared ledger every piece of customer data they hold, every use of
            it, and every consent. You see all of it in one place, and you decide. Your browser checks every answer.
          </p>
        </PageHead>
      </div>
      <div className="grid">
        <Link href="/portal" className="card card-link choice-card">
          <h2>Your data</h2>
          <p>See which companies hold what about you, give or withdraw consent, opt out, ask for a copy or erasure.</p>
          <span className="btn btn-primary">Open your data</span>
        </Link>
        <Link href="/console" className="card card-link choice-card">
          <h2>For companies</h2>
          <p>
            Your data inventory, consent coverage, the requests queue with legal deadlines, and privacy risk in money.
          </p>
          <span className="btn">Open the console</span>
        </Link>
        <Link href="/explorer" className="card card-link choice-card">
          <h2>Explorer</h2>
          <p>Blocks, transactions and checkpoints of the ledger, and a proof checker that runs in your browser.</p>
          <span className="btn">Explore the ledger</span>
        </Link>
      </div>
    </>
  );
}

function NotFound() {
  return (
    <PageHead title="Page not found">
      <p>
        There is nothing at this address. <Link href="/">Go to the start</Link>.
      </p>
    </PageHead>
  );
}
