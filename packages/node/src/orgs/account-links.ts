/**
 * The binding between a customer's pairwise pseudonym and their account at the org (docs/customer-data.md,
 * "Linking an account"; CCPA regulations 7060, identity verification): the org's node issues a
 * one-time challenge for one of its accounts (random, 10 minutes, single use); the customer's
 * wallet signs `linkMessage` with the pseudonym's key; the node checks the signature and keeps the
 * binding here, off the ledger. No account identifier ever reaches the ledger, a log or an error.
 *
 * Kept in the node's SQLite file, beside the API tokens.
 */
import { randomBytes } from 'node:crypto';
import { linkMessage } from '@custos/protocol/consent';
import { publicKeyFromDid } from '@custos/protocol/crypto';
import { fromBase64url, toBase64url } from '@custos/protocol/encoding';
import { ProtocolError } from '@custos/protocol/errors';
import type Database from 'better-sqlite3';
import { nativeVerifier } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import type { CustosNode } from '../node.js';

/** How long a challenge is good for. */
export const CHALLENGE_TTL_MS = 10 * 60_000;
/** A challenge: 32 random bytes, base64url. */
export const CHALLENGE_PATTERN = '^[A-Za-z0-9_-]{43}$';
/** An account id at the org: what its own systems call the customer, never on the ledger. */
export const ACCOUNT_PATTERN = '^[A-Za-z0-9._:@-]{1,128}$';
/** Challenges outstanding per org at most; the oldest go first. */
const MAX_OPEN_CHALLENGES = 10_000;

export interface AccountLink {
  org: string;
  account: string;
  subject: string;
  linkedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS link_challenges (
  challenge TEXT PRIMARY KEY,
  org TEXT NOT NULL,
  account TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS link_challenges_org ON link_challenges (org, expires_at);
CREATE TABLE IF NOT EXISTS account_links (
  org TEXT NOT NULL,
  account TEXT NOT NULL,
  subject TEXT NOT NULL,
  linked_at INTEGER NOT NULL,
  PRIMARY KEY (org, account)
) STRICT;
CREATE INDEX IF NOT EXISTS account_links_subject ON account_links (org, subject);
`;

interface ChallengeRow {
  challenge: string;
  org: string;
  account: string;
  expires_at: number;
}
interface LinkRow {
  org: string;
  account: string;
  subject: string;
  linked_at: number;
}

const linkOf = (r: LinkRow): AccountLink => ({
  org: r.org,
  account: r.account,
  subject: r.subject,
  linkedAt: r.linked_at,
});

export class AccountLinks {
  private readonly db: Database.Database;
  private readonly q;

  constructor(
    db: Database.Database,
    private readonly chainId: string,
  ) {
    this.db = db;
    db.exec(SCHEMA);
    this.q = {
      insert: db.prepare('INSERT INTO link_challenges (challenge, org, account, expires_at) VALUES (?, ?, ?, ?)'),
      sweep: db.prepare('DELETE FROM link_challenges WHERE expires_at <= ?'),
      trim: db.prepare(
        'DELETE FROM link_challenges WHERE org = ? AND challenge IN (SELECT challenge FROM link_challenges WHERE org = ? ORDER BY expires_at DESC LIMIT -1 OFFSET ?)',
      ),
      take: db.prepare<[string], ChallengeRow>('SELECT * FROM link_challenges WHERE challenge = ?'),
      drop: db.prepare('DELETE FROM link_challenges WHERE challenge = ?'),
      link: db.prepare(
        'INSERT INTO account_links (org, account, subject, linked_at) VALUES (?, ?, ?, ?) ON CONFLICT (org, account) DO UPDATE SET subject = excluded.subject, linked_at = excluded.linked_at',
      ),
      byAccount: db.prepare<[string, string], LinkRow>('SELECT * FROM account_links WHERE org = ? AND account = ?'),
      bySubject: db.prepare<[string, string], LinkRow>(
        'SELECT * FROM account_links WHERE org = ? AND subject = ? ORDER BY linked_at',
      ),
    };
  }

  /** A fresh one-time challenge for `account` at `org`, good until `expiresAt`. */
  issue(org: string, account: string, now: number): { challenge: string; expiresAt: number } {
    const challenge = toBase64url(randomBytes(32));
    const expiresAt = now + CHALLENGE_TTL_MS;
    this.db.transaction(() => {
      this.q.sweep.run(now);
      this.q.insert.run(challenge, org, account, expiresAt);
      this.q.trim.run(org, org, MAX_OPEN_CHALLENGES);
    })();
    return { challenge, expiresAt };
  }

  /**
   * Checks the wallet's answer and records the binding. The challenge is spent whatever the outcome
   * once it is found at this org (single use). Refuses: a challenge unknown here (another org's, or
   * spent: `NOT_FOUND`), expired (`CONFLICT`), or a signature that is not the pseudonym's over this
   * chain, org and challenge (`BAD_SIGNATURE`). Errors never name the account.
   */
  answer(org: string, challenge: string, subject: string, signature: string, now: number): AccountLink {
    const row = this.q.take.get(challenge);
    if (row === undefined || row.org !== org) {
      throw new NodeError('NOT_FOUND', `no open challenge at ${org}: it was used, or issued by another org`);
    }
    this.q.drop.run(challenge);
    if (now >= row.expires_at) throw new NodeError('CONFLICT', 'the challenge expired: ask the company for a new one');
    let ok = false;
    try {
      const sig = fromBase64url(signature);
      ok =
        sig.length === 64 &&
        nativeVerifier.verify(
          publicKeyFromDid(subject),
          linkMessage({ chainId: this.chainId, org, subject, challenge }),
          sig,
        );
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new ProtocolError(
        'BAD_SIGNATURE',
        "the signature is not the pseudonym's over this challenge; ask for a new one",
      );
    }
    this.q.link.run(org, row.account, subject, now);
    return { org, account: row.account, subject, linkedAt: now };
  }

  /** The pseudonym linked to `account` at `org`, if any. */
  byAccount(org: string, account: string): AccountLink | undefined {
    const r = this.q.byAccount.get(org, account);
    return r === undefined ? undefined : linkOf(r);
  }

  /** The accounts at `org` linked to a pseudonym. */
  bySubject(org: string, subject: string): AccountLink[] {
    return this.q.bySubject.all(org, subject).map(linkOf);
  }
}

const stores = new WeakMap<CustosNode, AccountLinks>();

/** The account links of a node, in its own SQLite file (created on first use). */
export function accountLinksOf(node: CustosNode): AccountLinks {
  let s = stores.get(node);
  if (s === undefined) {
    s = new AccountLinks(node.store.db, node.chainId);
    stores.set(node, s);
  }
  return s;
}
