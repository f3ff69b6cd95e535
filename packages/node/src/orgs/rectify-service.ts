/**
 * The org's side of the customer's corrections (issue 17, ADR 0018): its HPKE keys and its inbox.
 *
 * - Keys: `rotateKey` makes an X25519 key pair, keeps the private key wrapped by the org's KMS (the
 *   vault's key-encryption key, itself encrypted under the home's passphrase) in the node's SQLite
 *   file, and publishes the public key with `hpke.setKey`. Old keys are kept, so envelopes sealed to
 *   the key just rotated out still open.
 * - Inbox: `receive` takes an envelope for a pending `rectify.send` of the org, checks it is the one
 *   the ledger committed to (its digest), keeps it until applied, opens it, writes the value into the
 *   vault (the record's value is replaced, the subject re-keyed) and commits `rectify.apply` with
 *   the record's new commitment.
 *
 * - Relay: a peer that does not hold the org's keys (a consortium, where the customer talks to
 *   another member's peer) checks the envelope the same way and keeps it; the org's node fetches it
 *   with a request signed by its member key (`RectifyRelay`, `rectify-relay.ts`).
 * - Systems: once applied, the correction is carried into every system of the org's data map that
 *   holds the record's category (`correctionSystems`, recorded by `rectify.apply`), in the
 *   background: `runCorrection` (connectors/correction-run.ts) records a `rectify.step` per system.
 * - Crash window: the commitment written into the vault is journalled (`rectify_applying`) before
 *   `rectify.apply` is submitted, so a commit that timed out or a crash is resumed by submitting
 *   the same commitment again, never by writing the vault a second time.
 *
 * Never logs or returns a value, a subject or an envelope: ids and codes only.
 */

