/**
 * The words a customer reads, without knowing what a blockchain is: result codes, kinds of
 * transaction, lawful bases, requests, where data came from. DPV codes get their labels from the
 * protocol's vocabulary (`labelOf`), so no screen shows `pd:EmailAddress`. The CLI and the web
 * portal both say things this way; only dates are formatted per surface (`ViewFormat`).
 */
import { labelOf } from '@custos/protocol/consent';
import type { LawfulBasis, RequestKind } from '../api-types.js';

export type Tone = 'ok' | 'warn' | 'danger' | 'neutral';

/** How a surface writes a date: the browser in the reader's locale, the CLI as `2026-03-03`. */
export interface ViewFormat {
  day(t: number): string;
}

/** `2026-03-03` (UTC): the CLI's dates, and the default where no locale applies. */
export const ISO_FORMAT: ViewFormat = { day: (t) => new Date(t).toISOString().slice(0, 10) };

// The sentences are English, so their lists are too, whatever the reader's locale.
const listFmt = new Intl.ListFormat('en', { style: 'long', type: 'conjunction' });

/** `A, B, and C`. */
export function list(items: readonly string[]): string {
  return listFmt.format(items);
}

const RESULTS: Record<string, { text: string; tone: Tone }> = {
  OK: { text: 'Done', tone: 'ok' },
  BAD_SIGNATURE: { text: 'Refused: the signature does not match', tone: 'danger' },
  WRONG_CHAIN: { text: 'Refused: meant for another ledger', tone: 'danger' },
  EXPIRED: { text: 'Refused: it expired before it was recorded', tone: 'danger' },
  NOT_YET_VALID: { text: 'Refused: dated in the future', tone: 'danger' },
  REPLAYED: { text: 'Refused: a repeat of an earlier one', tone: 'danger' },
  UNKNOWN_TYPE: { text: 'Refused: unknown kind of action', tone: 'danger' },
  INVALID_ARGS: { text: 'Refused: its details were not valid', tone: 'danger' },
  UNAUTHORIZED: { text: 'Refused: the signer may not do this', tone: 'danger' },
  NOT_FOUND: { text: 'Refused: it refers to something that does not exist', tone: 'danger' },
  CONFLICT: { text: 'Refused: it conflicts with what is already recorded', tone: 'danger' },
  LIMIT_EXCEEDED: { text: 'Refused: over a limit', tone: 'danger' },
  NO_LAWFUL_BASIS: { text: 'Refused: no consent or other lawful reason', tone: 'danger' },
  OPTED_OUT: { text: 'Refused: the customer opted out', tone: 'danger' },
  ERASED: { text: 'Refused: the data was erased', tone: 'danger' },
  RESTRICTED: { text: 'Refused: use of this data is restricted', tone: 'danger' },
  PROPOSAL_CLOSED: { text: 'Refused: the vote on this proposal is closed', tone: 'danger' },
  KEY_NOT_PROVEN: { text: 'Refused: the new key did not prove it is held by the member', tone: 'danger' },
  KEY_HAS_HISTORY: { text: "Refused: that key is a customer's key, not a company's", tone: 'danger' },
  RESERVED_NAMESPACE: { text: 'Refused: only that company may publish there', tone: 'danger' },
  PARENTAL_CONSENT_REQUIRED: { text: "Refused: a parent's consent is needed", tone: 'danger' },
};

/** What a result code means, e.g. `NO_LAWFUL_BASIS` -> "Refused: no consent or other lawful reason". */
export function resultText(code: string): { text: string; tone: Tone } {
  return RESULTS[code] ?? { text: `Refused (${code})`, tone: 'danger' };
}

/**
 * How an event ended, told to whom it concerns: "Allowed" for a use or share that went through,
 * "Done" for anything else, the refusal otherwise ("you opted out" for the customer's own view).
 */
export function outcomeText(type: string, code: string, subject: Subject = 'you'): { text: string; tone: Tone } {
  if (code === 'OK') return { text: type === 'data.access' || type === 'data.share' ? 'Allowed' : 'Done', tone: 'ok' };
  // A use (not a share) is refused as OPTED_OUT only by an objection to direct marketing.
  if (code === 'OPTED_OUT' && type === 'data.access') {
    return { text: subject === 'you' ? 'Refused: you objected' : 'Refused: the customer objected', tone: 'danger' };
  }
  if (code === 'OPTED_OUT' && subject === 'you') return { text: 'Refused: you opted out', tone: 'danger' };
  return resultText(code);
}

