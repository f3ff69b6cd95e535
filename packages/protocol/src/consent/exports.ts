/**
 * A consent receipt in the two formats other consent tools read
 * (docs/architecture.md#customer-data):
 * - an ISO/IEC TS 27560:2023 consent record in DPV JSON-LD, following the DPVCG profile
 *   `dpv-27560#record` (W3C DPVCG report "Consent Records and Receipts as per ISO/IEC TS 27560:2023
 *   using DPV", section 9), with every field it marks as required;
 * - a Kantara Initiative Consent Receipt v1.1.0, with every field its JSON schema requires and
 *   `consentTimestamp` in seconds.
 * The ledger does not know the org's postal address, contact or policies, so the caller passes them.
 */
import { toBase64url } from '../b64.js';
import { describe, fromHex } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { type DpvCategory, dpvTerm } from './dpv.js';
import type { JsonObject } from './eddsa-jcs-2022.js';
import {
  type ConsentEvent,
  type ConsentJurisdiction,
  CUSTOS_CONSENT_VOCAB,
  consentEventFromReceipt,
  consentIri,
  parseConsentEvent,
  receiptIri,
} from './receipt.js';
import { toXsdDateTime } from './xsd-datetime.js';

/** `schema_version` of the records toIso27560 writes: the DPVCG profile for 27560 records. */
export const DPV_27560_RECORD_SCHEMA = 'https://w3id.org/dpv/schema/dpv-27560#record';
export const KANTARA_CR_VERSION = 'KI-CR-v1.1.0';

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

export type KantaraAddress = PostalAddress;

export type KantaraPiiController = {
  piiController: string;
  onBehalf: boolean;
  contact: string;
  address: KantaraAddress;
  email: string;
  phone: string;
  piiControllerUrl?: string;
};

export type KantaraPurpose = {
  purpose: string;
  purposeCategory: string[];
  consentType: string;
  piiCategory: string[];
  primaryPurpose: boolean;
  termination: string;
  thirdPartyDisclosure: boolean;
  /** Present exactly when `thirdPartyDisclosure` (the schema's oneOf). */
  thirdPartyName?: string;
};

export type KantaraService = { service: string; purposes: KantaraPurpose[] };

/** Kantara Consent Receipt Specification v1.1.0 (JSON). */
export type KantaraReceipt = {
  version: typeof KANTARA_CR_VERSION;
  jurisdiction: string;
  /** Seconds since the epoch (an integer), not milliseconds. */
  consentTimestamp: number;
  collectionMethod: string;
  consentReceiptID: string;
  /** The org's did:key, when exported from a receipt. */
  publicKey?: string;
  language: string;
  piiPrincipalId: string;
  piiControllers: KantaraPiiController[];
  policyUrl: string;
  services: KantaraService[];
  sensitive: boolean;
  spiCat: string[];
};

/** A DPV JSON-LD consent record (`dpv:ConsentRecord`) conforming to `dpv-27560#record`. */
export type Iso27560Record = JsonObject & {
  '@context': JsonObject;
  '@id': string;
  '@type': 'dpv:ConsentRecord';
  'dct:identifier': string;
  'dct:conformsTo': typeof DPV_27560_RECORD_SCHEMA;
};

/**
 * Kantara CR v1.1 Appendix purpose categories of the DPV purposes Custos accepts. The names are the
 * ones the specification's examples and sample receipts use.
 */
