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
import { codes, hash32, JURISDICTIONS, orgArg, signerSubject } from './common.js';

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

export function prefKey(org: string, subject: string): string {
  return `pref/${org}/${subject}`;
}

export function liveGrants(ctx: Pick<ExecContext, 'get' | 'time'>, org: string, subject: string): Grant[] {
  const st = ctx.get(consentKey(org, subject)) as unknown as ConsentState | undefined;
  return (st?.grants ?? []).filter((g) => g.withdrawnAt === null && g.expiresAt > ctx.time);
}

export function preferences(ctx: Pick<ExecContext, 'get'>, org: string, subject: string): Preferences {
  return (ctx.get(prefKey(org, subject)) as unknown as Preferences | undefined) ?? { sale: null, share: null };
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
      const grant: Grant = {
        id: ctx.txId,
        purposes: codes(args, 'purposes', 'purpose'),
        categories,
        expiresAt,
        share: arg.optBool(args, 'share') ?? false,
        sale: arg.optBool(args, 'sale') ?? false,
        jurisdiction: arg.oneOf(args, 'jurisdiction', JURISDICTIONS),
        notice: hash32(args, 'notice'),
        grantedAt: ctx.time,
        withdrawnAt: null,
        // Explicit consent (GDPR Art. 9(2)(a), 22(2)(c)) is kept whatever the categories.
        ...(explicit ? { explicit: true as const } : {}),
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
    /** The customer withdraws one consent (`consent`: its id) or all consents for an org. */
    withdraw(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'consent']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const id = arg.optStr(args, 'consent', 64);
      ctx.index(subject);
      const st = ctx.get(consentKey(org, subject)) as unknown as ConsentState | undefined;
      let changed = 0;
      const grants = (st?.grants ?? []).map((g) => {
        if (g.withdrawnAt === null && (id === undefined || g.id === id)) {
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
     * Share"). `source: 'gpc'` records a Global Privacy Control signal; the API accepts it only on a
     * request that carried `Sec-GPC: 1`.
     */
    set(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'kinds', 'source']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const kinds = arg.strList(args, 'kinds', 2, 8);
      if (!kinds.every((k) => k === 'sale' || k === 'share') || new Set(kinds).size !== kinds.length) {
        throw new ExecFailure('INVALID_ARGS', "expected args.kinds as ['sale'], ['share'] or ['sale', 'share']");
      }
      const source = args.source === undefined ? 'user' : arg.oneOf(args, 'source', ['user', 'gpc'] as const);
      ctx.index(subject);
      const prefs = preferences(ctx, org, subject);
      const entry: OptOut = { at: ctx.time, source, txId: ctx.txId };
      ctx.put(prefKey(org, subject), {
        ...prefs,
        sale: kinds.includes('sale') ? entry : prefs.sale,
        share: kinds.includes('share') ? entry : prefs.share,
      });
      return 'OK';
    },
    /** Withdraws an opt-out: the customer allows sale or sharing again (consent still needed). */
    clear(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'kinds']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const kinds = arg.strList(args, 'kinds', 2, 8);
      if (!kinds.every((k) => k === 'sale' || k === 'share')) {
        throw new ExecFailure('INVALID_ARGS', "expected args.kinds of 'sale' and/or 'share'");
      }
      ctx.index(subject);
      const prefs = preferences(ctx, org, subject);
      ctx.put(prefKey(org, subject), {
        ...prefs,
        sale: kinds.includes('sale') ? null : prefs.sale,
        share: kinds.includes('share') ? null : prefs.share,
      });
      return 'OK';
    },
  },
};

/** The objection to `purpose` by `subject` at `org` in force, if any (an absolute one: Art. 21(3)). */
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
