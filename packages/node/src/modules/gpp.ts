/**
 * `gpp.record`: a customer's choices from an IAB Global Privacy Platform string (a company's
 * consent banner), applied by the ledger itself with the mapping of `@custos/protocol/gpp`, so what
 * is applied is exactly what the string says (docs/customer-data.md, "GPP and GPC").
 *
 * - Signed by the customer (pairwise key), e.g. by the SDK in the customer's browser: every choice
 *   applies, opt-outs and opt-ins alike, and TCF purpose consents become one consent grant
 *   (`consent: {categories, expiresAt}`), replacing the previous grant a GPP record made.
 * - Signed by the org (`subject` names the customer), e.g. the org's backend behind its banner:
 *   only the restrictive choices apply (opt-outs, limits, the end of the previous GPP grant when the
 *   string no longer consents to all its purposes); an opt-in or a consent needs the customer's
 *   signature. An org cannot record a string without applying its opt-outs.
 *
 * State: the string is kept in `pref/<org>/<subject>` (`gpp`), the base Custos emits a string from.
 */
import { isSensitiveCategory } from '@custos/protocol/consent';
import { sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import {
  choicesOfModel,
  decodeGpp,
  type GppChoice,
  type GppChoices,
  MAX_GPP_LENGTH,
  TARGETED_ADVERTISING_PURPOSE,
} from '@custos/protocol/gpp';
import type { DataRecord, GppRecorded, OptOut, Preferences } from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { codes, orgArg, subjectArg } from './common.js';
import { type ConsentState, consentKey, type Grant, MAX_GRANTS, preferences, prefKey } from './consent.js';
import { memberOfKey } from './member-state.js';

const GPP_CHARS = /^[A-Za-z0-9_.~-]+$/;
const MAX_GPP_CONSENT_MS = 2 * 366 * 86_400_000;
/** Bases under which a record of a sensitive category may still be used once the customer limited it. */
const NECESSARY_BASES: readonly string[] = ['contract', 'legal-obligation', 'vital-interests'];

/**
 * The limit on sensitive data (CCPA 1798.121): a special-category record may then be used or shared
 * only as needed to serve the customer (contract, legal obligation, vital interests).
 */
export function refuseLimitedSensitive(ctx: ExecContext, rec: DataRecord, basis: string | null): void {
  if (!isSensitiveCategory(rec.category)) return;
  if (basis !== null && NECESSARY_BASES.includes(basis)) return;
  if (preferences(ctx, rec.org, rec.subject).sensitive) {
    throw new ExecFailure(
      'OPTED_OUT',
      'the customer limited the use of their sensitive data (CCPA 1798.121): only contract, legal obligation or vital interests',
    );
  }
}

function decoded(args: Args): { gpp: string; sections: string[]; choices: GppChoices } {
  const gpp = arg.str(args, 'gpp', MAX_GPP_LENGTH, GPP_CHARS);
  try {
    const { model, sections } = decodeGpp(gpp);
    return { gpp, sections: [...sections], choices: choicesOfModel(model) };
  } catch (e) {
    throw new ExecFailure('INVALID_ARGS', `expected args.gpp as a GPP string: ${(e as Error).message}`);
  }
}

/** The opt-out after a choice: `out` sets it (kept if already set), `in` clears it (customer only). */
function optOutAfter(current: OptOut | null | undefined, choice: GppChoice | null, entry: OptOut, byCustomer: boolean) {
  if (choice === 'out') return current ?? entry;
  if (choice === 'in' && byCustomer) return null;
  return current ?? null;
}

function grantArgs(args: Args, ctx: ExecContext): { categories: string[]; expiresAt: number } | undefined {
  const c = args.consent;
  if (c === undefined) return undefined;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new ExecFailure('INVALID_ARGS', 'expected args.consent as {categories, expiresAt}');
  }
  const inner = c as Args;
  arg.only(inner, ['categories', 'expiresAt']);
  const categories = codes(inner, 'categories', 'category');
  const special = categories.filter(isSensitiveCategory);
  if (special.length > 0) {
    throw new ExecFailure(
      'INVALID_ARGS',
      `a TCF consent is not explicit consent: args.consent.categories cannot hold special categories (${special.join(', ')})`,
    );
  }
  const expiresAt = arg.int(inner, 'expiresAt', 0, Number.MAX_SAFE_INTEGER);
  if (expiresAt <= ctx.time || expiresAt > ctx.time + MAX_GPP_CONSENT_MS) {
    throw new ExecFailure('INVALID_ARGS', 'expected args.consent.expiresAt after the block time and within 2 years');
  }
  return { categories, expiresAt };
}

