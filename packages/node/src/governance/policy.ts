/**
 * The governance policy (docs/architecture.md#governance): how many member votes each kind of
 * proposal needs and how long a proposal stays open. Set in the genesis; a genesis without one gets
 * the default, a majority of the current members for every kind.
 */
import { ACTION_KINDS, type ActionKind, type GovPolicy, majority, type VoteRule } from '@custos/protocol/ledger';
import { NodeError } from '../errors.js';

// The wire types (ACTION_KINDS, GovPolicy, VoteRule) live in the protocol package; re-exported for
// the node's modules and routes.
export { ACTION_KINDS, type ActionKind, type GovPolicy, type VoteRule } from '@custos/protocol/ledger';

/** Most members a consortium has (the genesis limit, kept by admission). */
export const MAX_MEMBERS = 64;
export const MAX_TTL_BLOCKS = 10_000_000;

export const DEFAULT_POLICY: Readonly<GovPolicy> = Object.freeze({
  admit: 'majority',
  remove: 'majority',
  rotateKey: 'majority',
  params: 'majority',
  proposalTtlBlocks: 100_000,
});

const POLICY_FIELDS = [...ACTION_KINDS, 'proposalTtlBlocks'];

/** Checks an untrusted policy (from a genesis file); throws `BAD_GENESIS` naming the field. */
export function parsePolicy(raw: unknown): GovPolicy {
  const bad = (m: string) => new NodeError('BAD_GENESIS', `expected policy.${m}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new NodeError('BAD_GENESIS', `expected policy as an object with ${POLICY_FIELDS.join(', ')}`);
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!POLICY_FIELDS.includes(k)) {
      throw new NodeError('BAD_GENESIS', `unexpected policy.${k.slice(0, 40)}; expected ${POLICY_FIELDS.join(', ')}`);
    }
  }
  const rule = (k: ActionKind): VoteRule => {
    const v = r[k];
    if (v === 'majority') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= MAX_MEMBERS) return v;
    throw bad(`${k} as 'majority' or a number of members from 1 to ${MAX_MEMBERS}`);
  };
  const ttl = r.proposalTtlBlocks;
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TTL_BLOCKS) {
    throw bad(`proposalTtlBlocks as an integer from 1 to ${MAX_TTL_BLOCKS}`);
  }
  return {
    admit: rule('admit'),
    remove: rule('remove'),
    rotateKey: rule('rotateKey'),
    params: rule('params'),
    proposalTtlBlocks: ttl,
  };
}

/**
 * The vote rule of a proposal's action kind: the policy's own for the four kinds it names; a
 * majority for contract kinds; the `rotateKey` rule for `setEvmKey` and `removeEvmKey` (a key
 * replaced or taken out by vote).
 */
export function ruleForKind(kind: string, policy: GovPolicy): VoteRule {
  if (kind.startsWith('contract.')) return 'majority';
  if (kind === 'setEvmKey' || kind === 'removeEvmKey') return policy.rotateKey;
  return policy[kind as ActionKind];
}

/** Yes votes needed under `rule` with `members` current members. */
export function requiredVotes(rule: VoteRule, members: number): number {
  return rule === 'majority' ? majority(members) : Math.min(rule, members);
}
