/**
 * Data-subject requests as an org handles them (its queue, fulfilling, extending, rejecting), its
 * records past retention, its privacy risk in money, and the chain-wide list of overdue requests (public).
 */
import type { ErasureExceptionEntry, ExtendReason, RejectReason, ReviewOutcome } from '@custos/protocol/ledger';
import type { AssumptionOverrides, RiskInputs, RiskResult, TrendPoint } from '@custos/protocol/risk';
import type {
  CommitResult,
  OrgRequests,
  OrgRetention,
  OrgRetentionSystems,
  OverdueRequests,
  PageQuery,
} from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkTxId, pageQuery, seg } from '../transport/url.js';

/** `GET /v1/orgs/{org}/requests`. */
export async function orgRequests(
  t: Transport,
  org: string,
  q: PageQuery = {},
  opts?: CallOptions,
): Promise<OrgRequests> {
  return t.json('GET', `/v1/orgs/${seg(org)}/requests${pageQuery(q)}`, undefined, opts);
}

/**
 * `POST /v1/orgs/{org}/requests/{id}/fulfil`, with the erasure exceptions if any, or a review's
 * outcome (GDPR Art. 22(3)).
 */
export async function fulfilRequest(
  t: Transport,
  org: string,
  request: string,
  answer: { exceptions?: ErasureExceptionEntry[]; outcome?: ReviewOutcome } = {},
  opts?: CallOptions,
): Promise<CommitResult> {
  const body = {
    ...(answer.exceptions === undefined ? {} : { exceptions: answer.exceptions }),
    ...(answer.outcome === undefined ? {} : { outcome: answer.outcome }),
  };
  return t.json('POST', `${requestPath(org, request)}/fulfil`, body, opts, true);
}

/** `POST /v1/orgs/{org}/requests/{id}/acknowledge`: the org confirms it received the request. */
export async function acknowledgeRequest(
  t: Transport,
  org: string,
  request: string,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${requestPath(org, request)}/acknowledge`, {}, opts, true);
}

/** `POST /v1/orgs/{org}/requests/{id}/extend`. */
export async function extendRequest(
  t: Transport,
  org: string,
  request: string,
  reason: ExtendReason,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${requestPath(org, request)}/extend`, { reason }, opts, true);
}

/** `POST /v1/orgs/{org}/requests/{id}/reject`. */
export async function rejectRequest(
  t: Transport,
  org: string,
  request: string,
  reason: RejectReason,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${requestPath(org, request)}/reject`, { reason }, opts, true);
}

/** `GET /v1/orgs/{org}/retention`. */
export async function orgRetention(
  t: Transport,
  org: string,
  q: PageQuery = {},
  opts?: CallOptions,
): Promise<OrgRetention> {
  return t.json('GET', `/v1/orgs/${seg(org)}/retention${pageQuery(q)}`, undefined, opts);
}

/** `GET /v1/orgs/{org}/retention/systems`. */
export async function orgRetentionSystems(t: Transport, org: string, opts?: CallOptions): Promise<OrgRetentionSystems> {
  return t.json('GET', `/v1/orgs/${seg(org)}/retention/systems`, undefined, opts);
}

/** `GET /v1/requests/overdue`. */
export async function overdueRequests(t: Transport, q: PageQuery = {}, opts?: CallOptions): Promise<OverdueRequests> {
  return t.json('GET', `/v1/requests/overdue${pageQuery(q)}`, undefined, opts);
}

export function requestPath(org: string, request: string): string {
  return `/v1/orgs/${seg(org)}/requests/${checkTxId(request)}`;
}

/** `GET /v1/orgs/{org}/risk`: the model's inputs read from the ledger, and its result. */
export interface OrgRisk {
  inputs: RiskInputs;
  result: RiskResult;
  /** The expected annual loss at earlier heights, oldest first. */
  trend: TrendPoint[];
}

/** Assumption overrides by id (docs/risk.md), and the simulation's seed and trials. */
export type RiskQuery = AssumptionOverrides & { seed?: number; trials?: number };

/** `GET /v1/orgs/{org}/risk`: the org's privacy risk in money, with the inputs it was computed from. */
export async function orgRisk(t: Transport, org: string, q: RiskQuery = {}, opts?: CallOptions): Promise<OrgRisk> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
  const qs = params.size === 0 ? '' : `?${params}`;
  return t.json('GET', `/v1/orgs/${seg(org)}/risk${qs}`, undefined, opts);
}
