/** State reads without proofs (`../verified/` for values checked against a member set). */
import type { StateEntry, StatePage } from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { query } from '../transport/url.js';

/** `GET /v1/state`: one page of entries under `prefix`. */
export function state(
  t: Transport,
  q: { prefix?: string; after?: string; limit?: number } = {},
  opts?: CallOptions,
): Promise<StatePage> {
  return t.json('GET', `/v1/state${query({ prefix: q.prefix, after: q.after, limit: q.limit })}`, undefined, opts);
}

/** `GET /v1/state/entry`. */
export function stateEntry(t: Transport, key: string, opts?: CallOptions): Promise<StateEntry> {
  return t.json('GET', `/v1/state/entry${query({ key })}`, undefined, opts);
}
