/**
 * What the privacy-risk model reads of one org, collected once from the ledger state and recent
 * blocks, and the model's inputs at any time of the chain's history from it (docs/risk.md,
 * "Inputs" and "Trend"): each record's registration, retention and erasure times, each request's
 * opening, deadline and closing, the refused uses and shares per block. Counts leave this module,
 * never a subject or a value.
 */
import { DPV_CATEGORIES } from '@custos/protocol/consent';
import type { ConsentGrant, DataRecord, DataRequest, Incident, IncidentNotice } from '@custos/protocol/ledger';
import type { ContractRisk, InputSource, RiskInputs } from '@custos/protocol/risk';
import { CODE_PREFIX, type ContractRecord, INFO_PREFIX } from '../modules/contract-state.js';
import type { CustosNode } from '../node.js';

/** Blocks scanned for refused uses and shares: the most recent ones, as the console did. */
export const RISK_SCAN_BLOCKS = 2_000;
const PAGE = 500;

export const SENSITIVE = new Set(DPV_CATEGORIES.filter((c) => c.sensitive).map((c) => c.code));

/** Every state row under a prefix, a page at a time. */
export function* rows(node: CustosNode, prefix: string): Generator<{ key: string; value: string }> {
  let after: string | undefined;
  for (;;) {
    const page = node.store.listState(prefix, after, PAGE);
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.key;
  }
}

interface ScoreLine {
  rule: string;
  likelihoodPct: number;
  impactEur: number;
}

/** The contracts in force and the score lines of their risk report (recorded at `contract.propose`). */
function contractsInForce(node: CustosNode): ContractRisk[] {
  const out: ContractRisk[] = [];
  for (const row of rows(node, INFO_PREFIX)) {
    const c = JSON.parse(row.value) as ContractRecord;
    if (c.status !== 'active' || c.digest === null) continue;
    const code = node.store.getState(`${CODE_PREFIX}${c.digest}`);
    const risk =
      code === undefined ? undefined : (JSON.parse(code) as { risk?: { score?: { basis?: ScoreLine[] } } }).risk;
    const lines = (risk?.score?.basis ?? []).map((l) => ({
      rule: l.rule,
      likelihoodPct: l.likelihoodPct,
      impactEur: l.impactEur,
    }));
    out.push({ id: c.id, lines });
  }
  return out;
}

type RecordFact = Pick<DataRecord, 'subject' | 'category' | 'registeredAt' | 'retentionUntil' | 'erasedAt'> & {
  copies: number;
  /** On a copy the org holds: when each obligation its source put on it arose, was due and was met. */
  obligations: { at: number; due: number; doneAt: number | null }[];
};
type IncidentFact = Pick<Incident, 'openedAt' | 'closedAt' | 'risk' | 'authorityDeadline' | 'authorityNotifiedAt'> & {
  /** The customers it may affect (the register's `affected` rule), whether notified or not. */
  affected: Set<string>;
  /** Each notice (Art. 34): to whom, and when, so a past height counts the notices made by then. */
  notices: { subject: string; at: number }[];
};
type RequestFact = Pick<DataRequest, 'id' | 'kind' | 'jurisdiction' | 'openedAt' | 'deadline' | 'status' | 'closedAt'>;

/** A refused use or share, by the height of its block. */
interface Refusal {
  height: number;
  kind: 'access' | 'share' | 'optout';
}

export interface RiskFacts {
  org: string;
  height: number;
  records: RecordFact[];
  requests: RequestFact[];
  incidents: IncidentFact[];
  /** Per request id, the time of its earliest system step (connectors) that is failed now. */
  failedSteps: Map<string, number>;
  ccpaSubjects: Set<string>;
  refusals: Refusal[];
  fromHeight: number;
  contracts: ContractRisk[];
}

