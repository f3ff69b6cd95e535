/**
 * Children (docs/customer-data.md, "Children"): the age band of a relationship (`age.set`, a band,
 * never a birth date), the consent of a parent or guardian on a grant, and the rules every peer
 * applies at execution:
 *
 * - GDPR Art. 8(1): below the member state's age of digital consent (16, or its own from 13), a use
 *   on consent needs a consent given by a parent or guardian (PARENTAL_CONSENT_REQUIRED).
 * - CCPA 1798.120(c): under 16, no sale or sharing unless the customer opted in as a minor (a consent
 *   with share or sale given while the band was recorded, OPTED_OUT otherwise); under 13, the opt-in
 *   must be a parent's or guardian's (PARENTAL_CONSENT_REQUIRED).
 *
 * State: `pref/<org>/<subject>` (`age`).
 */
import { isDidKey } from '@custos/protocol/crypto';
import {
  AGE_BANDS,
  AGE_EVIDENCE,
  type AgeBand,
  type AgeRecord,
  ART8_AGES,
  belowArt8Age,
  type ConsentGrant as Grant,
  type ParentalConsent,
  type ParentalStatement,
  underSixteen,
  verifyParentalConsent,
} from '@custos/protocol/ledger';
import { nativeVerifier } from '../crypto/native.js';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { hash32, orgArg, subjectArg } from './common.js';
import { memberOfKey } from './member-state.js';
import { preferences, prefKey } from './prefs.js';

const MEMBER_STATES = Object.keys(ART8_AGES);

function evidenceArg(v: unknown, name: string): { method: (typeof AGE_EVIDENCE)[number]; digest: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ExecFailure('INVALID_ARGS', `expected args.${name} as {method, digest}`);
  }
  const e = v as Args;
  arg.only(e, ['method', 'digest']);
  return { method: arg.oneOf(e, 'method', AGE_EVIDENCE), digest: hash32(e, 'digest') };
}

/** The relationship's age band, if recorded. */
export function ageOf(ctx: Pick<ExecContext, 'get'>, org: string, subject: string): AgeRecord | undefined {
  return preferences(ctx, org, subject).age;
}

/**
 * `args.parental` of `consent.grant`: the registered guardian's signature over the grant's terms, or
 * the org's verification method and the SHA-256 of its evidence. Undefined when absent.
 */
export function parentalArg(
  ctx: ExecContext,
  args: Args,
  s: Omit<ParentalStatement, 'chainId'>,
): ParentalConsent | undefined {
  const p = args.parental;
  if (p === undefined) return undefined;
  if (typeof p === 'object' && p !== null && !Array.isArray(p) && 'guardian' in p) {
    const g = p as Args;
    arg.only(g, ['guardian', 'signature']);
    const guardian = arg.str(g, 'guardian', 128);
    const signature = arg.str(g, 'signature', 128);
    const registered = ageOf(ctx, s.org, s.subject)?.guardian;
    if (registered === undefined || registered !== guardian) {
      throw new ExecFailure(
        'UNAUTHORIZED',
        'expected args.parental.guardian to be the guardian key registered for this relationship (age.set with guardian)',
      );
    }
    if (!verifyParentalConsent({ ...s, chainId: ctx.chainId }, guardian, signature, nativeVerifier)) {
      throw new ExecFailure(
        'UNAUTHORIZED',
        "expected args.parental.signature as the guardian's Ed25519 signature over this consent's terms (signParentalConsent)",
      );
    }
    return { guardian, signature };
  }
  return evidenceArg(p, 'parental');
}

/**
 * Refuses a use (`share` false) or a sale or share when no grant among `covering` (the live grants
 * that otherwise allow it) meets the rules for the customer's age band.
 */
