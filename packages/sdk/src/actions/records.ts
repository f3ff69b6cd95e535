/**
 * An org's records, served by a node holding the org's keys and vault (authenticate with an org
 * token or a member key): the records list, registering, using, sharing, rectifying and erasing.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type {
  AccessResult,
  CommitResult,
  LawfulBasis,
  LocalOrgs,
  OrgRecordsPage,
  PageQuery,
  RegisterRecordInput,
} from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkTxId, pageQuery, seg } from '../transport/url.js';

/** Why records are erased, as the ledger records it. */
export type ErasureReason = 'request' | 'retention' | 'consent-withdrawn' | 'other';

/** `GET /v1/orgs`. */
export async function localOrgs(t: Transport, opts?: CallOptions): Promise<LocalOrgs> {
  return t.json('GET', '/v1/orgs', undefined, opts);
}

/** `GET /v1/orgs/{org}/records`. */
export async function orgRecords(
  t: Transport,
  org: string,
  q: PageQuery = {},
  opts?: CallOptions,
): Promise<OrgRecordsPage> {
  return t.json('GET', `/v1/orgs/${seg(org)}/records${pageQuery(q)}`, undefined, opts);
}

/** `POST /v1/orgs/{org}/records`: the vault stores the value, the ledger its commitment. */
export async function registerRecord(
  t: Transport,
  org: string,
  input: RegisterRecordInput,
  opts?: CallOptions,
): Promise<CommitResult & { recordId: string }> {
  return t.json('POST', `/v1/orgs/${seg(org)}/records`, input, opts, true);
}

/** `POST /v1/orgs/{org}/records/{id}/access`. */
export async function accessRecord(
  t: Transport,
  org: string,
  record: string,
  purpose: string,
  basis: LawfulBasis,
  opts?: CallOptions,
): Promise<AccessResult> {
  return t.json('POST', `${recordPath(org, record)}/access`, { purpose, basis }, opts, true);
}

/** `POST /v1/orgs/{org}/records/{id}/share`. */
export async function shareRecord(
  t: Transport,
  org: string,
  record: string,
  share: { recipient: string; purpose: string; sale: boolean },
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${recordPath(org, record)}/share`, share, opts, true);
}

/** `POST /v1/orgs/{org}/records/{id}/rectify`. */
export async function rectifyRecord(
  t: Transport,
  org: string,
  record: string,
  value: JsonValue,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${recordPath(org, record)}/rectify`, { value }, opts, true);
}

/** `POST /v1/orgs/{org}/erase`: crypto-shreds, then records the erasure. */
export async function erase(
  t: Transport,
  org: string,
  what: ({ records: string[] } | { subject: string }) & { reason: ErasureReason },
  opts?: CallOptions,
): Promise<{ results: CommitResult[] }> {
  return t.json('POST', `/v1/orgs/${seg(org)}/erase`, what, opts, true);
}

function recordPath(org: string, record: string): string {
  return `/v1/orgs/${seg(org)}/records/${checkTxId(record)}`;
}
