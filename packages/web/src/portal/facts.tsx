/** How one verified fact reads, and its "verified" mark with the proof behind it. */
import { labelOf } from '@custos/protocol/consent';
import type { QuorumCertificate } from '@custos/protocol/ledger';
import { eventProof, factProof } from '@custos/sdk';
import { day, list } from '../lib/format.js';
import { orgName, orgOfKey, type PinnedTrust } from '../lib/trust.js';
import { basisText, lower } from '../lib/words.js';
import { Proof } from '../ui/ui.js';
import type { OrgView, RecordView } from './model.js';

/** "certified by Bank and Insurer (2 of 3 needed)". */
export function certifiedBy(trust: PinnedTrust, qc: QuorumCertificate): string {
  const names = qc.signatures.map((s) => {
    const id = orgOfKey(trust, s.signer);
    return id === undefined ? 'an unknown key' : orgName(trust, id);
  });
  return `certified by ${list(names)} (${trust.threshold} of ${trust.members.length} needed)`;
}

export function FactProof({
  view,
  factKey,
  trust,
  pages,
}: {
  view: OrgView;
  factKey: string;
  trust: PinnedTrust;
  pages?: OrgView['pages'];
}) {
  const p = factProof(pages ?? view.pages, factKey);
  if (p === undefined) return null;
  return (
    <Proof
      explain={
        <>
          Checked in this browser: the ledger’s state at block {p.certificate.checkpoint.height} holds exactly this,{' '}
          {certifiedBy(trust, p.certificate)}. The report also proves it left nothing out about you.
        </>
      }
      proof={p}
    />
  );
}

export function EventProof({ view, txId, trust }: { view: OrgView; txId: string; trust: PinnedTrust }) {
  const p = eventProof(view.pages, txId);
  if (p === undefined) return null;
  return (
    <Proof
      explain={
        <>
          Checked in this browser: this is entry {p.event.leafIndex + 1} of the ledger’s history, which cannot be
          changed afterwards; {certifiedBy(trust, p.certificate)} at block {p.certificate.checkpoint.height}.
        </>
      }
      proof={p}
    />
  );
}

/** "Bank uses your email address for marketing, because you agreed, and for your account, because...". */
export function recordSentence(r: RecordView, orgName: string): string {
  const what = lower(r.label);
  if (r.state === 'erased') return `${orgName} erased your ${what} for good on ${day(r.erasedAt!)}.`;
  const uses = Object.entries(r.purposes).map(([p, b]) => `${lower(labelOf(p))}, ${basisText(b)}`);
  const base = `${orgName} uses your ${what} for ${uses.join('; and for ')}`;
  return `${base}.`;
}

/** "Since 3 March 2026 · until 3 March 2028", with what is wrong when something is. */
export function recordDates(r: RecordView): { text: string; warning?: string } {
  if (r.state === 'erased') return { text: `Held from ${day(r.registeredAt)} to ${day(r.erasedAt!)}` };
  const text = `Since ${day(r.registeredAt)} · kept until ${day(r.retentionUntil)}`;
  if (r.state === 'past-retention') return { text, warning: 'Kept past its end date: it should have been erased' };
  if (r.state === 'must-erase') {
    return {
      text,
      warning: `The company that shared it erased it on ${day(r.erasureRequestedAt!)}; this copy must go too`,
    };
  }
  if (r.restricted) return { text, warning: 'Use paused at your request' };
  return { text };
}
