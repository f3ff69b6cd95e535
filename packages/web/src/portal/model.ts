/**
 * The customer's view of each company, built only from verified reports: what the company holds,
 * the consents and opt-outs, the requests with their deadlines, and every use and share. One
 * relationship (pairwise pseudonym) per member org; a report that fails verification shows nothing
 * but the failure.
 */
import { dpvTerm, labelOf } from '@custos/protocol/consent';
import type { SignedTx, SubjectReport } from '@custos/protocol/ledger';
import {
  type ConsentGrant,
  type DataRecord,
  type DataRequest,
  fetchHistory,
  type Preferences,
  signedBy,
  type VerifiedHistory,
  verifyHistory,
  type Wallet,
} from '@custos/sdk';
import { client } from '../lib/api.js';
import { orgName, orgOfKey, type PinnedTrust } from '../lib/trust.js';
import { eventSentence } from '../lib/words.js';

export interface RecordView extends DataRecord {
  key: string;
  /** The report pages holding its proof: a copy shared to another org is proven under the source's pseudonym. */
  pages: SubjectReport[];
  label: string;
  description: string;
  state: 'kept' | 'past-retention' | 'erased' | 'must-erase';
}

export interface ConsentView extends ConsentGrant {
  key: string;
  state: 'live' | 'withdrawn' | 'expired';
}

export interface RequestView extends DataRequest {
  key: string;
  overdue: boolean;
}

export interface EventView {
  txId: string;
  height: number;
  index: number;
  at: number;
  type: string;
  sentence: string;
  code: string;
  /** The org that signed, or undefined for the customer. */
  actor: string | undefined;
  tx: SignedTx;
}

export interface OrgView {
  org: string;
  name: string;
  did: string;
  records: RecordView[];
  consents: ConsentView[];
  prefs: Preferences;
  prefKey: string;
  requests: RequestView[];
  events: EventView[];
  pages: SubjectReport[];
  history: VerifiedHistory;
  /** Anything on the ledger about this relationship at all. */
  active: boolean;
  /** Records about this pseudonym held by other orgs (copies received through a share). */
  foreign: RecordView[];
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
  // A copy an org received through a share names the pseudonym the customer has with the sender:
  // it is proven in that relationship's report, and shown with the org that holds it.
  const byOrg = new Map(results.flatMap((r) => (r.view === undefined ? [] : [[r.org, r.view] as const])));
  for (const r of results) {
    if (r.view === undefined) continue;
    for (const rec of r.view.foreign) {
      const target = byOrg.get(rec.org);
      if (target === undefined || target.records.some((x) => x.id === rec.id)) continue;
      target.records.push(rec);
      target.active = true;
    }
  }
  return results;
}

function buildView(
  org: string,
  did: string,
  pages: SubjectReport[],
  history: VerifiedHistory,
  trust: PinnedTrust,
  now: number,
): OrgView {
  const records: RecordView[] = [];
  const foreign: RecordView[] = [];
  const consents: ConsentView[] = [];
  const requests: RequestView[] = [];
  let prefs: Preferences = { sale: null, share: null };
  const prefKey = `pref/${org}/${did}`;
  for (const { key, value } of history.facts) {
    if (value === null) continue;
    const [kind, factOrg] = key.split('/');
    if (kind === 'consent' && factOrg === org) {
      for (const g of (value as unknown as { grants: ConsentGrant[] }).grants) {
        const state = g.withdrawnAt !== null ? 'withdrawn' : g.expiresAt <= now ? 'expired' : 'live';
        consents.push({ ...g, key, state });
      }
    } else if (kind === 'pref' && factOrg === org) {
      prefs = value as unknown as Preferences;
    } else if (kind === 'record') {
      const r = value as unknown as DataRecord;
      const term = labelOf(r.category);
      const state =
        r.erasedAt !== null
          ? 'erased'
          : r.erasureRequestedAt !== null
            ? 'must-erase'
            : r.retentionUntil <= now
              ? 'past-retention'
              : 'kept';
      const view: RecordView = {
        ...r,
        key,
        pages,
        label: term,
        description: dpvTerm(r.category)?.description ?? '',
        state,
      };
      (r.org === org ? records : foreign).push(view);
    } else if (kind === 'request') {
      const r = value as unknown as DataRequest;
      if (r.org !== org) continue;
      requests.push({ ...r, key, overdue: r.status === 'open' && now > r.deadline });
    }
  }
  const byRecord = new Map(records.map((r) => [r.id, r.label]));
  const byRequest = new Map(requests.map((r) => [r.id, r.kind]));
  const events: EventView[] = history.events.map((e) => {
    const actor = orgOfKey(trust, e.tx.body.signer);
    return {
      txId: e.entry.txId,
      height: e.entry.height,
      index: e.entry.index,
      // The block time the log entry proves; the signer's own clock only for entries without one.
      at: (e.entry as { time?: number }).time ?? e.tx.body.createdAt,
      type: e.tx.body.type,
      code: e.entry.code,
      actor,
      tx: e.tx,
      sentence: eventSentence(e.tx, {
        name: (id) => orgName(trust, id),
        actor,
        category: (id) => byRecord.get(id),
        requestKind: (id) => byRequest.get(id),
        subject: 'you',
        code: e.entry.code,
      }),
    };
  });
  events.sort((a, b) => b.height - a.height || b.index - a.index);
  records.sort(
    (a, b) => Number(a.state === 'erased') - Number(b.state === 'erased') || a.registeredAt - b.registeredAt,
  );
  consents.sort((a, b) => Number(b.state === 'live') - Number(a.state === 'live') || b.grantedAt - a.grantedAt);
  requests.sort((a, b) => Number(b.status === 'open') - Number(a.status === 'open') || a.deadline - b.deadline);
  return {
    org,
    name: orgName(trust, org),
    did,
    records,
    consents,
    prefs,
    prefKey,
    requests,
    events,
    pages,
    history,
    foreign,
    active:
      records.length > 0 || consents.length > 0 || requests.length > 0 || prefs.sale !== null || prefs.share !== null,
  };
}

/** A consent toggle: one purpose, the categories it needs, and whether a live consent covers it. */
export interface PurposeToggle {
  purpose: string;
  label: string;
  description: string;
  categories: string[];
  on: boolean;
  live: ConsentView[];
}

/** One toggle per purpose the company asks consent for (declared on a record) or holds a consent for. */
export function purposeToggles(v: OrgView): PurposeToggle[] {
  const needs = new Map<string, Set<string>>();
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
    return { purpose, label: labelOf(purpose), description: dpvTerm(purpose)?.description ?? '', categories, on, live };
  });
}
