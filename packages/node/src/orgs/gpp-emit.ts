/**
 * The GPP string Custos emits for a company's ad stack: the customer's current choices at the org
 * (opt-outs, objection to targeted advertising, the sensitive-data limit, live consents) written
 * over the GPP string last recorded for them (`gpp.record`), or a US National section when none was
 * (docs/customer-data.md, "GPP and GPC").
 */
import { type CustosChoices, decodeGpp, emitGpp, TARGETED_ADVERTISING_PURPOSE } from '@custos/protocol/gpp';
import { type AgeBand, type ConsentGrant, type Preferences, underSixteen } from '@custos/protocol/ledger';

/** Reads one state entry as JSON, or undefined. */
export type StateReader = (key: string) => string | undefined;

export interface EmittedGpp {
  gpp: string;
  sections: string[];
  /** The `gpp.record` whose string was the base, or null (built from the choices alone). */
  basedOn: string | null;
  choices: { sale: boolean; share: boolean; targeted: boolean; sensitive: boolean; consented: string[]; gpc: boolean };
  /** The relationship's age band (`age.set`): who recorded it, and the member state named, or null. */
  age: { band: AgeBand; by: 'customer' | 'org'; memberState: string | null } | null;
}

/** The customer's choices at `org` in force at block time `now`, from the ledger state. */
export function custosChoices(
  read: StateReader,
  org: string,
  subject: string,
  now: number,
): {
  choices: CustosChoices;
  prefs: Preferences;
} {
  const prefText = read(`pref/${org}/${subject}`);
  const prefs: Preferences =
    prefText === undefined ? { sale: null, share: null } : (JSON.parse(prefText) as Preferences);
  const consentText = read(`consent/${org}/${subject}`);
  const grants: ConsentGrant[] =
    consentText === undefined ? [] : (JSON.parse(consentText) as { grants: ConsentGrant[] }).grants;
  const consented = new Set(
    grants.filter((g) => g.withdrawnAt === null && g.expiresAt > now).flatMap((g) => g.purposes),
  );
  // Under 16, sale and sharing stay off until the customer opted in as a minor (CCPA 1798.120(c)).
  const minorOptIn = (kind: 'sale' | 'share') =>
    !underSixteen(prefs.age?.band) ||
    grants.some(
      (g) =>
        g.withdrawnAt === null &&
        g.expiresAt > now &&
        g[kind] &&
        (g.parental !== undefined || (prefs.age?.band !== 'under13' && underSixteen(g.ageBand))),
    );
  const choices: CustosChoices = {
    sale: prefs.sale !== null || !minorOptIn('sale'),
    share: prefs.share !== null || !minorOptIn('share'),
    targeted: prefs.objections?.[TARGETED_ADVERTISING_PURPOSE] !== undefined,
    sensitive: prefs.sensitive !== undefined && prefs.sensitive !== null,
    consented,
    gpc: prefs.sale?.source === 'gpc' || prefs.share?.source === 'gpc',
  };
  return { choices, prefs };
}

/** The GPP string for `subject` at `org` from the state in force at block time `now`. */
export function emitGppFor(read: StateReader, org: string, subject: string, now: number): EmittedGpp {
  const { choices, prefs } = custosChoices(read, org, subject, now);
  const base = prefs.gpp?.gpp ?? null;
  const gpp = emitGpp(base, choices);
  return {
    gpp,
    sections: [...decodeGpp(gpp).sections],
    basedOn: prefs.gpp?.txId ?? null,
    choices: { ...choices, consented: [...choices.consented].sort() },
    age:
      prefs.age === undefined
        ? null
        : { band: prefs.age.band, by: prefs.age.by, memberState: prefs.age.memberState ?? null },
  };
}
