/**
 * The chain's member sets since a point the caller trusts, each certified update verified against
 * the set before it. Certificates are then checked against the set in force at their height, so a
 * key removed since cannot certify anything, even in a bundle that leaves the updates out.
 */
import { nobleVerifier } from '@custos/protocol/crypto';
import {
  followMemberSetUpdates,
  genesisMemberChain,
  isMemberSetChain,
  type MemberSet,
  type MemberSetChain,
  type TrustedMembers,
} from '@custos/protocol/ledger';
import { memberEpochs } from '../actions/chain.js';
import type { CallOptions, Transport } from '../transport/http.js';
import type { VerifyOptions } from './proofs.js';

/** At most this many pages of updates are followed in one call. */
const MAX_PAGES = 64;

/**
 * Follows `/v1/members/epochs` from `trusted` (the genesis set, or a chain verified before, which
 * never goes back) to the current set.
 */
export async function verifiedMemberSets(
  t: Transport,
  trusted: TrustedMembers,
  q: VerifyOptions = {},
  opts?: CallOptions,
): Promise<MemberSetChain> {
  let chain: MemberSetChain | undefined = isMemberSetChain(trusted) ? trusted : undefined;
  let from: number | null = chain === undefined ? 1 : (chain.epochs[chain.epochs.length - 1]?.epoch ?? 0) + 1;
  for (let pages = 0; from !== null && pages < MAX_PAGES; pages++) {
    const page = await memberEpochs(t, { from }, opts);
    if (chain === undefined) {
      const id = q.chainId ?? page.chainId;
      chain = genesisMemberChain(id, trusted as MemberSet);
    }
    chain = followMemberSetUpdates(chain, page.updates, q.verifier ?? nobleVerifier);
    from = page.next;
  }
  if (chain === undefined) throw new Error('no member sets');
  return chain;
}