/** Reads the facts of `org` at the node's latest height. */
export function riskFacts(node: CustosNode, org: string, scanBlocks = RISK_SCAN_BLOCKS): RiskFacts {
  const height = node.latest().height;
  const records: RecordFact[] = [];
  for (const row of rows(node, `record/${org}/`)) {
    const r = JSON.parse(row.value) as DataRecord;
    records.push({
      subject: r.subject,
      category: r.category,
      registeredAt: r.registeredAt,
      retentionUntil: r.retentionUntil,
      erasedAt: r.erasedAt,
      copies: r.copies.length,
      obligations: (r.obligations ?? []).map((o) => ({ at: o.at, due: o.due, doneAt: o.doneAt })),
    });
  }
  const ccpaSubjects = new Set<string>();
  for (const row of rows(node, `consent/${org}/`)) {
    const v = JSON.parse(row.value) as { grants: ConsentGrant[] };
    if (v.grants.some((g) => g.jurisdiction === 'CCPA')) ccpaSubjects.add(row.key.slice(`consent/${org}/`.length));
  }
  const requests: RequestFact[] = [];
  for (const row of rows(node, `request/${org}/`)) {
    const r = JSON.parse(row.value) as DataRequest;
    if (r.jurisdiction === 'CCPA') ccpaSubjects.add(r.subject);
    requests.push({
      id: r.id,
      kind: r.kind,
      jurisdiction: r.jurisdiction,
      openedAt: r.openedAt,
      deadline: r.deadline,
      status: r.status,
      closedAt: r.closedAt,
    });
  }
  // The register of breaches: the incidents themselves, not the notices under them (`.../n/<did>`).
  const incidents = new Map<string, IncidentFact>();
  const notices: IncidentNotice[] = [];
  for (const row of rows(node, `incident/${org}/`)) {
    if (row.key.split('/').length !== 3) {
      notices.push(JSON.parse(row.value) as IncidentNotice);
      continue;
    }
    const i = JSON.parse(row.value) as Incident;
    // As GET .../incidents/:id/affected: a record in one of its categories, registered before it
    // was opened and not erased before it was detected.
    const affected = new Set(
      records
        .filter(
          (r) =>
            i.categories.includes(r.category) &&
            r.registeredAt <= i.openedAt &&
            (r.erasedAt === null || r.erasedAt >= i.detectedAt),
        )
        .map((r) => r.subject),
    );
    incidents.set(i.id, {
      openedAt: i.openedAt,
      closedAt: i.closedAt,
      risk: i.risk,
      authorityDeadline: i.authorityDeadline,
      authorityNotifiedAt: i.authorityNotifiedAt,
      affected,
      notices: [],
    });
  }
  for (const n of notices) incidents.get(n.incident)?.notices.push({ subject: n.subject, at: n.at });
  // Steps in the org's own systems that failed and were not re-run since (a done step replaces it).
  const failedSteps = new Map<string, number>();
  for (const row of rows(node, `reqstep/${org}/`)) {
    const step = JSON.parse(row.value) as { request: string; outcome: string; time: number };
    if (step.outcome !== 'failed') continue;
    failedSteps.set(step.request, Math.min(step.time, failedSteps.get(step.request) ?? step.time));
  }
  // Uses and shares the ledger refused, in the most recent blocks, among transactions the org signed.
  const fromHeight = Math.max(1, height - scanBlocks + 1);
  const signerIsOrg = new Map<string, boolean>();
  const isOrg = (did: string) => {
    let v = signerIsOrg.get(did);
    if (v === undefined) {
      v = node.store.getState(`memberkey/${did}`) === JSON.stringify(org);
      signerIsOrg.set(did, v);
    }
    return v;
  };
  const refusals: Refusal[] = [];
  for (let h = fromHeight; h <= height; h++) {
    const b = node.store.getBlock(h);
    if (b === null) continue;
    b.txs.forEach((tx, i) => {
      const code = b.results[i] ?? 'OK';
      if (code === 'OK' || tx === null || !isOrg(tx.body.signer)) return;
      if (tx.body.type === 'data.access') refusals.push({ height: h, kind: 'access' });
      else if (tx.body.type === 'data.share') {
        if (code === 'OPTED_OUT') refusals.push({ height: h, kind: 'optout' });
        else if (code === 'NO_LAWFUL_BASIS') refusals.push({ height: h, kind: 'share' });
      }
    });
  }
  return {
    org,
    height,
    records,
    requests,
    incidents: [...incidents.values()],
    failedSteps,
    ccpaSubjects,
    refusals,
    fromHeight,
    contracts: contractsInForce(node),
  };
}

/**
 * The model's inputs as they stood at `height` (block time `time`): records registered by then and
 * not erased by then, requests opened by then, refusals up to that block. Copies and contracts are
 * today's (the state keeps no history of them): docs/risk.md, "Limits".
 */
