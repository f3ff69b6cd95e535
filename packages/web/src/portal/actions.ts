/**
 * What the customer does, as transactions signed in this browser with the wallet's pairwise key
 * for the company concerned, then sent to the node and waited for. A refused transaction (its result
 * code is not OK) is an error with the reason in words.
 */
import { isSensitiveCategory } from '@custos/protocol/consent';
import { sha256 } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import type { JsonValue } from '@custos/protocol/jcs';
import { type AgeBand, DIRECT_MARKETING_PURPOSES } from '@custos/protocol/ledger';
import { type CommitResult, customerTx, type Jurisdiction, type RequestKind, type Wallet } from '@custos/sdk';
import { type ConsentView, lowerLabels, resultText } from '@custos/sdk/views';
import { client } from '../lib/api.js';
import { day } from '../lib/format.js';
import type { OrgView, PurposeToggle } from './model.js';

const DAY = 86_400_000;
/** A consent given from the portal lasts a year; the customer can withdraw it at any time. */
export const CONSENT_DAYS = 365;

export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  constructor(readonly result: CommitResult) {
    super(resultText(result.code).text);
  }
}

async function send(
  wallet: Wallet,
  chainId: string,
  org: string,
  type: string,
  args: { [k: string]: JsonValue },
  opts: { gpc?: boolean } = {},
): Promise<CommitResult> {
  const tx = customerTx(wallet, chainId, org, type, args);
  const r = await client.submitAndWait(tx, opts.gpc === true ? { gpc: true } : {});
  if (r.code !== 'OK') throw new RefusedError(r);
  return r;
}

/**
 * The sentence the customer agrees to; its SHA-256 is the consent's `notice` on the ledger. Consent
 * to a special category (GDPR Art. 9(2)(a)), or to a decision taken by machine (Art. 22(2)(c)), is
 * explicit and says why.
 */
export function consentNotice(
  orgName: string,
  categories: string[],
  purpose: string,
  until: number,
  automated = false,
): string {
  const special = categories.filter(isSensitiveCategory);
  const why = [
    ...(special.length > 0
      ? [
          `my ${lowerLabels(special)} ${special.length === 1 ? 'is a special category' : 'are special categories'} of personal data`,
        ]
      : []),
    ...(automated
      ? [`${orgName} decides for ${lowerLabels([purpose])} by machine, and I can ask a person to review it`]
      : []),
  ];
  return why.length > 0
    ? `I explicitly agree that ${orgName} uses my ${lowerLabels(categories)} for ${lowerLabels([purpose])}, until ${day(until)}, knowing that ${why.join(', and that ')}. I can withdraw this at any time.`
    : `I agree that ${orgName} uses my ${lowerLabels(categories)} for ${lowerLabels([purpose])}, until ${day(until)}. I can withdraw this at any time.`;
}

export function jurisdictionOf(v: OrgView): Jurisdiction {
  return v.consents.some((c) => c.jurisdiction === 'CCPA') && !v.consents.some((c) => c.jurisdiction === 'GDPR')
    ? 'CCPA'
    : 'GDPR';
}

/** Gives consent for one purpose over the categories it needs, for a year. */
export async function giveConsent(wallet: Wallet, chainId: string, v: OrgView, t: PurposeToggle): Promise<void> {
  const expiresAt = Date.now() + CONSENT_DAYS * DAY;
  const categories = t.categories.length > 0 ? t.categories : ['pd:EmailAddress'];
  const notice = consentNotice(v.name, categories, t.purpose, expiresAt, t.automated);
  await send(wallet, chainId, v.org, 'consent.grant', {
    org: v.org,
    purposes: [t.purpose],
    categories,
    expiresAt,
    share: false,
    sale: false,
    jurisdiction: jurisdictionOf(v),
    notice: toHex(sha256(utf8(notice))),
    ...(categories.some(isSensitiveCategory) || t.automated ? { explicit: true } : {}),
  });
}

/**
 * Withdraws consent for one purpose: each live consent naming it is withdrawn, and one that also
 * covered other purposes is given again for those, unchanged, so the other toggles stay as they were.
 */
export async function withdrawConsent(wallet: Wallet, chainId: string, v: OrgView, t: PurposeToggle): Promise<void> {
  for (const g of t.live) {
    await send(wallet, chainId, v.org, 'consent.withdraw', { org: v.org, consent: g.id });
    const rest = g.purposes.filter((p) => p !== t.purpose);
    if (rest.length > 0) await regrant(wallet, chainId, v.org, g, rest);
  }
}

async function regrant(wallet: Wallet, chainId: string, org: string, g: ConsentView, purposes: string[]) {
  await send(wallet, chainId, org, 'consent.grant', {
    org,
    purposes,
    categories: g.categories,
    expiresAt: g.expiresAt,
    share: g.share,
    sale: g.sale,
    jurisdiction: g.jurisdiction,
    notice: g.notice,
    ...(g.categories.some(isSensitiveCategory) || g.explicit === true ? { explicit: true } : {}),
  });
}

