/**
 * The customer's view of each company, built only from verified reports (`companyView` of
 * `@custos/sdk/views`, shared with the CLI), with the report pages that prove each fact. One
 * relationship (pairwise pseudonym) per member org; a report that fails verification shows nothing
 * but the failure.
 */
import { dpvTerm, labelOf } from '@custos/protocol/consent';
import type { SubjectReport } from '@custos/protocol/ledger';
import { fetchHistory, signedBy, type VerifiedHistory, verifyHistory, type Wallet } from '@custos/sdk';
import * as views from '@custos/sdk/views';
import { client } from '../lib/api.js';
import { BROWSER_FORMAT } from '../lib/format.js';
import type { PinnedTrust } from '../lib/trust.js';

export interface RecordView extends views.RecordView {
  /** The report pages holding its proof: a copy shared to another org is proven under the source's pseudonym. */
  pages: SubjectReport[];
}

export interface OrgView extends views.CompanyView {
  records: RecordView[];
  foreign: RecordView[];
  pages: SubjectReport[];
  history: VerifiedHistory;
}

export type OrgResult = { org: string; name: string; did: string; view?: OrgView; error?: unknown };

/** Loads and verifies the report of every relationship of the wallet on the pinned chain. */
export async function loadPortal(wallet: Wallet, trust: PinnedTrust, signal?: AbortSignal): Promise<OrgResult[]> {
  const now = Date.now();
  const results = await Promise.all(
    trust.members.map(async (m): Promise<OrgResult> => {
      const { did, signer } = wallet.relationship(trust.chainId, m.id);
      const base = { org: m.id, name: m.name, did };
      try {
        // The report is private: the node answers only a request signed with this pseudonym's key.
        const sign = signedBy(signer);
        const pages = await fetchHistory(client, did, signal === undefined ? { sign } : { signal, sign });
        const history = verifyHistory(pages, trust, did);
        return { ...base, view: buildView(m.id, did, pages, history, trust, now) };
      } catch (error) {
        if (signal?.aborted === true) throw error;
        return { ...base, error };
      }
    }),
  );
  views.placeCopies(results.flatMap((r) => (r.view === undefined ? [] : [r.view])));
  return results;
}

/** One company's view, each record with the pages that prove it; `format` sets how dates read. */
export function buildView(
  org: string,
  did: string,
  pages: SubjectReport[],
  history: VerifiedHistory,
  trust: PinnedTrust,
  now: number,
  format: views.ViewFormat = BROWSER_FORMAT,
): OrgView {
  const v = views.companyView({ org, did, history, trust, now, format });
  const withPages = (r: views.RecordView): RecordView => ({ ...r, pages });
  return { ...v, records: v.records.map(withPages), foreign: v.foreign.map(withPages), pages, history };
}

/** A consent toggle: one purpose, the categories it needs, and whether a live consent covers it. */
export interface PurposeToggle {
  purpose: string;
  label: string;
  description: string;
  categories: string[];
  on: boolean;
  live: views.ConsentView[];
  /** The company decides by machine for this purpose (GDPR Art. 22): consent to it must be explicit. */
  automated: boolean;
}

/** One toggle per purpose the company asks consent for (declared on a record) or holds a consent for. */
export function purposeToggles(v: OrgView): PurposeToggle[] {
  const needs = new Map<string, Set<string>>();
  const automated = new Set<string>();
  const need = (p: string) => {
    const known = needs.get(p);
    if (known !== undefined) return known;
    const s = new Set<string>();
    needs.set(p, s);
    return s;
  };
  for (const r of v.records) {
    if (r.state === 'erased') continue;
    for (const [p, basis] of Object.entries(r.purposes)) if (basis === 'consent') need(p).add(r.category);
    for (const p of r.automated ?? []) automated.add(p);
  }
  for (const c of v.consents) {
    if (c.state !== 'live') continue;
    for (const p of c.purposes) {
      const s = need(p);
      if (s.size === 0) for (const cat of c.categories) s.add(cat);
    }
  }
  return [...needs].map(([purpose, cats]) => {
    const categories = [...cats];
    const live = v.consents.filter((c) => c.state === 'live' && c.purposes.includes(purpose));
    const on = live.length > 0 && categories.every((cat) => live.some((c) => c.categories.includes(cat)));
    const description = dpvTerm(purpose)?.description ?? '';
    return { purpose, label: labelOf(purpose), description, categories, on, live, automated: automated.has(purpose) };
  });
}
