/**
 * What a member org does with its own node: keeps customer data in its vault and records each step
 * on the ledger, signed with its key. The vault decrypts only for an access the ledger accepted; an
 * erasure shreds the keys first and then commits `data.erased`. Retention runs by itself.
 */

import type { Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type Art9Condition, type ResultCode, signTx, txIdOf } from '@custos/protocol/ledger';
import type Database from 'better-sqlite3';
import type { Connector } from '../connectors/connector.js';
import { NodeError } from '../errors.js';
import type { DataRecord, LawfulBasis } from '../modules/data.js';
import { recordKey } from '../modules/data.js';
import { type DataMapEntry, dataMapKey } from '../modules/datamap.js';
import { type DataRequest, isAckOverdue, isOverdue, requestKey } from '../modules/request.js';
import { type RequestStep, requestStepKey } from '../modules/request-steps.js';
import { type RetentionRun, retentionKey } from '../modules/retention.js';
import type { CommitResult, CustosNode } from '../node.js';
import type { Vault } from '../vault/vault.js';

export interface LocalOrg {
  id: string;
  signer: Signer;
  vault: Vault;
}

export interface RegisterInput {
  subject: string;
  category: string;
  purposes: Record<string, LawfulBasis>;
  source: 'subject' | 'public' | 'third-party' | 'derived';
  retentionDays: number;
  value: JsonValue;
  /** A special category on a basis other than consent: its GDPR Art. 9(2) condition. */
  condition?: Art9Condition;
  /** Purposes served by solely automated decisions with legal or similar effects (GDPR Art. 22). */
  automated?: string[];
  /** A copy received through a share: the record shared with this org (GDPR Art. 19: it follows its source). */
  sourceRecord?: { org: string; id: string };
}

/** One line per event an operator may need, never with a value, a subject or a salt. */
export type OrgLog = (event: Record<string, string | number>) => void;

const ERASE_CHUNK = 256;
/** Lifetime of a `data.register` transaction: its vault record waits at most this long for the ledger. */
const REGISTER_TTL_MS = 10 * 60 * 1000;
/** Default longest wait for an org's transaction to commit: as long as `POST /v1/txs?wait=true` waits. */
const COMMIT_WAIT_MS = 30_000;

export class OrgService {
  private readonly orgs = new Map<string, LocalOrg>();
  private retentionTimer: ReturnType<typeof setInterval> | undefined;
  /**
   * This machine's clock when the service started, with the monotonic clock then: a later wall
   * clock that jumped forward is caught by comparing it with this anchor plus monotonic time.
   */
  private readonly anchor = { wall: Date.now(), mono: performance.now() };
  /** Block time of the last retention sweep that ran. */
  private lastSweepTime: number | undefined;

  /** Longest wait for a commit before TIMEOUT (naming the txId); the transaction may still commit. */
  private readonly commitWaitMs: number;

  constructor(
    /** The node the orgs submit to (read by the services beside this one, e.g. the data export's). */
    readonly node: CustosNode,
    orgs: LocalOrg[],
    private readonly log: OrgLog = () => {},
    opts: { commitWaitMs?: number } = {},
  ) {
    this.commitWaitMs = opts.commitWaitMs ?? COMMIT_WAIT_MS;
    for (const o of orgs) this.orgs.set(o.id, o);
    // Registrations a crash left undecided: erase the values whose transactions can no longer commit.
    for (const o of orgs) this.settlePending(o.id);
  }

  /** The connectors to each org's systems (its data map's), when this node is configured with them. */
  private readonly connectors = new Map<string, readonly Connector[]>();

  setConnectors(orgId: string, list: readonly Connector[]): void {
    this.org(orgId);
    this.connectors.set(orgId, list);
  }

  connectorsOf(orgId: string): readonly Connector[] | undefined {
    return this.connectors.get(orgId);
  }