/**
 * Opts out of (or back in to) the sale or sharing of the customer's data by the company, or limits
 * (or stops limiting) the use of their sensitive data (`sensitive`, CCPA 1798.121).
 */
export async function setOptOut(
  wallet: Wallet,
  chainId: string,
  org: string,
  kind: 'sale' | 'share' | 'sensitive',
  optOut: boolean,
): Promise<void> {
  if (optOut) await send(wallet, chainId, org, 'optout.set', { org, kinds: [kind], source: 'user' });
  else await send(wallet, chainId, org, 'optout.clear', { org, kinds: [kind] });
}

/** Names a parent's or guardian's key (did:key) for the relationship, keeping the band. */
export async function setGuardian(
  wallet: Wallet,
  chainId: string,
  org: string,
  band: AgeBand,
  guardian: string,
): Promise<void> {
  await send(wallet, chainId, org, 'age.set', { org, band, guardian });
}

/** Records the customer's age band at the company (a band, never a birth date). */
export async function setAgeBand(wallet: Wallet, chainId: string, org: string, band: AgeBand): Promise<void> {
  await send(wallet, chainId, org, 'age.set', { org, band });
}

/**
 * Objects to direct marketing and the profiling for it by the company (GDPR Art. 21(3)), or
 * withdraws the objection: every purpose of `DIRECT_MARKETING_PURPOSES` at once.
 */
export async function setMarketingObjection(wallet: Wallet, chainId: string, org: string, on: boolean): Promise<void> {
  await send(wallet, chainId, org, on ? 'objection.set' : 'objection.clear', {
    org,
    purposes: [...DIRECT_MARKETING_PURPOSES],
  });
}

/** True when this browser sends the Global Privacy Control signal. */
export function gpcEnabled(): boolean {
  return (navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl === true;
}

/**
 * Honours Global Privacy Control: for each company that holds or asked for anything, records an
 * opt-out of sale and sharing with source `gpc` (sent with `Sec-GPC: 1`, which the browser adds).
 * Returns the companies it recorded one for.
 */
export async function applyGpc(wallet: Wallet, chainId: string, views: OrgView[]): Promise<string[]> {
  const done: string[] = [];
  for (const v of views) {
    if (!v.active) continue;
    const kinds = (['sale', 'share'] as const).filter((k) => v.prefs[k] === null);
    if (kinds.length === 0) continue;
    await send(wallet, chainId, v.org, 'optout.set', { org: v.org, kinds: [...kinds], source: 'gpc' }, { gpc: true });
    done.push(v.org);
  }
  return done;
}

/**
 * Opens a request to the company. An erasure names no records: it covers every record the company
 * holds on the customer, and the ledger lets the company close it only once each is erased or kept
 * under a stated legal exception (trust #9).
 */
export async function openRequest(
  wallet: Wallet,
  chainId: string,
  v: OrgView,
  kind: RequestKind,
  jurisdiction: Jurisdiction,
): Promise<void> {
  await send(wallet, chainId, v.org, 'request.open', { org: v.org, kind, jurisdiction });
  if (!COPY_KINDS.includes(kind)) return;
  for (const rel of copyHolders(wallet, chainId, v)) {
    await send(wallet, chainId, rel.orgId, 'request.open', { org: v.org, kind, jurisdiction });
  }
}

/** Requests that reach copies: those covering everything the company holds on the customer. */
const COPY_KINDS: readonly RequestKind[] = ['access', 'export', 'erase', 'restrict', 'object'];

/**
 * The wallet's other relationships under whose pseudonym the company holds a live copy it received
 * (GDPR Art. 19): the portal looks for copies as `custos request open` does, in the verified views
 * it already shows (`placeCopies`), so a request reaches them signed with the pseudonym they sit
 * under. Nothing new is linked: the company already knows that pseudonym from its copy.
 */
export function copyHolders(wallet: Wallet, chainId: string, v: OrgView): { orgId: string }[] {
  const dids = new Set(
    v.records.filter((r) => r.org === v.org && r.subject !== v.did && r.erasedAt === null).map((r) => r.subject),
  );
  return [...dids].flatMap((did) => {
    const rel = wallet.findByDid(did);
    return rel === undefined || rel.chainId !== chainId ? [] : [{ orgId: rel.orgId }];
  });
}

/** Lifts a restriction (or withdraws an objection) the company fulfilled: the customer's own choice. */
export async function liftRestriction(wallet: Wallet, chainId: string, v: OrgView, request: string): Promise<void> {
  await send(wallet, chainId, v.org, 'request.lift', { org: v.org, request });
}