export const KANTARA_PURPOSE_CATEGORY: Readonly<Record<string, string>> = Object.freeze({
  'dpv:ServiceProvision': '1 - Core Function',
  'dpv:AccountManagement': '1 - Core Function',
  'dpv:RequestedServiceProvision': '2 - Contracted Service',
  'dpv:PaymentManagement': '2 - Contracted Service',
  'dpv:DeliveryOfGoods': '3 - Delivery',
  'dpv:CustomerCare': '4 - Contact Requested',
  'dpv:Personalisation': '5 - Personalized Experience',
  'dpv:ProvidePersonalisedRecommendations': '5 - Personalized Experience',
  'dpv:Marketing': '6 - Marketing',
  'dpv:DirectMarketing': '6 - Marketing',
  'dpv:Advertising': '6 - Marketing',
  'dpv:PersonalisedAdvertising': '6 - Marketing',
  'dpv:LegalCompliance': '12 - Legally Required Data Retention',
  'dpv:CounterMoneyLaundering': '13 - Required by Law Enforcement or Government',
  'dpv:FraudPreventionAndDetection': '15 - Protecting Our Interests',
  'dpv:IdentityVerification': '15 - Protecting Our Interests',
  'dpv:CreditChecking': '15 - Protecting Our Interests',
  'dpv:EnforceSecurity': '15 - Protecting Our Interests',
  'dpv:ServiceUsageAnalytics': '16 - Improve Performance',
  'dpv:ServiceOptimisation': '16 - Improve Performance',
  'dpv:ResearchAndDevelopment': '16 - Improve Performance',
});

/** Purposes that are part of the org's core service (Kantara `primaryPurpose`). */
const PRIMARY_PURPOSES = new Set([
  'dpv:ServiceProvision',
  'dpv:AccountManagement',
  'dpv:RequestedServiceProvision',
  'dpv:PaymentManagement',
  'dpv:DeliveryOfGoods',
  'dpv:CustomerCare',
]);

/** Kantara CR v1.1 Appendix PII categories of the DPV categories Custos accepts. */
export const KANTARA_PII_CATEGORY: Readonly<Record<string, string>> = Object.freeze({
  'pd:Name': '1 - Biographical',
  'pd:BirthDate': '1 - Biographical',
  'pd:Age': '1 - Biographical',
  'pd:Gender': '1 - Biographical',
  'pd:Nationality': '1 - Biographical',
  'pd:EmailAddress': '2 - Contact',
  'pd:TelephoneNumber': '2 - Contact',
  'pd:PhysicalAddress': '2 - Contact',
  'pd:Biometric': '3 - Biometric',
  'pd:Communication': '4 - Communications/Social',
  'pd:IPAddress': '5 - Network/Service',
  'pd:HealthRecord': '6 - Health',
  'pd:Prescription': '6 - Health',
  'pd:Genetic': '6 - Health',
  'pd:FinancialAccount': '7 - Financial',
  'pd:BankAccount': '7 - Financial',
  'pd:CreditCardNumber': '7 - Financial',
  'pd:Income': '7 - Financial',
  'pd:CreditScore': '7 - Financial',
  'pd:LoanRecord': '7 - Financial',
  'pd:Insurance': '7 - Financial',
  'pd:OfficialID': '8 - Official ID',
  'pd:EmploymentHistory': '12 - HR Data',
  'pd:Location': '15 - Behavioral',
  'pd:BrowsingBehavior': '15 - Behavioral',
  'pd:Purchase': '15 - Behavioral',
  'pd:PurchasesAndSpendingHabit': '15 - Behavioral',
  'pd:Preference': '16 - Profiling',
  'pd:IndividualProfile': '16 - Profiling',
});

interface JurisdictionInfo {
  /** DPV location of the jurisdiction. */
  loc: string;
  /** DPV legal concept of the law, when DPV has one. */
  law?: string;
  /** Kantara `jurisdiction`: ISO 3166 code. */
  kantara: string;
  /** DPV concept of the right to withdraw consent in this law, when DPV has one. */
  withdrawRight?: string;
}

const JURISDICTION: Readonly<Record<ConsentJurisdiction, JurisdictionInfo>> = {
  GDPR: { loc: 'loc:EU', law: 'eu-gdpr:GDPR', kantara: 'EU', withdrawRight: 'eu-gdpr:A7-3' },
  CCPA: { loc: 'loc:US-CA', kantara: 'US-CA' },
};

