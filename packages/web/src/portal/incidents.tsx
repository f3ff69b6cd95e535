/** The personal data breaches a company told the customer of (GDPR Art. 34), each with its proof. */
import { lowerLabels } from '@custos/sdk/views';
import { day } from '../lib/format.js';
import { Badge } from '../ui/ui.js';
import type { PortalData } from './data.js';
import { FactProof } from './facts.js';
import type { OrgView } from './model.js';

const NATURE: Record<string, string> = {
  confidentiality: 'someone who should not have could see or take',
  integrity: 'someone changed without authority',
  availability: 'was lost or could not be reached',
};

export function Incidents({ v, data }: { v: OrgView; data: PortalData }) {
  if (v.incidents.length === 0) return null;
  return (
    <section className="card" aria-labelledby="breach-title">
      <h2 id="breach-title">Data breaches {v.name} told you of</h2>
      <ul className="plain-list item-list">
        {v.incidents.map((n) => (
          <li key={n.incident}>
            <p className="fact-line row">
              <strong>
                A breach detected on {day(n.detectedAt)}: your {lowerLabels(n.categories)}{' '}
                {n.nature.map((x) => NATURE[x] ?? x).join(', or ')}.
              </strong>
              <Badge tone={n.risk === 'high' ? 'danger' : 'warn'}>
                {n.risk === 'high' ? 'High risk' : 'Some risk'}
              </Badge>
            </p>
            <p className="fact-line muted small">
              {v.name} told you on {day(n.at)}, and must have told its data protection authority within 72 hours of
              detecting it (GDPR Arts. 33 and 34). You may want to change passwords and watch for unusual messages.
            </p>
            <p className="fact-line">
              <FactProof view={v} factKey={n.key} trust={data.ctx.trust} />
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
