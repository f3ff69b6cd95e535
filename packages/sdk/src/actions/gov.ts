/**
 * Governance: the public overview (members, rules in force, proposals) and an org's proposals and
 * votes, signed with the org's key. `GovAction` comes from the protocol.
 */
import type { CommitResult, GovAction } from '@custos/protocol/ledger';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkTxId, seg } from '../transport/url.js';

/** A change a governance proposal makes: one definition, in the protocol. */
export type { GovAction };

/** A governance proposal (`gov/proposal/<id>`), with its state as of the latest block. */
export interface GovProposal {
  id: string;
  action: GovAction;
  reason: string;
  proposer: string;
  createdAt: number;
  expiresAt: number;
  votes: Record<string, { vote: 'yes' | 'no'; height: number; term: string }>;
  status: 'open' | 'executed' | 'rejected';
  state: 'open' | 'executed' | 'rejected' | 'expired';
  /** Yes votes it needs. */
  needs: number;
  decidedAt?: number;
  effectiveFrom?: number;
  tally?: { yes: number; no: number; members: number; required: number };
}

/** `GET /v1/gov/proposals`: members, rules in force and proposals. */
export interface GovOverview {
  height: number;
  /** `evmKey`: the member's EVM key address (docs/interop.md), null without one. */
  members: {
    id: string;
    name: string;
    keys: string[];
    since: number;
    endpoint: string | null;
    evmKey: string | null;
  }[];
  params: { threshold: number; blockMaxTxs: number; blockMaxMs: number };
  policy: Record<'admit' | 'remove' | 'rotateKey' | 'params', 'majority' | number> & { proposalTtlBlocks: number };
  proposals: GovProposal[];
}

/** `GET /v1/gov/proposals` (public). */
export async function govProposals(t: Transport, opts?: CallOptions): Promise<GovOverview> {
  return t.json('GET', '/v1/gov/proposals', undefined, opts);
}

/** `POST /v1/orgs/{org}/gov/propose`: the proposer votes yes; the proposal id is the `txId`. */
export async function govPropose(
  t: Transport,
  org: string,
  p: { action: GovAction; reason: string },
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `/v1/orgs/${seg(org)}/gov/propose`, p, opts, true);
}

/** `POST /v1/orgs/{org}/gov/vote`: the deciding vote executes the change. */
export async function govVote(
  t: Transport,
  org: string,
  proposal: string,
  vote: 'yes' | 'no',
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `/v1/orgs/${seg(org)}/gov/vote`, { proposal: checkTxId(proposal), vote }, opts, true);
}

/** `POST /v1/orgs/{org}/contracts/{name}/pause`: the org's emergency pause vote on a contract. */
export async function contractPause(
  t: Transport,
  org: string,
  name: string,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `/v1/orgs/${seg(org)}/contracts/${seg(name)}/pause`, {}, opts, true);
}
