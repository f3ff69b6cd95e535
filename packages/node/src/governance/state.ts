/**
 * Where governance lives in the state, and its record types. Every value is readable with a point
 * read (no listing), so execution, an auditor's replay and a light client holding state proofs all
 * see the same thing.
 *
 * - `gov/members` -> {ids}: the current member ids, sorted. Absent until the first governance
 *   transaction; until then the members are the genesis members.
 * - `gov/policy` -> GovPolicy: votes each kind of proposal needs (from the genesis, or the default).
 * - `gov/params` -> GovParams: quorum threshold and block parameters in force. Absent means the
 *   genesis values.
 * - `gov/proposal/<txId>` -> Proposal, named by the id of the `gov.propose` transaction.
 *
 * The first governance transaction writes the first three from the genesis, so that a chain's
 * genesis state (and so its state roots) stays what it was before governance existed.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type { GovAction } from '@custos/protocol/ledger';

export type { GovParams } from '@custos/protocol/ledger';

export const GOV_MEMBERS = 'gov/members';
export const GOV_POLICY = 'gov/policy';
export const GOV_PARAMS = 'gov/params';
export const PROPOSAL_PREFIX = 'gov/proposal/';

/** Bounds of the block parameters, the same in the genesis and in `params` proposals. */
export const MAX_BLOCK_TXS = 10_000;
export const MAX_BLOCK_MS = 60_000;

export function proposalKey(id: string): string {
  return `${PROPOSAL_PREFIX}${id}`;
}

export interface MemberRegistry {
  ids: string[];
}

export type Vote = 'yes' | 'no';

export interface VoteRecord {
  vote: Vote;
  /** Height of the latest vote of this member on this proposal. */
  height: number;
  /**
   * The voter's membership term (`admittedBy` of its member record, `genesis` for a founder): a
   * vote stops counting when its member is removed, even if the same id is admitted again.
   */
  term: string;
}

export type ProposalStatus = 'open' | 'executed' | 'rejected';

export interface Proposal {
  /** Id of the `gov.propose` transaction. */
  id: string;
  action: GovAction;
  reason: string;
  /** Member id of the proposer (whose yes vote is counted with the proposal). */
  proposer: string;
  createdAt: number;
  /** Last height at which the proposal takes votes. */
  expiresAt: number;
  /** By member id. */
  votes: Record<string, VoteRecord>;
  /** Stays `open` after `expiresAt`: an expired proposal is an open one that no vote can reach. */
  status: ProposalStatus;
  /** Height of the transaction that executed or rejected it. */
  decidedAt?: number;
  /** Height from which an executed change applies to quorum certificates and block cutting. */
  effectiveFrom?: number;
  /** Count at the decision: yes and no votes of current members, members, yes votes needed. */
  tally?: { yes: number; no: number; members: number; required: number };
}

/** A proposal's status at `height`: `expired` when still open past its last voting height. */
export function proposalStatusAt(
  p: Pick<Proposal, 'status' | 'expiresAt'>,
  height: number,
): ProposalStatus | 'expired' {
  return p.status === 'open' && height > p.expiresAt ? 'expired' : p.status;
}

/** JSON state reader used by execution (`ExecContext.get`) and by light clients (proven values). */
export type GetJson = (key: string) => JsonValue | undefined;
