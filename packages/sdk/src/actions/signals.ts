/** The consent signals of the ecosystem: IAB GPP strings in and out, and the evidence of GPC. */
import type { AgeBand, AgeEvidence, CommitResult } from '@custos/protocol/ledger';
import type { CallOptions, Transport } from '../transport/http.js';
import { seg } from '../transport/url.js';

/** One application of a Global Privacy Control signal, as the node's evidence log keeps it. */
export interface GpcEvidence {
  seq: number;
  org: string;
  subject: string;
  kinds: string[];
  at: number;
  requestId: string;
  route: string;
  txId: string;
}

type Choice = 'out' | 'in' | null;

/** What `POST /v1/orgs/{org}/gpp` answers. */
export type GppRecordResult = CommitResult & {
  sections: string[];
  choices: {
    sale: Choice;
    share: Choice;
    targeted: Choice;
    sensitive: Choice;
    purposes: Record<string, boolean> | null;
  };
  /** The string allows something only the customer's signature can record (`gppRecordTx`). */
  needsCustomer: boolean;
};

/** What `GET /v1/orgs/{org}/gpp/{subject}` answers. */
export interface EmittedGpp {
  gpp: string;
  sections: string[];
  basedOn: string | null;
  choices: { sale: boolean; share: boolean; targeted: boolean; sensitive: boolean; consented: string[]; gpc: boolean };
  /** The relationship's age band (`age.set`): who recorded it, and the member state named, or null. */
  age: { band: AgeBand; by: 'customer' | 'org'; memberState: string | null } | null;
}

/** What the org's evidence of an age band is: how it verified it, and the SHA-256 of what it keeps. */
export interface AgeEvidenceArg {
  method: AgeEvidence;
  digest: string;
}

/** `POST /v1/orgs/{org}/age`: the org records the age band it verified for `subject`. */
export async function recordAge(
  t: Transport,
  org: string,
  body: { subject: string; band: AgeBand; memberState?: string; evidence: AgeEvidenceArg },
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `/v1/orgs/${seg(org)}/age`, body, opts);
}

/** `POST /v1/orgs/{org}/gpp`. */
export async function recordGpp(
  t: Transport,
  org: string,
  subject: string,
  gpp: string,
  opts?: CallOptions,
): Promise<GppRecordResult> {
  return t.json('POST', `/v1/orgs/${seg(org)}/gpp`, { subject, gpp }, opts);
}

/** `GET /v1/orgs/{org}/gpp/{subject}`. */
export async function emittedGpp(t: Transport, org: string, subject: string, opts?: CallOptions): Promise<EmittedGpp> {
  return t.json('GET', `/v1/orgs/${seg(org)}/gpp/${seg(subject)}`, undefined, opts);
}

/** `GET /v1/orgs/{org}/gpc-evidence`. */
export async function gpcEvidence(
  t: Transport,
  org: string,
  q: { after?: string; limit?: number } = {},
  opts?: CallOptions,
): Promise<{ evidence: GpcEvidence[]; next: string | null }> {
  const p = new URLSearchParams();
  if (q.after !== undefined) p.set('after', q.after);
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  const qs = p.toString();
  return t.json('GET', `/v1/orgs/${seg(org)}/gpc-evidence${qs === '' ? '' : `?${qs}`}`, undefined, opts);
}

/** `GET /v1/subjects/{did}/gpc-evidence` (sign with the subject's key). */
export async function subjectGpcEvidence(
  t: Transport,
  did: string,
  opts?: CallOptions,
): Promise<{ evidence: GpcEvidence[] }> {
  return t.json('GET', `/v1/subjects/${seg(did)}/gpc-evidence`, undefined, opts);
}
