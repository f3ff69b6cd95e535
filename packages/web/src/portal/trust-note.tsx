/** The line under a page on what every "verified" mark is checked against. */
import { day, list } from '../lib/format.js';
import { Link } from '../lib/router.js';
import type { PortalData } from './data.js';

/** One line on what every "verified" mark is checked against. */
export function TrustNote({ data }: { data: PortalData }) {
  const t = data.ctx.trust;
  return (
    <p className="muted small">
      Every proof is checked against the ledger <code>{t.chainId}</code> run by {list(t.members.map((m) => m.name))}:
      each checkpoint needs the signatures of {t.threshold} of them. This browser trusts them since {day(t.pinnedAt)}.{' '}
      <Link href="/portal/settings">Your wallet and trust</Link> ·{' '}
      <Link href="/portal/corrections">Update your data</Link>
    </p>
  );
}
