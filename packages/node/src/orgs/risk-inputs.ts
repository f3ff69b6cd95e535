/**
 * The privacy-risk model's inputs for one org, read from this node's ledger state and recent blocks
 * at the latest height (docs/risk.md, "Inputs"): counts only, never a subject, a value or a salt.
 * The model itself is @custos/protocol/risk, the same code the console runs in the browser.
 */
import { DPV_CATEGORIES } from '@custos/protocol/consent';
import type { ConsentGrant, DataRecord, DataRequest } from '@custos/protocol/ledger';
import type { ContractRisk, InputSource, RiskInputs } from '@custos/protocol/risk';
import { CODE_PREFIX, type ContractRecord, INFO_PREFIX } from '../modules/contract-state.js';
import { isOverdue } from '../modules/request.js';
import type { CustosNode } from '../node.js';

/** Blocks scanned for refused uses and shares: the most recent ones, as the console does. */
export const RISK_SCAN_BLOCKS = 2_000;
const PAGE = 500;

const SENSITIVE = new Set(DPV_CATEGORIES.filter((c) => c.sensitive).map((c) => c.code));

/** Every state row under a prefix, a page at a time. */
function* rows(node: CustosNode, prefix: string): Generator<{ key: string; value: string }> {
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

/** The model's inputs for `org` at the node's latest height. */
export function riskInputsOf(node: CustosNode, org: string, scanBlocks = RISK_SCAN_BLOCKS): RiskInputs {
  const head = node.latest();
  const { height, time } = head;
  const stored = node.store.getHeader(height);
  const checkpoint = stored === null ? null : { height, hash: stored.hash, final: height <= node.latestFinal() };

  const cats = new Map<string, { records: number; pastRetention: number }>();
  const subjects = new Set<string>();
  let erasedRecords = 0;
  let onwardCopies = 0;
  for (const row of rows(node, `record/${org}/`)) {
    const r = JSON.parse(row.value) as DataRecord;
    if (r.erasedAt !== null) {
      erasedRecords++;
      continue;
    }
    subjects.add(r.subject);
    onwardCopies += r.copies.length;
    const c = cats.get(r.category) ?? { records: 0, pastRetention: 0 };
    c.records++;
    if (r.retentionUntil <= time) c.pastRetention++;
    cats.set(r.category, c);
  }

  const ccpa = new Set<string>();
  for (const row of rows(node, `consent/${org}/`)) {
    const v = JSON.parse(row.value) as { grants: ConsentGrant[] };
    if (v.grants.some((g) => g.jurisdiction === 'CCPA')) ccpa.add(row.key.slice(`consent/${org}/`.length));
  }
  let overdueGdpr = 0;
  let overdueCcpa = 0;
  let overdueOptOuts = 0;
  let lateAnswers = 0;
  for (const row of rows(node, `request/${org}/`)) {
    const r = JSON.parse(row.value) as DataRequest;
    if (r.jurisdiction === 'CCPA') ccpa.add(r.subject);
    if (isOverdue(r, time)) {
      if (r.jurisdiction === 'GDPR') overdueGdpr++;
      else overdueCcpa++;
      if (r.kind === 'optout') overdueOptOuts++;
    } else if (r.closedAt !== null && r.closedAt > r.deadline) lateAnswers++;
  }
  const everyone = new Set([...subjects, ...ccpa]);

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
  let refusedAccesses = 0;
  let refusedShares = 0;
  let optOutsRefused = 0;
  for (let h = fromHeight; h <= height; h++) {
    const b = node.store.getBlock(h);
    if (b === null) continue;
    b.txs.forEach((tx, i) => {
      const code = b.results[i] ?? 'OK';
      if (code === 'OK' || !isOrg(tx.body.signer)) return;
      if (tx.body.type === 'data.access') refusedAccesses++;
      else if (tx.body.type === 'data.share') {
        if (code === 'OPTED_OUT') optOutsRefused++;
        else if (code === 'NO_LAWFUL_BASIS') refusedShares++;
      }
    });
  }

  const state = (prefix: string) => `state rows ${prefix}* at height ${height}`;
  const blocks = `blocks ${fromHeight}-${height}: result codes of the org's data.access and data.share`;
  const sources: InputSource[] = [
    { input: 'categories', query: state(`record/${org}/`), height },
    { input: 'subjects', query: state(`record/${org}/`), height },
    { input: 'erasedRecords', query: state(`record/${org}/`), height },
    { input: 'onwardCopies', query: `${state(`record/${org}/`)}: copies of live records`, height },
    { input: 'ccpaShare', query: `${state(`consent/${org}/`)} and ${state(`request/${org}/`)}`, height },
    { input: 'overdueGdpr', query: state(`request/${org}/`), height },
    { input: 'overdueCcpa', query: state(`request/${org}/`), height },
    { input: 'overdueOptOuts', query: state(`request/${org}/`), height },
    { input: 'lateAnswers', query: state(`request/${org}/`), height },
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
    ccpaShare: everyone.size === 0 ? 0 : ccpa.size / everyone.size,
    erasedRecords,
    onwardCopies,
    overdueGdpr,
    overdueCcpa,
    overdueOptOuts,
    lateAnswers,
    refusedAccesses,
    refusedShares,
    optOutsRefused,
    scan: { fromHeight, toHeight: height, complete: fromHeight <= 1 },
    contracts: contractsInForce(node),
    sources,
  };
}
