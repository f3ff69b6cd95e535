/**
 * What the node keeps about customers who sign in with passkeys (ADR 0016), in tables of its own
 * SQLite file: node-local, never on the ledger, carried along by the store's backups. Per identity:
 * the wallet export sealed under a random wallet key that only the customer's passkeys (through
 * the WebAuthn PRF extension) or recovery code can unwrap; each credential's public key, signature
 * counter and its copy of the wrapped wallet key; the recovery code's salted hash and its copy of
 * the wrapped key; and the customer's own log of these changes. Nothing here names a company or a
 * pairwise pseudonym, and nothing is personal data: the node never sees the wallet key, the master
 * secret, the PRF output or the recovery code.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';

/** Most passkeys one identity may hold. */
export const MAX_CREDENTIALS = 20;
/** Entries of the customer's log kept per identity (oldest dropped first). */
export const MAX_EVENTS = 100;

export interface CredentialRow {
  id: string;
  identity: string;
  publicKey: Uint8Array<ArrayBuffer>;
  counter: number;
  transports: string[];
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
  wrappedKey: string | null;
}

export interface IdentityRow {
  id: string;
  createdAt: number;
  wallet: string | null;
  hasRecovery: boolean;
}

export type PasskeyEventKind =
  | 'identity-created'
  | 'passkey-added'
  | 'passkey-removed'
  | 'recovery-set'
  | 'recovered'
  | 'device-link-created';

