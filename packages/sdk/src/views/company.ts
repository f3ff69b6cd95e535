/**
 * The customer's view of one company, built only from a verified history (`verifyHistory`): what
 * the company holds, the consents and opt-outs, the requests with their deadlines, and every event
 * in a sentence. One view per relationship (pairwise pseudonym); pure, so the CLI and the web portal
 * build the same view from the same report.
 */
import { dpvTerm, labelOf } from '@custos/protocol/consent';
import type {
  ConsentGrant,
  DataRecord,
  DataRequest,
  IncidentNotice,
  Preferences,
  SignedTx,
} from '@custos/protocol/ledger';
import type { TrustAnchor, VerifiedHistory } from '../history.js';
import { eventSentence } from './sentences.js';
import { orgName, orgOfKey } from './trust.js';
import { ISO_FORMAT, outcomeText, sourceText, type Tone, type ViewFormat } from './words.js';

export type RecordState = 'kept' | 'past-retention' | 'erased' | 'must-erase';

export interface RecordView extends DataRecord {
  /** Its state key, for the proof. */
  key: string;
  label: string;
  description: string;
  /** Where it came from: "you gave it to them", "received from Bank". */
  sourceText: string;
  state: RecordState;
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
  /** The block time the log entry proves (the signer's own clock only for an entry without one). */
  at: number;
  type: string;
  sentence: string;
  code: string;
  /** "Allowed", "Done", or the refusal. */
  outcome: { text: string; tone: Tone };
  /** The org that signed, or undefined for the customer (or their guardian). */
  actor: string | undefined;
  /** The key of the customer's guardian when the guardian signed (a consent withdrawn for a child). */
  guardian?: string;
  tx: SignedTx;
}

export interface CompanyView {
  org: string;
  name: string;
  did: string;
  records: RecordView[];
  consents: ConsentView[];
  prefs: Preferences;
  prefKey: string;
  requests: RequestView[];
  /** Personal data breaches the company told the customer of (GDPR Art. 34), newest first. */
  incidents: (IncidentNotice & { key: string })[];
  /** Newest first. */
  events: EventView[];
  /** Anything on the ledger about this relationship at all. */
  active: boolean;
  /** Records about this pseudonym held by other orgs (copies received through a share). */
  foreign: RecordView[];
}

export interface CompanyViewInput {
  /** The org of the relationship, and the customer's pseudonym towards it. */
  org: string;
  did: string;
  /** The verified history of `did` (`verifyHistory`): its facts and events are all a view needs. */
  history: Pick<VerifiedHistory, 'facts' | 'events'>;
  trust: TrustAnchor;
  now: number;
  format?: ViewFormat;
}

/** The state of a record as the customer should read it. */
export function recordState(r: DataRecord, now: number): RecordState {
  if (r.erasedAt !== null) return 'erased';
  if (r.erasureRequestedAt !== null) return 'must-erase';
  return r.retentionUntil <= now ? 'past-retention' : 'kept';
}

