/** An org's API tokens: issuing, listing and revoking them (sign each call with a member key). */
import type { OrgToken, OrgTokenInfo, PageQuery } from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { pageQuery, seg } from '../transport/url.js';

/** What a token may do. */
export type TokenScope = 'read' | 'write' | 'governance' | 'replica';

/** `POST /v1/orgs/{org}/tokens`: the answer is the only time the secret is shown. */
export async function createToken(
  t: Transport,
  org: string,
  spec: { scopes: TokenScope[]; ttlDays?: number; label?: string },
  opts?: CallOptions,
): Promise<OrgToken> {
  return t.json('POST', `/v1/orgs/${seg(org)}/tokens`, spec, opts);
}

/** `GET /v1/orgs/{org}/tokens`. */
export async function orgTokens(
  t: Transport,
  org: string,
  q: PageQuery = {},
  opts?: CallOptions,
): Promise<{ tokens: OrgTokenInfo[]; next: string | null }> {
  return t.json('GET', `/v1/orgs/${seg(org)}/tokens${pageQuery(q)}`, undefined, opts);
}

/** `DELETE /v1/orgs/{org}/tokens/{id}`. */
export async function revokeToken(t: Transport, org: string, id: string, opts?: CallOptions): Promise<OrgTokenInfo> {
  return t.json('DELETE', `/v1/orgs/${seg(org)}/tokens/${seg(id)}`, undefined, opts);
}