/** Whose history is told: `you` in the customer's own view, `a customer` for anyone else. */
export type Subject = 'you' | 'a customer';

const TYPES: Record<string, string> = {
  'consent.grant': 'Consent given',
  'consent.withdraw': 'Consent withdrawn',
  'optout.set': 'Opt-out',
  'optout.clear': 'Opt-out lifted',
  'age.set': 'Age band recorded',
  'objection.set': 'Objection to direct marketing',
  'gpp.record': 'Consent banner choices (GPP)',
  'objection.clear': 'Objection withdrawn',
  'data.register': 'Data recorded',
  'data.access': 'Data used',
  'data.share': 'Data shared',
  'data.update': 'Data corrected',
  'data.erased': 'Data erased',
  'data.restricted': 'Copy restricted',
  'request.open': 'Request made',
  'request.extend': 'Deadline extended',
  'request.fulfil': 'Request answered',
  'request.acknowledge': 'Request received',
  'incident.open': 'Data breach registered',
  'incident.authority': 'Authority told of a breach',
  'incident.notify': 'Breach notice',
  'incident.close': 'Data breach closed',
  'request.reject': 'Request refused',
  'request.lift': 'Restriction lifted',
  'agent.revoke': 'Authorised agent revoked',
  'request.step': 'Request step recorded',
  'retention.run': 'Retention run recorded',
  'member.update': 'Member details updated',
  'member.addKey': 'Member key added',
  'member.removeKey': 'Member key removed',
  'member.setEvmKey': 'Member EVM key set',
  'gov.propose': 'Governance proposal',
  'gov.vote': 'Governance vote',
  'xtx.prepare': 'Cross-chain transaction prepared',
  'xtx.decide': 'Cross-chain transaction decided',
  'xtx.finalize': 'Cross-chain transaction completed',
  'xtx.evmVote': 'EVM vote proven',
  'interop.register': 'Other ledger registered',
  'datamap.publish': 'Data map published',
  'kv.put': 'Public note recorded',
  'kv.delete': 'Public note removed',
};

/** `data.access` -> "Data used". */
export function typeText(type: string): string {
  return TYPES[type] ?? type.replace('.', ': ');
}

export const BASIS_TEXT: Record<LawfulBasis, string> = {
  consent: 'because you agreed',
  contract: 'because your contract needs it',
  'legal-obligation': 'because the law requires it',
  'vital-interests': 'to protect someone’s life',
  'public-task': 'for a task in the public interest',
  'legitimate-interest': 'for their legitimate interest',
};

export const BASIS_SHORT: Record<LawfulBasis, string> = {
  consent: 'Consent',
  contract: 'Contract',
  'legal-obligation': 'Legal duty',
  'vital-interests': 'Vital interests',
  'public-task': 'Public task',
  'legitimate-interest': 'Legitimate interest',
};

/** Why an org may use data, as the reason closing a sentence: "because you agreed". */
export function basisText(b: string): string {
  return BASIS_TEXT[b as LawfulBasis] ?? b;
}

/** A lawful basis as a column heading or badge: "Consent". */
export function basisShort(b: string): string {
  return BASIS_SHORT[b as LawfulBasis] ?? b;
}

export const REQUEST_TEXT: Record<RequestKind, { ask: string; noun: string }> = {
  access: { ask: 'Get a copy of my data', noun: 'a copy of your data' },
  export: { ask: 'Get my data in a file', noun: 'your data in a file you can take elsewhere' },
  rectify: { ask: 'Correct my data', noun: 'a correction of your data' },
  erase: { ask: 'Erase my data', noun: 'erasure of your data' },
  restrict: { ask: 'Pause the use of my data', noun: 'a pause in the use of your data' },
  object: { ask: 'Object to the use of my data', noun: 'an objection to the use of your data' },
  optout: { ask: 'Opt out', noun: 'an opt-out' },
  review: { ask: 'Ask a person to review a decision', noun: 'a person to review a decision taken by machine' },
};

/** What a request asks for: `erase` -> "erasure of your data". */
export function requestNoun(kind: string): string {
  return REQUEST_TEXT[kind as RequestKind]?.noun ?? kind;
}

/** The deadline rule of a jurisdiction, in words (a CCPA opt-out has its own). */
export function deadlineRule(jurisdiction: string, kind?: string): string {
  if (jurisdiction === 'CCPA' && kind === 'optout') return 'California law (CCPA): 15 business days';
  return jurisdiction === 'CCPA'
    ? 'California law (CCPA): 45 days, extendable once by 45'
    : 'EU law (GDPR): one month, extendable by two';
}