export const gppModule: Module = {
  name: 'gpp',
  actions: {
    /** Records a GPP string for a customer at an org and applies its choices (see the file's comment). */
    record(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'subject', 'gpp', 'consent']);
      const org = orgArg(ctx, args, 'org');
      const signerOrg = memberOfKey(ctx, ctx.signer);
      let subject: string;
      if (signerOrg !== undefined) {
        if (signerOrg !== org) {
          throw new ExecFailure(
            'UNAUTHORIZED',
            `expected a key of ${org} (or the customer's) to record its GPP string`,
          );
        }
        subject = subjectArg(args, 'subject');
        if (args.consent !== undefined) {
          throw new ExecFailure(
            'UNAUTHORIZED',
            "a consent needs the customer's signature: args.consent is for the customer",
          );
        }
      } else {
        if (args.subject !== undefined) {
          throw new ExecFailure('INVALID_ARGS', 'a customer records for themselves: args.subject is for an org key');
        }
        subject = ctx.signer;
      }
      const byCustomer = signerOrg === undefined;
      const { gpp, sections, choices } = decoded(args);
      const consent = byCustomer ? grantArgs(args, ctx) : undefined;
      ctx.index(subject);
      const prefs = preferences(ctx, org, subject);
      const entry: OptOut = { at: ctx.time, source: 'gpp', txId: ctx.txId };
      const next: Preferences = {
        ...prefs,
        sale: optOutAfter(prefs.sale, choices.sale, entry, byCustomer),
        share: optOutAfter(prefs.share, choices.share, entry, byCustomer),
        sensitive: optOutAfter(prefs.sensitive, choices.sensitive, entry, byCustomer),
      };
      const objections = { ...(prefs.objections ?? {}) };
      if (choices.targeted === 'out') objections[TARGETED_ADVERTISING_PURPOSE] ??= { at: ctx.time, txId: ctx.txId };
      if (choices.targeted === 'in' && byCustomer) delete objections[TARGETED_ADVERTISING_PURPOSE];
      if (Object.keys(objections).length > 0) next.objections = objections;
      else delete next.objections;

      const grant = applyTcf(ctx, org, subject, prefs.gpp?.grant, choices, byCustomer, consent, gpp);
      const recorded: GppRecorded = {
        gpp,
        sections,
        by: byCustomer ? 'customer' : 'org',
        at: ctx.time,
        txId: ctx.txId,
        ...(grant === undefined ? {} : { grant }),
      };
      ctx.put(prefKey(org, subject), { ...next, gpp: recorded });
      return 'OK';
    },
  },
};

/**
 * TCF purpose consents: the previous GPP grant ends when the string no longer consents to all its
 * purposes (or, from the customer, differs at all); a customer's string consenting to some purposes
 * grants them, for `consent.categories` until `consent.expiresAt`. Answers the GPP grant in force.
 */
function applyTcf(
  ctx: ExecContext,
  org: string,
  subject: string,
  previous: string | undefined,
  choices: GppChoices,
  byCustomer: boolean,
  consent: { categories: string[]; expiresAt: number } | undefined,
  gpp: string,
): string | undefined {
  if (choices.purposes === null) return previous;
  const wanted = Object.entries(choices.purposes).flatMap(([p, yes]) => (yes ? [p] : []));
  const st = (ctx.get(consentKey(org, subject)) as unknown as ConsentState | undefined) ?? { grants: [] };
  let grants = st.grants;
  const prev = grants.find((g) => g.id === previous && g.withdrawnAt === null && g.expiresAt > ctx.time);
  const same =
    prev !== undefined && prev.purposes.length === wanted.length && wanted.every((p) => prev.purposes.includes(p));
  const refusesSome = prev?.purposes.some((p) => !wanted.includes(p)) === true;
  let inForce = prev?.id;
  if (prev !== undefined && (refusesSome || (byCustomer && !same))) {
    grants = grants.map((g) => (g.id === prev.id ? { ...g, withdrawnAt: ctx.time, withdrawnBy: ctx.txId } : g));
    inForce = undefined;
  }
  if (byCustomer && wanted.length > 0 && inForce === undefined) {
    if (consent === undefined) {
      throw new ExecFailure(
        'INVALID_ARGS',
        'the GPP string consents to TCF purposes: expected args.consent {categories, expiresAt} for the consent it grants',
      );
    }
    const grant: Grant = {
      id: ctx.txId,
      purposes: wanted,
      categories: consent.categories,
      expiresAt: consent.expiresAt,
      share: false,
      sale: false,
      jurisdiction: 'GDPR',
      // The notice a TCF consent was given on is the banner's; its digest here is the string's.
      notice: toHex(sha256(utf8(gpp))),
      grantedAt: ctx.time,
      withdrawnAt: null,
    };
    grants = [...grants, grant];
    if (grants.length > MAX_GRANTS) {
      grants = grants.filter((g) => g.withdrawnAt === null && g.expiresAt > ctx.time);
      if (grants.length > MAX_GRANTS)
        throw new ExecFailure('LIMIT_EXCEEDED', `at most ${MAX_GRANTS} live consents per org`);
    }
    inForce = grant.id;
  }
  if (grants !== st.grants) ctx.put(consentKey(org, subject), { grants });
  return inForce;
}