/** Inline JSON-LD context of the records: DPV prefixes, and IRI/time coercions for the values. */
const RECORD_CONTEXT: JsonObject = {
  dpv: 'https://w3id.org/dpv#',
  pd: 'https://w3id.org/dpv/pd#',
  loc: 'https://w3id.org/dpv/loc#',
  'eu-gdpr': 'https://w3id.org/dpv/legal/eu/gdpr#',
  dct: 'http://purl.org/dc/terms/',
  schema: 'https://schema.org/',
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  custos: CUSTOS_CONSENT_VOCAB,
  'dct:conformsTo': { '@type': '@id' },
  'dct:isVersionOf': { '@type': '@id' },
  'dct:source': { '@type': '@id' },
  'dct:created': { '@type': 'xsd:dateTime' },
  'dpv:hasDataSubject': { '@type': '@id' },
  'dpv:hasDataController': { '@type': '@id' },
  'dpv:hasPurpose': { '@type': '@id' },
  'dpv:hasPersonalData': { '@type': '@id' },
  'dpv:hasRecipient': { '@type': '@id' },
  'dpv:hasJurisdiction': { '@type': '@id' },
  'dpv:hasApplicableLaw': { '@type': '@id' },
  'dpv:hasLegalBasis': { '@type': '@id' },
  'dpv:hasLocation': { '@type': '@id' },
  'dpv:isIndicatedBy': { '@type': '@id' },
  'dpv:isExercisedAt': { '@type': '@id' },
  'dpv:isIndicatedAtTime': { '@type': 'xsd:dateTime' },
  'schema:url': { '@type': '@id' },
  'custos:blockHeight': { '@type': 'xsd:integer' },
};

const LOCATION = /^loc:[A-Za-z0-9-]{2,16}$/;
const DURATION = /^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;
const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;
const COUNTRY = /^[A-Z]{2}$/;
const MAX_TEXT = 512;

/**
 * The ISO/IEC TS 27560 consent record (DPV JSON-LD, profile `dpv-27560#record`) of a receipt or a
 * consent event. A receipt's proof is not checked here; verify it first. Throws `BAD_JSON` on an
 * invalid receipt, event or context.
 */
