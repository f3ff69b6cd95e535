/**
 * What both consent-receipt exports (iso27560.ts, kantara.ts) share: the context the caller gives
 * (the org as data controller, its policies, storage and retention, which the ledger does not
 * hold), its checks, the input (a receipt or a bare consent event) and the jurisdictions.
 */
import { describe } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { type ConsentEvent, type ConsentJurisdiction, consentEventFromReceipt, parseConsentEvent } from './receipt.js';

/** A postal address (schema.org PostalAddress; Kantara `address`). */
export interface PostalAddress {
  streetAddress: string;
  addressLocality?: string;
  addressRegion?: string;
  postalCode?: string;
  /** ISO 3166-1 alpha-2, e.g. `DE`. */
  addressCountry: string;
}

/** The org as data controller: what both formats require and the ledger does not hold. */
export interface ControllerProfile {
  /** Legal name. */
  name: string;
  /** Person or office to contact, e.g. `Data Protection Officer`. */
  contact: string;
  email: string;
  phone: string;
  address: PostalAddress;
  /** The org's home page. */
  url?: string;
}

/** What the exports need beyond the consent event. */
export interface ExportContext {
  controller: ControllerProfile;
  /** The org's privacy policy (Kantara `policyUrl`). */
  policyUrl: string;
  /** Where the customer withdraws consent or exercises rights (the Custos portal). */
  consentUrl: string;
  /** Language of the notice the customer saw: ISO 639 or a BCP 47 tag, e.g. `en`. */
  language: string;
  /** Where the data is stored: DPV location codes, e.g. `['loc:DE']` (27560 `storage_locations`). */
  storageLocations: readonly string[];
  /** How long the data is kept: an ISO 8601 duration, e.g. `P2Y` (27560 `retention_period`). */
  retention: string;
  /** Kantara `service`; `Services of <controller name>` by default. */
  service?: string;
  /** Kantara `collectionMethod`; a description of signing with the Custos wallet by default. */
  collectionMethod?: string;
}

export interface JurisdictionInfo {
  /** DPV location of the jurisdiction. */
  loc: string;
  /** DPV legal concept of the law, when DPV has one. */
  law?: string;
  /** Kantara `jurisdiction`: ISO 3166 code. */
  kantara: string;
  /** DPV concept of the right to withdraw consent in this law, when DPV has one. */
  withdrawRight?: string;
}

export const JURISDICTION: Readonly<Record<ConsentJurisdiction, JurisdictionInfo>> = {
  GDPR: { loc: 'loc:EU', law: 'eu-gdpr:GDPR', kantara: 'EU', withdrawRight: 'eu-gdpr:A7-3' },
  CCPA: { loc: 'loc:US-CA', kantara: 'US-CA' },
};

const LOCATION = /^loc:[A-Za-z0-9-]{2,16}$/;
const DURATION = /^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;
const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;
const COUNTRY = /^[A-Z]{2}$/;
const MAX_TEXT = 512;

/** A receipt (anything with `credentialSubject`) or a bare consent event. */
export function readInput(input: unknown): { event: ConsentEvent; issuer?: string } {
  if (typeof input === 'object' && input !== null && 'credentialSubject' in input)
    return consentEventFromReceipt(input);
  return { event: parseConsentEvent(input) };
}

/** Checks the caller's export context; throws `BAD_JSON` naming the field. */
export function checkContext(c: unknown): ExportContext {
  if (typeof c !== 'object' || c === null) throw bad(`expected an export context object, got ${describe(c)}`);
  const ctx = c as ExportContext;
  const ctl = ctx.controller as ControllerProfile | undefined;
  if (typeof ctl !== 'object' || ctl === null) throw bad('expected context.controller');
  for (const k of ['name', 'contact', 'email', 'phone'] as const) text(ctl[k], `context.controller.${k}`);
  const a = ctl.address as PostalAddress | undefined;
  if (typeof a !== 'object' || a === null) throw bad('expected context.controller.address');
  text(a.streetAddress, 'context.controller.address.streetAddress');
  for (const k of ['addressLocality', 'addressRegion', 'postalCode'] as const) {
    if (a[k] !== undefined) text(a[k], `context.controller.address.${k}`);
  }
  if (typeof a.addressCountry !== 'string' || !COUNTRY.test(a.addressCountry)) {
    throw bad(
      `expected context.controller.address.addressCountry as ISO 3166-1 alpha-2, got ${describe(a.addressCountry)}`,
    );
  }
  if (ctl.url !== undefined) url(ctl.url, 'context.controller.url');
  url(ctx.policyUrl, 'context.policyUrl');
  url(ctx.consentUrl, 'context.consentUrl');
  if (typeof ctx.language !== 'string' || !LANGUAGE.test(ctx.language)) {
    throw bad(`expected context.language as an ISO 639 / BCP 47 tag such as 'en', got ${describe(ctx.language)}`);
  }
  const locs = ctx.storageLocations;
  if (
    !Array.isArray(locs) ||
    locs.length === 0 ||
    locs.length > 32 ||
    !locs.every((l) => typeof l === 'string' && LOCATION.test(l))
  ) {
    throw bad("expected context.storageLocations as 1 to 32 DPV locations such as 'loc:DE'");
  }
  if (typeof ctx.retention !== 'string' || ctx.retention.length > 64 || !DURATION.test(ctx.retention)) {
    throw bad(`expected context.retention as an ISO 8601 duration such as 'P2Y', got ${describe(ctx.retention)}`);
  }
  if (ctx.service !== undefined) text(ctx.service, 'context.service');
  if (ctx.collectionMethod !== undefined) text(ctx.collectionMethod, 'context.collectionMethod');
  return ctx;
}

/** How the customer gave or withdrew consent, in words (27560 indication method, Kantara collection method). */
export function indicationMethod(e: ConsentEvent): string {
  const tx = e.event === 'granted' ? 'consent.grant' : 'consent.withdraw';
  return `Signed by the customer with their Custos wallet as a ${tx} transaction, recorded on ledger ${e.ledger.chainId} at height ${e.ledger.height}`;
}

function text(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_TEXT) {
    throw bad(`expected ${name} as a non-empty string of at most ${MAX_TEXT} characters, got ${describe(v)}`);
  }
  return v;
}

function url(v: unknown, name: string): string {
  let ok = false;
  if (typeof v === 'string' && v.length <= 2048) {
    try {
      const u = new URL(v);
      ok = u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      ok = false;
    }
  }
  if (!ok) throw bad(`expected ${name} as an http(s) URL, got ${describe(v)}`);
  return v as string;
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_JSON', message);
}
