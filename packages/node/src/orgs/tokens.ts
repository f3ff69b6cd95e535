/**
 * Org API tokens: bearer credentials an org issues (with a request signed by one of its member
 * keys) for its console and scripts, so they need not hold a ledger key. A token is
 * `custos_<id>_<secret>`: 8 random bytes of id (hex, shown in lists and used to revoke) and 32
 * random bytes of secret (base64url), shown once at creation. The node keeps only the SHA-256 of
 * the whole token (a 256-bit random secret needs no slow hash), its org, scopes (`read`, `write`, `governance`, `replica`),
 * expiry and revocation, in the table `org_api_tokens` of its own SQLite file: node-local, never on
 * the ledger, carried along by the store's backups.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { NodeError } from '../errors.js';
import type { CustosNode } from '../node.js';

/**
 * `read`: GET and HEAD of the org's routes and of the ledger as the org may see it; `write`: the
 * org's other routes, except governance; `governance`: propose and vote (trust #11: a `write` token
 * for a console or script must not be able to change the member set); `replica`: the whole ledger
 * for a peer of the org (snapshot, whole blocks), which a dashboard's `read` token must not get.
 */
export const TOKEN_SCOPES = ['read', 'write', 'governance', 'replica'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const TOKEN_PREFIX = 'custos_';
/** The whole token: prefix, 16 hex characters of id, 43 base64url characters of secret. */
export const TOKEN_PATTERN = /^custos_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const TOKEN_ID_PATTERN = '^[0-9a-f]{16}$';
export const DEFAULT_TOKEN_TTL_DAYS = 90;
export const MAX_TOKEN_TTL_DAYS = 365;
/** Live (unexpired, unrevoked) tokens an org may hold at once. */
export const MAX_LIVE_TOKENS_PER_ORG = 100;
const DAY_MS = 86_400_000;

/** What the node stores about a token (never its secret). */
export interface TokenInfo {
  id: string;
  org: string;
  scopes: TokenScope[];
  label: string | null;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  /** The did:key of the member key whose signed request created it. */
  createdBy: string;
}

export type TokenCheck =
  | { ok: true; token: TokenInfo }
  | { ok: false; reason: 'malformed' | 'unknown' | 'expired' | 'revoked'; token?: TokenInfo };

interface Row {
  id: string;
  org: string;
  hash: Buffer;
  scopes: string;
  label: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  created_by: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS org_api_tokens (
  id TEXT PRIMARY KEY,
  org TEXT NOT NULL,
  hash BLOB NOT NULL,
  scopes TEXT NOT NULL,
  label TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  created_by TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS org_api_tokens_org ON org_api_tokens (org, created_at);
`;

function hashOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function info(r: Row): TokenInfo {
  return {
    id: r.id,
    org: r.org,
    scopes: JSON.parse(r.scopes) as TokenScope[],
    label: r.label,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    createdBy: r.created_by,
  };
}

export class TokenStore {
  private readonly q;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.q = {
      insert: db.prepare(
        `INSERT INTO org_api_tokens (id, org, hash, scopes, label, created_at, expires_at, revoked_at, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
      ),
      byId: db.prepare<[string], Row>('SELECT * FROM org_api_tokens WHERE id = ?'),
      byOrg: db.prepare<[string, number, string, number], Row>(
        'SELECT * FROM org_api_tokens WHERE org = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?',
      ),
      live: db.prepare<[string, number], { n: number }>(
        'SELECT count(*) AS n FROM org_api_tokens WHERE org = ? AND revoked_at IS NULL AND expires_at > ?',
      ),
      revoke: db.prepare('UPDATE org_api_tokens SET revoked_at = ? WHERE id = ? AND org = ? AND revoked_at IS NULL'),
    };
  }

  /** Issues a token for `org`. The returned `token` is the only copy of the secret. */
  create(
    org: string,
    opts: { scopes: readonly TokenScope[]; ttlDays?: number; label?: string; createdBy: string },
    now = Date.now(),
  ): { token: string; info: TokenInfo } {
    const ttlDays = opts.ttlDays ?? DEFAULT_TOKEN_TTL_DAYS;
    if (!Number.isInteger(ttlDays) || ttlDays < 1 || ttlDays > MAX_TOKEN_TTL_DAYS) {
      throw new NodeError('BAD_REQUEST', `expected ttlDays from 1 to ${MAX_TOKEN_TTL_DAYS}, got ${String(ttlDays)}`);
    }
    const scopes = TOKEN_SCOPES.filter((s) => opts.scopes.includes(s));
    if (scopes.length === 0 || scopes.length !== new Set(opts.scopes).size) {
      throw new NodeError('BAD_REQUEST', `expected scopes among ${TOKEN_SCOPES.join(', ')}`);
    }
    if ((this.q.live.get(org, now)?.n ?? 0) >= MAX_LIVE_TOKENS_PER_ORG) {
      throw new NodeError(
        'BAD_REQUEST',
        `org '${org}' already has ${MAX_LIVE_TOKENS_PER_ORG} live tokens; revoke some first`,
      );
    }
    const id = randomBytes(8).toString('hex');
    const token = `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const expiresAt = now + ttlDays * DAY_MS;
    this.q.insert.run(
      id,
      org,
      hashOf(token),
      JSON.stringify(scopes),
      opts.label ?? null,
      now,
      expiresAt,
      opts.createdBy,
    );
    return { token, info: info(this.q.byId.get(id)!) };
  }

  /** Checks a presented token: known, same hash (constant time), not expired, not revoked. */
  check(token: string, now = Date.now()): TokenCheck {
    const m = typeof token === 'string' ? TOKEN_PATTERN.exec(token) : null;
    if (!m) return { ok: false, reason: 'malformed' };
    const row = this.q.byId.get(m[1]!);
    if (!row || !timingSafeEqual(row.hash, hashOf(token))) return { ok: false, reason: 'unknown' };
    const t = info(row);
    if (t.revokedAt !== null) return { ok: false, reason: 'revoked', token: t };
    if (now >= t.expiresAt) return { ok: false, reason: 'expired', token: t };
    return { ok: true, token: t };
  }

  /** Revokes a token of `org`; undefined if the org has no such token. Revoking twice keeps the first time. */
  revoke(org: string, id: string, now = Date.now()): TokenInfo | undefined {
    this.q.revoke.run(now, id, org);
    const row = this.q.byId.get(id);
    return row && row.org === org ? info(row) : undefined;
  }

  /**
   * Tokens of `org`, oldest first, revoked and expired ones included (an audit trail), after the
   * cursor `after` (the `cursorOf` of the last token of the previous page).
   */
  list(org: string, after?: string, limit = 100): TokenInfo[] {
    const m = after === undefined ? null : /^([0-9]{1,15})\.([0-9a-f]{16})$/.exec(after);
    if (after !== undefined && !m) throw new NodeError('BAD_REQUEST', "expected 'after' as a token list cursor");
    return this.q.byOrg.all(org, m ? Number(m[1]) : -1, m ? m[2]! : '', limit).map(info);
  }
}

/** The list cursor of a token: its creation time and id. */
export function cursorOf(t: TokenInfo): string {
  return `${t.createdAt}.${t.id}`;
}

const stores = new WeakMap<CustosNode, TokenStore>();

/** The token store of a node, in its own SQLite file (created on first use). */
export function tokenStoreOf(node: CustosNode): TokenStore {
  let s = stores.get(node);
  if (s === undefined) {
    s = new TokenStore(node.store.db);
    stores.set(node, s);
  }
  return s;
}
