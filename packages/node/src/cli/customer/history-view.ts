/**
 * `custos history` as the customer reads it: the view of each company and its sentences come from
 * `@custos/sdk/views`, the same module the web portal renders, so both say the same thing; here
 * they are laid out as the CLI's JSON document and its plain-text page, with ISO dates.
 */

import { labelOf } from '@custos/protocol/consent';
import { type AgeRecord, belowArt8Age, type OptOut, type ParentalConsent } from '@custos/protocol/ledger';
import type { TrustAnchor, VerifiedHistory } from '@custos/sdk';
import {
  automatedText,
  basisText,
  type ConsentView as CompanyConsent,
  type RecordView as CompanyRecord,
  type CompanyView,
  companyView,
  complaintText,
  extendReasonText,
  ISO_FORMAT,
  lowerLabels,
  orgName,
  placeCopies,
  type RequestEvidence,
  recordDates,
  recordSentence,
  rejectReasonText,
  requestEvidence,
  requestNoun,
  reviewOutcomeText,
  stepText,
} from '@custos/sdk/views';
import { cliCommand } from '../../invocation.js';
import type { Grant } from '../../modules/consent.js';
import type { LawfulBasis } from '../../modules/data.js';
import type { DataRequest } from '../../modules/request.js';
import { day, deadlineText } from '../output.js';

/** One relationship of the wallet: the org, the pseudonym, and its verified history. */
export interface RelationshipHistory {
  org: string;
  did: string;
  label?: string;
  /** The raw pages as the node sent them, proofs included. */
  pages: unknown[];
  verified: MergedReport;
}

/** The verified pages of one relationship, merged (`verifyHistory`). */
export interface MergedReport {
  height: number;
  complete: boolean;
  historyCount: number;
  facts: VerifiedHistory['facts'];
  events: VerifiedHistory['events'];
}

export interface RecordView {
  id: string;
  did: string;
  category: string;
  categoryLabel: string;
  purposes: { code: string; label: string; basis: LawfulBasis }[];
  source: string;
  sourceText: string;
  registeredAt: number;
  updatedAt: number;
  retentionUntil: number;
  erased: boolean;
  erasedAt: number | null;
  erasureRequestedAt: number | null;
  restricted: boolean;
  sourceRecord: { org: string; id: string } | null;
  copies: { org: string; id: string }[];
}

export interface ConsentView extends Grant {
  did: string;
  state: 'live' | 'withdrawn' | 'expired';
}

export interface RequestView extends DataRequest {
  overdue: boolean;
  /** Each system's step the org recorded on the ledger for it (verified events), if it runs steps. */
  evidence?: RequestEvidence;
}

export interface TimelineEntry {
  txId: string;
  height: number;
  index: number;
  /** When the block holding it was made (proven by the log entry). */
  date: string;
  /** `you`, the org that acted, or `guardian` (their key in `guardian`). */
  by: string;
  guardian?: string;
  type: string;
  text: string;
  code: string;
  result: string;
  verified: true;
}

export interface OrgView {
  org: string;
  name: string;
  /** Your pseudonyms towards this org (in your wallet). */
  dids: string[];
  records: RecordView[];
  consents: ConsentView[];
  optouts: { sale: OptOut | null; share: OptOut | null };
  /** The age band of the relationship (`age.set`), or null. */
  age: AgeRecord | null;
  requests: RequestView[];
  timeline: TimelineEntry[];
}

/** The shared view of each company the wallet has a relationship with (or that holds a copy). */
export function companyViews(trust: TrustAnchor, rels: readonly RelationshipHistory[], now: number): CompanyView[] {
  const views = rels.map((rel) =>
    companyView({ org: rel.org, did: rel.did, history: rel.verified, trust, now, format: ISO_FORMAT }),
  );
  // A copy held by an org the wallet has no relationship with still belongs in the customer's report.
  for (const v of [...views]) {
    for (const r of v.foreign) {
      if (views.some((x) => x.org === r.org)) continue;
      views.push({
        org: r.org,
        name: orgName(trust, r.org),
        did: '',
        records: [],
        consents: [],
        prefs: { sale: null, share: null },
        prefKey: '',
        requests: [],
        incidents: [],
        events: [],
        active: false,
        foreign: [],
      });
    }
  }
  placeCopies(views);
  const order = new Map(trust.members.map((m, i) => [m.id, i]));
  return views.sort((a, b) => (order.get(a.org) ?? 1e9) - (order.get(b.org) ?? 1e9));
}

