/**
 * A member's profile as a controller (GDPR Arts. 26, 27, 30 and 37): who the company is, how its
 * data protection officer or EU representative is reached (a role address, never a person's name),
 * where its peers run, and the SHA-256 of the joint-controller arrangement the members signed.
 * Company facts, not customers' personal data: public on the ledger, like governance. An org
 * records no customer data before it has one (`NO_PROFILE`).
 */

/** ISO 3166-1 alpha-2 codes of the European Economic Area (EU 27, Iceland, Liechtenstein, Norway). */
export const EEA_COUNTRIES = [
  'AT',
  'BE',
  'BG',
  'CY',
  'CZ',
  'DE',
  'DK',
  'EE',
  'ES',
  'FI',
  'FR',
  'GR',
  'HR',
  'HU',
  'IE',
  'IS',
  'IT',
  'LI',
  'LT',
  'LU',
  'LV',
  'MT',
  'NL',
  'NO',
  'PL',
  'PT',
  'RO',
  'SE',
  'SI',
  'SK',
] as const;

/** Every ISO 3166-1 alpha-2 code assigned today. */
const ISO_3166_1 = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO ' +
    'FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE ' +
    'JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO ' +
    'MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW ' +
    'PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM ' +
    'TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

export function isCountryCode(s: string): boolean {
  return ISO_3166_1.has(s);
}

export function isEea(country: string): boolean {
  return (EEA_COUNTRIES as readonly string[]).includes(country);
}

export const MAX_PROFILE_NAME = 128;
export const MAX_PROFILE_REGISTRATION = 64;
export const MAX_PROFILE_CONTACT = 128;
export const MAX_PROFILE_REGIONS = 32;

/** The fields an org states (args of `profile.set`, or `profile` of a genesis member). */
export interface MemberProfileInput {
  /** The controller's legal name. */
  legalName: string;
  /** Its registration: an LEI, a register and number, a VAT id (`LEI:...`, `HRB 12345 Frankfurt`). */
  registration: string;
  /** The data protection officer's role address (Art. 37(7)): `mailto:` or `https:`, not a person's. */
  dpo?: string;
  /** The representative in the Union of a controller outside it (Art. 27), a role address too. */
  euRepresentative?: string;
  /** ISO 3166-1 alpha-2 codes of the countries where its peers and vaults run. */
  regions: string[];
  /** SHA-256 (hex) of the joint-controller arrangement under Art. 26 the org signed. */
  arrangementDigest: string;
}

/** A profile in force: the input, its version (1, 2, ...) and when it was set. */
export interface MemberProfile extends MemberProfileInput {
  org: string;
  version: number;
  setAt: number;
  height: number;
  /** The transaction that set it (`genesis` for a genesis member's). */
  txId: string;
}

const FIELDS = ['legalName', 'registration', 'dpo', 'euRepresentative', 'regions', 'arrangementDigest'];
// Printable text without control characters or markup.
const TEXT = /^[^\p{Cc}<>]+$/u;
const CONTACT =
  /^(mailto:[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,60}\.[A-Za-z]{2,24}|https:\/\/[A-Za-z0-9.-]{1,100}(\/[A-Za-z0-9._~%/-]*)?)$/;

/**
 * Checks an untrusted profile; returns it with only its known fields, or a message saying what was
 * expected (the caller turns it into INVALID_ARGS or BAD_GENESIS).
 */
export function checkMemberProfile(raw: unknown): MemberProfileInput | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'expected a profile object';
  const p = raw as Record<string, unknown>;
  for (const k of Object.keys(p)) {
    if (!FIELDS.includes(k)) return `unexpected ${k.slice(0, 40)}; expected ${FIELDS.join(', ')}`;
  }
  const text = (name: string, max: number): string | undefined => {
    const v = p[name];
    return typeof v === 'string' && v.trim().length > 0 && v.length <= max && TEXT.test(v) ? v : undefined;
  };
  const legalName = text('legalName', MAX_PROFILE_NAME);
  if (legalName === undefined)
    return `expected legalName, the controller's legal name, of 1-${MAX_PROFILE_NAME} characters`;
  const registration = text('registration', MAX_PROFILE_REGISTRATION);
  if (registration === undefined) {
    return `expected registration (an LEI, register number or VAT id) of 1-${MAX_PROFILE_REGISTRATION} characters`;
  }
  const contact = (name: string): string | undefined | null => {
    const v = p[name];
    if (v === undefined) return undefined;
    return typeof v === 'string' && v.length <= MAX_PROFILE_CONTACT && CONTACT.test(v) ? v : null;
  };
  const dpo = contact('dpo');
  const euRepresentative = contact('euRepresentative');
  if (dpo === null || euRepresentative === null || (dpo === undefined && euRepresentative === undefined)) {
    return `expected dpo or euRepresentative (or both) as a role address, mailto:dpo@company.example or https://..., of at most ${MAX_PROFILE_CONTACT} characters`;
  }
  const regions = p.regions;
  if (
    !Array.isArray(regions) ||
    regions.length === 0 ||
    regions.length > MAX_PROFILE_REGIONS ||
    !regions.every((r) => typeof r === 'string' && isCountryCode(r)) ||
    new Set(regions).size !== regions.length
  ) {
    return `expected regions as 1-${MAX_PROFILE_REGIONS} distinct ISO 3166-1 alpha-2 country codes, like ["DE", "IE"]`;
  }
  const digest = p.arrangementDigest;
  if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) {
    return 'expected arrangementDigest as the SHA-256 (64 lower-case hex) of the joint-controller arrangement (GDPR Art. 26)';
  }
  return {
    legalName,
    registration,
    ...(dpo === undefined ? {} : { dpo }),
    ...(euRepresentative === undefined ? {} : { euRepresentative }),
    regions: [...(regions as string[])].sort(),
    arrangementDigest: digest,
  };
}
