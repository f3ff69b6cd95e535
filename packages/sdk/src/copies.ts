/**
 * Where an org holds a copy of the customer's data: a recipient's copy sits under the source
 * pseudonym (the customer's pseudonym towards the org that shared it), so a request to the recipient
 * must be signed with that pseudonym to reach it (docs/adr/0019-forget-on-the-ledger.md, "Copy-only
 * erasure"). The wallet finds those pseudonyms itself, reading each relationship's own subject report
 * signed with its pairwise key: no link between the pseudonyms is shown to anyone.
 */
import type { DataRecord } from '@custos/protocol/ledger';
import type { PairwiseIdentity, Wallet } from '@custos/protocol/wallet';
import type { CustosClient } from './client.js';
import { signedBy } from './transport/signing.js';

/** At most this many relationships are looked at (a wallet holds one per org and chain). */
const MAX_RELATIONSHIPS = 256;

/**
 * The wallet's other pseudonyms on `chainId` under which `org` holds a live record (a copy it
 * received), each with those records' ids. The pseudonym towards `org` itself is not among them.
 */
export async function pseudonymsHeldBy(
  client: CustosClient,
  wallet: Wallet,
  chainId: string,
  org: string,
): Promise<{ identity: PairwiseIdentity; records: string[] }[]> {
  const out: { identity: PairwiseIdentity; records: string[] }[] = [];
  const others = wallet
    .relationships()
    .filter((r) => r.chainId === chainId && r.orgId !== org)
    .slice(0, MAX_RELATIONSHIPS);
  for (const r of others) {
    const identity = wallet.relationship(chainId, r.orgId);
    const report = await client.subjectReport(identity.did, { limit: 1 }, { sign: signedBy(identity.signer) });
    const records = report.facts
      .filter((f) => f.key.startsWith(`record/${org}/`) && f.value !== null)
      .map((f) => f.value as unknown as DataRecord)
      .filter((rec) => rec.erasedAt === null && rec.subject === identity.did)
      .map((rec) => rec.id);
    if (records.length > 0) out.push({ identity, records });
  }
  return out;
}
