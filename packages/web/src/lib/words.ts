/**
 * Everything the ledger records, said in words a customer reads without knowing what a blockchain
 * is: result codes, kinds of transaction, lawful bases, requests. DPV codes get their labels from the
 * protocol's vocabulary (`labelOf`), so no screen shows `pd:EmailAddress`.
 */
import { labelOf } from '@custos/protocol/consent';
import type { SignedTx } from '@custos/protocol/ledger';
import type { LawfulBasis, RequestKind } from '@custos/sdk';
import { day, list } from './format.js';

export type Tone = 'ok' | 'warn' | 'danger' | 'neutral';

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
};

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

/** The legal exception an org relied on to keep a record after an erasure request, in words. */
export function erasureExceptionText(code: string): string {
  return ERASURE_EXCEPTION_TEXT[code] ?? `a legal exception (${code})`;
}

/** What a result code means, e.g. `NO_LAWFUL_BASIS` -> "Refused: no consent or other lawful reason". */
export function resultText(code: string): { text: string; tone: Tone } {
  return RESULTS[code] ?? { text: `Refused (${code})`, tone: 'danger' };
}

const TYPES: Record<string, string> = {
  'consent.grant': 'Consent given',
  'consent.withdraw': 'Consent withdrawn',
  'optout.set': 'Opt-out',
  'optout.clear': 'Opt-out lifted',
  'data.register': 'Data recorded',
  'data.access': 'Data used',
  'data.share': 'Data shared',
  'data.update': 'Data corrected',
  'data.erased': 'Data erased',
  'request.open': 'Request made',
  'request.extend': 'Deadline extended',
  'request.fulfil': 'Request answered',
  'request.reject': 'Request refused',
  'member.update': 'Member details updated',
  'member.addKey': 'Member key added',
  'member.removeKey': 'Member key removed',
  'gov.propose': 'Governance proposal',
  'gov.vote': 'Governance vote',
  'xtx.prepare': 'Cross-chain transaction prepared',
  'xtx.decide': 'Cross-chain transaction decided',
  'xtx.finalize': 'Cross-chain transaction completed',
  'interop.register': 'Other ledger registered',
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

export function basisText(b: string): string {
  return BASIS_TEXT[b as LawfulBasis] ?? b;
}

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
};

/** A request as the company's console names it. */
export const REQUEST_CONSOLE_TEXT: Record<RequestKind, string> = {
  access: 'Copy of their data',
  export: 'Their data in a portable file',
  rectify: 'Correction',
  erase: 'Erasure',
  restrict: 'Restriction of use',
  object: 'Objection to use',
  optout: 'Opt-out',
};

export function requestConsoleText(kind: string): string {
  return REQUEST_CONSOLE_TEXT[kind as RequestKind] ?? kind;
}

export function requestNoun(kind: string): string {
  return REQUEST_TEXT[kind as RequestKind]?.noun ?? kind;
}

/** The deadline rule of a jurisdiction, in words. */
export function deadlineRule(jurisdiction: string): string {
  return jurisdiction === 'CCPA'
    ? 'California law (CCPA): 45 days, extendable once by 45'
    : 'EU law (GDPR): one month, extendable by two';
}

