/**
 * Global Privacy Control in the portal: when the browser sends it, an opt-out of sale and sharing
 * is recorded at every company that lacks one, once per load, and a banner says where it stands.
 */
import type { Wallet } from '@custos/sdk';
import { useEffect, useRef, useState } from 'react';
import { errorText } from '../lib/api.js';
import { list } from '../lib/format.js';
import { Notice } from '../ui/ui.js';
import { applyGpc, gpcEnabled } from './actions.js';
import type { GpcState, PortalData } from './data.js';
import type { OrgView } from './model.js';

/** Records a GPC opt-out at every company that lacks one, once per load. */
export function useGpc(wallet: Wallet, data: PortalData | undefined, reload: () => void): GpcState {
  const enabled = gpcEnabled();
  const [applied, setApplied] = useState<string[]>([]);
  const [error, setError] = useState<string>();
  const tried = useRef(new Set<string>());
  useEffect(() => {
    if (!enabled || data === undefined || data.ctx.mismatch) return;
    const views = data.orgs.flatMap((o) =>
      o.view?.active === true &&
      !tried.current.has(o.org) &&
      (o.view.prefs.sale === null || o.view.prefs.share === null)
        ? [o.view!]
        : [],
    );
    if (views.length === 0) return;
    for (const v of views) tried.current.add(v.org);
    applyGpc(wallet, data.ctx.trust.chainId, views).then(
      (done) => {
        setApplied((a) => [...a, ...done]);
        if (done.length > 0) reload();
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, [enabled, data, wallet, reload]);
  return { enabled, applied, error };
}

export function GpcBanner({ gpc, views }: { gpc: GpcState; views: OrgView[] }) {
  if (!gpc.enabled) return null;
  const honored = views.filter((v) => v.active && v.prefs.sale !== null && v.prefs.share !== null);
  const pending = views.filter((v) => v.active && (v.prefs.sale === null || v.prefs.share === null));
  return (
    <Notice tone={gpc.error !== undefined ? 'danger' : 'ok'} title="Global Privacy Control is on: opt-out honored">
      <p>
        Your browser asks every company not to sell or share your data. We recorded that on the ledger
        {honored.length > 0 ? ` for ${list(honored.map((v) => v.name))}` : ''}
        {pending.length > 0 && gpc.error === undefined
          ? `, and are recording it for ${list(pending.map((v) => v.name))}`
          : ''}
        .
      </p>
      {gpc.error !== undefined && <p>We could not record it: {gpc.error}</p>}
    </Notice>
  );
}
