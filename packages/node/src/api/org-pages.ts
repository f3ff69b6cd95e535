/**
 * Cursor pages of the org routes: a `limit` between 1 and `MAX_PAGE` (default `DEFAULT_PAGE`) and an
 * `after` cursor, the previous page's `next`. The cursor's shape differs by list (a record id, a
 * deadline and request id...), the rest is the same for all.
 */
import { Type } from '@sinclair/typebox';
import { NodeError } from '../errors.js';
import { closed, pageSize } from './schema-atoms.js';

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 200;

/** The query of a page whose cursor matches `afterPattern`. */
export const pageQuery = (afterPattern: string) =>
  closed({
    after: Type.Optional(Type.String({ pattern: afterPattern, description: "Cursor: the previous page's `next`." })),
    limit: Type.Optional(pageSize({ description: `Page size, 1-${MAX_PAGE}, default ${DEFAULT_PAGE}.` })),
  });

/** The page size asked for, or BAD_REQUEST naming the range. */
export function limitOf(raw: string | undefined): number {
  const n = raw === undefined ? DEFAULT_PAGE : Number(raw);
  if (!(n >= 1 && n <= MAX_PAGE)) {
    throw new NodeError('BAD_REQUEST', `expected querystring.limit between 1 and ${MAX_PAGE}, got ${n}`);
  }
  return n;
}

/** One page of `items` (sorted by `key`, unique keys) after the cursor `after`. */
export function page<T>(items: T[], key: (t: T) => string, after: string | undefined, limit: number) {
  const rest = after === undefined ? items : items.filter((t) => key(t) > after);
  const out = rest.slice(0, limit);
  const last = out[out.length - 1];
  return { items: out, next: rest.length > limit && last !== undefined ? key(last) : null };
}

/** A time (ms) as 15 digits, so cursors that start with one sort as strings in time order. */
export const pad = (n: number) => String(Math.max(0, Math.floor(n))).padStart(15, '0');
