/**
 * The customer portal: get or unlock a wallet, then load and verify every relationship's report
 * once, and show the home page, a company, or the wallet's settings. Global Privacy Control is
 * honoured as soon as the reports are in. Only composes: the pages share `data.ts`, `gpc.tsx` and
 * `trust-note.tsx`, never each other.
 */
import type { Wallet } from '@custos/sdk';
import { useEffect } from 'react';
import { useLiveHeight } from '../lib/live.js';
import { match, useLocation } from '../lib/router.js';
import { loadChain } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { AsyncView, Notice, PageHead } from '../ui/ui.js';
import { CompanyPage } from './company.js';
import { CorrectionsPage } from './corrections.js';
import type { PortalData } from './data.js';
import { useGpc } from './gpc.js';
import { GpcEvidence } from './gpc-evidence.js';
import { GppConfirm } from './gpp-confirm.js';
import { GuardianPage } from './guardian.js';
import { Home } from './home.js';
import { loadPortal } from './model.js';
import { JoinDevicePage, RecoveryCodePage } from './passkey-pages.js';
import { SettingsPage } from './settings.js';
import { useWallet } from './wallet.js';
import { Unlock, Welcome } from './welcome.js';

export function Portal() {
  const { stored, wallet, passkey } = useWallet();
  const { path } = useLocation();
  if (wallet !== undefined) {
    if (passkey?.recoveryCode !== undefined) return <RecoveryCodePage code={passkey.recoveryCode} />;
    return <UnlockedPortal wallet={wallet} />;
  }
  if (path === '/portal/link') return <JoinDevicePage />;
  if (stored !== undefined) return <Unlock />;
  return <Welcome />;
}

function UnlockedPortal({ wallet }: { wallet: Wallet }) {
  const { path } = useLocation();
  const state = useAsync(
    async (signal): Promise<PortalData> => {
      const ctx = await loadChain(signal);
      return { ctx, orgs: await loadPortal(wallet, ctx.trust, signal), loadedAt: Date.now() };
    },
    [wallet],
  );
  const gpc = useGpc(wallet, state.data, state.reload);
  // New blocks may hold something about the customer: read the reports again (throttled upstream).
  const live = useLiveHeight();
  const shown = state.data?.orgs.find((o) => o.view !== undefined)?.view?.history.height;
  const { reload, status } = state;
  useEffect(() => {
    if (live !== undefined && shown !== undefined && live > shown && status === 'ok') reload();
  }, [live, shown, status, reload]);

  const company = match<'org'>('/portal/company/:org', path);
  return (
    <AsyncView state={state} loading="Fetching your data and checking every proof…">
      {(data) => {
        if (data.ctx.mismatch) return <Mismatch data={data} />;
        if (company !== undefined) {
          const o = data.orgs.find((x) => x.org === company.org);
          if (o === undefined) return <NotAMember org={company.org} />;
          return (
            <CompanyPage
              wallet={wallet}
              data={data}
              result={o}
              reload={state.reload}
              refreshing={state.status === 'loading'}
              gpc={gpc}
            />
          );
        }
        if (path === '/portal/settings') return <SettingsPage data={data} />;
        if (path === '/portal/guardian') return <GuardianPage wallet={wallet} data={data} />;
        if (path === '/portal/corrections') {
          return <CorrectionsPage wallet={wallet} data={data} reload={state.reload} />;
        }
        return (
          <>
            <Home data={data} reload={state.reload} refreshing={state.status === 'loading'} gpc={gpc} />
            <GppConfirm wallet={wallet} data={data} reload={state.reload} />
            <GpcEvidence wallet={wallet} data={data} />
          </>
        );
      }}
    </AsyncView>
  );
}

function Mismatch({ data }: { data: PortalData }) {
  return (
    <>
      <PageHead title="This is not the ledger you trust" />
      <Notice tone="danger" title="We stopped here to protect you">
        <p>
          This browser trusts the ledger <code>{data.ctx.trust.chainId}</code> run by{' '}
          {data.ctx.trust.members.map((m) => m.name).join(', ')}. The node you are connected to now serves a different
          one (<code>{data.ctx.chain.chainId}</code>), so nothing it says can be checked against the members you trust.
        </p>
        <p>
          If the alliance really started a new ledger, open Settings in the explorer to trust the new one. Otherwise,
          connect to a node of your own ledger.
        </p>
      </Notice>
    </>
  );
}

function NotAMember({ org }: { org: string }) {
  return (
    <>
      <PageHead title="Company not found" />
      <p>
        <code>{org}</code> is not a member of the ledger you trust.
      </p>
    </>
  );
}
