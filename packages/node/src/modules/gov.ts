/**
 * Consortium governance (docs/architecture.md#governance): members propose and vote on admitting
 * and removing members, rotating a member's key and changing the quorum threshold and block
 * parameters; the thresholds come from the genesis policy (default: a majority of the current
 * members).
 *
 * - `gov.propose {action, reason}` by a member key: records `gov/proposal/<txId>` with the
 *   proposer's yes vote and a last voting height (`proposalTtlBlocks` ahead).
 * - `gov.vote {proposal, vote: 'yes' | 'no'}` by a member key: one vote per member (its latest
 *   counts), counted among the members current at the time of counting. The vote that reaches the
 *   threshold executes the action in the same transaction (`executed`, effective from the next
 *   height); once too many members voted no for the threshold to be reached, `rejected`.
 *
 * A deciding vote whose action no longer fits the state (the id was admitted meanwhile, the key
 * revoked...) ends with that action's code and changes nothing: the proposal stays open until it
 * is rejected or expires. State layout: governance/state.ts.
 */
import type { Genesis } from '@custos/protocol/ledger';
import type { ExecHost } from '../exec/module.js';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { policyOf } from '../genesis.js';
import { applyAction, checkAction, type GovView, parseAction } from '../governance/action.js';
import { type GovPolicy, parsePolicy, requiredVotes, ruleForKind } from '../governance/policy.js';
import {
  GOV_MEMBERS,
  GOV_PARAMS,
  GOV_POLICY,
  type GovParams,
  type MemberRegistry,
  type Proposal,
  proposalKey,
  type Vote,
} from '../governance/state.js';
import { type MemberRecord, memberKey, memberOfKey } from './member-state.js';

export const MAX_REASON = 1024;
const TX_ID = /^[0-9a-f]{64}$/;

export interface GovState extends GovView {
  policy: GovPolicy;
}

export function signerMember(ctx: ExecContext): MemberRecord {
  const id = memberOfKey(ctx, ctx.signer);
  const m = id === undefined ? undefined : (ctx.get(memberKey(id)) as MemberRecord | undefined);
  if (m === undefined)
    throw new ExecFailure('UNAUTHORIZED', 'expected a governance transaction signed by a member key');
  return m;
}

/** A member's membership term: a vote cast in an earlier term does not count after a removal and readmission. */
export function termOf(m: MemberRecord): string {
  return m.admittedBy ?? 'genesis';
}

/**
 * Governance state; the first governance transaction of a chain writes it from the genesis
 * document the executor's host gives. A nested run (inside a cross-chain transaction) gives none:
 * governance does not run there.
 */
export function loadGov(ctx: ExecContext, host: ExecHost | undefined): GovState {
  const text = host?.genesis();
  if (text === undefined) {
    throw new ExecFailure(
      'UNAUTHORIZED',
      "governance needs the chain's genesis from the executor; it does not run inside a cross-chain transaction",
    );
  }
  const registry = ctx.get(GOV_MEMBERS) as MemberRegistry | undefined;
  if (registry !== undefined) {
    return {
      ids: registry.ids,
      policy: ctx.get(GOV_POLICY) as unknown as GovPolicy,
      params: ctx.get(GOV_PARAMS) as unknown as GovParams,
    };
  }
  // The stored genesis is the one this chain was created from (peers compare it byte for byte);
  // only its policy, new with governance, is checked here.
  const genesis = JSON.parse(text) as Genesis;
  let policy: GovPolicy;
  try {
    policy = genesis.policy === undefined ? policyOf(genesis) : parsePolicy(genesis.policy);
  } catch (e) {
    throw new ExecFailure('UNAUTHORIZED', `this chain's genesis policy is not valid: ${(e as Error).message}`);
  }
  const gov: GovState = {
    // Until now only governance could change membership, so the members are the genesis ones.
    ids: genesis.members.map((m) => m.id).sort(),
    policy,
    params: {
      threshold: genesis.threshold,
      blockMaxTxs: genesis.params.blockMaxTxs,
      blockMaxMs: genesis.params.blockMaxMs,
    },
  };
  ctx.put(GOV_MEMBERS, { ids: gov.ids });
  ctx.put(GOV_POLICY, gov.policy);
  ctx.put(GOV_PARAMS, gov.params);
  return gov;
}

