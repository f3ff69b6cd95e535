/**
 * A consent receipt as a Kantara Initiative Consent Receipt v1.1.0, with every field its JSON schema
 * requires and `consentTimestamp` in seconds. The ledger does not know the org's postal address,
 * contact or policies, so the caller passes them (export-context.ts).
 */
import { type DpvCategory, dpvTerm } from './dpv.js';
import {
  checkContext,
  type ExportContext,
  indicationMethod,
  JURISDICTION,
  type PostalAddress,
  readInput,
} from './export-context.js';
import { type ConsentEvent, receiptIri } from './receipt.js';
import { toXsdDateTime } from './xsd-datetime.js';

export const KANTARA_CR_VERSION = 'KI-CR-v1.1.0';

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
  'pd:Health': '6 - Health',
  'pd:Disability': '6 - Health',
  'pd:MentalHealth': '13 - Mental Health',
  'pd:Race': '1 - Biographical',
  'pd:EthnicOrigin': '1 - Biographical',
  'pd:SexualPreference': '1 - Biographical',
  'pd:SexualHistory': '1 - Biographical',
  'pd:PoliticalOpinion': '14 - Membership',
  'pd:PoliticalAffiliation': '14 - Membership',
  'pd:ReligiousBelief': '14 - Membership',
  'pd:PhilosophicalBelief': '14 - Membership',
  'pd:TradeUnionMembership': '14 - Membership',
});

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

function thirdPartyNameOf(e: ConsentEvent): string | undefined {
  if (!e.share && !e.sale) return undefined;
  const how = e.share && e.sale ? 'shared with or sold to' : e.share ? 'shared with' : 'sold to';
  return `Members of the ${e.ledger.chainId} consortium the data is ${how}; each transfer is recorded on the ledger`;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