export function toIso27560(input: unknown, context: ExportContext): Iso27560Record {
  const { event: e, issuer } = readInput(input);
  const ctx = checkContext(context);
  const chain = e.ledger.chainId;
  const j = JURISDICTION[e.jurisdiction];
  const orgIri = memberIri(chain, e.org);
  const recordId = `urn:custos:${chain}:record:${e.ledger.txId}`;
  const granted = e.event === 'granted';
  const thirdParties = e.share || e.sale;

  const rights: JsonObject[] = [
    {
      '@type': j.withdrawRight === undefined ? 'dpv:DataSubjectRight' : ['dpv:DataSubjectRight', j.withdrawRight],
      'dct:title': 'Right to withdraw consent',
      'dpv:isExercisedAt': ctx.consentUrl,
    },
  ];
  if (e.jurisdiction === 'CCPA') {
    rights.push({
      '@type': 'dpv:DataSubjectRight',
      'dct:title': 'Right to opt out of the sale or sharing of personal information',
      'dpv:isExercisedAt': ctx.consentUrl,
    });
  }

  const controller: JsonObject = {
    '@id': orgIri,
    '@type': ['dpv:Organisation', 'dpv:DataController'],
    'dpv:hasName': ctx.controller.name,
    'dpv:hasIdentifier': orgIri,
    'schema:contactPoint': {
      '@type': 'schema:ContactPoint',
      'schema:name': ctx.controller.contact,
      'schema:email': ctx.controller.email,
      'schema:telephone': ctx.controller.phone,
    },
    'schema:address': { '@type': 'schema:PostalAddress', ...prefixed(ctx.controller.address) },
  };
  if (ctx.controller.url !== undefined) controller['schema:url'] = ctx.controller.url;
  // The org's did:key, known when exporting a receipt: an alternative identifier of the controller.
  if (issuer !== undefined) controller['dct:identifier'] = issuer;

  const activity: JsonObject = {
    '@type': 'dpv:Process',
    'dpv:hasPurpose': [...e.purposes],
    'dpv:hasPersonalData': [...e.categories],
    'dpv:hasDataController': orgIri,
    'dpv:hasRecipient': thirdParties ? [orgIri, 'dpv:ThirdParty'] : [orgIri],
    'dpv:hasStorageCondition': [
      { '@type': 'dpv:StorageLocation', 'dpv:hasLocation': [...ctx.storageLocations] },
      { '@type': 'dpv:StorageDuration', 'dpv:hasDuration': ctx.retention },
    ],
    'dpv:hasLegalBasis': 'dpv:ExplicitlyExpressedConsent',
    'dpv:hasJurisdiction': j.loc,
    ...(j.law === undefined ? {} : { 'dpv:hasApplicableLaw': j.law }),
    'dpv:hasConsentControl': {
      '@type': ['dpv:ProvideConsent', 'dpv:WithdrawConsent'],
      'dpv:isExercisedAt': ctx.consentUrl,
    },
    'dpv:hasRight': rights,
    'custos:share': e.share,
    'custos:sale': e.sale,
  };

  return {
    '@context': RECORD_CONTEXT,
    '@id': recordId,
    '@type': 'dpv:ConsentRecord',
    'dct:identifier': recordId,
    'dct:conformsTo': DPV_27560_RECORD_SCHEMA,
    'dct:isVersionOf': consentIri(chain, e.id),
    'dct:created': toXsdDateTime(e.at),
    'dct:source': `urn:custos:${chain}:tx:${e.ledger.txId}`,
    'custos:blockHeight': e.ledger.height,
    'dpv:hasDataSubject': e.subject,
    // The notice the customer saw is named by its hash (RFC 6920 ni URI); the policy by its URL.
    'dpv:hasNotice': [
      {
        '@id': `ni:///sha-256;${toBase64url(fromHex(e.notice))}`,
        '@type': 'dpv:ConsentNotice',
        'dct:identifier': e.notice,
        'dct:language': ctx.language,
      },
      { '@type': 'dpv:PrivacyNotice', 'schema:url': ctx.policyUrl, 'dct:language': ctx.language },
    ],
    'dpv:hasProcess': [activity],
    'dpv:hasEntity': [controller, { '@id': e.subject, '@type': 'dpv:DataSubject', 'dpv:hasIdentifier': e.subject }],
    'dpv:hasConsentStatus': {
      '@type': granted ? 'dpv:ConsentGiven' : 'dpv:ConsentWithdrawn',
      'dpv:isIndicatedAtTime': toXsdDateTime(e.at),
      'dpv:isIndicatedBy': e.subject,
      'dpv:hasDuration': granted
        ? { '@type': 'dpv:UntilTimeDuration', 'rdf:value': toXsdDateTime(e.expiresAt) }
        : { '@type': 'dpv:UntilEventDuration', 'rdf:value': 'Until the customer gives a new consent' },
      'dpv:hasIndicationMethod': indicationMethod(e),
    },
  };
}

/**
 * The Kantara Consent Receipt v1.1.0 of a receipt or a consent event: one service, one purpose
 * entry per DPV purpose, `consentTimestamp` in whole seconds. A receipt's proof is not checked
 * here; verify it first. Throws `BAD_JSON` on an invalid receipt, event or context.
 */
