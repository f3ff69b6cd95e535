/**
 * The customer as the source of their data (ADR 0018): an org's HPKE key and inbox, and the
 * corrections and flags sent to it. The inbox needs no credentials (it takes only an envelope whose
 * digest the ledger holds); the rest is for the org (a member key or an org token).
 */
import type { RectifyEnvelope } from '@custos/protocol/hpke';
import type { JsonValue } from '@custos/protocol/jcs';
import type { ExplainReason, ExtendReason, HpkeKeyEntry, Rectification } from '@custos/protocol/ledger';
import type { CommitResult, PageQuery, RequestStepState } from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkTxId, pageQuery, seg } from '../transport/url.js';

export interface OrgHpkeKeys {
  published: HpkeKeyEntry | null;
  held: { kid: string; createdAt: number }[];
}

export interface RectificationsPage {
  height: number;
  items: (Rectification & { overdue: boolean })[];
  next: string | null;
}

/**
 * `GET /v1/orgs/:org/rectifications/:id/steps`: the correction "corrected in `complete` of `systems`
 * systems" of the org, each system's `rectify.step` or `pending`, with the item's legal deadline:
 * `overdue` (pending past it), `late` (applied, not yet done everywhere, past it), `paused` (a failed
 * step waits for a re-run), as of `now` (the latest block time).
 */
export interface CorrectionSteps {
  item: string;
  record: string;
  kind: Rectification['kind'];
  status: Rectification['status'];
  jurisdiction: string;
  now: number;
  openedAt: number;
  deadline: number;
  originalDeadline: number | null;
  overdue: boolean;
  late: boolean;
  paused: boolean;
  complete: number;
  systems: number;
  steps: RequestStepState[];
}

/** `POST /v1/orgs/:org/rectifications/:id/run`: each system's step of this run (`skipped`: done before). */
export interface CorrectionRun {
  item: string;
  complete: number;
  total: number;
  steps: {
    system: string;
    outcome: 'done' | 'failed' | 'skipped';
    rows: number;
    digest: string | null;
    txId: string | null;
    attempts: number;
    error?: string;
  }[];
}

const base = (org: string) => `/v1/orgs/${seg(org)}`;

/** `GET /v1/orgs/{org}/hpke`. */
export function orgHpkeKey(t: Transport, org: string, opts?: CallOptions): Promise<OrgHpkeKeys> {
  return t.json('GET', `${base(org)}/hpke`, undefined, opts);
}

/** `POST /v1/orgs/{org}/hpke/rotate`. */
export function rotateHpkeKey(
  t: Transport,
  org: string,
  opts?: CallOptions,
): Promise<CommitResult & { kid: string; key: string }> {
  return t.json('POST', `${base(org)}/hpke/rotate`, {}, opts, true);
}

/** A peer that does not hold the org's keys kept the envelope for the org's own node to fetch (202). */
export interface RelayedCorrection {
  code: 'RELAYED';
  txId: string;
}

/**
 * `POST /v1/orgs/{org}/inbox/{id}`: the envelope of the pending `rectify.send` `id`. The org's own
 * node answers `rectify.apply`'s commit; another member's peer answers `RELAYED` (the org's node
 * fetches it from there and applies it: watch the item's status).
 */
export function deliverCorrection(
  t: Transport,
  org: string,
  id: string,
  envelope: RectifyEnvelope,
  opts?: CallOptions,
): Promise<CommitResult | RelayedCorrection> {
  return t.json('POST', `${base(org)}/inbox/${checkTxId(id)}`, envelope, opts, true);
}

/** `GET /v1/orgs/{org}/rectifications`. */
export function rectifications(
  t: Transport,
  org: string,
  q: PageQuery = {},
  opts?: CallOptions,
): Promise<RectificationsPage> {
  return t.json('GET', `${base(org)}/rectifications${pageQuery(q)}`, undefined, opts);
}

/** `POST /v1/orgs/{org}/rectifications/{id}/explain`. */
export function explainRectification(
  t: Transport,
  org: string,
  id: string,
  reason: ExplainReason,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${base(org)}/rectifications/${checkTxId(id)}/explain`, { reason }, opts, true);
}

/** `POST /v1/orgs/{org}/rectifications/{id}/extend`: the deadline extended once (Art. 12(3)). */
export function extendRectification(
  t: Transport,
  org: string,
  id: string,
  reason: ExtendReason,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${base(org)}/rectifications/${checkTxId(id)}/extend`, { reason }, opts, true);
}

/** `GET /v1/orgs/{org}/rectifications/{id}/steps`: the correction in each of the org's systems. */
export function correctionSteps(t: Transport, org: string, id: string, opts?: CallOptions): Promise<CorrectionSteps> {
  return t.json('GET', `${base(org)}/rectifications/${checkTxId(id)}/steps`, undefined, opts);
}

/** `POST /v1/orgs/{org}/rectifications/{id}/run`: the steps not yet done, run again. */
export function runCorrection(
  t: Transport,
  org: string,
  id: string,
  body: { attempts?: number } = {},
  opts?: CallOptions,
): Promise<CorrectionRun> {
  return t.json('POST', `${base(org)}/rectifications/${checkTxId(id)}/run`, body, opts);
}

/** `GET /v1/orgs/{org}/inbox/{id}`: a correction relayed by this peer, for the org's own node (member key). */
export function relayedCorrection(
  t: Transport,
  org: string,
  id: string,
  opts?: CallOptions,
): Promise<{ envelope: RectifyEnvelope }> {
  return t.json('GET', `${base(org)}/inbox/${checkTxId(id)}`, undefined, opts);
}

/** `POST /v1/orgs/{org}/rectifications/{id}/correct`. */
export function correctFlagged(
  t: Transport,
  org: string,
  id: string,
  value: JsonValue,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${base(org)}/rectifications/${checkTxId(id)}/correct`, { value }, opts, true);
}
