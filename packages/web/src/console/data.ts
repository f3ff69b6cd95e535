/**
 * What the console knows about one org, all from the ledger through the node: its records (with
 * retention), the consent and opt-out state of its customers, its requests queue, and, from the
 * recent blocks, how many of its uses and shares the ledger refused.
 */
import type { ResultCode } from '@custos/protocol/ledger';
import type { ConsentGrant, CustosClient, DataRecord, DataRequest, Preferences } from '@custos/sdk';
import { type ChainContext, loadChain } from '../lib/trust.js';

/** Blocks scanned for refused uses and shares: the most recent ones, so the console stays fast. */
export const SCAN_BLOCKS = 400;
const MAX_PAGES = 50;
const SCAN_CONCURRENCY = 6;

export type ConsoleRecord = DataRecord & { pastRetention: boolean };
export type ConsoleRequest = DataRequest & { overdue: boolean; ackOverdue?: boolean };

export interface LedgerScan {
  fromHeight: number;
  toHeight: number;
  /** Whether the scan covers the whole chain. */
  complete: boolean;
  accesses: number;
  refusedAccesses: number;
  refusedByCode: Partial<Record<ResultCode, number>>;
  shares: number;
  sales: number;
  /** Shares or sales the ledger refused: no consent allowing it, or the customer opted out. */
  refusedShares: number;
}

export interface OrgData {
  org: string;
  /** The client to act with (it carries the org token, if any). */
  api: CustosClient;
  ctx: ChainContext;
  now: number;
  records: ConsoleRecord[];
  /** subject -> live grants to this org. */
  grants: Map<string, ConsentGrant[]>;
  prefs: Map<string, Preferences>;
  requests: ConsoleRequest[];
  scan: LedgerScan;
}

export async function loadOrgData(api: CustosClient, org: string, signal: AbortSignal): Promise<OrgData> {
  const ctx = await loadChain(signal);
  const [records, requests, grants, prefs, scan] = await Promise.all([
    allRecords(api, org, signal),
    allRequests(api, org, signal),
    consentState(api, org, signal),
    prefState(api, org, signal),
    scanLedger(api, org, ctx, signal),
  ]);
  return { org, api, ctx, now: requests.now, records, grants, prefs, requests: requests.requests, scan };
}

async function allRequests(api: CustosClient, org: string, signal: AbortSignal) {
  const first = await api.orgRequests(org, { limit: 500 }, { signal });
  const requests = [...first.requests];
  let next = first.next;
  for (let i = 0; i < MAX_PAGES && next !== null; i++) {
    const page = await api.orgRequests(org, { after: next, limit: 500 }, { signal });
    requests.push(...page.requests);
    next = page.next;
  }
  return { now: first.now, requests };
}

async function allRecords(api: CustosClient, org: string, signal: AbortSignal): Promise<ConsoleRecord[]> {
  const out: ConsoleRecord[] = [];
  let after: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api.orgRecords(org, after === undefined ? { limit: 500 } : { after, limit: 500 }, { signal });
    out.push(...page.records);
    if (page.next === null) break;
    after = page.next;
  }
  return out;
}

async function statePrefix<T>(api: CustosClient, prefix: string, signal: AbortSignal): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  let after: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api.state({ prefix, limit: 500, ...(after === undefined ? {} : { after }) }, { signal });
    for (const e of page.entries) out.set(e.key.slice(prefix.length), e.value as T);
    if (page.next === null) break;
    after = page.next;
  }
  return out;
}

async function consentState(api: CustosClient, org: string, signal: AbortSignal): Promise<Map<string, ConsentGrant[]>> {
  const raw = await statePrefix<{ grants: ConsentGrant[] }>(api, `consent/${org}/`, signal);
  const now = Date.now();
  return new Map(
    [...raw].map(([subject, v]) => [subject, v.grants.filter((g) => g.withdrawnAt === null && g.expiresAt > now)]),
  );
}

function prefState(api: CustosClient, org: string, signal: AbortSignal): Promise<Map<string, Preferences>> {
  return statePrefix<Preferences>(api, `pref/${org}/`, signal);
}

async function scanLedger(api: CustosClient, org: string, ctx: ChainContext, signal: AbortSignal): Promise<LedgerScan> {
  const keys = new Set(ctx.trust.members.find((m) => m.id === org)?.keys ?? []);
  const to = ctx.chain.height;
  const from = Math.max(1, to - SCAN_BLOCKS + 1);
  const scan: LedgerScan = {
    fromHeight: from,
    toHeight: to,
    complete: from <= 1,
    accesses: 0,
    refusedAccesses: 0,
    refusedByCode: {},
    shares: 0,
    sales: 0,
    refusedShares: 0,
  };
  let next = from;
  const worker = async () => {
    while (next <= to) {
      const h = next++;
      const b = await api.block(h, { signal });
      b.txs.forEach((tx, i) => {
        if (!keys.has(tx.body.signer)) return;
        const code = b.results[i] ?? 'OK';
        if (tx.body.type === 'data.access') {
          scan.accesses++;
          if (code !== 'OK') {
            scan.refusedAccesses++;
            scan.refusedByCode[code] = (scan.refusedByCode[code] ?? 0) + 1;
          }
        } else if (tx.body.type === 'data.share') {
          if (code === 'OK') {
            if (tx.body.args.sale === true) scan.sales++;
            else scan.shares++;
          } else if (code === 'NO_LAWFUL_BASIS' || code === 'OPTED_OUT') scan.refusedShares++;
        }
      });
    }
  };
  if (to >= from) await Promise.all(Array.from({ length: SCAN_CONCURRENCY }, worker));
  return scan;
}

/** True when a live consent of the record's subject covers this purpose and the record's category. */
export function covered(d: OrgData, r: DataRecord, purpose: string): boolean {
  return (d.grants.get(r.subject) ?? []).some((g) => g.purposes.includes(purpose) && g.categories.includes(r.category));
}
