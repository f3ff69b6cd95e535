/**
 * Pruning a forgotten subject's transactions (docs/adr/0019-forget-on-the-ledger.md): in the
 * SQLite transaction of the block that forgot it, every transaction filed under the pseudonym (the
 * subject index) or naming it in a failed transaction (the mentions table) loses its body; its row
 * keeps the txId, height, index, result code and expiry, which is what the history log commits to
 * and what the replay check needs. The index rows naming the pseudonym go too. `secure_delete` is
 * on while that block commits, so the freed bytes are zeroed in the pages SQLite writes, and a
 * TRUNCATE checkpoint afterwards folds the WAL into the file and empties it.
 */
import type Database from 'better-sqlite3';

/** What a pruned transaction's body column holds: no field of the body, only when it was pruned. */
export function prunedBody(height: number): string {
  return `{"pruned":"erasure","height":${height}}`;
}

/** True for a body column written by `prunedBody`. */
export function isPrunedBody(text: string): boolean {
  return text.startsWith('{"pruned":');
}

/** The height at which a pruned body was pruned. */
export function prunedAt(text: string): number {
  return (JSON.parse(text) as { height: number }).height;
}

export const PRUNE_SCHEMA = `
-- did:key strings named by failed transactions (not filed under a subject by a module, whose
-- action may have stopped before it did): so that pruning a forgotten subject reaches them too.
CREATE TABLE IF NOT EXISTS mentions (subject TEXT NOT NULL, log_index INTEGER NOT NULL, PRIMARY KEY (subject, log_index)) STRICT, WITHOUT ROWID;
`;

/** did:key identifiers (Ed25519 multibase, base58btc) in a transaction's canonical JSON. */
const DID_KEY = /did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}/g;

/** At most this many mentions are recorded for one transaction (a body is at most 32 KiB). */
const MAX_MENTIONS = 64;

/** The distinct did:key identifiers a transaction's JSON names. */
export function mentionsIn(json: string): string[] {
  const out = new Set<string>();
  for (const m of json.matchAll(DID_KEY)) {
    out.add(m[0]);
    if (out.size === MAX_MENTIONS) break;
  }
  return [...out];
}

export interface PruneStatements {
  addMention: Database.Statement<[string, number]>;
  prune: Database.Statement<[{ body: string; subject: string; upTo: number }]>;
  dropIndexed: Database.Statement<[string, number]>;
  dropMentions: Database.Statement<[string, number]>;
}

export function pruneStatements(db: Database.Database): PruneStatements {
  db.exec(PRUNE_SCHEMA);
  return {
    addMention: db.prepare('INSERT OR IGNORE INTO mentions (subject, log_index) VALUES (?, ?)'),
    prune: db.prepare(
      `UPDATE txs SET tx = @body WHERE log_index IN (
         SELECT log_index FROM subject_index WHERE subject = @subject AND log_index <= @upTo
         UNION SELECT log_index FROM mentions WHERE subject = @subject AND log_index <= @upTo)`,
    ),
    dropIndexed: db.prepare('DELETE FROM subject_index WHERE subject = ? AND log_index <= ?'),
    dropMentions: db.prepare('DELETE FROM mentions WHERE subject = ? AND log_index <= ?'),
  };
}

/**
 * Inside a block's SQLite transaction: records the did:keys failed transactions name, then prunes
 * each forgotten subject's transactions up to `upTo` (a log index: the block's last).
 */
export function writeMentionsAndPrune(
  q: PruneStatements,
  height: number,
  failed: Iterable<[logIndex: number, json: string]>,
  forgotten: readonly { subject: string; upTo: number }[],
): number {
  for (const [logIndex, json] of failed) for (const did of mentionsIn(json)) q.addMention.run(did, logIndex);
  let pruned = 0;
  for (const f of forgotten) {
    pruned += q.prune.run({ body: prunedBody(height), subject: f.subject, upTo: f.upTo }).changes;
    q.dropIndexed.run(f.subject, f.upTo);
    q.dropMentions.run(f.subject, f.upTo);
  }
  return pruned;
}

/**
 * Folds the WAL into the database file and truncates it to zero bytes, so no earlier page image
 * (holding a pruned body or a deleted state row) stays in the WAL file. False when a reader or
 * the checkpointer holds it (try again later).
 */
export function truncateWal(db: Database.Database): boolean {
  const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
  return row !== undefined && row.busy === 0;
}
