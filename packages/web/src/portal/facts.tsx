/** How one verified fact reads, and its "verified" mark with the proof behind it. */
import type { QuorumCertificate } from '@custos/protocol/ledger';
import { eventProof, factProof } from '@custos/sdk';
import { orgName, orgOfKey } from '@custos/sdk/views';
import { list } from '../lib/format.js';
import type { PinnedTrust } from '../lib/trust.js';
import { Proof } from '../ui/ui.js';
import type { OrgView } from './model.js';

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