export function sourceText(source: string, name: (org: string) => string): string {
  if (source.startsWith('shared:')) return `received from ${name(source.slice(7))}`;
  return (
    {
      subject: 'you gave it to them',
      public: 'from public sources',
      'third-party': 'from another company',
      derived: 'worked out from your other data',
    }[source] ?? source
  );
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

export interface SentenceContext {
  /** Display name of an org id. */
  name: (org: string) => string;
  /** The org whose key signed, if an org signed. */
  actor: string | undefined;
  /** The category label of a record id, if known. */
  category: (record: string) => string | undefined;
  /** The kind of a request id, if known. */
  requestKind: (request: string) => string | undefined;
  /** `you` for the customer's own view, `a customer` for the explorer. */
  subject: 'you' | 'a customer';
  /** The result code: a refused use reads "tried to use". */
  code?: string;
}

/** One event in one sentence: "Bank used your email address for marketing, because you agreed". */
export function eventSentence(tx: SignedTx, ctx: SentenceContext): string {
  const a = tx.body.args as Record<string, unknown>;
  const str = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : '');
  const strs = (k: string) =>
    Array.isArray(a[k]) ? (a[k] as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  const you = ctx.subject;
  const your = you === 'you' ? 'your' : 'their';
  const who = ctx.actor === undefined ? (you === 'you' ? 'You' : 'A customer') : ctx.name(ctx.actor);
  const org = str('org') === '' ? '' : ctx.name(str('org'));
  const cat = (id: string) => lower(ctx.category(id) ?? 'data');
  const kinds = strs('kinds')
    .map((k) => (k === 'share' ? 'sharing' : k))
    .join(' and ');
  const reason = str('reason').replace(/[.\s]+$/, '');
  switch (tx.body.type) {
    case 'consent.grant': {
      const until = typeof a.expiresAt === 'number' ? ` until ${day(a.expiresAt)}` : '';
      const extra = [a.share === true ? 'may share it' : '', a.sale === true ? 'may sell it' : ''].filter(Boolean);
      return `${who} agreed that ${org} may use ${your} ${lowerLabels(strs('categories'))} for ${lowerLabels(strs('purposes'))}${until}${extra.length > 0 ? ` (and ${list(extra)})` : ''}`;
    }
    case 'consent.withdraw':
      return `${who} withdrew ${str('consent') === '' ? 'every consent given to' : 'a consent given to'} ${org}`;
    case 'optout.set':
      return `${who} told ${org} not to allow ${kinds} of ${your} data${str('source') === 'gpc' ? ' (Global Privacy Control)' : ''}`;
    case 'optout.clear':
      return `${who} allowed ${kinds} by ${org} again`;
    case 'request.open':
      return `${who} asked ${org} for ${requestNoun(str('kind'))}`;
    case 'request.extend':
      return `${who} extended the deadline of ${your} request: “${reason}”`;
    case 'request.fulfil':
      return `${who} answered ${your} request for ${requestNoun(ctx.requestKind(str('request')) ?? 'data')}`;
    case 'request.reject':
      return `${who} refused ${your} request: “${reason}”`;
    case 'data.register': {
      const src = a.sourceRecord as { org?: unknown } | undefined;
      if (src !== undefined && typeof src.org === 'string') {
        return `${who} recorded a copy of ${your} ${lower(labelOf(str('category') || 'data'))} received from ${ctx.name(src.org)}`;
      }
      const purposes = typeof a.purposes === 'object' && a.purposes !== null ? Object.keys(a.purposes) : [];
      return `${who} recorded that it holds ${your} ${lower(labelOf(str('category')))}, for ${lowerLabels(purposes)}`;
    }
    case 'data.access':
      return `${who} ${ctx.code !== undefined && ctx.code !== 'OK' ? 'tried to use' : 'used'} ${your} ${cat(str('record'))} for ${lower(labelOf(str('purpose')))}, ${basisText(str('basis'))}`.replace(
        'because you agreed',
        you === 'you' ? 'because you agreed' : 'with the customer’s consent',
      );
    case 'data.share':
      return `${who} ${ctx.code !== undefined && ctx.code !== 'OK' ? (a.sale === true ? 'tried to sell' : 'tried to share') : a.sale === true ? 'sold' : 'shared'} ${your} ${cat(str('record'))} to ${ctx.name(str('recipient'))}, for ${lower(labelOf(str('purpose')))}`;
    case 'data.update':
      return `${who} corrected ${your} ${cat(str('record'))}`;
    case 'data.erased': {
      const cats = [
        ...new Set(
          strs('records')
            .map((id) => ctx.category(id))
            .filter((c): c is string => c !== undefined),
        ),
      ];
      const what = cats.length > 0 ? list(cats.map(lower)) : 'data';
      const why =
        str('reason') === 'request'
          ? you === 'you'
            ? 'as you asked'
            : 'as asked'
          : str('reason') === 'retention'
            ? 'its keeping period ended'
            : str('reason');
      return `${who} erased ${your} ${what} for good (${why})`;
    }
    case 'member.update':
      return `${who} updated its public details`;
    case 'gov.propose': {
      const action = a.action as GovActionLike | undefined;
      return `${who} proposed: ${action === undefined ? 'a change' : lowerFirst(govActionText(action, ctx.name))}${reason === '' ? '' : ` (“${reason}”)`}`;
    }
    case 'gov.vote':
      return `${who} voted ${str('vote') === 'no' ? 'against' : 'for'} a governance proposal`;
    case 'kv.put':
      return `${who} published a public note`;
    default:
      return `${who}: ${typeText(tx.body.type)}`;
  }
}

/** A governance action as the ledger holds it (`gov.propose` args, `gov/proposal/<id>`). */
export interface GovActionLike {
  kind: string;
  id?: string;
  name?: string;
  member?: string;
  oldKey?: string;
  newKey?: string;
  threshold?: number;
  blockMaxTxs?: number;
  blockMaxMs?: number;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * A proposal's change in words: "Admit Example Credit Union", "Remove Example Shop", "Rotate Example
 * Bank's key", "Change the quorum to 3 of 4". `members` is the member count, for the quorum.
 */
export function govActionText(a: GovActionLike, name: (id: string) => string, members?: number): string {
  switch (a.kind) {
    case 'admit':
      return `Admit ${a.name ?? a.id ?? 'a new member'}`;
    case 'remove':
      return `Remove ${name(a.id ?? '?')}`;
    case 'rotateKey':
      return `Rotate ${name(a.member ?? '?')}’s key`;
    case 'params':
      return `Change the quorum to ${a.threshold ?? '?'}${members === undefined ? '' : ` of ${members}`}`;
    default:
      return `Change: ${a.kind}`;
  }
}

/** Where a cross-chain transaction stands on this chain, in words. */
export const XTX_STATUS: Record<string, { text: string; tone: Tone }> = {
  preparing: { text: 'Preparing: waiting for the decision', tone: 'warn' },
  prepared: { text: 'Prepared: waiting for the decision', tone: 'warn' },
  refused: { text: 'Refused here: this ledger voted no', tone: 'danger' },
  decided: { text: 'Decided: waiting to be applied here', tone: 'warn' },
  committed: { text: 'Committed: applied everywhere it was decided', tone: 'ok' },
  aborted: { text: 'Aborted: nothing changed', tone: 'neutral' },
};

/** The reason of a cross-chain decision: `all-yes`, `no:<chain>`, `timeout`. */
export function xtxReasonText(reason: string): string {
  if (reason === 'all-yes') return 'every ledger voted yes';
  if (reason.startsWith('no:')) return `ledger ${reason.slice(3)} voted no`;
  if (reason === 'timeout') return 'not every vote arrived before the deadline';
  return reason;
}