import { fromBase64url, toBase64url } from '@custos/protocol/encoding';
import { ProtocolError } from '@custos/protocol/errors';
import {
  envelopeDigest,
  generateHpkeKeyPair,
  hpkeKeyId,
  openRectification,
  parseRectifyEnvelope,
  type RectifyEnvelope,
} from '@custos/protocol/hpke';
import type { JsonValue } from '@custos/protocol/jcs';
import type { ExplainReason, ExtendReason, HpkeKeyEntry, Rectification } from '@custos/protocol/ledger';
import type Database from 'better-sqlite3';
import { correctionSystems, runCorrection } from '../connectors/correction-run.js';
import { errorCode, NodeError } from '../errors.js';
import type { DataRecord } from '../modules/data.js';
import { recordKey } from '../modules/data.js';
import { hpkeKeyKey } from '../modules/hpke.js';
import { rectificationKey } from '../modules/rectify.js';
import type { CommitResult, CustosNode } from '../node.js';
import type { OrgLog, OrgService } from './org-service.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hpke_keys (
  org TEXT NOT NULL,
  kid TEXT NOT NULL,
  public_key BLOB NOT NULL,
  wrapped BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org, kid)
) STRICT;
CREATE TABLE IF NOT EXISTS rectify_inbox (
  org TEXT NOT NULL,
  item TEXT NOT NULL,
  envelope TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (org, item)
) STRICT;
CREATE TABLE IF NOT EXISTS rectify_running (
  org TEXT NOT NULL,
  item TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  PRIMARY KEY (org, item)
) STRICT;
CREATE TABLE IF NOT EXISTS rectify_applying (
  org TEXT NOT NULL,
  item TEXT NOT NULL,
  commitment TEXT NOT NULL,
  written_at INTEGER NOT NULL,
  PRIMARY KEY (org, item)
) STRICT;
`;

/** The answer of a peer that does not hold the org's keys: the envelope is kept for the org's node to fetch. */
export interface Relayed {
  code: 'RELAYED';
  txId: string;
}

/** The KMS key id an org's HPKE private key is wrapped under: binds the org and the key id. */
const wrapId = (org: string, kid: string) => `hpke/${org}/${kid}`;

export class RectifyService {
  private readonly db: Database.Database;

  constructor(
    private readonly node: CustosNode,
    private readonly orgs: OrgService,
    private readonly log: OrgLog = () => {},
  ) {
    this.db = node.store.db;
    this.db.exec(SCHEMA);
  }

  /** The HPKE key the org has in force on the ledger, if any. */
  publishedKey(org: string): HpkeKeyEntry | undefined {
    const text = this.node.store.getState(hpkeKeyKey(org));
    return text === undefined ? undefined : (JSON.parse(text) as HpkeKeyEntry);
  }

  /** The ids of the HPKE keys this node holds for `org`, newest first. */
  heldKeys(org: string): { kid: string; createdAt: number }[] {
    return (
      this.db.prepare('SELECT kid, created_at FROM hpke_keys WHERE org = ? ORDER BY created_at DESC, kid').all(org) as {
        kid: string;
        created_at: number;
      }[]
    ).map((r) => ({ kid: r.kid, createdAt: r.created_at }));
  }

  /** A new HPKE key for `org`: the private key wrapped and stored first, then the public key published. */
  async rotateKey(org: string): Promise<{ kid: string; key: string; result: CommitResult }> {
    const vault = this.orgs.vaultOf(org);
    const kp = await generateHpkeKeyPair();
    const kid = hpkeKeyId(kp.publicKey);
    const wrapped = vault.kms.wrap(wrapId(org, kid), kp.privateKey);
    kp.privateKey.fill(0);
    this.db
      .prepare('INSERT INTO hpke_keys (org, kid, public_key, wrapped, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(org, kid, Buffer.from(kp.publicKey), Buffer.from(wrapped), Date.now());
    const key = toBase64url(kp.publicKey);
    const result = await this.orgs.submit(org, 'hpke.setKey', { key });
    this.log({ event: 'hpke-key', org, kid, code: result.code });
    return { kid, key, result };
  }

  private privateKey(org: string, kid: string): Uint8Array {
    const row = this.db.prepare('SELECT wrapped FROM hpke_keys WHERE org = ? AND kid = ?').get(org, kid) as
      | { wrapped: Buffer }
      | undefined;
    if (row === undefined) {
      throw new NodeError('NOT_FOUND', `this node does not hold ${org}'s HPKE key ${kid}`);
    }
    return this.orgs.vaultOf(org).kms.unwrap(wrapId(org, kid), Uint8Array.from(row.wrapped));
  }

  /** One item sent to `org` (ledger state), or undefined. */
  item(org: string, id: string): Rectification | undefined {
    const text = this.node.store.getState(rectificationKey(org, id));
    return text === undefined ? undefined : (JSON.parse(text) as Rectification);
  }

  /** The org's items (ledger state), in id order, at most `limit` after `after`. */
  list(org: string, after: string | undefined, limit: number): Rectification[] {
    return this.node.store
      .listState(`rectify/${org}/`, after === undefined ? undefined : rectificationKey(org, after), limit)
      .map((r) => JSON.parse(r.value) as Rectification);
  }

  private pending(org: string, id: string): Rectification {
    const r = this.item(org, id);
    // The same answer whether the item does not exist or is not of this org: nothing to probe.
    if (r === undefined) throw new NodeError('NOT_FOUND', `no correction ${id} sent to ${org}`);
    if (r.status !== 'pending') throw new NodeError('CONFLICT', `correction ${id} is already ${r.status}`);
    return r;
  }

  private liveRecord(org: string, id: string): DataRecord {
    const text = this.node.store.getState(recordKey(org, id));
    const rec = text === undefined ? undefined : (JSON.parse(text) as DataRecord);
    if (rec === undefined || rec.erasedAt !== null) {
      throw new NodeError('ERASED', `record ${id} was erased: explain the correction instead`);
    }
    return rec;
  }

  /**
   * The envelope of a pending `rectify.send`, from the org's inbox: checked against the digest on
   * the ledger, kept until applied, opened, written into the vault, acknowledged with `rectify.apply`.
   */
  async receive(org: string, id: string, raw: unknown): Promise<CommitResult | Relayed> {
    const env = parseRectifyEnvelope(raw);
    const r = this.pending(org, id);
    if (r.kind !== 'update') throw new NodeError('CONFLICT', `item ${id} is a flag: it carries no value`);
    if (envelopeDigest(env) !== r.digest || env.kid !== r.kid) {
      throw new ProtocolError(
        'BAD_CIPHERTEXT',
        `expected the envelope whose SHA-256 the ledger holds for correction ${id}`,
      );
    }
    this.db
      .prepare('INSERT OR IGNORE INTO rectify_inbox (org, item, envelope, received_at) VALUES (?, ?, ?, ?)')
      .run(org, id, JSON.stringify(env), Date.now());
    // Another member's peer: kept (it is the envelope the ledger committed to) for the org's node to fetch.
    if (!this.orgs.localOrgs().includes(org)) {
      this.log({ event: 'rectify-relay', org, item: id });
      return { code: 'RELAYED', txId: id };
    }
    // Being received: `resume` leaves it to this delivery, which answers the customer.
    const key = `${org}/${id}`;
    this.receiving.add(key);
    try {
      return await this.applyEnvelope(org, r, env);
    } finally {
      this.receiving.delete(key);
    }
  }

  /** Deliveries being applied now (resume skips them). */
  private readonly receiving = new Set<string>();

  /** The envelope this peer keeps for a pending correction of `org` (for the org's node), or undefined. */
  relayed(org: string, id: string): RectifyEnvelope | undefined {
    const r = this.item(org, id);
    if (r === undefined || r.status !== 'pending') return undefined;
    const row = this.db.prepare('SELECT envelope FROM rectify_inbox WHERE org = ? AND item = ?').get(org, id) as
      | { envelope: string }
      | undefined;
    return row === undefined ? undefined : parseRectifyEnvelope(JSON.parse(row.envelope));
  }

  /** Whether this node already holds the envelope of item `id` (delivered here or fetched). */
  hasEnvelope(org: string, id: string): boolean {
    return this.db.prepare('SELECT 1 FROM rectify_inbox WHERE org = ? AND item = ?').get(org, id) !== undefined;
  }

  /** The org's pending corrections (kind update) that this node has no envelope for: at most `limit`. */
  awaitingEnvelopes(org: string, limit: number): string[] {
    const out: string[] = [];
    let after: string | undefined;
    // Pages of the org's items; closed ones are skipped. Bounded by `limit` results and 64 pages a pass.
    for (let page = 0; page < 64 && out.length < limit; page++) {
      const rows = this.list(org, after, 256);
      for (const r of rows) {
        if (r.status === 'pending' && r.kind === 'update' && !this.hasEnvelope(org, r.id)) out.push(r.id);
      }
      if (rows.length < 256) break;
      after = rows[rows.length - 1]!.id;
    }
    return out.slice(0, limit);
  }

  /** Drops the envelopes kept for other orgs once their items are closed: returns how many. */
  pruneRelayed(): number {
    const local = new Set(this.orgs.localOrgs());
    const rows = this.db.prepare('SELECT org, item FROM rectify_inbox').all() as { org: string; item: string }[];
    let n = 0;
    for (const row of rows) {
      if (local.has(row.org) || this.item(row.org, row.item)?.status === 'pending') continue;
      this.db.prepare('DELETE FROM rectify_inbox WHERE org = ? AND item = ?').run(row.org, row.item);
      n++;
    }
    return n;
  }

  private async applyEnvelope(
    org: string,
    r: Rectification,
    env: ReturnType<typeof parseRectifyEnvelope>,
  ): Promise<CommitResult> {
    const sk = this.privateKey(org, env.kid);
    let value: JsonValue;
    try {
      value = await openRectification(sk, env, {
        chainId: this.node.chainId,
        org,
        subject: r.subject,
        record: r.record,
      });
    } finally {
      sk.fill(0);
    }
    return this.applyValue(org, r, value);
  }

  /** Items being applied now: a second delivery of the same envelope waits for no second vault write. */
  private readonly inFlight = new Set<string>();

  private async applyValue(org: string, r: Rectification, value: JsonValue | undefined): Promise<CommitResult> {
    const key = `${org}/${r.id}`;
    // Two deliveries at once would both write the vault (each with a fresh salt) and only one
    // commitment would reach the ledger: the vault and the ledger must agree, so one at a time.
    if (this.inFlight.has(key)) throw new NodeError('CONFLICT', `correction ${r.id} is being applied now`);
    this.inFlight.add(key);
    try {
      this.pending(org, r.id);
      const rec = this.liveRecord(org, r.record);
      const vault = this.orgs.vaultOf(org);
      // A value already written for this item (a commit that timed out, a crash after the write):
      // its `rectify.apply` may still commit, so the same commitment is submitted again and the
      // vault is not written twice (a second write would leave the vault and the ledger apart).
      const journal = this.db
        .prepare('SELECT commitment FROM rectify_applying WHERE org = ? AND item = ?')
        .get(org, r.id) as { commitment: string } | undefined;
      let commitment: string;
      if (journal !== undefined && vault.verifyCommitment(rec.vaultRef, journal.commitment)) {
        commitment = journal.commitment;
      } else if (value === undefined) {
        throw new NodeError('NOT_FOUND', `no value kept for correction ${r.id}: correct it again`);
      } else {
        commitment = vault.update(rec.vaultRef, value).commitment;
        this.db
          .prepare('INSERT OR REPLACE INTO rectify_applying (org, item, commitment, written_at) VALUES (?, ?, ?, ?)')
          .run(org, r.id, commitment, Date.now());
      }
      const systems = correctionSystems(this.orgs, org, rec.category);
      // Noted before the acknowledgement: a node stopped before its steps ran starts them on `resume`.
      if (systems !== undefined) {
        this.db
          .prepare('INSERT OR IGNORE INTO rectify_running (org, item, started_at) VALUES (?, ?, ?)')
          .run(org, r.id, Date.now());
      }
      const result = await this.orgs.submit(org, 'rectify.apply', {
        item: r.id,
        commitment,
        ...(systems === undefined ? {} : { systems }),
      });
      this.settle(org, r.id);
      this.log({ event: 'rectify-apply', org, item: r.id, code: result.code });
      if (result.code === 'OK' && systems !== undefined) this.startRun(org, r.id);
      return result;
    } finally {
      this.inFlight.delete(key);
    }
  }

  /**
   * Carries an applied correction into the org's systems without holding up the answer to its
   * delivery: the steps land on the ledger as they finish; a failed one waits for a re-run.
   */
  private startRun(org: string, id: string): void {
    const key = `${org}/${id}`;
    if (this.runningItems.has(key)) return;
    this.runningItems.add(key);
    const run = runCorrection(this.orgs, org, id)
      .then(
        (report) => this.log({ event: 'rectify-run', org, item: id, code: `${report.complete}/${report.total}` }),
        (e) => this.log({ event: 'rectify-run', org, item: id, code: errorCode(e) }),
      )
      .finally(() => {
        // Ended, whatever its outcome: a failed step waits on the ledger for the operator's re-run.
        this.db.prepare('DELETE FROM rectify_running WHERE org = ? AND item = ?').run(org, id);
        this.runningItems.delete(key);
      });
    this.runs.add(run);
    void run.finally(() => this.runs.delete(run));
  }

  /** Items whose run in the org's systems is under way in this process. */
  private readonly runningItems = new Set<string>();

  /** Starts the runs a stopped node left unstarted (applied, noted in `rectify_running`); drops closed ones. */
  private resumeRuns(org: string): void {
    const rows = this.db.prepare('SELECT item FROM rectify_running WHERE org = ?').all(org) as { item: string }[];
    for (const { item } of rows) {
      if (this.runningItems.has(`${org}/${item}`)) continue;
      const r = this.item(org, item);
      // Pending: its acknowledgement is being (or will be) resumed above, which starts the run.
      if (r?.status === 'pending') continue;
      if (r?.status === 'applied' && r.systems !== undefined) this.startRun(org, item);
      else this.db.prepare('DELETE FROM rectify_running WHERE org = ? AND item = ?').run(org, item);
    }
  }

  /** Runs started by `startRun` and not yet ended (a test or a shutdown waits for them with `settled`). */
  private readonly runs = new Set<Promise<void>>();

  /** Resolves once every run in the org's systems started so far has ended. */
  async runsSettled(): Promise<void> {
    while (this.runs.size > 0) await Promise.all([...this.runs]);
  }

  /** Forgets the journal and the envelope of an item the ledger closed. */
  private settle(org: string, id: string): void {
    if (this.item(org, id)?.status === 'pending') return;
    this.db.prepare('DELETE FROM rectify_applying WHERE org = ? AND item = ?').run(org, id);
    this.db.prepare('DELETE FROM rectify_inbox WHERE org = ? AND item = ?').run(org, id);
  }

  /** The org corrects a flagged record itself: the new value into the vault, `rectify.apply` on the ledger. */
  async correct(org: string, id: string, value: JsonValue): Promise<CommitResult> {
    const r = this.pending(org, id);
    if (r.kind !== 'flag') {
      throw new NodeError('CONFLICT', `item ${id} carries the customer's own value: it is applied from the inbox`);
    }
    return this.applyValue(org, r, value);
  }

  /** The org extends the item's deadline once, for a reason code (`rectify.extend`, Art. 12(3)). */
  async extend(org: string, id: string, reason: ExtendReason): Promise<CommitResult> {
    this.pending(org, id);
    const result = await this.orgs.submit(org, 'rectify.extend', { item: id, reason });
    this.log({ event: 'rectify-extend', org, item: id, code: result.code });
    return result;
  }

  /** The org keeps the record as it is, for a reason code (`rectify.explain`). */
  async explain(org: string, id: string, reason: ExplainReason): Promise<CommitResult> {
    this.pending(org, id);
    const result = await this.orgs.submit(org, 'rectify.explain', { item: id, reason });
    if (result.code === 'OK') this.settle(org, id);
    this.log({ event: 'rectify-explain', org, item: id, code: result.code });
    return result;
  }

  /**
   * Resumes every item received or written but not yet acknowledged on the ledger (a crash, a
   * commit that timed out): the journalled commitment is submitted again, an envelope not yet
   * written is opened and applied; an applied correction whose run in the org's systems a stopped
   * node never started is started. Returns how many items the ledger now holds as applied.
   */
  async resume(org: string): Promise<number> {
    const rows = this.db
      .prepare('SELECT item FROM rectify_inbox WHERE org = ? UNION SELECT item FROM rectify_applying WHERE org = ?')
      .all(org, org) as { item: string }[];
    let n = 0;
    for (const { item } of rows) {
      if (this.receiving.has(`${org}/${item}`) || this.inFlight.has(`${org}/${item}`)) continue;
      const r = this.item(org, item);
      if (r === undefined || r.status !== 'pending') {
        this.settle(org, item);
        continue;
      }
      const row = this.db.prepare('SELECT envelope FROM rectify_inbox WHERE org = ? AND item = ?').get(org, item) as
        | { envelope: string }
        | undefined;
      try {
        const res =
          row === undefined
            ? await this.applyValue(org, r, undefined)
            : await this.applyEnvelope(org, r, parseRectifyEnvelope(JSON.parse(row.envelope)));
        if (res.code === 'OK') n++;
      } catch (e) {
        // One item that cannot be applied now (erased record, a commit still slow) does not stop the others.
        this.log({ event: 'rectify-resume', org, item, code: (e as { code?: string }).code ?? 'INTERNAL' });
      }
    }
    this.resumeRuns(org);
    return n;
  }
}

/** The public key of a published entry, as bytes. */
export function publishedKeyBytes(entry: HpkeKeyEntry): Uint8Array {
  return fromBase64url(entry.key, 32);
}

const services = new WeakMap<OrgService, RectifyService>();

/** The one RectifyService of an OrgService (its tables live in the node's SQLite file). */
export function rectifyServiceOf(node: CustosNode, orgs: OrgService, log?: OrgLog): RectifyService {
  let s = services.get(orgs);
  if (s === undefined) {
    s = new RectifyService(node, orgs, log);
    services.set(orgs, s);
  }
  return s;
}
