/**
 * Consent and opt-outs, signed by the customer's pairwise key for one org
 * (docs/architecture.md#customer-data).
 *
 * State: `consent/<org>/<subject>` -> {grants: Grant[]}; `pref/<org>/<subject>` -> opt-outs and
 * objections to direct marketing.
 * A grant is live at a height when it is not withdrawn and its expiry is after the block time.
 */

import { isSensitiveCategory } from '@custos/protocol/consent';
import { type ConsentGrant, DIRECT_MARKETING_PURPOSES, type OptOut, type Preferences } from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { ageOf, parentalArg } from './age.js';
import { codes, hash32, JURISDICTIONS, orgArg, signerSubject, subjectArg } from './common.js';
import { preferences, prefKey } from './prefs.js';

export { preferences, prefKey };

/** A consent as stored in `consent/<org>/<subject>`. */
export type Grant = ConsentGrant;
export type { OptOut, Preferences };

export interface ConsentState {
  grants: Grant[];
}

export const MAX_GRANTS = 64;
const MAX_CONSENT_MS = 10 * 366 * 86_400_000;

export function consentKey(org: string, subject: string): string {
  return `consent/${org}/${subject}`;
}

export function liveGrants(ctx: Pick<ExecContext, 'get' | 'time'>, org: string, subject: string): Grant[] {
  const st = ctx.get(consentKey(org, subject)) as unknown as ConsentState | undefined;
  return (st?.grants ?? []).filter((g) => g.withdrawnAt === null && g.expiresAt > ctx.time);
}

export const consentModule: Module = {
  name: 'consent',
  actions: {
    /** The customer consents to an org using some categories of their data for some purposes. */
    grant(ctx: ExecContext, args: Args) {
      arg.only(args, [
        'org',
        'purposes',
        'categories',
        'expiresAt',
        'share',
        'sale',
        'jurisdiction',
        'notice',
        'explicit',
        'parental',
      ]);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const expiresAt = arg.int(args, 'expiresAt', 0, Number.MAX_SAFE_INTEGER);
      if (expiresAt <= ctx.time) throw new ExecFailure('INVALID_ARGS', 'expected args.expiresAt after the block time');
      if (expiresAt > ctx.time + MAX_CONSENT_MS)
        throw new ExecFailure('INVALID_ARGS', 'expected a consent of at most 10 years');
      const categories = codes(args, 'categories', 'category');
      // GDPR Art. 9(2)(a): consent to a special category must be explicit, and say so.
      const explicit = arg.optBool(args, 'explicit') ?? false;
      const special = categories.filter(isSensitiveCategory);
      if (special.length > 0 && !explicit) {
        throw new ExecFailure(
          'INVALID_ARGS',
          `expected args.explicit: true for special categories (${special.join(', ')}): GDPR Art. 9(2)(a) needs explicit consent`,
        );
      }
      const purposes = codes(args, 'purposes', 'purpose');
      const share = arg.optBool(args, 'share') ?? false;
      const sale = arg.optBool(args, 'sale') ?? false;
      // A parent's or guardian's consent (GDPR Art. 8, CCPA 1798.120(c)), and the band it was given at.
      const parental = parentalArg(ctx, args, { org, subject, purposes, categories, expiresAt, share, sale });
      const ageBand = preferences(ctx, org, subject).age?.band;
      const grant: Grant = {
        id: ctx.txId,
        purposes,
        categories,
        expiresAt,
        share,
        sale,
        jurisdiction: arg.oneOf(args, 'jurisdiction', JURISDICTIONS),
        notice: hash32(args, 'notice'),
        grantedAt: ctx.time,
        withdrawnAt: null,
        // Explicit consent (GDPR Art. 9(2)(a), 22(2)(c)) is kept whatever the categories.
        ...(explicit ? { explicit: true as const } : {}),
        ...(ageBand === undefined ? {} : { ageBand }),
        ...(parental === undefined ? {} : { parental }),
      };
      ctx.index(subject);
      const st = (ctx.get(consentKey(org, subject)) as unknown as ConsentState | undefined) ?? { grants: [] };
      // Expired and withdrawn grants beyond the limit are dropped from state; they remain in the log.
      let grants = [...st.grants, grant];
      if (grants.length > MAX_GRANTS) {
        grants = grants.filter((g) => g.withdrawnAt === null && g.expiresAt > ctx.time);
        if (grants.length > MAX_GRANTS) {
          throw new ExecFailure('LIMIT_EXCEEDED', `at most ${MAX_GRANTS} live consents per org`);
        }
      }
      ctx.put(consentKey(org, subject), { grants });
      return 'OK';
    },
    /**
     * The customer withdraws one consent (`consent`: its id) or all consents for an org. A child's
     * registered guardian (`age.set` with guardian) withdraws the consents they signed, naming the
     * child's pseudonym in `subject` (GDPR Arts. 7(3), 8).
     */
    withdraw(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'consent', 'subject']);
      const signer = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const byGuardian = args.subject !== undefined;
      const subject = byGuardian ? subjectArg(args, 'subject') : signer;
      if (byGuardian && ageOf(ctx, org, subject)?.guardian !== signer) {
        throw new ExecFailure(
          'UNAUTHORIZED',
          "expected a transaction signed by the guardian key registered for this child's relationship (age.set with guardian)",
        );
      }
      const id = arg.optStr(args, 'consent', 64);
      ctx.index(subject);
      const st = ctx.get(consentKey(org, subject)) as unknown as ConsentState | undefined;
      let changed = 0;
      // A guardian ends only the consents given with their own signature.
      const mine = (g: Grant) =>
        !byGuardian || (g.parental !== undefined && 'guardian' in g.parental && g.parental.guardian === signer);
      const grants = (st?.grants ?? []).map((g) => {
        if (g.withdrawnAt === null && (id === undefined || g.id === id) && mine(g)) {
          changed++;
          // The withdrawing transaction, so its receipts name exactly the consents it ended.
          return { ...g, withdrawnAt: ctx.time, withdrawnBy: ctx.txId };
        }
        return g;
      });
      if (changed === 0) throw new ExecFailure('NOT_FOUND', 'no live consent to withdraw');
      ctx.put(consentKey(org, subject), { grants });
      return 'OK';
    },
  },
};