/** One company as the customer sees it through one pseudonym. */
export function companyView({ org, did, history, trust, now, format = ISO_FORMAT }: CompanyViewInput): CompanyView {
  const name = (id: string) => orgName(trust, id);
  const records: RecordView[] = [];
  const foreign: RecordView[] = [];
  const consents: ConsentView[] = [];
  const requests: RequestView[] = [];
  const incidents: (IncidentNotice & { key: string })[] = [];
  let prefs: Preferences = { sale: null, share: null };
  const prefKey = `pref/${org}/${did}`;
  for (const { key, value } of history.facts) {
    if (value === null) continue;
    const [kind, factOrg, subject] = key.split('/');
    if (kind === 'consent' && factOrg === org && subject === did) {
      for (const g of (value as unknown as { grants: ConsentGrant[] }).grants) {
        const state = g.withdrawnAt !== null ? 'withdrawn' : g.expiresAt <= now ? 'expired' : 'live';
        consents.push({ ...g, key, state });
      }
    } else if (kind === 'pref' && key === prefKey) {
      prefs = value as unknown as Preferences;
    } else if (kind === 'record') {
      const r = value as unknown as DataRecord;
      // A proven fact, but only this pseudonym's records belong in its view.
      if (r.subject !== did) continue;
      const view: RecordView = {
        ...r,
        key,
        label: labelOf(r.category),
        description: dpvTerm(r.category)?.description ?? '',
        sourceText: sourceText(r, name),
        state: recordState(r, now),
      };
      (r.org === org ? records : foreign).push(view);
    } else if (kind === 'request') {
      const r = value as unknown as DataRequest;
      if (r.org !== org || r.subject !== did) continue;
      requests.push({ ...r, key, overdue: r.status === 'open' && now > r.deadline });
    } else if (kind === 'incident') {
      const n = value as unknown as IncidentNotice;
      if (n.org === org && n.subject === did) incidents.push({ ...n, key });
    }
  }
  // Every record of the pseudonym names its category, a copy held elsewhere too.
  const byRecord = new Map([...records, ...foreign].map((r) => [r.id, r]));
  const byRequest = new Map(requests.map((r) => [r.id, r]));
  const events: EventView[] = history.events.map((e) => {
    const b = e.tx.body;
    // A guardian names the child's pseudonym in a consent withdrawal (GDPR Art. 8); their key is no member's.
    const guardian =
      b.type === 'consent.withdraw' &&
      b.args.subject === did &&
      b.signer !== did &&
      orgOfKey(trust, b.signer) === undefined
        ? b.signer
        : undefined;
    const actor =
      guardian === undefined ? actorOf(b.signer, b.args, did, trust, byRecord, byRequest, e.entry.txId) : undefined;
    return {
      txId: e.entry.txId,
      height: e.entry.height,
      index: e.entry.index,
      at: (e.entry as { time?: number }).time ?? b.createdAt,
      type: b.type,
      code: e.entry.code,
      outcome: outcomeText(b.type, e.entry.code, 'you'),
      actor,
      ...(guardian === undefined ? {} : { guardian }),
      tx: e.tx,
      sentence: eventSentence(e.tx, {
        name,
        actor,
        category: (id) => byRecord.get(id)?.label,
        requestKind: (id) => byRequest.get(id)?.kind,
        subject: 'you',
        code: e.entry.code,
        format,
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
    name: name(org),
    did,
    records,
    consents,
    prefs,
    prefKey,
    requests,
    incidents: incidents.sort((a, b) => b.at - a.at),
    events,
    foreign,
    active:
      records.length > 0 || consents.length > 0 || requests.length > 0 || prefs.sale !== null || prefs.share !== null,
  };
}

/**
 * Who signed an event: undefined for the customer; else the member owning the key, or (a key the
 * trust does not know, e.g. rotated in without verified epochs) the org of the record or request
 * it acted on.
 */
function actorOf(
  signer: string,
  args: Record<string, unknown>,
  did: string,
  trust: TrustAnchor,
  records: Map<string, DataRecord>,
  requests: Map<string, DataRequest>,
  txId: string,
): string | undefined {
  if (signer === did) return undefined;
  const ref = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : '');
  return (
    orgOfKey(trust, signer) ??
    records.get(ref('record') || txId)?.org ??
    requests.get(ref('request'))?.org ??
    'a member'
  );
}

/**
 * A copy an org received through a share names the pseudonym the customer has with the sender: it
 * is proven in that relationship's history, and shown with the org that holds it.
 */
export function placeCopies<
  R extends { id: string; org: string },
  V extends { org: string; records: R[]; foreign: R[]; active: boolean },
>(views: readonly V[]): void {
  const byOrg = new Map(views.map((v) => [v.org, v]));
  for (const v of views) {
    for (const rec of v.foreign) {
      const target = byOrg.get(rec.org);
      if (target === undefined || target.records.some((x) => x.id === rec.id)) continue;
      target.records.push(rec);
      target.active = true;
    }
  }
}