export interface PasskeyEvent {
  at: number;
  kind: PasskeyEventKind;
  /** A credential's label, or nothing: never an address, a name or a company. */
  detail: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS passkey_identities (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  wallet TEXT,
  recovery_lookup TEXT UNIQUE,
  recovery_salt BLOB,
  recovery_hash BLOB,
  recovery_wrapped TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS passkey_credentials (
  id TEXT PRIMARY KEY,
  identity TEXT NOT NULL REFERENCES passkey_identities(id) ON DELETE CASCADE,
  public_key BLOB NOT NULL,
  counter INTEGER NOT NULL,
  transports TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  wrapped_key TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS passkey_credentials_identity ON passkey_credentials (identity, created_at);
CREATE TABLE IF NOT EXISTS passkey_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  identity TEXT NOT NULL REFERENCES passkey_identities(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS passkey_events_identity ON passkey_events (identity, seq);
`;

interface CredentialDbRow {
  id: string;
  identity: string;
  public_key: Buffer;
  counter: number;
  transports: string;
  label: string;
  created_at: number;
  last_used_at: number | null;
  wrapped_key: string | null;
}

function credentialOf(r: CredentialDbRow): CredentialRow {
  return {
    id: r.id,
    identity: r.identity,
    publicKey: Uint8Array.from(r.public_key),
    counter: r.counter,
    transports: JSON.parse(r.transports) as string[],
    label: r.label,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    wrappedKey: r.wrapped_key,
  };
}

/** `SHA-256(salt || auth)`: the recovery code's commitment. The code holds 160 random bits, so no slow hash is needed. */
export function recoveryHash(salt: Uint8Array, auth: Uint8Array): Buffer {
  return createHash('sha256').update(salt).update(auth).digest();
}

export class PasskeyStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  createIdentity(id: string, at: number): void {
    this.db.prepare('INSERT INTO passkey_identities (id, created_at) VALUES (?, ?)').run(id, at);
    this.log(id, at, 'identity-created', null);
  }

  identity(id: string): IdentityRow | undefined {
    const r = this.db
      .prepare(
        'SELECT id, created_at, wallet, recovery_hash IS NOT NULL AS has_recovery FROM passkey_identities WHERE id = ?',
      )
      .get(id) as { id: string; created_at: number; wallet: string | null; has_recovery: number } | undefined;
    return r === undefined
      ? undefined
      : { id: r.id, createdAt: r.created_at, wallet: r.wallet, hasRecovery: r.has_recovery === 1 };
  }

  /** Sign-ups not finished (a passkey recorded, no wallet yet): how many, and when the oldest began. */
  unfinished(): { count: number; oldest: number | null } {
    const r = this.db
      .prepare('SELECT count(*) AS n, min(created_at) AS oldest FROM passkey_identities WHERE wallet IS NULL')
      .get() as { n: number; oldest: number | null };
    return { count: r.n, oldest: r.oldest };
  }

  /** Deletes the unfinished sign-ups begun before `before`, with their passkeys and log. */
  expireUnfinished(before: number): number {
    return this.db.transaction(() => {
      const ids = this.db
        .prepare('SELECT id FROM passkey_identities WHERE wallet IS NULL AND created_at < ?')
        .pluck()
        .all(before) as string[];
      for (const id of ids) {
        this.db.prepare('DELETE FROM passkey_credentials WHERE identity = ?').run(id);
        this.db.prepare('DELETE FROM passkey_events WHERE identity = ?').run(id);
        this.db.prepare('DELETE FROM passkey_identities WHERE id = ?').run(id);
      }
      return ids.length;
    })();
  }

  setWallet(id: string, wallet: string): void {
    this.db.prepare('UPDATE passkey_identities SET wallet = ? WHERE id = ?').run(wallet, id);
  }

  addCredential(c: Omit<CredentialRow, 'lastUsedAt' | 'wrappedKey'>): void {
    this.db
      .prepare(
        'INSERT INTO passkey_credentials (id, identity, public_key, counter, transports, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(c.id, c.identity, Buffer.from(c.publicKey), c.counter, JSON.stringify(c.transports), c.label, c.createdAt);
    this.log(c.identity, c.createdAt, 'passkey-added', c.label);
  }

  credential(id: string): CredentialRow | undefined {
    const r = this.db.prepare('SELECT * FROM passkey_credentials WHERE id = ?').get(id) as CredentialDbRow | undefined;
    return r === undefined ? undefined : credentialOf(r);
  }

  credentials(identity: string): CredentialRow[] {
    return (
      this.db
        .prepare('SELECT * FROM passkey_credentials WHERE identity = ? ORDER BY created_at, id')
        .all(identity) as CredentialDbRow[]
    ).map(credentialOf);
  }

  /** Records a verified assertion: the new counter and when. */
  used(id: string, counter: number, at: number): void {
    this.db.prepare('UPDATE passkey_credentials SET counter = ?, last_used_at = ? WHERE id = ?').run(counter, at, id);
  }

  setWrappedKey(id: string, wrapped: string): void {
    this.db.prepare('UPDATE passkey_credentials SET wrapped_key = ? WHERE id = ?').run(wrapped, id);
  }

  removeCredential(c: CredentialRow, at: number): void {
    this.db.prepare('DELETE FROM passkey_credentials WHERE id = ?').run(c.id);
    this.log(c.identity, at, 'passkey-removed', c.label);
  }

  setRecovery(id: string, r: { lookup: string; auth: Uint8Array; wrapped: string }, at: number): void {
    const salt = randomBytes(16);
    this.db
      .prepare(
        'UPDATE passkey_identities SET recovery_lookup = ?, recovery_salt = ?, recovery_hash = ?, recovery_wrapped = ? WHERE id = ?',
      )
      .run(r.lookup, salt, recoveryHash(salt, r.auth), r.wrapped, id);
    this.log(id, at, 'recovery-set', null);
  }

  /**
   * Checks a recovery code's lookup and authenticator; on a match, uses the code up (it is single
   * use), removes every passkey of the identity (they are lost, or in someone else's hands), and
   * returns the identity with the wallet and the code's wrapped wallet key. Undefined otherwise.
   */
  recover(
    lookup: string,
    auth: Uint8Array,
    at: number,
  ): { identity: string; wallet: string | null; wrapped: string } | undefined {
    const r = this.db
      .prepare(
        'SELECT id, wallet, recovery_salt, recovery_hash, recovery_wrapped FROM passkey_identities WHERE recovery_lookup = ?',
      )
      .get(lookup) as
      | { id: string; wallet: string | null; recovery_salt: Buffer; recovery_hash: Buffer; recovery_wrapped: string }
      | undefined;
    if (r === undefined) return undefined;
    if (!timingSafeEqual(recoveryHash(r.recovery_salt, auth), r.recovery_hash)) return undefined;
    this.db.transaction(() => {
      this.db
        .prepare(
          'UPDATE passkey_identities SET recovery_lookup = NULL, recovery_salt = NULL, recovery_hash = NULL, recovery_wrapped = NULL WHERE id = ?',
        )
        .run(r.id);
      for (const c of this.credentials(r.id)) this.removeCredential(c, at);
      this.log(r.id, at, 'recovered', null);
    })();
    return { identity: r.id, wallet: r.wallet, wrapped: r.recovery_wrapped };
  }

  log(identity: string, at: number, kind: PasskeyEventKind, detail: string | null): void {
    this.db
      .prepare('INSERT INTO passkey_events (identity, at, kind, detail) VALUES (?, ?, ?, ?)')
      .run(identity, at, kind, detail);
    this.db
      .prepare(
        'DELETE FROM passkey_events WHERE identity = ? AND seq NOT IN (SELECT seq FROM passkey_events WHERE identity = ? ORDER BY seq DESC LIMIT ?)',
      )
      .run(identity, identity, MAX_EVENTS);
  }

  events(identity: string): PasskeyEvent[] {
    return this.db
      .prepare('SELECT at, kind, detail FROM passkey_events WHERE identity = ? ORDER BY seq')
      .all(identity) as PasskeyEvent[];
  }
}
