/**
 * Choices a company's consent banner recorded for the customer (an org-signed `gpp.record`) that
 * allow more than the org alone may record: an opt-in, or a consent to TCF purposes. Only the
 * customer's signature can make them count, so the portal shows what the string says and, on the
 * customer's word, signs the same string with the pairwise key (`gppRecordTx`).
 */

import { labelOf } from '@custos/protocol/consent';
import { gppChoices, gppRecordTx, type Wallet } from '@custos/sdk';
import { useState } from 'react';
import { client, errorText } from '../lib/api.js';
import { list } from '../lib/format.js';
import { Notice } from '../ui/ui.js';
import type { PortalData } from './data.js';
import type { OrgView } from './model.js';

interface Pending {
  view: OrgView;
  gpp: string;
  allows: string[];
}

/** What an org-recorded string allows beyond what is in force, in words; empty when nothing. */
function allowsMore(v: OrgView): Pending | undefined {
  const rec = v.prefs.gpp;
  if (rec === undefined || rec.by !== 'org') return undefined;
  let c: ReturnType<typeof gppChoices>;
  try {
    c = gppChoices(rec.gpp);
  } catch {
    return undefined;
  }
  const allows = [
    c.sale === 'in' && v.prefs.sale !== null ? 'the sale of your data' : '',
    c.share === 'in' && v.prefs.share !== null ? 'sharing your data' : '',
    c.targeted === 'in' && v.prefs.objections?.['dpv:PersonalisedAdvertising'] !== undefined
      ? 'targeted advertising'
      : '',
    c.sensitive === 'in' && v.prefs.sensitive ? 'the use of your sensitive data' : '',
    ...Object.entries(c.purposes ?? {}).flatMap(([p, yes]) =>
      yes ? [`using your browsing data for ${labelOf(p).toLowerCase()}`] : [],
    ),
  ].filter(Boolean);
  return allows.length === 0 ? undefined : { view: v, gpp: rec.gpp, allows };
}

export function GppConfirm({ wallet, data, reload }: { wallet: Wallet; data: PortalData; reload: () => void }) {
  const pending = data.orgs.flatMap((o) => {
    const p = o.view === undefined ? undefined : allowsMore(o.view);
    return p === undefined ? [] : [p];
  });
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();
  if (pending.length === 0) return null;
  const confirm = async (p: Pending) => {
    setBusy(p.view.org);
    setError(undefined);
    try {
      const r = await client.submitAndWait(gppRecordTx(wallet, data.ctx.trust.chainId, p.view.org, p.gpp));
      if (r.code !== 'OK') throw new Error(`the ledger refused it (${r.code})`);
      reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <div className="stack mt-5">
      {pending.map((p) => (
        <Notice key={p.view.org} tone="info" title={`${p.view.name}’s consent banner: confirm your choices`}>
          <p>
            On {p.view.name}’s website you chose to allow {list(p.allows)}. Only you can sign that: until you confirm,
            {` ${p.view.name}`} may not rely on it.
          </p>
          <button
            type="button"
            className="btn btn-primary btn-small"
            disabled={busy !== undefined}
            onClick={() => confirm(p)}
          >
            {busy === p.view.org ? 'Signing…' : 'Confirm with my wallet'}
          </button>
        </Notice>
      ))}
      <div aria-live="polite" role="status">
        {error !== undefined && <Notice tone="danger">We could not record it: {error}</Notice>}
      </div>
    </div>
  );
}
