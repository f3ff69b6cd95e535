/**
 * The trust anchor the browser checks every proof against: the chain's genesis members, fetched
 * once from the node and pinned in this browser, and the member-set epochs since genesis, each
 * update verified here against the set before it (certified by a quorum of that set, and proven in
 * its certified state) and pinned too: the trust only moves forward, never back to keys that were
 * removed or rotated out. A node that later serves another genesis, or updates that do not verify,
 * is flagged, never silently trusted.
 */
import {
  latestEpoch,
  type MemberSet,
  type MemberSetChain,
  memberSetForHeight,
  parseMemberSetChain,
} from '@custos/protocol/ledger';
import { type ChainInfo, memberSetOf, type TrustAnchor, trustedMembersOf, trustFromGenesis } from '@custos/sdk';
import { client } from './api.js';

const KEY = 'custos.trust.v1';

export interface PinnedTrust extends TrustAnchor {
  pinnedAt: number;
}

export function pinnedTrust(): PinnedTrust | undefined {
  try {
    const raw = localStorage.getItem(KEY);
    if (raw === null) return undefined;
    const t = JSON.parse(raw) as PinnedTrust;
    if (typeof t.chainId !== 'string' || !Array.isArray(t.members) || typeof t.threshold !== 'number') return undefined;
    if (t.epochs !== undefined) {
      try {
        const epochs = parseMemberSetChain(t.epochs);
        if (epochs.chainId !== t.chainId) throw new Error('epochs of another chain');
        t.epochs = epochs;
      } catch {
        delete t.epochs;
      }
    }
    return t;
  } catch {
    return undefined;
  }
}

export function pinTrust(chain: ChainInfo): PinnedTrust {
  const t: PinnedTrust = { ...trustFromGenesis(chain.genesis), pinnedAt: Date.now() };
  localStorage.setItem(KEY, JSON.stringify(t));
  return t;
}

/** Pins the member-set epochs verified for the pinned chain (they only ever grow). */
function pinEpochs(t: PinnedTrust, epochs: MemberSetChain): PinnedTrust {
  const next: PinnedTrust = { ...t, epochs };
  localStorage.setItem(KEY, JSON.stringify(next));
  return next;
}

export function forgetTrust(): void {
  localStorage.removeItem(KEY);
}

/** True when the node's genesis is the pinned one (same chain, members, keys and threshold). */
export function sameTrust(a: TrustAnchor, b: TrustAnchor): boolean {
  const norm = (t: TrustAnchor) =>
    JSON.stringify({ c: t.chainId, t: t.threshold, m: t.members.map((m) => [m.id, [...m.keys].sort()]) });
  return norm(a) === norm(b);
}

export interface ChainContext {
  chain: ChainInfo;
  trust: PinnedTrust;
  /** The node serves a genesis other than the pinned one. */
  mismatch: boolean;
  /** Pinned just now (first visit). */
  fresh: boolean;
  /** Why the node's member-set updates were not accepted (the pinned epochs stay in force). */
  epochsError?: string;
}

/**
 * Follows the chain's member-set updates from the pinned epochs (or the genesis set), verifying
 * each here, and pins the result. A refusal leaves the pinned trust as it was.
 */
export async function followEpochs(
  trust: PinnedTrust,
  signal?: AbortSignal,
): Promise<{ trust: PinnedTrust; error?: string }> {
  try {
    const from = trust.epochs ?? memberSetOf(trust);
    const epochs = await client.verifiedMemberSets(
      from,
      { chainId: trust.chainId },
      signal === undefined ? {} : { signal },
    );
    if (trust.epochs !== undefined && latestEpoch(epochs).epoch === latestEpoch(trust.epochs).epoch) return { trust };
    return { trust: pinEpochs(trust, epochs) };
  } catch (e) {
    return { trust, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The chain the node serves, and the trust anchor: pinned on first use, moved forward by verified epochs. */
export async function loadChain(signal?: AbortSignal): Promise<ChainContext> {
  const chain = await client.chain(signal === undefined ? {} : { signal });
  const pinned = pinnedTrust();
  const fresh = pinned === undefined;
  const base = pinned ?? pinTrust(chain);
  const mismatch = !fresh && !sameTrust(base, trustFromGenesis(chain.genesis));
  if (mismatch) return { chain, trust: base, mismatch, fresh };
  const { trust, error } = await followEpochs(base, signal);
  return { chain, trust, mismatch, fresh, ...(error === undefined ? {} : { epochsError: error }) };
}

/** What proofs are checked against: the verified epochs, else the genesis set. */
export function trustedMembers(trust: TrustAnchor): MemberSet | MemberSetChain {
  return trustedMembersOf(trust);
}

/** The member set that certifies `height` (the latest known one when no height is given). */
export function membersAt(trust: TrustAnchor, height?: number): MemberSet {
  if (trust.epochs === undefined) return memberSetOf(trust);
  return height === undefined ? latestEpoch(trust.epochs).members : memberSetForHeight(trust.epochs, height).members;
}