  /** This node's own SQLite database (never replicated): node-local tables such as the step journal. */
  localDb(): Database.Database {
    return this.node.store.db;
  }

  /** Orgs whose keys and vaults this node holds. */
  localOrgs(): string[] {
    return [...this.orgs.keys()];
  }

  /** The signing key of a local org, if this node holds it. */
  signerOf(id: string): Signer | undefined {
    return this.orgs.get(id)?.signer;
  }

  /** The vault of a local org (NOT_FOUND if this node does not hold the org's keys). */
  vaultOf(id: string): Vault {
    return this.org(id).vault;
  }

  private org(id: string): LocalOrg {
    const o = this.orgs.get(id);
    if (!o) throw new NodeError('NOT_FOUND', `this node does not hold the keys of org '${id}'`);
    return o;
  }

  /** Submits a transaction signed by the org and waits for its block (at most `commitWaitMs`). */
  async submit(orgId: string, type: string, args: { [k: string]: JsonValue }): Promise<CommitResult> {
    const o = this.org(orgId);
    const sub = this.node.submit(signTx({ chainId: this.node.chainId, type, args }, o.signer));
    return this.bounded(sub.txId, sub.committed);
  }

  /** `committed`, or TIMEOUT naming the transaction once `commitWaitMs` passed without its block. */
  private bounded(txId: string, committed: Promise<CommitResult>): Promise<CommitResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new NodeError(
            'TIMEOUT',
            `transaction ${txId} was admitted but not committed within ${this.commitWaitMs} ms; it may still commit: look it up later (GET /v1/txs/${txId})`,
          ),
        );
      }, this.commitWaitMs);
    });
    return Promise.race([committed, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Governance as the org: `gov.propose {action, reason}` or `gov.vote {proposal, vote}`, signed
   * with the org's member key. The ledger checks the action and counts the vote; its result code
   * comes back as is (a refused proposal is a recorded fact, not an error).
   */
  async governance(
    orgId: string,
    step:
      | { propose: { action: { [k: string]: JsonValue }; reason: string } }
      | { vote: { proposal: string; vote: 'yes' | 'no' } },
  ): Promise<CommitResult> {
    if ('propose' in step) {
      return this.submit(orgId, 'gov.propose', { action: step.propose.action, reason: step.propose.reason });
    }
    return this.submit(orgId, 'gov.vote', { proposal: step.vote.proposal, vote: step.vote.vote });
  }

  private stateOf<T>(key: string): T | undefined {
    const text = this.node.store.getState(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  /** A request to the org, as the ledger holds it. */
  request(orgId: string, requestId: string): DataRequest | undefined {
    return this.stateOf<DataRequest>(requestKey(orgId, requestId));
  }

  /** The data map the org has in force on the ledger (its digest and system ids). */
  dataMap(orgId: string): DataMapEntry | undefined {
    return this.stateOf<DataMapEntry>(dataMapKey(orgId));
  }

  /** The last retention run recorded on the ledger for one of the org's systems (modules/retention.ts). */
  retentionRun(orgId: string, system: string): RetentionRun | undefined {
    return this.stateOf<RetentionRun>(retentionKey(orgId, system));
  }

  /** One system's recorded step of a request. */
  requestStep(orgId: string, requestId: string, system: string): RequestStep | undefined {
    return this.stateOf<RequestStep>(requestStepKey(orgId, requestId, system));
  }

  record(orgId: string, recordId: string): DataRecord | undefined {
    const text = this.node.store.getState(recordKey(orgId, recordId));
    return text === undefined ? undefined : (JSON.parse(text) as DataRecord);
  }

  /**
   * Stores a value in the org's vault and registers it on the ledger (commitment and reference only).
   * The vault record is marked pending with the transaction's expiry until the ledger decides; a
   * registration the ledger refused, the node never admitted, or that can no longer commit leaves
   * nothing behind in the vault (trust #14), even across a crash (`settlePending`).
   */
  async register(orgId: string, input: RegisterInput): Promise<CommitResult & { recordId: string }> {
    const o = this.org(orgId);
    const now = Date.now();
    const { vaultRef, commitment } = o.vault.put(input.subject, input.value, { pendingUntil: now + REGISTER_TTL_MS });
    const signed = signTx(
      {
        chainId: this.node.chainId,
        type: 'data.register',
        args: {
          subject: input.subject,
          category: input.category,
          purposes: input.purposes,
          source: input.source,
          commitment,
          vaultRef,
          retentionDays: input.retentionDays,
          ...(input.condition === undefined ? {} : { condition: input.condition }),
          ...(input.automated === undefined ? {} : { automated: input.automated }),
          ...(input.sourceRecord === undefined ? {} : { sourceRecord: { ...input.sourceRecord } }),
        },
        now,
        ttlMs: REGISTER_TTL_MS,
      },
      o.signer,
    );
    let committed: Promise<CommitResult>;
    const txId = txIdOf(signed.body);
    try {
      o.vault.setPendingTx(vaultRef, txId);
      committed = this.bounded(txId, this.node.submit(signed).committed);
    } catch (e) {
      // Never admitted: it cannot commit.
      o.vault.eraseRecord(vaultRef);
      throw e;
    }
    let r: CommitResult;
    try {
      r = await committed;
    } catch (e) {
      // Admitted, then no answer (node stopped, timeout): it may still commit until it expires;
      // settlePending erases the value once the ledger has passed its expiry without it.
      this.settlePending(orgId);
      throw e;
    }
    if (r.code === 'OK') o.vault.settle(vaultRef);
    else o.vault.eraseRecord(vaultRef);
    return { ...r, recordId: r.txId };
  }

  /**
   * Decides the org's pending registrations: a committed one is kept; one whose transaction did not
   * commit and can no longer (the latest block is past its expiry, or it was never submitted) has
   * its vault record erased. Returns how many records were erased.
   */
  settlePending(orgId: string): number {
    const o = this.org(orgId);
    const ledgerTime = this.node.latest().time;
    let erased = 0;
    for (const p of o.vault.pending()) {
      const t = (p.txId === null ? undefined : this.node.store.getTx(p.txId)) ?? undefined;
      if (t !== undefined && t.code === 'OK') o.vault.settle(p.vaultRef);
      else if (t !== undefined || ledgerTime > p.until || p.txId === null) {
        o.vault.eraseRecord(p.vaultRef);
        erased++;
      }
    }
    if (erased > 0) this.log({ event: 'register.orphans-erased', org: orgId, records: erased });
    return erased;
  }

  /**
   * Uses a record: records the access on the ledger and, only if the ledger accepted it, decrypts.
   * Returns the result code, and the value when the code is OK.
   */
  async access(
    orgId: string,
    recordId: string,
    purpose: string,
    basis: LawfulBasis,
  ): Promise<CommitResult & { value?: JsonValue }> {
    const o = this.org(orgId);
    const rec = this.record(orgId, recordId);
    if (!rec) throw new NodeError('NOT_FOUND', `no record ${recordId} held by ${orgId}`);
    const r = await this.submit(orgId, 'data.access', { record: recordId, purpose, basis });
    if (r.code !== 'OK') return r;
    const value = o.vault.read(rec.vaultRef, { accessTxId: r.txId }, (vaultRef, txId) =>
      this.isValidAccess(orgId, vaultRef, txId),
    );
    return { ...r, value };
  }

  /** True if `txId` committed as a valid data.access, by this org, of the record stored under `vaultRef`. */
  isValidAccess(orgId: string, vaultRef: string, txId: string): boolean {
    const t = this.node.store.getTx(txId);
    if (t?.code !== 'OK' || t.tx === null || t.tx.body.type !== 'data.access') return false;
    const recordId = t.tx.body.args.record;
    if (typeof recordId !== 'string') return false;
    const rec = this.record(orgId, recordId);
    return rec !== undefined && rec.vaultRef === vaultRef && rec.erasedAt === null;
  }

  async share(
    orgId: string,
    recordId: string,
    recipient: string,
    purpose: string,
    sale: boolean,
  ): Promise<CommitResult> {
    return this.submit(orgId, 'data.share', { record: recordId, recipient, purpose, sale });
  }

  /** Rectification: the vault gets the new value, the ledger the new commitment. */
  async rectify(orgId: string, recordId: string, value: JsonValue): Promise<CommitResult> {
    const o = this.org(orgId);
    const rec = this.record(orgId, recordId);
    if (!rec) throw new NodeError('NOT_FOUND', `no record ${recordId} held by ${orgId}`);
    if (rec.erasedAt !== null) throw new NodeError('ERASED', `record ${recordId} was erased`);
    const { commitment } = o.vault.update(rec.vaultRef, value);
    return this.submit(orgId, 'data.update', { record: recordId, commitment });
  }

  /** Crypto-shreds records in the vault, then records the erasure on the ledger (recipients get notified). */
  async erase(
    orgId: string,
    recordIds: string[],
    reason: 'request' | 'retention' | 'consent-withdrawn' | 'other',
  ): Promise<CommitResult[]> {
    const o = this.org(orgId);
    const live = recordIds.filter((id) => {
      const rec = this.record(orgId, id);
      return rec !== undefined && rec.erasedAt === null;
    });
    for (const id of live) o.vault.eraseRecord(this.record(orgId, id)!.vaultRef);
    const results: CommitResult[] = [];
    for (let i = 0; i < live.length; i += ERASE_CHUNK) {
      results.push(await this.submit(orgId, 'data.erased', { records: live.slice(i, i + ERASE_CHUNK), reason }));
    }
    for (const id of live) this.log({ event: 'data.erased', org: orgId, record: id, reason });
    return results;
  }

  /** Every record of the org on one subject, by scanning the subject's item list in state. */
  recordsOf(orgId: string, subject: string): DataRecord[] {
    const out: DataRecord[] = [];
    const items = this.node.store.getState(`subjitems/${subject}`);
    const count = items === undefined ? 0 : (JSON.parse(items) as { count: number }).count;
    for (let i = 0; i < count; i++) {
      const key = JSON.parse(this.node.store.getState(`subjitem/${subject}/${i}`) ?? 'null') as string | null;
      if (key?.startsWith(`record/${orgId}/`)) {
        const text = this.node.store.getState(key);
        if (text) out.push(JSON.parse(text) as DataRecord);
      }
    }
    return out;
  }

  /** Erases everything the org holds on a subject: the subject key goes first, so it is O(1) whatever the volume. */
  async eraseSubject(
    orgId: string,
    subject: string,
    reason: 'request' | 'consent-withdrawn' | 'other',
  ): Promise<CommitResult[]> {
    const o = this.org(orgId);
    o.vault.eraseSubject(subject);
    const ids = this.recordsOf(orgId, subject)
      .filter((r) => r.erasedAt === null)
      .map((r) => r.id);
    return this.erase(orgId, ids, reason);
  }

  /** Records of an org past their retention and not erased: non-compliant until erased. */
  pastRetention(orgId: string, now = this.node.latest().time): DataRecord[] {
    const out: DataRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = this.node.store.listState(`record/${orgId}/`, after, 500);
      for (const row of page) {
        const rec = JSON.parse(row.value) as DataRecord;
        if (rec.erasedAt === null && rec.retentionUntil <= now) out.push(rec);
      }
      if (page.length < 500) break;
      after = page[page.length - 1]!.key;
    }
    return out;
  }

  /**
   * The block time a retention sweep may act on: the time of the latest FINAL block (a quorum of
   * members certified it), and only if it is plausible: not ahead of this machine's clock (the
   * lower of the wall clock and the start-time anchor plus the monotonic clock) by more than the
   * allowed skew. Otherwise undefined, and the clock alarm is raised.
   */
  retentionTime(): number | undefined {
    const height = this.node.latestFinal();
    if (height < 0) return undefined;
    const header = this.node.store.getHeader(height)?.header;
    if (header === undefined) return undefined;
    const { maxClockSkewMs } = this.node.clockStatus();
    const local = Math.floor(Math.min(Date.now(), this.anchor.wall + (performance.now() - this.anchor.mono)));
    let reason: string | undefined;
    if (header.time > local + maxClockSkewMs) {
      reason = `the final block is dated ${header.time - local} ms ahead of this machine's clock`;
    } else if (this.lastSweepTime !== undefined && header.time < this.lastSweepTime) {
      reason = 'the final block is dated before the previous sweep';
    }
    if (reason !== undefined) {
      this.node.raiseClockAlarm({
        kind: 'retention',
        height,
        blockTime: header.time,
        localTime: local,
        skewMs: header.time - local,
        reason: `retention sweep refused: ${reason}`,
      });
      this.log({ event: 'retention.refused', height, reason });
      return undefined;
    }
    this.node.clearClockAlarm('retention');
    return header.time;
  }

  /**
   * Erases, for every local org, the records past retention. Returns how many were erased. Without
   * `now`, the sweep uses the time of the latest final block, and does nothing when that time is
   * implausible (see `retentionTime`). `now` is for an operator's explicit sweep and for tests.
   */
  async runRetention(now?: number): Promise<number> {
    if (now === undefined) {
      const t = this.retentionTime();
      if (t === undefined) return 0;
      this.lastSweepTime = t;
      now = t;
    }
    let n = 0;
    for (const orgId of this.orgs.keys()) {
      const due = this.pastRetention(orgId, now).map((r) => r.id);
      if (due.length === 0) continue;
      const results = await this.erase(orgId, due, 'retention');
      n += results.filter((r) => r.code === 'OK').length > 0 ? due.length : 0;
    }
    return n;
  }

  /** Runs retention every `intervalMs` (default one minute) until `stop`. */
  startRetention(intervalMs = 60_000): void {
    this.retentionTimer = setInterval(() => {
      try {
        for (const id of this.orgs.keys()) this.settlePending(id);
      } catch (e) {
        this.log({ event: 'register.settle-failed', error: String((e as Error).message).slice(0, 200) });
      }
      this.runRetention().catch((e) =>
        this.log({ event: 'retention.failed', error: String((e as Error).message).slice(0, 200) }),
      );
    }, intervalMs);
    this.retentionTimer.unref();
  }

  /** Closes the connectors (their database pools). */
  async closeConnectors(): Promise<void> {
    const all = [...this.connectors.values()].flat();
    this.connectors.clear();
    await Promise.all(all.map((c) => c.close().catch(() => {})));
  }

  stop(): void {
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
  }

  /**
   * Requests made to an org, soonest deadline first; `overdue` marks the ones past their deadline,
   * `ackOverdue` those whose confirmation of receipt is late (CCPA regulations 7021(a)).
   */
  requests(orgId: string, now = this.node.latest().time): (DataRequest & { overdue: boolean; ackOverdue: boolean })[] {
    const out: (DataRequest & { overdue: boolean; ackOverdue: boolean })[] = [];
    let after: string | undefined;
    for (;;) {
      const page = this.node.store.listState(`request/${orgId}/`, after, 500);
      for (const row of page) {
        const r = JSON.parse(row.value) as DataRequest;
        out.push({ ...r, overdue: isOverdue(r, now), ackOverdue: isAckOverdue(r, now) });
      }
      if (page.length < 500) break;
      after = page[page.length - 1]!.key;
    }
    return out.sort((a, b) => Number(b.status === 'open') - Number(a.status === 'open') || a.deadline - b.deadline);
  }
}

export type { ResultCode };