function tally(ctx: ExecContext, p: Proposal, gov: GovState): NonNullable<Proposal['tally']> {
  let yes = 0;
  let no = 0;
  for (const id of gov.ids) {
    const v = p.votes[id];
    if (v === undefined) continue;
    const m = ctx.get(memberKey(id)) as MemberRecord | undefined;
    if (m === undefined || termOf(m) !== v.term) continue;
    if (v.vote === 'yes') yes++;
    else no++;
  }
  const members = gov.ids.length;
  // Kinds the genesis policy does not name: a majority for contracts, the rotateKey rule for EVM keys.
  return { yes, no, members, required: requiredVotes(ruleForKind(p.action.kind, gov.policy), members) };
}

/** Executes or rejects `p` if the votes now decide it; leaves it open otherwise. */
export function decide(ctx: ExecContext, p: Proposal, gov: GovState, host?: ExecHost): void {
  const t = tally(ctx, p, gov);
  if (t.yes >= t.required) {
    checkAction(ctx, p.action, gov);
    applyAction(ctx, p.action, gov, p.id, host);
    Object.assign(p, { status: 'executed', decidedAt: ctx.height, effectiveFrom: ctx.height + 1, tally: t });
  } else if (t.members - t.no < t.required) {
    Object.assign(p, { status: 'rejected', decidedAt: ctx.height, tally: t });
  }
}

export const govModule: Module = {
  name: 'gov',
  actions: {
    propose(ctx: ExecContext, args: Args, host?: ExecHost) {
      arg.only(args, ['action', 'reason']);
      const action = parseAction(args.action);
      const reason = arg.str(args, 'reason', MAX_REASON);
      const proposer = signerMember(ctx);
      const gov = loadGov(ctx, host);
      // Refused now rather than left open for votes that could never execute it.
      checkAction(ctx, action, gov);
      const p: Proposal = {
        id: ctx.txId,
        action,
        reason,
        proposer: proposer.id,
        createdAt: ctx.height,
        expiresAt: ctx.height + gov.policy.proposalTtlBlocks,
        votes: { [proposer.id]: { vote: 'yes', height: ctx.height, term: termOf(proposer) } },
        status: 'open',
      };
      decide(ctx, p, gov, host);
      ctx.put(proposalKey(p.id), p);
      return 'OK';
    },

    vote(ctx: ExecContext, args: Args, host?: ExecHost) {
      arg.only(args, ['proposal', 'vote']);
      const id = arg.str(args, 'proposal', 64, TX_ID);
      const vote: Vote = arg.oneOf(args, 'vote', ['yes', 'no'] as const);
      const voter = signerMember(ctx);
      const gov = loadGov(ctx, host);
      const p = ctx.get(proposalKey(id)) as unknown as Proposal | undefined;
      if (p === undefined) throw new ExecFailure('NOT_FOUND', `no proposal ${id}`);
      if (p.status !== 'open') {
        throw new ExecFailure('PROPOSAL_CLOSED', `proposal ${id} was ${p.status} at height ${p.decidedAt}`);
      }
      if (ctx.height > p.expiresAt) {
        throw new ExecFailure('PROPOSAL_CLOSED', `proposal ${id} took votes until height ${p.expiresAt}`);
      }
      p.votes[voter.id] = { vote, height: ctx.height, term: termOf(voter) };
      decide(ctx, p, gov, host);
      ctx.put(proposalKey(p.id), p);
      return 'OK';
    },
  },
};
