/**
 * Genesis: the chain id, the founding members with their keys, the quorum threshold, the block
 * parameters and (optionally) the governance policy and read policy. Its canonical text names the
 * chain's history; every peer starts from the same file, and a verifier pins its member set.
 */
import type { MemberSet } from './checkpoint.js';
import type { GovPolicy } from './gov-action.js';
import type { MemberProfileInput } from './member-profile.js';

/** A member org as the genesis names it. */
export interface GenesisMember {
  id: string;
  name: string;
  keys: string[];
  /** The member's profile as a controller from the start (`profile.set` sets or changes it later). */
  profile?: MemberProfileInput;
}

/** What a member may read of other orgs' events: nothing, or their id, position and result code. */
export interface ReadPolicy {
  otherOrgs: 'none' | 'commitments';
}

export interface Genesis {
  chainId: string;
  /** Genesis block time, ms since the epoch. */
  time: number;
  members: GenesisMember[];
  /** Members whose signatures make a quorum. */
  threshold: number;
  params: { blockMaxTxs: number; blockMaxMs: number };
  /**
   * Votes each kind of governance proposal needs. Absent in genesis files older than governance
   * (they keep their exact text, hence their chain): the default, a majority for every kind, holds then.
   */
  policy?: GovPolicy;
  /**
   * What a member may read of other orgs' events (docs/api.md, "Read access"): `none` (the default
   * when absent, so older genesis files keep their text and chain) or `commitments` (id, position
   * and result code, never the body).
   */
  readPolicy?: ReadPolicy;
}

/**
 * The genesis member set: ids, keys and quorum threshold, without the names. Takes anything with a
 * genesis's `members` and `threshold` (a genesis, or a trust anchor pinned from one).
 */
export function memberSetOf(g: Pick<Genesis, 'members' | 'threshold'>): MemberSet {
  return { members: g.members.map((m) => ({ id: m.id, keys: m.keys })), threshold: g.threshold };
}
