/**
 * A consent receipt as an ISO/IEC TS 27560:2023 consent record in DPV JSON-LD, following the DPVCG
 * profile `dpv-27560#record` (W3C DPVCG report "Consent Records and Receipts as per ISO/IEC TS
 * 27560:2023 using DPV", section 9), with every field it marks as required. The ledger does not know
 * the org's postal address, contact or policies, so the caller passes them (export-context.ts).
 */
import { toBase64url } from '../b64.js';
import { fromHex } from '../bytes.js';
import type { JsonObject } from './eddsa-jcs-2022.js';
import {
  checkContext,
  type ExportContext,
  indicationMethod,
  JURISDICTION,
  type PostalAddress,
  readInput,
} from './export-context.js';
import { CUSTOS_CONSENT_VOCAB, consentIri } from './receipt.js';
import { toXsdDateTime } from './xsd-datetime.js';

/** `schema_version` of the records toIso27560 writes: the DPVCG profile for 27560 records. */
export const DPV_27560_RECORD_SCHEMA = 'https://w3id.org/dpv/schema/dpv-27560#record';

/** A DPV JSON-LD consent record (`dpv:ConsentRecord`) conforming to `dpv-27560#record`. */
export type Iso27560Record = JsonObject & {
  '@context': JsonObject;
  '@id': string;
  '@type': 'dpv:ConsentRecord';
  'dct:identifier': string;
  'dct:conformsTo': typeof DPV_27560_RECORD_SCHEMA;
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
