/** Who is who on a trusted chain: member names, and the member behind a signing key. */
import type { TrustAnchor } from '../history.js';

/** Display name of a member org, from the trusted genesis (an org admitted since: its id). */
export function orgName(trust: TrustAnchor, id: string): string {
  return trust.members.find((m) => m.id === id)?.name ?? id;
}

/**
 * The member org that owns a signing key, if any: in the latest verified member set that holds it
 * (a key rotated in after genesis), else in the genesis.
 */
export function orgOfKey(trust: TrustAnchor, did: string): string | undefined {
  if (trust.epochs !== undefined) {
    for (let i = trust.epochs.epochs.length - 1; i >= 0; i--) {
      const m = trust.epochs.epochs[i]!.members.members.find((x) => x.keys.includes(did));
      if (m !== undefined) return m.id;
    }
  }
  return trust.members.find((m) => m.keys.includes(did))?.id;
}