export function refuseChild(
  ctx: Pick<ExecContext, 'get'>,
  org: string,
  subject: string,
  covering: Grant[],
  share: boolean,
): void {
  const age = ageOf(ctx, org, subject);
  if (age === undefined || covering.length === 0) return;
  const art8 = belowArt8Age(age.band, age.memberState);
  const gdprOk = (g: Grant) => !art8 || g.jurisdiction !== 'GDPR' || g.parental !== undefined;
  if (!covering.some(gdprOk)) {
    throw new ExecFailure(
      'PARENTAL_CONSENT_REQUIRED',
      `the customer is below the age of digital consent (GDPR Art. 8, ${age.memberState ?? 'age 16'}): a consent given by a parent or guardian is needed`,
    );
  }
  if (!share || !underSixteen(age.band)) return;
  if (age.band === 'under13') {
    if (!covering.some((g) => gdprOk(g) && g.parental !== undefined)) {
      throw new ExecFailure(
        'PARENTAL_CONSENT_REQUIRED',
        'the customer is under 13: sale and sharing need the opt-in of a parent or guardian (CCPA 1798.120(c))',
      );
    }
    return;
  }
  if (!covering.some((g) => gdprOk(g) && (g.parental !== undefined || underSixteen(g.ageBand)))) {
    throw new ExecFailure(
      'OPTED_OUT',
      'the customer is under 16: no sale or sharing without their opt-in given as a minor (CCPA 1798.120(c)); consents from before the band was recorded do not count',
    );
  }
}

export const ageModule: Module = {
  name: 'age',
  actions: {
    /**
     * Records the age band of a relationship: by the customer (`org`, `band`, optional
     * `memberState` and `guardian`, the did:key of a parent's or guardian's key), or by the org
     * (`subject` too, and `evidence` {method, digest}: how it verified the age).
     */
    set(ctx: ExecContext, args: Args) {
      const org = orgArg(ctx, args, 'org');
      const signerOrg = memberOfKey(ctx, ctx.signer);
      let subject: string;
      let evidence: AgeRecord['evidence'];
      if (signerOrg !== undefined) {
        arg.only(args, ['org', 'subject', 'band', 'memberState', 'evidence']);
        if (signerOrg !== org) throw new ExecFailure('UNAUTHORIZED', `expected a key of ${org} (or the customer's)`);
        subject = subjectArg(args, 'subject');
        if (args.evidence === undefined) {
          throw new ExecFailure(
            'INVALID_ARGS',
            'expected args.evidence {method, digest}: an org records an age band it verified',
          );
        }
        evidence = evidenceArg(args.evidence, 'evidence');
      } else {
        arg.only(args, ['org', 'band', 'memberState', 'guardian']);
        subject = ctx.signer;
      }
      const band: AgeBand = arg.oneOf(args, 'band', AGE_BANDS);
      const memberState = args.memberState === undefined ? undefined : arg.oneOf(args, 'memberState', MEMBER_STATES);
      let guardian: string | undefined;
      if (args.guardian !== undefined) {
        guardian = arg.str(args, 'guardian', 128);
        if (!isDidKey(guardian) || guardian === subject) {
          throw new ExecFailure(
            'INVALID_ARGS',
            "expected args.guardian as the did:key of a parent's or guardian's key, not the customer's own",
          );
        }
      }
      ctx.index(subject);
      const prefs = preferences(ctx, org, subject);
      const prev = prefs.age;
      // A band the org verified is the org's to correct (the customer may still name a guardian).
      const verified = signerOrg === undefined && prev?.by === 'org' ? prev : undefined;
      if (verified !== undefined && band !== verified.band) {
        throw new ExecFailure(
          'CONFLICT',
          `${org} verified the age band ${verified.band}: ask ${org} to correct it (rectify.flag or a request)`,
        );
      }
      const memberStateNow = memberState ?? prev?.memberState;
      const evidenceNow = evidence ?? verified?.evidence;
      const age: AgeRecord = {
        band,
        by: signerOrg === undefined && verified === undefined ? 'customer' : 'org',
        at: ctx.time,
        txId: ctx.txId,
        ...(memberStateNow === undefined ? {} : { memberState: memberStateNow }),
        ...(evidenceNow === undefined ? {} : { evidence: evidenceNow }),
      };
      const keptGuardian = guardian ?? prev?.guardian;
      if (keptGuardian !== undefined) age.guardian = keptGuardian;
      ctx.put(prefKey(org, subject), { ...prefs, age });
      return 'OK';
    },
  },
};
