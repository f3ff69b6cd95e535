/**
 * What the explorer's pages share: the breadcrumb, the check of a quorum certificate against the
 * pinned members, and a block or a transaction in words.
 */
import { nobleVerifier } from '@custos/protocol/crypto';
import { type QuorumCertificate, type SignedTx, verifyQuorumCertificate } from '@custos/protocol/ledger';
import type { BlockView } from '@custos/sdk';
import { eventSentence, orgName, orgOfKey } from '@custos/sdk/views';
import { count, list } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { membersAt, type PinnedTrust } from '../lib/trust.js';

export function crumbs(here: string) {
  return (
    <>
      <Link href="/explorer">Explorer</Link> › {here}
    </>
  );
}

/** "Bank and Insurer (2 of 3 needed)", after checking every signature against the pinned members. */
export function checkCertificate(
  trust: PinnedTrust,
  qc: QuorumCertificate,
): { ok: true; text: string } | { ok: false; error: unknown } {
  try {
    const set = membersAt(trust, qc.checkpoint.height);
    verifyQuorumCertificate(qc, set, nobleVerifier, trust.chainId);
    const names = qc.signatures.map((s) => orgName(trust, orgOfKey(trust, s.signer) ?? '?'));
    return { ok: true, text: `Signed by ${list(names)}: ${set.threshold} of ${set.members.length} needed` };
  } catch (error) {
    return { ok: false, error };
  }
}

export function summarize(b: BlockView): string {
  const total = b.header.txCount;
  if (total === 0) return 'Empty';
  // Transactions about customers are private to their parties: a visitor sees how many, not what.
  const hidden = total - b.txs.length;
  const refused = b.results.filter((c) => c !== 'OK').length;
  const seen =
    b.txs.length === 0
      ? ''
      : refused === 0
        ? `${b.txs.length} done`
        : refused === b.txs.length
          ? `${refused} refused`
          : `${b.txs.length - refused} done, ${refused} refused`;
  if (hidden === 0) return seen;
  const priv = `${count(hidden)} private`;
  return seen === '' ? priv : `${seen}, ${priv}`;
}

export function txSentence(tx: SignedTx, trust: PinnedTrust, code: string): string {
  const actor = orgOfKey(trust, tx.body.signer);
  return eventSentence(tx, {
    name: (id) => orgName(trust, id),
    actor,
    category: () => undefined,
    requestKind: () => undefined,
    subject: 'a customer',
    code,
  });
}

export function signerText(tx: SignedTx, trust: PinnedTrust): string {
  const org = orgOfKey(trust, tx.body.signer);
  return org === undefined ? 'A customer (private ID)' : orgName(trust, org);
}
