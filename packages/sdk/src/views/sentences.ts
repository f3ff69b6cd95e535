/**
 * One event of the ledger in one sentence: "Bank used your email address for marketing, because
 * you agreed". The customer's history (`you`) and the public explorer (`a customer`) say it the
 * same way; what is not known to the reader (a record's category, a request's kind) reads as "data".
 */

import { labelOf } from '@custos/protocol/consent';
import { gppChoices } from '@custos/protocol/gpp';
import type { SignedTx } from '@custos/protocol/ledger';
import {
  basisText,
  erasureExceptionText,
  extendReasonText,
  ISO_FORMAT,
  list,
  lower,
  lowerLabels,
  rejectReasonText,
  requestNoun,
  reviewOutcomeText,
  type Subject,
  typeText,
  type ViewFormat,
} from './words.js';

const AGE_BAND_WORDS: Record<string, string> = {
  under13: 'under 13',
  '13-15': '13 to 15',
  '16-17': '16 or 17',
  adult: '18 or older',
};

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
  subject: Subject;
  /** The result code: a refused use reads "tried to use". */
  code?: string;
  /** How dates read (default `2026-03-03`). */
  format?: ViewFormat;
}

/** One event in one sentence: "Bank used your email address for marketing, because you agreed". */
export function eventSentence(tx: SignedTx, ctx: SentenceContext): string {
  const a = tx.body.args as Record<string, unknown>;
  const str = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : '');
  const strs = (k: string) =>
    Array.isArray(a[k]) ? (a[k] as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  const day = (ctx.format ?? ISO_FORMAT).day;
  const you = ctx.subject;
  const your = you === 'you' ? 'your' : 'their';
  const who = ctx.actor === undefined ? (you === 'you' ? 'You' : 'A customer') : ctx.name(ctx.actor);
  const org = str('org') === '' ? '' : ctx.name(str('org'));
  const cat = (id: string) => lower(ctx.category(id) ?? 'data');
  const kinds = strs('kinds')
    .map((k) => (k === 'share' ? 'sharing' : k))
    .join(' and ');
  const reason = str('reason').replace(/[.\s]+$/, '');
  const refused = ctx.code !== undefined && ctx.code !== 'OK';
  switch (tx.body.type) {
    case 'consent.grant': {
      const until = typeof a.expiresAt === 'number' ? ` until ${day(a.expiresAt)}` : '';
      const extra = [a.share === true ? 'may share it' : '', a.sale === true ? 'may sell it' : ''].filter(Boolean);
      const parent = a.parental === undefined ? '' : `, with ${your} parent’s or guardian’s consent`;
      return `${who} agreed that ${org} may use ${your} ${lowerLabels(strs('categories'))} for ${lowerLabels(strs('purposes'))}${until}${extra.length > 0 ? ` (and ${list(extra)})` : ''}${parent}`;
    }
    case 'consent.withdraw': {
      // A guardian names the child's pseudonym; the customer never does.
      const by = str('subject') === '' ? who : you === 'you' ? 'Your parent or guardian' : 'A guardian';
      return `${by} withdrew ${str('consent') === '' ? 'every consent given to' : 'a consent given to'} ${org}`;
    }
    case 'age.set': {
      const band = AGE_BAND_WORDS[str('band')] ?? 'an age band';
      return `${who} recorded ${your} age band at ${org}: ${band}${str('guardian') === '' ? '' : `, with a guardian’s key`}`;
    }
    case 'optout.set':
      return `${who} told ${org} not to allow ${kinds} of ${your} data${str('source') === 'gpc' ? ' (Global Privacy Control)' : ''}`;
    case 'gpp.record':
      return `${who} recorded ${your} choices from ${ctx.actor === undefined ? `${org}’s` : 'its'} consent banner (IAB GPP)${gppSummary(str('gpp'))}`;
    case 'objection.set':
      return `${who} objected to the use of ${your} data by ${org} for ${lowerLabels(strs('purposes'))}`;
    case 'objection.clear':
      return `${who} withdrew ${your} objection to the use of ${your} data by ${org} for ${lowerLabels(strs('purposes'))}`;
    case 'optout.clear':
      return `${who} allowed ${kinds} by ${org} again`;
    case 'request.open':
      return a.delegation === undefined
        ? `${who} asked ${org} for ${requestNoun(str('kind'))}`
        : `An authorised agent asked ${org} for ${requestNoun(str('kind'))} on ${your === 'your' ? 'your' : 'a customer’s'} behalf`;
    case 'agent.revoke':
      return `${who} revoked an authorised agent’s permission to make requests to ${org}`;
    case 'request.extend':
      return `${who} extended the deadline of ${your} request: ${extendReasonText(reason)}`;
    case 'request.fulfil': {
      const outcome = str('outcome');
      const answer = `${who} answered ${your} request for ${requestNoun(ctx.requestKind(str('request')) ?? 'data')}`;
      return outcome === '' ? answer : `${answer}: ${reviewOutcomeText(outcome)}`;
    }
    case 'incident.notify':
      return `${who} told ${you === 'you' ? 'you' : 'a customer'} of a personal data breach that may concern ${your} data (GDPR Art. 34)`;
    case 'request.acknowledge':
      return `${who} confirmed it received ${your} request for ${requestNoun(ctx.requestKind(str('request')) ?? 'data')}`;
    case 'request.step': {
      const system = str('system');
      const rows = typeof a.rows === 'number' ? a.rows : 0;
      const done = str('step') === 'erase' ? 'erased' : str('step') === 'rectify' ? 'corrected' : 'exported';
      if (str('outcome') === 'done') {
        return `${who} ${done} ${rows} row${rows === 1 ? '' : 's'} of ${your} data in its system ${system}, for ${your} request`;
      }
      if (str('outcome') === 'exception') {
        return `${who} kept ${your} data in its system ${system} under a legal exception: ${erasureExceptionText(str('exception'))}`;
      }
      return `${who} could not yet complete ${your} request in its system ${system} (${str('error')}); it will try again`;
    }
    case 'retention.run': {
      const rows = typeof a.rows === 'number' ? a.rows : 0;
      return str('outcome') === 'done'
        ? `${who} erased ${rows} row${rows === 1 ? '' : 's'} past their retention in its system ${str('system')}`
        : `${who} could not apply retention in its system ${str('system')} (${str('error')})`;
    }
    case 'request.reject':
      return `${who} refused ${your} request: ${rejectReasonText(reason)}`;
    case 'request.lift':
      return ctx.requestKind(str('request')) === 'object'
        ? `${who} withdrew ${your} objection to the use of ${your} data by ${org}`
        : `${who} lifted the pause in the use of ${your} data by ${org}`;
    case 'data.register': {
      const src = a.sourceRecord as { org?: unknown } | undefined;
      if (src !== undefined && typeof src.org === 'string') {
        return `${who} recorded a copy of ${your} ${lower(labelOf(str('category') || 'data'))} received from ${ctx.name(src.org)}`;
      }
      const purposes = typeof a.purposes === 'object' && a.purposes !== null ? Object.keys(a.purposes) : [];
      return `${who} recorded that it holds ${your} ${lower(labelOf(str('category')))}, for ${lowerLabels(purposes)}`;
    }
    case 'data.access': {
      // The explorer's reader is not the one who agreed.
      const basis =
        str('basis') === 'consent' && you !== 'you' ? 'with the customer’s consent' : basisText(str('basis'));
      return `${who} ${refused ? 'tried to use' : 'used'} ${your} ${cat(str('record'))} for ${lower(labelOf(str('purpose')))}, ${basis}`;
    }
    case 'data.share': {
      const verb = a.sale === true ? (refused ? 'tried to sell' : 'sold') : refused ? 'tried to share' : 'shared';
      return `${who} ${verb} ${your} ${cat(str('record'))} to ${ctx.name(str('recipient'))}, for ${lower(labelOf(str('purpose')))}`;
    }
    case 'data.update':
      return `${who} corrected ${your} ${cat(str('record'))}`;
    case 'data.restricted': {
      const cats = [
        ...new Set(
          strs('records')
            .map((id) => ctx.category(id))
            .filter((c): c is string => c !== undefined),
        ),
      ];
      return `${who} restricted its copy of ${your} ${cats.length > 0 ? list(cats.map(lower)) : 'data'}, as the company it came from did`;
    }
    case 'rectify.send':
      return `${who} sent ${org} a new value for ${your} ${cat(str('record'))}, sealed for it alone`;
    case 'rectify.flag':
      return `${who} told ${org} that ${your} ${cat(str('record'))} is wrong (${str('reason')})`;
    case 'rectify.apply':
      return `${who} applied the correction of ${your} data`;
    case 'rectify.explain':
      return `${who} kept ${your} data as it was (${str('reason')})`;
    case 'rectify.step': {
      const rows = typeof a.rows === 'number' ? a.rows : 0;
      return str('outcome') === 'done'
        ? `${who} corrected ${rows} row${rows === 1 ? '' : 's'} of ${your} data in its system ${str('system')}, as ${your} correction asked`
        : `${who} could not yet correct ${your} data in its system ${str('system')} (${str('error')}); it will try again`;
    }
    case 'rectify.extend':
      return `${who} extended the deadline of ${your} correction: ${extendReasonText(str('reason'))}`;
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
    case 'xtx.evmVote':
      // In a customer's own history only the vote that also decided and completed the transaction
      // appears (it applied the writes about them); anywhere else it may be the vote alone.
      return you === 'you'
        ? `${who}: ${typeText('xtx.finalize')}`
        : `${who}: ${typeText(tx.body.type)}${a.decide === true ? ', deciding the cross-chain transaction if it was the last vote' : ''}`;
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
 * Bank's key", "Set Example Bank's EVM key", "Change the quorum to 3 of 4". `members` is the member count, for the quorum.
 */
export function govActionText(a: GovActionLike, name: (id: string) => string, members?: number): string {
  switch (a.kind) {
    case 'admit':
      return `Admit ${a.name ?? a.id ?? 'a new member'}`;
    case 'remove':
      return `Remove ${name(a.id ?? '?')}`;
    case 'rotateKey':
      return `Rotate ${name(a.member ?? '?')}’s key`;
    case 'setEvmKey':
      return `Set ${name(a.member ?? '?')}’s EVM key`;
    case 'removeEvmKey':
      return `Remove ${name(a.member ?? '?')}’s EVM key`;
    case 'params':
      return `Change the quorum to ${a.threshold ?? '?'}${members === undefined ? '' : ` of ${members}`}`;
    default:
      return `Change: ${a.kind}`;
  }
}

/** What a GPP string says, in words: ": no sale, no sharing, no targeted advertising". */
function gppSummary(gpp: string): string {
  let c: ReturnType<typeof gppChoices>;
  try {
    c = gppChoices(gpp);
  } catch {
    return '';
  }
  const said = [
    c.sale === 'out' ? 'no sale' : c.sale === 'in' ? 'sale allowed' : '',
    c.share === 'out' ? 'no sharing' : c.share === 'in' ? 'sharing allowed' : '',
    c.targeted === 'out' ? 'no targeted advertising' : '',
    c.sensitive === 'out' ? 'sensitive data limited' : '',
    Object.values(c.purposes ?? {}).some((v) => v)
      ? `consent to ${lowerLabels(Object.entries(c.purposes ?? {}).flatMap(([p, v]) => (v ? [p] : [])))}`
      : '',
  ].filter(Boolean);
  return said.length === 0 ? '' : `: ${said.join(', ')}`;
}
