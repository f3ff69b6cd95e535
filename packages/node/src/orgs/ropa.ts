/**
 * An org's records of processing activities (GDPR Art. 30) and the draft of its DPIA (Art. 35),
 * computed from ledger facts at the node's latest height (docs/customer-data.md, "The consortium's
 * own obligations"): its records by purpose, their shares, its profile's regions and its
 * recipients', the data map in force, and the risk model's inputs (docs/risk.md). Counts and codes
 * leave this module, never a subject.
 */
import {
  type DataRecord,
  type Dpia,
  type DpiaRisk,
  isEea,
  type LawfulBasis,
  type MemberProfile,
  type Ropa,
  type RopaActivity,
  SECURITY_MEASURES,
  type Share,
} from '@custos/protocol/ledger';
import { type DataMapEntry, dataMapKey } from '../modules/datamap.js';
import { profileKey } from '../modules/profile.js';
import type { CustosNode } from '../node.js';
import { rows, SENSITIVE } from './risk-facts.js';
import { riskInputsOf } from './risk-inputs.js';

const DAY = 86_400_000;

function stateOf<T>(node: CustosNode, key: string): T | undefined {
  const v = node.store.getState(key);
  return v === undefined ? undefined : (JSON.parse(v) as T);
}

const outsideEea = (p: MemberProfile | undefined) => (p?.regions ?? []).filter((c) => !isEea(c));
const sorted = <T>(xs: Iterable<T>) => [...xs].sort();

interface Acc {
  categories: Set<string>;
  subjectCategories: Set<string>;
  bases: Set<LawfulBasis>;
  records: number;
  subjects: Set<string>;
  recipients: Map<string, { shares: number; sales: number }>;
  minDays: number;
  maxDays: number;
  pastRetention: number;
  automated: number;
}

/** The org's records of processing at the latest height. */
export function ropaOf(node: CustosNode, org: string): Ropa {
  const head = node.latest();
  const acts = new Map<string, Acc>();
  for (const row of rows(node, `record/${org}/`)) {
    const r = JSON.parse(row.value) as DataRecord;
    if (r.erasedAt !== null) continue;
    const days = Math.round((r.retentionUntil - r.registeredAt) / DAY);
    for (const [purpose, basis] of Object.entries(r.purposes)) {
      let a = acts.get(purpose);
      if (a === undefined) {
        a = {
          categories: new Set(),
          subjectCategories: new Set(),
          bases: new Set(),
          records: 0,
          subjects: new Set(),
          recipients: new Map(),
          minDays: days,
          maxDays: days,
          pastRetention: 0,
          automated: 0,
        };
        acts.set(purpose, a);
      }
      a.categories.add(r.category);
      a.subjectCategories.add(r.sourceRecord === null ? 'customers' : `customers of ${r.sourceRecord.org}`);
      a.bases.add(basis);
      a.records++;
      a.subjects.add(r.subject);
      a.minDays = Math.min(a.minDays, days);
      a.maxDays = Math.max(a.maxDays, days);
      if (r.retentionUntil <= head.time) a.pastRetention++;
      if (r.automated?.includes(purpose) === true) a.automated++;
    }
  }
  // Shares are filed by the record shared, each for one purpose.
  for (const row of rows(node, `share/${org}/`)) {
    const s = JSON.parse(row.value) as Share;
    const a = acts.get(s.purpose);
    if (a === undefined) continue;
    const x = a.recipients.get(s.recipient) ?? { shares: 0, sales: 0 };
    x.shares++;
    if (s.sale) x.sales++;
    a.recipients.set(s.recipient, x);
  }
  const controller = stateOf<MemberProfile>(node, profileKey(org)) ?? null;
  const map = stateOf<DataMapEntry>(node, dataMapKey(org));
  const own = outsideEea(controller ?? undefined);
  const activities: RopaActivity[] = sorted(acts.keys()).map((purpose) => {
    const a = acts.get(purpose)!;
    const recipients = sorted(a.recipients.keys()).map((o) => ({ org: o, ...a.recipients.get(o)! }));
    const transfers = [
      ...(own.length > 0 ? [{ via: 'own-peers', countries: own }] : []),
      ...recipients
        .map((r) => ({ via: r.org, countries: outsideEea(stateOf<MemberProfile>(node, profileKey(r.org))) }))
        .filter((t) => t.countries.length > 0),
    ];
    const categories = sorted(a.categories);
    return {
      purpose,
      categories,
      specialCategories: categories.filter((c) => SENSITIVE.has(c)),
      subjectCategories: sorted(a.subjectCategories),
      lawfulBases: sorted(a.bases),
      records: a.records,
      subjects: a.subjects.size,
      recipients,
      transfers,
      retentionDays: { min: a.minDays, max: a.maxDays },
      pastRetention: a.pastRetention,
      automated: a.automated,
    };
  });
  return {
    org,
    height: head.height,
    time: head.time,
    controller,
    dataMap: map === undefined ? null : { version: map.version, digest: map.digest, systems: map.systems },
    activities,
    securityMeasures: [...SECURITY_MEASURES],
  };
}

