/**
 * The org's evidence log of Global Privacy Control: every application of a GPC signal, as
 * regulators ask (CCPA regulations 7025: the business must process the signal as an opt-out and
 * may show it did). One row per GPC opt-out the API accepted: which org and pseudonym, what was
 * opted out, when, on which request (its request id and route) and the transaction that carries it
 * on the ledger (its result is there, under that id). Never the IP address, the user agent or any
 * other header: the request id alone ties the row to the node's own request log.
 *
 * Kept in the node's SQLite file, beside the API tokens; bounded per org (oldest rows beyond
 * `MAX_ROWS_PER_ORG` go, the ledger keeping the opt-outs themselves for good).
 */
import type Database from 'better-sqlite3';
import type { CustosNode } from '../node.js';

export const MAX_ROWS_PER_ORG = 100_000;

export interface GpcEvidence {
  /** Sequence number in this node's log. */
  seq: number;
  org: string;
  subject: string;
  kinds: string[];
  /** When the node accepted the signal (ms since the epoch). */
  at: number;
  requestId: string;
  route: string;
  txId: string;
}

interface Row {
  seq: number;
  org: string;
  subject: string;
  kinds: string;
  at: number;
  request_id: string;
  route: string;
  tx_id: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS gpc_evidence (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL,
  subject TEXT NOT NULL,
  kinds TEXT NOT NULL,
  at INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  route TEXT NOT NULL,
  tx_id TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS gpc_evidence_org ON gpc_evidence (org, seq);
CREATE INDEX IF NOT EXISTS gpc_evidence_subject ON gpc_evidence (subject, seq);
`;

const evidenceOf = (r: Row): GpcEvidence => ({
  seq: r.seq,
  org: r.org,
  subject: r.subject,
  kinds: JSON.parse(r.kinds) as string[],
  at: r.at,
  requestId: r.request_id,
  route: r.route,
  txId: r.tx_id,
});

export class GpcEvidenceStore {
  private readonly q;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.q = {
      insert: db.prepare(
        'INSERT INTO gpc_evidence (org, subject, kinds, at, request_id, route, tx_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      trim: db.prepare(
        'DELETE FROM gpc_evidence WHERE org = ? AND seq <= (SELECT seq FROM gpc_evidence WHERE org = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)',
      ),
      byOrg: db.prepare<[string, number, number], Row>(
        'SELECT * FROM gpc_evidence WHERE org = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
      bySubject: db.prepare<[string, number, number], Row>(
        'SELECT * FROM gpc_evidence WHERE subject = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
    };
  }

  add(e: Omit<GpcEvidence, 'seq'>): void {
    this.q.insert.run(e.org, e.subject, JSON.stringify(e.kinds), e.at, e.requestId, e.route, e.txId);
    this.q.trim.run(e.org, e.org, MAX_ROWS_PER_ORG);
  }

  /** The org's rows, newest first, below `before` (a `seq`). */
  forOrg(org: string, before: number, limit: number): GpcEvidence[] {
    return this.q.byOrg.all(org, before, limit).map(evidenceOf);
  }

  /** A pseudonym's rows at every org, newest first, below `before`. */
  forSubject(subject: string, before: number, limit: number): GpcEvidence[] {
    return this.q.bySubject.all(subject, before, limit).map(evidenceOf);
  }
}

const stores = new WeakMap<CustosNode, GpcEvidenceStore>();

/** The GPC evidence log of a node, in its own SQLite file (created on first use). */
export function gpcEvidenceOf(node: CustosNode): GpcEvidenceStore {
  let s = stores.get(node);
  if (s === undefined) {
    s = new GpcEvidenceStore(node.store.db);
    stores.set(node, s);
  }
  return s;
}