function recordDoc(r: CompanyRecord): RecordView {
  return {
    id: r.id,
    did: r.subject,
    category: r.category,
    categoryLabel: r.label,
    purposes: Object.entries(r.purposes).map(([code, basis]) => ({ code, label: labelOf(code), basis })),
    source: r.source,
    sourceText: r.sourceText,
    registeredAt: r.registeredAt,
    updatedAt: r.updatedAt,
    retentionUntil: r.retentionUntil,
    erased: r.erasedAt !== null,
    erasedAt: r.erasedAt,
    erasureRequestedAt: r.erasureRequestedAt,
    restricted: r.restricted,
    sourceRecord: r.sourceRecord,
    copies: r.copies,
  };
}

function consentDoc(c: CompanyConsent, did: string): ConsentView {
  const { key: _key, ...grant } = c;
  return { ...grant, did };
}

/** One company as the JSON document of `history` has it (fields kept from before the shared views). */
export function orgDoc(v: CompanyView): OrgView {
  return {
    org: v.org,
    name: v.name,
    dids: v.did === '' ? [] : [v.did],
    records: v.records.map(recordDoc),
    consents: v.consents.map((c) => consentDoc(c, v.did)),
    optouts: { sale: v.prefs.sale, share: v.prefs.share },
    age: v.prefs.age ?? null,
    requests: v.requests.map(({ key: _key, ...r }) => {
      const evidence = requestEvidence(r, v.events);
      return evidence === undefined ? r : { ...r, evidence };
    }),
    // Oldest first, as a page is read.
    timeline: [...v.events].reverse().map((e) => ({
      txId: e.txId,
      height: e.height,
      index: e.index,
      date: new Date(e.at).toISOString(),
      by: e.guardian === undefined ? (e.actor ?? 'you') : 'guardian',
      ...(e.guardian === undefined ? {} : { guardian: e.guardian }),
      type: e.type,
      text: e.sentence,
      code: e.code,
      result: e.outcome.text,
      verified: true,
    })),
  };
}

/**
 * A request's execution in the org's systems, as proven by the customer's verified history: the
 * summary, then each system's step with its time, transaction and digest (an access request's
 * digest is what the customer recomputes from the export the org handed over).
 */
function evidenceLines(r: DataRequest, v: CompanyView): string[] {
  const e = requestEvidence(r, v.events);
  if (e === undefined) return [];
  return [
    `        ${e.summary}:`,
    ...e.steps.map(
      (s) =>
        `        ✓ ${s.system}: ${stepText(s)}, ${time(s.at)} UTC, tx ${s.txId}${s.digest === null ? '' : `, digest ${s.digest}`}`,
    ),
  ];
}

