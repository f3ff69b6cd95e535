/**
 * The trust anchor the browser checks every proof against: the chain's genesis members, fetched
 * once from the node and pinned in this browser. A node that later serves another genesis is
 * flagged, never silently trusted.
 */
import { type ChainInfo, type TrustAnchor, trustFromGenesis } from '@custos/sdk';
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
}

/** The chain the node serves, and the trust anchor: pinned on first use. */
export async function loadChain(signal?: AbortSignal): Promise<ChainContext> {
  const chain = await client.chain(signal === undefined ? {} : { signal });
  const pinned = pinnedTrust();
  if (pinned === undefined) return { chain, trust: pinTrust(chain), mismatch: false, fresh: true };
  return { chain, trust: pinned, mismatch: !sameTrust(pinned, trustFromGenesis(chain.genesis)), fresh: false };
}

/** Display name of a member org, from the pinned genesis. */
export function orgName(trust: TrustAnchor, id: string): string {
  return trust.members.find((m) => m.id === id)?.name ?? id;
}

/** The member org that owns a signing key, if any. */
export function orgOfKey(trust: TrustAnchor, did: string): string | undefined {
  return trust.members.find((m) => m.keys.includes(did))?.id;
}
