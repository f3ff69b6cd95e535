/**
 * The copies of the customer's data other companies received from this one, after an erasure here
 * (GDPR Art. 19): which recipients erased theirs, which must by when, which are overdue. From the
 * customer's own verified history: each line has its proof.
 */
import { copiesView, orgName } from '@custos/sdk/views';
import { day } from '../lib/format.js';
import { Badge } from '../ui/ui.js';
import type { PortalData } from './data.js';
import { FactProof } from './facts.js';
import type { OrgView } from './model.js';

export function CopiesOfErasure({ v, data, now }: { v: OrgView; data: PortalData; now: number }) {
  // Due dates are in the ledger's time: judged by the later of this device's clock and the newest
  // block of the customer's history, so a device clock behind the ledger's cannot hide an overdue copy.
  const c = copiesView(v, Math.max(now, v.events[0]?.at ?? 0));
  if (c.total === 0) return null;
  const companies = c.total === 1 ? 'company' : 'companies';
  return (
    <div className="stack" data-testid="copies-of-erasure">
      <p className="fact-line">
        <strong>
          Copies: erased at {c.erased} of {c.total} {companies} {v.name} shared your data with
        </strong>
        {c.overdue > 0 && <Badge tone="danger">{c.overdue} overdue</Badge>}
      </p>
      <ul className="plain-list">
        {c.copies.map((x) => {
          const rec = v.foreign.find((r) => r.org === x.org && r.id === x.id);
          return (
            <li key={`${x.org}/${x.id}`} className="fact-line row small">
              <span>{orgName(data.ctx.trust, x.org)}</span>
              {x.state === 'erased' && <Badge tone="ok">Erased on {day(x.erasedAt!)}</Badge>}
              {x.state === 'pending' && <Badge tone="warn">Must erase it by {day(x.due!)}</Badge>}
              {x.state === 'overdue' && <Badge tone="danger">Overdue: was due {day(x.due!)}</Badge>}
              {x.state === 'kept' && <Badge tone="neutral">Asked to erase it once {v.name} erases yours</Badge>}
              {rec !== undefined && <FactProof view={v} factKey={rec.key} trust={data.ctx.trust} pages={rec.pages} />}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