/** Where a customer can complain about an answer, per law: one text with the data export's (ADR 0021). */
export { complaintText } from '@custos/protocol/data-export';

const REVIEW_OUTCOME_TEXT: Record<string, string> = {
  upheld: 'a person reviewed the decision and kept it',
  changed: 'a person reviewed the decision and changed it',
};

/** What came of a human review of an automated decision (GDPR Art. 22(3)), in words. */
export function reviewOutcomeText(code: string): string {
  return REVIEW_OUTCOME_TEXT[code] ?? code;
}

const ERASURE_EXCEPTION_TEXT: Record<string, string> = {
  'gdpr-17-3-a': 'freedom of expression and information (GDPR Art. 17(3)(a))',
  'gdpr-17-3-b': 'a legal obligation or a task in the public interest (GDPR Art. 17(3)(b))',
  'gdpr-17-3-c': 'public health (GDPR Art. 17(3)(c))',
  'gdpr-17-3-d': 'archiving, research or statistics (GDPR Art. 17(3)(d))',
  'gdpr-17-3-e': 'legal claims (GDPR Art. 17(3)(e))',
  'ccpa-105-d-1': 'to complete a transaction or contract (CCPA 1798.105(d)(1))',
  'ccpa-105-d-2': 'security and integrity (CCPA 1798.105(d)(2))',
  'ccpa-105-d-3': 'to fix errors (CCPA 1798.105(d)(3))',
  'ccpa-105-d-4': 'free speech (CCPA 1798.105(d)(4))',
  'ccpa-105-d-5': 'the California Electronic Communications Privacy Act (CCPA 1798.105(d)(5))',
  'ccpa-105-d-6': 'research in the public interest (CCPA 1798.105(d)(6))',
  'ccpa-105-d-7': 'internal uses you would expect, or a legal obligation (CCPA 1798.105(d)(7))',
};

const REJECT_REASON_TEXT: Record<string, string> = {
  'identity-not-verified': 'they could not verify that the request came from you (GDPR Art. 12(6))',
  'manifestly-unfounded': 'they found the request manifestly unfounded (GDPR Art. 12(5))',
  excessive: 'they found the request excessive, in particular repetitive (GDPR Art. 12(5); CCPA 1798.130(b))',
  'no-data-held': 'they hold no data about you to act on',
  'legal-exemption': 'a legal exemption applies (GDPR Art. 23; CCPA 1798.145)',
  'rights-of-others': 'answering would affect the rights and freedoms of others (GDPR Art. 15(4))',
  'right-not-applicable': 'this right does not apply to how they use your data (e.g. GDPR Art. 20(1))',
};

/** Why an org refused a request, in words (an unknown code, or text of an older chain, as is). */
export function rejectReasonText(code: string): string {
  return REJECT_REASON_TEXT[code] ?? code;
}

const EXTEND_REASON_TEXT: Record<string, string> = {
  complexity: 'the request is complex (GDPR Art. 12(3); CCPA 1798.130(a)(2))',
  'number-of-requests': 'they received many requests (GDPR Art. 12(3))',
};

/** Why an org extended a request's deadline, in words. */
export function extendReasonText(code: string): string {
  return EXTEND_REASON_TEXT[code] ?? code;
}

/** The legal exception an org relied on to keep a record after an erasure request, in words. */
export function erasureExceptionText(code: string): string {
  return ERASURE_EXCEPTION_TEXT[code] ?? `a legal exception (${code})`;
}

const SOURCE_TEXT: Record<string, string> = {
  subject: 'you gave it to them',
  public: 'from public sources',
  'third-party': 'from another company',
  derived: 'worked out from your other data',
};

/** Where a record came from: "you gave it to them", or "received from Bank" for a shared copy. */
export function sourceText(r: { source: string; sourceRecord: { org: string } | null }, name: (org: string) => string) {
  if (r.sourceRecord !== null) return `received from ${name(r.sourceRecord.org)}`;
  return SOURCE_TEXT[r.source] ?? r.source;
}

/** `Email address and Name`. */
export function labels(codes: readonly string[]): string {
  return list(codes.map((c) => labelOf(c)));
}

/** `email address and income`: labels in the middle of a sentence. */
export function lowerLabels(codes: readonly string[]): string {
  return list(codes.map((c) => lower(labelOf(c))));
}

/** Lower-cases a label in the middle of a sentence, leaving acronyms (`IP address`) alone. */
export function lower(label: string): string {
  return /^[A-Z][a-z]/.test(label) ? label.charAt(0).toLowerCase() + label.slice(1) : label;
}