export function toKantaraReceipt(input: unknown, context: ExportContext): KantaraReceipt {
  const { event: e, issuer } = readInput(input);
  const ctx = checkContext(context);
  const categories = e.categories.map((c) => dpvTerm(c) as DpvCategory);
  const sensitive = categories.filter((c) => c.sensitive);
  const thirdPartyName = thirdPartyNameOf(e);
  const termination =
    e.event === 'granted'
      ? `When the customer withdraws this consent, and at the latest on ${toXsdDateTime(e.expiresAt)}`
      : `Withdrawn by the customer on ${toXsdDateTime(e.at)}`;

  const purposes: KantaraPurpose[] = e.purposes.map((code) => {
    const p: KantaraPurpose = {
      purpose: dpvTerm(code)?.description ?? code,
      purposeCategory: [KANTARA_PURPOSE_CATEGORY[code] as string],
      consentType: 'EXPLICIT',
      piiCategory: unique(e.categories.map((c) => KANTARA_PII_CATEGORY[c] as string)),
      primaryPurpose: PRIMARY_PURPOSES.has(code),
      termination,
      thirdPartyDisclosure: thirdPartyName !== undefined,
    };
    if (thirdPartyName !== undefined) p.thirdPartyName = thirdPartyName;
    return p;
  });

  const controller: KantaraPiiController = {
    piiController: ctx.controller.name,
    onBehalf: false,
    contact: ctx.controller.contact,
    address: { ...ctx.controller.address },
    email: ctx.controller.email,
    phone: ctx.controller.phone,
  };
  if (ctx.controller.url !== undefined) controller.piiControllerUrl = ctx.controller.url;

  return {
    version: KANTARA_CR_VERSION,
    jurisdiction: JURISDICTION[e.jurisdiction].kantara,
    consentTimestamp: Math.floor(e.at / 1000),
    collectionMethod: ctx.collectionMethod ?? indicationMethod(e),
    consentReceiptID: receiptIri(e.ledger.chainId, e.ledger.txId),
    ...(issuer === undefined ? {} : { publicKey: issuer }),
    language: ctx.language,
    piiPrincipalId: e.subject,
    piiControllers: [controller],
    policyUrl: ctx.policyUrl,
    services: [{ service: ctx.service ?? `Services of ${ctx.controller.name}`, purposes }],
    sensitive: sensitive.length > 0,
    spiCat: unique(sensitive.map((c) => KANTARA_PII_CATEGORY[c.code] as string)),
  };
}

/** A receipt (anything with `credentialSubject`) or a bare consent event. */
function readInput(input: unknown): { event: ConsentEvent; issuer?: string } {
  if (typeof input === 'object' && input !== null && 'credentialSubject' in input)
    return consentEventFromReceipt(input);
  return { event: parseConsentEvent(input) };
}

function checkContext(c: unknown): ExportContext {
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

function indicationMethod(e: ConsentEvent): string {
  const tx = e.event === 'granted' ? 'consent.grant' : 'consent.withdraw';
  return `Signed by the customer with their Custos wallet as a ${tx} transaction, recorded on ledger ${e.ledger.chainId} at height ${e.ledger.height}`;
}

function thirdPartyNameOf(e: ConsentEvent): string | undefined {
  if (!e.share && !e.sale) return undefined;
  const how = e.share && e.sale ? 'shared with or sold to' : e.share ? 'shared with' : 'sold to';
  return `Members of the ${e.ledger.chainId} consortium the data is ${how}; each transfer is recorded on the ledger`;
}

function memberIri(chainId: string, org: string): string {
  return `urn:custos:${chainId}:member:${org}`;
}

function prefixed(a: PostalAddress): JsonObject {
  const out: JsonObject = { 'schema:streetAddress': a.streetAddress };
  if (a.addressLocality !== undefined) out['schema:addressLocality'] = a.addressLocality;
  if (a.addressRegion !== undefined) out['schema:addressRegion'] = a.addressRegion;
  if (a.postalCode !== undefined) out['schema:postalCode'] = a.postalCode;
  out['schema:addressCountry'] = a.addressCountry;
  return out;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
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
