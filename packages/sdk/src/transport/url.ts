/**
 * Building request paths: the query string, path segments, and the checks on ids and heights that
 * fail before a request is sent (a malformed id would otherwise reach the node as another route).
 */
import type { PageQuery } from '../api-types.js';
import { CustosApiError } from '../errors.js';

/** `?k=v&...` of the defined parameters, each encoded; empty when none is defined. */
export function query(params: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/** The `after`/`limit` query of a paged route. */
export function pageQuery(q: PageQuery): string {
  return query({ after: q.after, limit: q.limit });
}

/** One path segment (an org id, a token id, a DID). */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

/** A transaction, record or request id: 64 lower-case hex characters. */
export function checkTxId(id: string): string {
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) {
    throw new CustosApiError(
      'BAD_REQUEST',
      `expected a transaction id of 64 lower-case hex characters, got '${String(id).slice(0, 80)}'`,
    );
  }
  return id;
}

/** A block height (or epoch): a non-negative safe integer. */
export function checkHeight(h: number): number {
  if (!Number.isSafeInteger(h) || h < 0) {
    throw new CustosApiError(
      'BAD_REQUEST',
      `expected a block height as a non-negative integer, got ${String(h).slice(0, 40)}`,
    );
  }
  return h;
}
