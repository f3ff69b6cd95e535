/**
 * The org's own obligations as a controller (GDPR Arts. 26, 27, 30, 35, 37): its member profile,
 * records of processing and DPIA draft, under `/v1/orgs/{org}`.
 */
import type { Dpia, MemberProfile, MemberProfileInput, Ropa } from '@custos/protocol/ledger';
import type { CommitResult } from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { seg } from '../transport/url.js';

/** `GET /v1/orgs/{org}/profile`: the profile in force (404 NOT_FOUND while none). */
export function orgProfile(t: Transport, org: string, opts?: CallOptions): Promise<MemberProfile> {
  return t.json('GET', `/v1/orgs/${seg(org)}/profile`, undefined, opts);
}

/** `POST /v1/orgs/{org}/profile`: sets or changes the profile (`profile.set`, the next version). */
export function setOrgProfile(
  t: Transport,
  org: string,
  profile: MemberProfileInput,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `/v1/orgs/${seg(org)}/profile`, profile, opts);
}

/** `GET /v1/orgs/{org}/ropa`: records of processing (Art. 30) at the latest height. */
export function orgRopa(t: Transport, org: string, opts?: CallOptions): Promise<Ropa> {
  return t.json('GET', `/v1/orgs/${seg(org)}/ropa`, undefined, opts);
}

/** `GET /v1/orgs/{org}/dpia`: the DPIA draft (Art. 35) for the DPO to complete. */
export function orgDpia(t: Transport, org: string, opts?: CallOptions): Promise<Dpia> {
  return t.json('GET', `/v1/orgs/${seg(org)}/dpia`, undefined, opts);
}
