/**
 * Each member's profile as a controller (GDPR Arts. 26, 27, 30 and 37; docs/customer-data.md "The
 * consortium's own obligations"): legal name, registration, the DPO's or EU representative's role
 * address, the countries where its peers run and the SHA-256 of the joint-controller arrangement.
 * Set by the org (or in the genesis), changed by the org, versioned; public, like the data map. An
 * org records no customer data before it has one (`requireProfile`, NO_PROFILE).
 *
 * State: `profile/<org>` -> MemberProfile (the one in force); `profile/<org>/v/<version>` -> every
 * version, so the history survives the next change.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { checkMemberProfile, type Genesis, type MemberProfile } from '@custos/protocol/ledger';
import { type Args, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { signerOrg } from './common.js';
import { writeMember } from './member-state.js';

export type { MemberProfile };

export function profileKey(org: string): string {
  return `profile/${org}`;
}

export function profileVersionKey(org: string, version: number): string {
  return `profile/${org}/v/${String(version).padStart(10, '0')}`;
}

/** The profile `org` has in force, or undefined. */
export function profileOf(ctx: Pick<ExecContext, 'get'>, org: string): MemberProfile | undefined {
  return ctx.get(profileKey(org)) as unknown as MemberProfile | undefined;
}

/** Refuses (NO_PROFILE) a transaction recording customer data for an org without a profile. */
export function requireProfile(ctx: Pick<ExecContext, 'get'>, org: string): void {
  if (profileOf(ctx, org) === undefined) {
    throw new ExecFailure(
      'NO_PROFILE',
      `${org} has no member profile: set one (profile.set: legal name, registration, DPO or EU representative, regions, the Art. 26 arrangement digest) before recording customer data`,
    );
  }
}

function writeProfile(ctx: Pick<ExecContext, 'put'>, p: MemberProfile): void {
  ctx.put(profileKey(p.org), p);
  ctx.put(profileVersionKey(p.org, p.version), p);
}

/** Writes the genesis members, and the profiles the genesis gives them (version 1). */
export function writeGenesisMembers(ctx: Pick<ExecContext, 'put'>, genesis: Genesis): void {
  for (const m of genesis.members) {
    writeMember(ctx, { id: m.id, name: m.name, keys: m.keys, since: 0 });
    if (m.profile !== undefined) {
      writeProfile(ctx, { ...m.profile, org: m.id, version: 1, setAt: genesis.time, height: 0, txId: 'genesis' });
    }
  }
}

export const profileModule: Module = {
  name: 'profile',
  actions: {
    /** The org sets or changes its profile: the next version. */
    set(ctx: ExecContext, args: Args) {
      const org = signerOrg(ctx);
      const input = checkMemberProfile(args);
      if (typeof input === 'string') throw new ExecFailure('INVALID_ARGS', `args: ${input}`);
      const cur = profileOf(ctx, org);
      if (cur !== undefined) {
        const { org: _o, version: _v, setAt: _s, height: _h, txId: _t, ...same } = cur;
        if (canonicalize(same) === canonicalize(input as unknown as JsonValue)) {
          throw new ExecFailure('CONFLICT', `this profile is already in force as version ${cur.version}`);
        }
      }
      writeProfile(ctx, {
        ...input,
        org,
        version: (cur?.version ?? 0) + 1,
        setAt: ctx.time,
        height: ctx.height,
        txId: ctx.txId,
      });
      return 'OK';
    },
  },
};