export const optoutModule: Module = {
  name: 'optout',
  actions: {
    /**
     * Opts out of the sale and/or sharing of the customer's data by an org (CCPA "Do Not Sell or
     * Share"), and/or limits the use of their sensitive data (`sensitive`, CCPA 1798.121: then a
     * special category is used only under contract, legal obligation or vital interests, and never
     * shared). `source: 'gpc'` records a Global Privacy Control signal; the API accepts it only on a
     * request that carried `Sec-GPC: 1`.
     */
    set(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'kinds', 'source']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const kinds = optoutKinds(args);
      const source = args.source === undefined ? 'user' : arg.oneOf(args, 'source', ['user', 'gpc'] as const);
      // GPC is a signal to opt out of sale and sharing (CCPA regulations 7025), not a limit.
      if (source === 'gpc' && kinds.includes('sensitive')) {
        throw new ExecFailure(
          'INVALID_ARGS',
          "expected args.kinds without 'sensitive' for a GPC signal: GPC opts out of sale and sharing",
        );
      }
      ctx.index(subject);
      const prefs = preferences(ctx, org, subject);
      const entry: OptOut = { at: ctx.time, source, txId: ctx.txId };
      const next: Preferences = {
        ...prefs,
        sale: kinds.includes('sale') ? entry : prefs.sale,
        share: kinds.includes('share') ? entry : prefs.share,
      };
      if (kinds.includes('sensitive')) next.sensitive = entry;
      ctx.put(prefKey(org, subject), next);
      return 'OK';
    },
    /** Withdraws an opt-out, or the limit: the customer allows sale, sharing or the use of sensitive data again (consent still needed). */
    clear(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'kinds']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const kinds = optoutKinds(args);
      ctx.index(subject);
      const prefs = preferences(ctx, org, subject);
      const next: Preferences = {
        ...prefs,
        sale: kinds.includes('sale') ? null : prefs.sale,
        share: kinds.includes('share') ? null : prefs.share,
      };
      if (kinds.includes('sensitive')) next.sensitive = null;
      ctx.put(prefKey(org, subject), next);
      return 'OK';
    },
  },
};

const OPTOUT_KINDS = ['sale', 'share', 'sensitive'] as const;

/** `args.kinds`: some of sale, share and sensitive (the limit on sensitive data, CCPA 1798.121), each once. */
function optoutKinds(args: Args): (typeof OPTOUT_KINDS)[number][] {
  const kinds = arg.strList(args, 'kinds', OPTOUT_KINDS.length, 16);
  const known: readonly string[] = OPTOUT_KINDS;
  if (kinds.length === 0 || !kinds.every((k) => known.includes(k)) || new Set(kinds).size !== kinds.length) {
    throw new ExecFailure(
      'INVALID_ARGS',
      "expected args.kinds as 1-3 of 'sale', 'share' and 'sensitive' (the limit on sensitive data), each once",
    );
  }
  return kinds as (typeof OPTOUT_KINDS)[number][];
}

export function objectionTo(
  ctx: Pick<ExecContext, 'get'>,
  org: string,
  subject: string,
  purpose: string,
): { at: number; txId: string } | undefined {
  return preferences(ctx, org, subject).objections?.[purpose];
}

function objectionPurposes(args: Args): string[] {
  const shape = `expected args.purposes as 1-${DIRECT_MARKETING_PURPOSES.length} of ${DIRECT_MARKETING_PURPOSES.join(', ')} (objections to other purposes are requests: request.open with kind object)`;
  const purposes = arg.strList(args, 'purposes', DIRECT_MARKETING_PURPOSES.length, 80);
  const known: readonly string[] = DIRECT_MARKETING_PURPOSES;
  if (
    purposes.length === 0 ||
    !purposes.every((p) => known.includes(p)) ||
    new Set(purposes).size !== purposes.length
  ) {
    throw new ExecFailure('INVALID_ARGS', shape);
  }
  return purposes;
}

export const objectionModule: Module = {
  name: 'objection',
  actions: {
    /**
     * The customer objects to direct marketing, or the profiling for it, by an org (GDPR Art.
     * 21(2)-(3)): absolute and at once, whatever the lawful basis the org declared; from this block
     * on, `data.access` and `data.share` for those purposes end with OPTED_OUT. No request, no
     * deadline, no refusal.
     */
    set(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'purposes']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const purposes = objectionPurposes(args);
      ctx.index(subject);
      const prefs = preferences(ctx, org, subject);
      const objections = { ...(prefs.objections ?? {}) };
      for (const p of purposes) objections[p] ??= { at: ctx.time, txId: ctx.txId };
      ctx.put(prefKey(org, subject), { ...prefs, objections });
      return 'OK';
    },
    /** The customer withdraws objections: those purposes need their lawful basis again, nothing more. */
    clear(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'purposes']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const purposes = objectionPurposes(args);
      ctx.index(subject);
      const prefs = preferences(ctx, org, subject);
      const objections = { ...(prefs.objections ?? {}) };
      for (const p of purposes) delete objections[p];
      const { objections: _old, ...rest } = prefs;
      ctx.put(prefKey(org, subject), Object.keys(objections).length === 0 ? rest : { ...rest, objections });
      return 'OK';
    },
  },
};
