/**
 * Copies follow the original (GDPR Art. 19), under `/v1/orgs/{org}`: the obligations on the copies
 * an org holds and its recipients' compliance, and recording copies restricted.
 */
import type { CopyObligations } from '@custos/protocol/ledger';
import type { CommitResult } from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { seg } from '../transport/url.js';

/** `GET /v1/orgs/{org}/copies`: every obligation (or, `overdue: true`, those past due). */
export function orgCopies(
  t: Transport,
  org: string,
  query: { overdue?: boolean } = {},
  opts?: CallOptions,
): Promise<CopyObligations> {
  const q = query.overdue === true ? '?overdue=true' : '';
  return t.json('GET', `/v1/orgs/${seg(org)}/copies${q}`, undefined, opts);
}

/** `POST /v1/orgs/{org}/copies/restricted`: the org restricted these copies (`data.restricted`). */
export function restrictCopies(
  t: Transport,
  org: string,
  records: string[],
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `/v1/orgs/${seg(org)}/copies/restricted`, { records }, opts);
}