function time(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

function optoutText(kind: string, o: OptOut | null): string {
  if (o === null) return `${kind}: not opted out`;
  return `${kind}: opted out ${day(o.at)}${o.source === 'gpc' ? ' by Global Privacy Control' : ''}`;
}

function parentalText(p: ParentalConsent): string {
  return 'guardian' in p
    ? `with the consent of your parent or guardian ${p.guardian}`
    : `with a parent's consent ${p.method} verified by the org`;
}

/** The band, who recorded it, and what it blocks (GDPR Art. 8, CCPA 1798.120(c)). */
function ageText(a: AgeRecord, name: string): string {
  const who = a.by === 'org' ? `verified by ${name} (${a.evidence?.method ?? 'evidence'})` : 'as you said';
  const state = a.memberState === undefined ? '' : `, member state ${a.memberState}`;
  const guardian = a.guardian === undefined ? '' : `; your parent's or guardian's key ${a.guardian}`;
  const rules =
    a.band === 'under13'
      ? "; consent, sale and sharing need a parent's or guardian's consent"
      : a.band === '13-15'
        ? `;${belowArt8Age(a.band, a.memberState) ? " a consent (GDPR) needs a parent's or guardian's;" : ''} no sale or sharing unless you opt in yourself`
        : '';
  return `band ${a.band}, ${who} ${day(a.at)}${state}${guardian}${rules}`;
}

/** The plain-language page of one org. Every line with ✓ was checked against the quorum certificate. */
export function renderOrg(v: CompanyView, now: number, trust: TrustAnchor): string[] {
  const lines = [`${v.name} (${v.org})${v.did !== '' ? `: knows you as ${v.did}` : ''}`];
  lines.push('  What they hold:');
  if (v.records.length === 0) lines.push('    nothing');
  for (const r of v.records) {
    const dates = recordDates(r, ISO_FORMAT);
    lines.push(`    ✓ ${r.label} (${r.category}): ${recordSentence(r, v.name, ISO_FORMAT)}`);
    lines.push(`        ${dates.text}; ${r.sourceText}${dates.warning === undefined ? '' : `. ${dates.warning}`}`);
    for (const [code, basis] of Object.entries(r.purposes)) {
      lines.push(`        for ${labelOf(code)} (${code}): ${basisText(basis)}`);
    }
    if (r.copies.length > 0) lines.push(`        copied to ${r.copies.map((c) => orgName(trust, c.org)).join(', ')}`);
    const automated = automatedText(r);
    if (automated !== undefined) {
      lines.push(`        ${automated} (${cliCommand(`request open --org ${v.org} --kind review --records ${r.id}`)})`);
    }
  }
  lines.push('  Consent:');
  if (v.consents.length === 0) lines.push('    none given');
  for (const c of v.consents) {
    const state =
      c.state === 'live'
        ? `live until ${day(c.expiresAt)}`
        : c.state === 'withdrawn'
          ? `withdrawn ${day(c.withdrawnAt!)}`
          : `expired ${day(c.expiresAt)}`;
    const extra = [
      c.share ? 'may share it' : 'no sharing',
      c.sale ? 'may sell it' : 'no sale',
      ...(c.parental === undefined ? [] : [parentalText(c.parental)]),
    ].join(', ');
    lines.push(
      `    ✓ ${v.name} may use your ${lowerLabels(c.categories)} for ${lowerLabels(c.purposes)} (${c.jurisdiction}; ${extra}): ${state}`,
    );
  }
  lines.push(`  Opt-outs: ✓ ${optoutText('sale', v.prefs.sale)}; ${optoutText('sharing', v.prefs.share)}`);
  if (v.prefs.age !== undefined) lines.push(`  Age: ✓ ${ageText(v.prefs.age, v.name)}`);
  lines.push('  Requests:');
  if (v.requests.length === 0) lines.push('    none');
  for (const r of v.requests) {
    const extended =
      r.originalDeadline === null
        ? ''
        : ` (extended from ${day(r.originalDeadline)}: ${extendReasonText(r.extensionReason ?? '')})`;
    const closed = r.reason === null ? '' : `: ${rejectReasonText(r.reason)}`;
    // A fulfilled restriction or objection holds until the customer lifts it.
    const pause =
      r.status !== 'fulfilled' || (r.kind !== 'restrict' && r.kind !== 'object')
        ? ''
        : r.liftedAt !== undefined
          ? `; lifted ${day(r.liftedAt)}`
          : `; in force (to lift it: ${cliCommand(`request lift --org ${v.org} --request ${r.id}`)})`;
    const ack =
      r.acknowledgedAt !== undefined
        ? `; receipt confirmed ${day(r.acknowledgedAt)}`
        : r.ackDeadline !== undefined && r.status === 'open'
          ? `; receipt to be confirmed by ${day(r.ackDeadline)}`
          : '';
    const review = r.reviewOutcome === undefined ? '' : `: ${reviewOutcomeText(r.reviewOutcome)}`;
    lines.push(
      `    ✓ ${requestNoun(r.kind)} (${r.kind}, ${r.jurisdiction}), asked ${day(r.openedAt)}, due ${day(r.deadline)}${extended}: ${deadlineText(r, now)}${closed}${review}${ack}${pause}`,
    );
    lines.push(...evidenceLines(r, v));
    if (r.status === 'rejected' || (r.status === 'open' && now > r.deadline))
      lines.push(`      ${complaintText(r.jurisdiction)}`);
  }
  for (const n of v.incidents) {
    lines.push(
      `  ✓ Data breach: ${v.name} told you on ${day(n.at)} of a breach it detected ${day(n.detectedAt)} (${n.nature.join(', ')}) of your ${lowerLabels(n.categories)}; risk ${n.risk}`,
    );
  }
  lines.push('  Timeline:');
  if (v.events.length === 0) lines.push('    nothing yet');
  for (const e of [...v.events].reverse()) lines.push(`    ✓ ${time(e.at)}  ${e.sentence}: ${e.outcome.text}`);
  return lines;
}