export function inputsAt(f: RiskFacts, height: number, time: number, checkpoint: RiskInputs['checkpoint']): RiskInputs {
  const cats = new Map<string, { records: number; pastRetention: number }>();
  const subjects = new Set<string>();
  let erasedRecords = 0;
  let onwardCopies = 0;
  let overdueCopies = 0;
  for (const r of f.records) {
    if (r.registeredAt > time) continue;
    // A copy still held past the due date its source's change set, not met by then.
    const pending = (o: RecordFact['obligations'][number]) => o.at <= time && (o.doneAt === null || o.doneAt > time);
    if (r.obligations.some((o) => pending(o) && time > o.due)) overdueCopies++;
    if (r.erasedAt !== null && r.erasedAt <= time) {
      erasedRecords++;
      continue;
    }
    subjects.add(r.subject);
    onwardCopies += r.copies;
    const c = cats.get(r.category) ?? { records: 0, pastRetention: 0 };
    c.records++;
    if (r.retentionUntil <= time) c.pastRetention++;
    cats.set(r.category, c);
  }
  let overdueGdpr = 0;
  let overdueCcpa = 0;
  let overdueOptOuts = 0;
  let lateAnswers = 0;
  let failedSteps = 0;
  for (const r of f.requests) {
    if (r.openedAt > time) continue;
    const open = r.closedAt === null || r.closedAt > time;
    const failedAt = f.failedSteps.get(r.id);
    if (open && failedAt !== undefined && failedAt <= time) failedSteps++;
    if (open && time > r.deadline) {
      if (r.jurisdiction === 'GDPR') overdueGdpr++;
      else overdueCcpa++;
      if (r.kind === 'optout') overdueOptOuts++;
    } else if (!open && r.closedAt! > r.deadline) lateAnswers++;
  }
  let openIncidents = 0;
  let lateAuthority = 0;
  let breachSubjects = 0;
  for (const i of f.incidents) {
    if (i.openedAt > time) continue;
    const open = i.closedAt === null || i.closedAt > time;
    if (open) {
      openIncidents++;
      // Those it may affect, told or not yet, and anyone else told of it by then (a notice names any
      // customer of the org).
      const told = i.notices.filter((n) => n.at <= time && !i.affected.has(n.subject)).length;
      breachSubjects += i.affected.size + told;
    }
    const told = i.authorityNotifiedAt !== null && i.authorityNotifiedAt <= time ? i.authorityNotifiedAt : null;
    if (i.risk !== 'unlikely' && (told === null ? open && time > i.authorityDeadline : told > i.authorityDeadline)) {
      lateAuthority++;
    }
  }
  let refusedAccesses = 0;
  let refusedShares = 0;
  let optOutsRefused = 0;
  for (const x of f.refusals) {
    if (x.height > height) continue;
    if (x.kind === 'access') refusedAccesses++;
    else if (x.kind === 'share') refusedShares++;
    else optOutsRefused++;
  }
  const everyone = new Set([...subjects, ...f.ccpaSubjects]);
  const org = f.org;
  const state = (prefix: string) => `state rows ${prefix}* at height ${f.height}`;
  const blocks = `blocks ${f.fromHeight}-${height}: result codes of the org's data.access and data.share`;
  const sources: InputSource[] = [
    { input: 'categories', query: state(`record/${org}/`), height },
    { input: 'subjects', query: state(`record/${org}/`), height },
    { input: 'erasedRecords', query: state(`record/${org}/`), height },
    { input: 'onwardCopies', query: `${state(`record/${org}/`)}: copies of live records`, height },
    {
      input: 'overdueCopies',
      query: `${state(`record/${org}/`)}: copies held with an obligation from their source pending past its due date`,
      height,
    },
    { input: 'openIncidents', query: `${state(`incident/${org}/`)}: breaches not closed`, height },
    {
      input: 'lateAuthority',
      query: `${state(`incident/${org}/`)}: authority told after the 72 hours, or not told and past them`,
      height,
    },
    {
      input: 'breachSubjects',
      query: `${state(`incident/${org}/`)} and ${state(`record/${org}/`)}: customers the open breaches may affect, notified or not, and others notified of them by then`,
      height,
    },
    { input: 'ccpaShare', query: `${state(`consent/${org}/`)} and ${state(`request/${org}/`)}`, height },
    { input: 'overdueGdpr', query: state(`request/${org}/`), height },
    { input: 'overdueCcpa', query: state(`request/${org}/`), height },
    { input: 'overdueOptOuts', query: state(`request/${org}/`), height },
    { input: 'lateAnswers', query: state(`request/${org}/`), height },
    { input: 'failedSteps', query: `${state(`reqstep/${org}/`)}: failed steps of open requests`, height },
    { input: 'refusedAccesses', query: blocks, height },
    { input: 'refusedShares', query: blocks, height },
    { input: 'optOutsRefused', query: blocks, height },
    { input: 'contracts', query: `${state(INFO_PREFIX)} (active) and their ${CODE_PREFIX} risk reports`, height },
  ];
  return {
    org,
    height,
    time,
    checkpoint,
    categories: [...cats]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([category, c]) => ({ category, ...c, sensitive: SENSITIVE.has(category) })),
    subjects: subjects.size,
    ccpaShare: everyone.size === 0 ? 0 : [...everyone].filter((s) => f.ccpaSubjects.has(s)).length / everyone.size,
    erasedRecords,
    onwardCopies,
    overdueCopies,
    openIncidents,
    lateAuthority,
    breachSubjects,
    overdueGdpr,
    overdueCcpa,
    overdueOptOuts,
    lateAnswers,
    failedSteps,
    refusedAccesses,
    refusedShares,
    optOutsRefused,
    scan: { fromHeight: f.fromHeight, toHeight: height, complete: f.fromHeight <= 1 },
    contracts: f.contracts,
    sources,
  };
}
