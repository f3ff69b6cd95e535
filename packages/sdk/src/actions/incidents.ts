/** The org's register of personal data breaches (GDPR Arts. 33-34), under `/v1/orgs/{org}/incidents`. */
import type { Incident, IncidentDelayReason, IncidentNature, IncidentRisk } from '@custos/protocol/ledger';
import type { CommitResult } from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { checkTxId, seg } from '../transport/url.js';

export interface OrgIncidents {
  now: number;
  incidents: (Incident & { authorityOverdue: boolean })[];
}

export interface AffectedSubjects {
  incident: string;
  subjects: { subject: string; records: number; notified: boolean }[];
  truncated: boolean;
}

export interface IncidentNotifications {
  incident: string;
  results: { subject: string; code: string; txId: string; height: number }[];
}

export interface IncidentInput {
  detectedAt: number;
  nature: IncidentNature[];
  categories: string[];
  risk: IncidentRisk;
}

const path = (org: string, id?: string) =>
  `/v1/orgs/${seg(org)}/incidents${id === undefined ? '' : `/${checkTxId(id)}`}`;

/** `GET /v1/orgs/{org}/incidents`. */
export function orgIncidents(t: Transport, org: string, opts?: CallOptions): Promise<OrgIncidents> {
  return t.json('GET', path(org), undefined, opts);
}

/** `POST /v1/orgs/{org}/incidents`: registers a breach (`incident.open`). */
export function openIncident(
  t: Transport,
  org: string,
  input: IncidentInput,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', path(org), input, opts, true);
}

/** `POST /v1/orgs/{org}/incidents/{id}/authority`: the digest of the notification to the authority. */
export function notifyAuthority(
  t: Transport,
  org: string,
  incident: string,
  body: { digest: string; delayReason?: IncidentDelayReason },
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${path(org, incident)}/authority`, body, opts, true);
}

/** `GET /v1/orgs/{org}/incidents/{id}/affected`. */
export function affectedSubjects(
  t: Transport,
  org: string,
  incident: string,
  opts?: CallOptions,
): Promise<AffectedSubjects> {
  return t.json('GET', `${path(org, incident)}/affected`, undefined, opts);
}

/** `POST /v1/orgs/{org}/incidents/{id}/notify`: the subjects given, or every affected one not yet notified. */
export function notifySubjects(
  t: Transport,
  org: string,
  incident: string,
  subjects?: string[],
  opts?: CallOptions,
): Promise<IncidentNotifications> {
  return t.json('POST', `${path(org, incident)}/notify`, subjects === undefined ? {} : { subjects }, opts, true);
}

/** `POST /v1/orgs/{org}/incidents/{id}/close`. */
export function closeIncident(t: Transport, org: string, incident: string, opts?: CallOptions): Promise<CommitResult> {
  return t.json('POST', `${path(org, incident)}/close`, {}, opts, true);
}
