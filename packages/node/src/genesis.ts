/**
 * Genesis files on a peer: checking an untrusted one (`parseGenesis`), making one, and its
 * canonical text, whose hash names the chain's history. The `Genesis` type and `memberSetOf` live
 * in the protocol package, shared with clients; they are re-exported here for the node's modules.
 */
import { isDidKey } from '@custos/protocol/crypto';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import {
  checkMemberProfile,
  type Genesis,
  type GenesisMember,
  type GovPolicy,
  type MemberProfileInput,
  majority,
  type ReadPolicy,
} from '@custos/protocol/ledger';
import { NodeError } from './errors.js';
import { DEFAULT_POLICY, MAX_MEMBERS, parsePolicy } from './governance/policy.js';
import { MAX_BLOCK_MS, MAX_BLOCK_TXS } from './governance/state.js';
import { MEMBER_ID } from './modules/member-state.js';

export type { Genesis, GenesisMember } from '@custos/protocol/ledger';
export { memberSetOf } from '@custos/protocol/ledger';

const GENESIS_FIELDS = ['chainId', 'time', 'members', 'threshold', 'params', 'policy', 'readPolicy'];
const OTHER_ORGS_READS = ['none', 'commitments'];

function parseReadPolicy(raw: unknown): ReadPolicy {
  const r = raw as { otherOrgs?: unknown } | null;
  const bad = new NodeError('BAD_GENESIS', `expected readPolicy {"otherOrgs": "none" | "commitments"}`);
  if (typeof r !== 'object' || r === null || Object.keys(r).some((k) => k !== 'otherOrgs')) throw bad;
  if (typeof r.otherOrgs !== 'string' || !OTHER_ORGS_READS.includes(r.otherOrgs)) throw bad;
  return { otherOrgs: r.otherOrgs as ReadPolicy['otherOrgs'] };
}

/** Checks an untrusted genesis document; throws `BAD_GENESIS` saying what is wrong. */
export function parseGenesis(raw: unknown): Genesis {
  const g = raw as Genesis;
  const bad = (m: string) => new NodeError('BAD_GENESIS', m);
  if (typeof g !== 'object' || g === null) throw bad('expected a genesis object');
  // A misspelt field (say `polcy`) would otherwise be dropped without a word, and the chain started without it.
  for (const k of Object.keys(g)) {
    if (!GENESIS_FIELDS.includes(k))
      throw bad(`unexpected field '${k.slice(0, 40)}'; expected ${GENESIS_FIELDS.join(', ')}`);
  }
  if (typeof g.chainId !== 'string' || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(g.chainId)) {
    throw bad('expected chainId of 1-64 characters [a-z0-9-]');
  }
  if (!Number.isSafeInteger(g.time) || g.time < 0) throw bad('expected time in integer ms');
  if (!Array.isArray(g.members) || g.members.length === 0 || g.members.length > MAX_MEMBERS) {
    throw bad(`expected 1-${MAX_MEMBERS} members`);
  }
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const m of g.members) {
    if (typeof m?.id !== 'string' || !MEMBER_ID.test(m.id))
      throw bad('expected each member id of 1-32 characters [a-z0-9-]');
    if (ids.has(m.id)) throw bad(`member id '${m.id}' appears twice`);
    ids.add(m.id);
    if (typeof m.name !== 'string' || m.name.length === 0 || m.name.length > 128)
      throw bad(`expected a name for member '${m.id}'`);
    if (!Array.isArray(m.keys) || m.keys.length === 0 || m.keys.length > 8 || !m.keys.every(isDidKey)) {
      throw bad(`expected 1-8 did:key keys for member '${m.id}'`);
    }
    for (const k of m.keys) {
      if (keys.has(k)) throw bad('a key belongs to two members');
      keys.add(k);
    }
    if (m.profile !== undefined) {
      const p = checkMemberProfile(m.profile);
      if (typeof p === 'string') throw bad(`member '${m.id}' profile: ${p}`);
    }
  }
  // Below a majority, two disjoint groups of members could each certify their own fork.
  if (
    !Number.isSafeInteger(g.threshold) ||
    g.threshold < majority(g.members.length) ||
    g.threshold > g.members.length
  ) {
    throw bad(
      `expected threshold between ${majority(g.members.length)} (a majority of ${g.members.length} members) and ${g.members.length}, got ${String(g.threshold).slice(0, 20)}`,
    );
  }
  const p = g.params;
  if (!p || !Number.isSafeInteger(p.blockMaxTxs) || p.blockMaxTxs < 1 || p.blockMaxTxs > MAX_BLOCK_TXS) {
    throw bad(`expected params.blockMaxTxs between 1 and ${MAX_BLOCK_TXS}`);
  }
  if (!Number.isSafeInteger(p.blockMaxMs) || p.blockMaxMs < 1 || p.blockMaxMs > MAX_BLOCK_MS) {
    throw bad(`expected params.blockMaxMs between 1 and ${MAX_BLOCK_MS}`);
  }
  return {
    chainId: g.chainId,
    time: g.time,
    members: g.members.map((m) => ({
      id: m.id,
      name: m.name,
      keys: [...m.keys],
      // Only when given: a genesis without profiles keeps its canonical text (and so its chain).
      ...(m.profile === undefined ? {} : { profile: checkMemberProfile(m.profile) as MemberProfileInput }),
    })),
    threshold: g.threshold,
    params: { blockMaxTxs: p.blockMaxTxs, blockMaxMs: p.blockMaxMs },
    // Only when given: a genesis without a policy keeps its canonical text (and so its chain).
    ...(Object.hasOwn(g, 'policy') ? { policy: parsePolicy(g.policy) } : {}),
    ...(Object.hasOwn(g, 'readPolicy') ? { readPolicy: parseReadPolicy(g.readPolicy) } : {}),
  };
}

export function makeGenesis(opts: {
  chainId: string;
  members: GenesisMember[];
  time?: number;
  threshold?: number;
  params?: Partial<Genesis['params']>;
  /** Written out in full (defaults filled in) when given; omitted otherwise. */
  policy?: Partial<GovPolicy>;
  /** Written out when given; omitted otherwise (members read only their own orgs' events). */
  readPolicy?: ReadPolicy;
}): Genesis {
  return parseGenesis({
    chainId: opts.chainId,
    time: opts.time ?? Date.now(),
    members: opts.members,
    threshold: opts.threshold ?? majority(opts.members.length),
    params: { blockMaxTxs: 2000, blockMaxMs: 20, ...opts.params },
    ...(opts.policy === undefined ? {} : { policy: { ...DEFAULT_POLICY, ...opts.policy } }),
    ...(opts.readPolicy === undefined ? {} : { readPolicy: opts.readPolicy }),
  });
}

/** The genesis governance policy, or the default (a majority for every kind) for a genesis without one. */
export function policyOf(g: Pick<Genesis, 'policy'>): GovPolicy {
  return g.policy ?? { ...DEFAULT_POLICY };
}

export function genesisText(g: Genesis): string {
  return canonicalize(g as unknown as JsonValue);
}
