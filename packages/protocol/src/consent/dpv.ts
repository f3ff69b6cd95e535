/**
 * The part of the W3C Data Privacy Vocabulary (DPV 2, https://w3id.org/dpv) Custos accepts in
 * consents: personal-data categories from the `pd` extension and purposes from the core `dpv`
 * namespace, each with a label and a one-sentence description a customer can read. Term names are
 * checked against the DPV 2 sources (`pd/pd.csv`, `dpv/modules/purposes.csv` in w3c/dpv).
 */
import { ProtocolError } from '../errors.js';

/** A DPV term as Custos shows it to a customer. */
export interface DpvTerm {
  /** Compact IRI, e.g. `pd:EmailAddress`. */
  readonly code: string;
  /** Short plain-English name. */
  readonly label: string;
  /** One sentence a customer understands. */
  readonly description: string;
}

/** A category of personal data (`pd:` namespace). */
export interface DpvCategory extends DpvTerm {
  /** DPV marks it `dpv:SpecialCategoryPersonalData` (GDPR Art. 9): consent must be explicit. */
  readonly sensitive: boolean;
}

/** A purpose of processing (`dpv:` namespace). */
export type DpvPurpose = DpvTerm;

/** Namespace IRIs of the DPV prefixes Custos uses. */
export const DPV_NAMESPACES = {
  dpv: 'https://w3id.org/dpv#',
  pd: 'https://w3id.org/dpv/pd#',
} as const;

const category = (code: string, label: string, description: string, sensitive = false): DpvCategory =>
  Object.freeze({ code, label, description, sensitive });

const purpose = (code: string, label: string, description: string): DpvPurpose =>
  Object.freeze({ code, label, description });

/** Personal-data categories Custos accepts, most common first. */
export const DPV_CATEGORIES: readonly DpvCategory[] = Object.freeze([
  category('pd:Name', 'Name', 'Your first and last name, and any other name you use with us.'),
  category('pd:EmailAddress', 'Email address', 'The email address we can write to you at.'),
  category('pd:TelephoneNumber', 'Phone number', 'The phone numbers we can call or text you on.'),
  category('pd:PhysicalAddress', 'Postal address', 'Where you live or receive your post.'),
  category('pd:BirthDate', 'Date of birth', 'The day you were born.'),
  category('pd:Age', 'Age', 'How old you are, or your age range.'),
  category('pd:Gender', 'Gender', 'The gender you told us.'),
  category('pd:Nationality', 'Nationality', 'The countries you are a citizen of.'),
  category(
    'pd:OfficialID',
    'Official ID',
    'Numbers and copies of official documents such as your passport, ID card or driving licence.',
  ),
  category('pd:Location', 'Location', 'Where you are or have been, for example as told by your phone.'),
  category('pd:IPAddress', 'IP address', 'The internet address of the device you connect to us from.'),
  category(
    'pd:BrowsingBehavior',
    'Browsing activity',
    'Which pages you visit and what you click on in our websites and apps.',
  ),
  category('pd:FinancialAccount', 'Financial accounts', 'Details of your bank, savings and other financial accounts.'),
  category('pd:BankAccount', 'Bank account', 'Your bank account number and the bank that holds it.'),
  category('pd:CreditCardNumber', 'Credit card number', 'The long number on the front of your credit card.'),
  category('pd:Income', 'Income', 'How much money you earn, for example your salary.'),
  category('pd:CreditScore', 'Credit score', 'A score that says how likely you are to pay back money you borrow.'),
  category('pd:LoanRecord', 'Loans', 'Loans you applied for, got or were refused, and how you paid them back.'),
  category('pd:Insurance', 'Insurance', 'The insurance policies you hold and the claims you made.'),
  category('pd:Purchase', 'Purchases', 'What you bought from us and when.'),
  category(
    'pd:PurchasesAndSpendingHabit',
    'Spending habits',
    'Patterns in what you buy and how much you spend, such as your monthly shopping.',
  ),
  category('pd:Communication', 'Messages', 'What you write in the messages you send us or receive from us.'),
  category('pd:EmploymentHistory', 'Work history', 'Where and when you have worked.'),
  category('pd:Preference', 'Preferences', 'Your likes, dislikes and settings, such as your favourite products.'),
  category('pd:IndividualProfile', 'Profile', 'A description of you that is worked out from your other data.'),
  category(
    'pd:HealthRecord',
    'Health records',
    'Your medical records, such as diagnoses, treatments and test results.',
    true,
  ),
  category('pd:Prescription', 'Prescriptions', 'Medicines a doctor has prescribed for you.', true),
  category('pd:Biometric', 'Biometric data', 'Fingerprints, face scans or voice prints that can identify you.', true),
  category('pd:Genetic', 'Genetic data', 'Information that comes from your DNA.', true),
  // The rest of GDPR Art. 9(1), each marked dpv:SpecialCategoryPersonalData in DPV's pd extension.
  category('pd:Health', 'Health', 'Anything about your physical or mental health.', true),
  category('pd:MentalHealth', 'Mental health', 'Your mental health, such as conditions and treatments.', true),
  category('pd:Disability', 'Disability', 'Any disability you have.', true),
  category('pd:Race', 'Racial origin', 'Your racial origin.', true),
  category('pd:EthnicOrigin', 'Ethnic origin', 'Your ethnic origin.', true),
  category('pd:PoliticalOpinion', 'Political opinions', 'Your opinions about politics.', true),
  category('pd:PoliticalAffiliation', 'Political affiliation', 'Parties or political groups you belong to.', true),
  category('pd:ReligiousBelief', 'Religious beliefs', 'Your religion and religious beliefs.', true),
  category('pd:PhilosophicalBelief', 'Philosophical beliefs', 'Your philosophical beliefs.', true),
  category('pd:TradeUnionMembership', 'Trade union membership', 'Whether you belong to a trade union.', true),
  category('pd:SexualPreference', 'Sexual orientation', 'Your sexual orientation.', true),
  category('pd:SexualHistory', 'Sex life', 'Your sex life.', true),
]);