const sum = (xs: RopaActivity[], f: (a: RopaActivity) => number) => xs.reduce((n, a) => n + f(a), 0);

/** The DPIA draft: the RoPA as its description, then necessity, risks (the risk model's inputs) and measures. */
export function dpiaOf(node: CustosNode, org: string): Dpia {
  const ropa = ropaOf(node, org);
  const { inputs } = riskInputsOf(node, org);
  const special = inputs.categories.filter((c) => c.sensitive).reduce((n, c) => n + c.records, 0);
  const past = inputs.categories.reduce((n, c) => n + c.pastRetention, 0);
  const automated = sum(ropa.activities, (a) => a.automated);
  const transfers = new Set(ropa.activities.flatMap((a) => a.transfers.flatMap((t) => t.countries))).size;
  const risk = (id: DpiaRisk['id'], count: number, text: string, source: string): DpiaRisk => ({
    id,
    count,
    present: count > 0,
    text,
    source,
  });
  // The risk model's inputs say which query gave each count.
  const from = (input: string) => inputs.sources.find((x) => x.input === input)?.query ?? '';
  const fromRopa = (what: string) =>
    `the records of processing (GET /v1/orgs/${org}/ropa) at height ${ropa.height}: ${what}`;
  return {
    org,
    height: ropa.height,
    time: ropa.time,
    status: 'draft',
    forTheDpo: [
      'the likelihood and severity of each risk to the people concerned',
      'the views of the people concerned or their representatives (Art. 35(9))',
      'whether the residual risk calls for prior consultation of the authority (Art. 36)',
      "the DPO's advice and the controller's sign-off (Art. 35(2))",
    ],
    description: ropa,
    necessity: ropa.activities.map((a) => ({
      purpose: a.purpose,
      lawfulBases: a.lawfulBases,
      retentionDays: a.retentionDays,
      records: a.records,
    })),
    risks: [
      risk('special-categories', special, 'Live records in special categories (Art. 9)', from('categories')),
      risk(
        'past-retention',
        past,
        'Live records kept past their retention period (Art. 5(1)(e))',
        `${from('categories')}: retention until at or before the block time`,
      ),
      risk(
        'uses-without-basis',
        inputs.refusedAccesses + inputs.refusedShares,
        `Uses and shares the ledger refused for want of a lawful basis (blocks ${inputs.scan.fromHeight}-${inputs.scan.toHeight})`,
        from('refusedAccesses'),
      ),
      risk(
        'automated-decisions',
        automated,
        'Records used for decisions solely by automated means (Art. 22)',
        fromRopa('records of activities whose purpose is an automated decision'),
      ),
      risk(
        'transfers',
        transfers,
        'Countries outside the EEA the data goes to (Chapter V)',
        fromRopa("the countries of the org's and its recipients' regions outside the EEA"),
      ),
      risk(
        'open-breaches',
        inputs.openIncidents,
        `Personal data breaches still open in the incident register (Arts. 33-34), ${inputs.breachSubjects} customers they may affect`,
        from('openIncidents'),
      ),
      risk(
        'overdue-copies',
        inputs.overdueCopies,
        "Copies received from other members kept past the due date of their source's erasure, correction or restriction (Arts. 17(2), 19)",
        from('overdueCopies'),
      ),
    ],
    measures: [...SECURITY_MEASURES],
  };
}