/** Purposes Custos accepts, the service itself first. */
export const DPV_PURPOSES: readonly DpvPurpose[] = Object.freeze([
  purpose('dpv:ServiceProvision', 'Providing the service', 'To run the service you signed up for.'),
  purpose('dpv:RequestedServiceProvision', 'Services you asked for', 'To give you a product or service you asked for.'),
  purpose('dpv:AccountManagement', 'Your account', 'To open, run and close your account with us.'),
  purpose('dpv:PaymentManagement', 'Payments', 'To take your payments, send you bills and keep payment records.'),
  purpose('dpv:DeliveryOfGoods', 'Delivery', 'To deliver the things you ordered to you.'),
  purpose('dpv:CustomerCare', 'Customer care', 'To help you when you contact us and to fix problems with our service.'),
  purpose('dpv:Personalisation', 'Personalisation', 'To tailor what you see to you, based on what we know about you.'),
  purpose(
    'dpv:ProvidePersonalisedRecommendations',
    'Recommendations',
    'To suggest products or content that match your interests.',
  ),
  purpose('dpv:Marketing', 'Marketing', 'To tell you about our products, services and offers.'),
  purpose('dpv:DirectMarketing', 'Direct marketing', 'To send offers straight to you, by email, text message or post.'),
  purpose('dpv:Advertising', 'Advertising', 'To show you adverts for our products and services.'),
  purpose(
    'dpv:PersonalisedAdvertising',
    'Personalised adverts',
    'To show you adverts picked for you based on your data.',
  ),
  purpose('dpv:ServiceUsageAnalytics', 'Usage statistics', 'To count and report how people use our service.'),
  purpose(
    'dpv:ServiceOptimisation',
    'Improving the service',
    'To make our service work better, faster or more reliably.',
  ),
  purpose('dpv:ResearchAndDevelopment', 'Research', 'To research and build new products and services.'),
  purpose('dpv:FraudPreventionAndDetection', 'Fraud prevention', 'To spot and stop fraud against you or us.'),
  purpose(
    'dpv:CounterMoneyLaundering',
    'Anti-money laundering',
    'To spot and prevent money laundering, as the law requires.',
  ),
  purpose('dpv:IdentityVerification', 'Identity checks', 'To check that you are who you say you are.'),
  purpose('dpv:CreditChecking', 'Credit checks', 'To check that you can pay back credit before we offer it to you.'),
  purpose('dpv:EnforceSecurity', 'Security', 'To keep your data and our systems safe from attacks.'),
  purpose('dpv:LegalCompliance', 'Legal duties', 'To do what the law requires of us, such as keeping records.'),
]);

const CATEGORY_BY_CODE: ReadonlyMap<string, DpvCategory> = new Map(DPV_CATEGORIES.map((t) => [t.code, t]));
const PURPOSE_BY_CODE: ReadonlyMap<string, DpvPurpose> = new Map(DPV_PURPOSES.map((t) => [t.code, t]));

/** True if `code` is a personal-data category Custos accepts (e.g. `pd:EmailAddress`). */
export function isDpvCategory(code: unknown): code is string {
  return typeof code === 'string' && CATEGORY_BY_CODE.has(code);
}

/**
 * True if `code` is a special category of personal data (GDPR Art. 9(1)): processing it needs
 * explicit consent or another Art. 9(2) condition.
 */
export function isSensitiveCategory(code: string): boolean {
  return CATEGORY_BY_CODE.get(code)?.sensitive === true;
}

/** True if `code` is a purpose Custos accepts (e.g. `dpv:Marketing`). */
export function isDpvPurpose(code: unknown): code is string {
  return typeof code === 'string' && PURPOSE_BY_CODE.has(code);
}

/** The category or purpose named `code`, or undefined if Custos does not accept it. */
export function dpvTerm(code: string): DpvCategory | DpvPurpose | undefined {
  return CATEGORY_BY_CODE.get(code) ?? PURPOSE_BY_CODE.get(code);
}

/**
 * The label of `code` to show a customer. A code Custos does not list (one recorded by a newer
 * version, say) gets its term split into words, so a screen never shows a raw IRI.
 *
 * @example
 * labelOf('pd:EmailAddress'); // 'Email address'
 * labelOf('dpv:SellDataToThirdParties'); // 'Sell Data To Third Parties'
 */
export function labelOf(code: string): string {
  const term = dpvTerm(code);
  if (term !== undefined) return term.label;
  const local = code.slice(code.indexOf(':') + 1);
  return local.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
}

/** The full IRI of a `dpv:` or `pd:` code, e.g. `https://w3id.org/dpv/pd#EmailAddress`; `BAD_ENCODING` otherwise. */
export function dpvIri(code: string): string {
  const colon = code.indexOf(':');
  const prefix = code.slice(0, colon);
  const ns = Object.hasOwn(DPV_NAMESPACES, prefix) ? DPV_NAMESPACES[prefix as keyof typeof DPV_NAMESPACES] : undefined;
  if (colon < 1 || ns === undefined) {
    throw new ProtocolError('BAD_ENCODING', `expected a dpv: or pd: code, got '${code.slice(0, 80)}'`);
  }
  return ns + code.slice(colon + 1);
}
