/**
 * The submitting side of the etcd orderer. Each transaction admitted on this peer is written under
 * `pending/<txId>` only if neither that key nor the transaction's `included/<txId>` marker exists (so
 * a transaction given to two peers is stored once, and one already in a block is not stored again),
 * attached to this peer's lease. Writes leave in submission order, one etcd transaction at a time.
 */
import { EtcdLeaseInvalidError, type IRequestOp, type Lease, type Namespace } from 'etcd3';
import { encodePending, includedKey, pendingKey, signedTxJson } from './etcd-layout.js';
import { Backoff, describeError, isPermanentEtcdError, sleep } from './etcd-retry.js';
import type { PendingTx } from './orderer.js';

/** After its expiry, a transaction not delivered here is forgotten this much later (clock skew, lag). */
const EXPIRY_GRACE_MS = 60_000;
/** Room kept in each request for etcd's framing. */
const REQUEST_MARGIN_BYTES = 8 * 1024;

export interface PendingWriterOptions {
  /** Lease TTL of this peer's pending keys, in seconds. */
  ttlSec: number;
  maxTxnOps: number;
  maxRequestBytes: number;
  log: (message: string) => void;
  onFatal: (err: unknown) => void;
  /** Transactions given up on because they expired before being delivered. */
  onExpired: (txIds: string[]) => void;
}

interface LocalTx {
  value: string;
  /** The transaction's text in `value`, as a block carries it. */
  json: string;
  /** Its parse, as admitted here. */
  tx: PendingTx;
  seq: number;
  bytes: number;
  expiresAt: number;
  /** When it was last written (or queued to be). */
  since: number;
  queued: boolean;
}

export class PendingWriter {
  private readonly local = new Map<string, LocalTx>();
  /** txId of each transaction in `local`, by its signature. */
  private readonly bySig = new Map<string, string>();
  private queue: string[] = [];
  private queueHead = 0;
  private seq = 0;
  private lease: Lease | undefined;
  private pumping = false;
  private started = false;
  private stopped = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly backoff = new Backoff(50, 2000);
  private readonly maxBatch: number;

  constructor(
    private readonly ns: Namespace,
    private readonly opts: PendingWriterOptions,
  ) {
    // Two compares (pending and included absent) per transaction; two reads each when the write fails.
    this.maxBatch = Math.max(1, Math.floor(opts.maxTxnOps / 2));
  }

  start(): void {
    this.started = true;
    // Re-writes what is still pending here after a third of the lease: covers a lost lease and a
    // transaction stored by another peer that then died before it was included.
    const every = Math.max(1000, (this.opts.ttlSec * 1000) / 3);
    this.sweeper = setInterval(() => this.sweep(every), every);
    this.sweeper.unref();
    this.kick();
  }

  /** Queues transactions for writing; ignores ones already pending here. */
  add(txs: readonly PendingTx[]): void {
    const now = Date.now();
    const expired: string[] = [];
    for (const t of txs) {
      const id = t.parsed.txId;
      if (this.local.has(id)) continue;
      const expiresAt = t.parsed.tx.body.expiresAt;
      if (expiresAt <= now) {
        expired.push(id);
        continue;
      }
      const seq = this.seq++;
      const json = signedTxJson(t.parsed);
      const value = encodePending(seq, json);
      this.local.set(id, {
        value,
        json,
        tx: t,
        seq,
        bytes: Buffer.byteLength(value),
        expiresAt,
        since: now,
        queued: true,
      });
      this.bySig.set(t.parsed.tx.sig, id);
      this.queue.push(id);
    }
    if (expired.length > 0) this.opts.onExpired(expired);
    this.kick();
  }

  /**
   * The seq and parse of the pending value `value` of `txId` when this peer wrote exactly that value
   * (so the proposer on this peer need not parse its own submissions again); undefined otherwise.
   */
  written(txId: string, value: Buffer): { seq: number; tx: PendingTx } | undefined {
    const l = this.local.get(txId);
    if (l === undefined || l.bytes !== value.length || value.toString('utf8') !== l.value) return undefined;
    return { seq: l.seq, tx: l.tx };
  }

  /**
   * The parse of a transaction as a block carries it (`raw`, parsed from the block's JSON) when it is
   * one submitted here and not yet delivered, byte for byte as admitted: a peer's feed need not parse
   * and verify its own submissions again. Undefined for anything else, a forged copy included.
   */
  submitted(raw: unknown): PendingTx | undefined {
    const sig = typeof raw === 'object' && raw !== null ? (raw as { sig?: unknown }).sig : undefined;
    if (typeof sig !== 'string') return undefined;
    const id = this.bySig.get(sig);
    const l = id === undefined ? undefined : this.local.get(id);
    // JSON.stringify of an object parsed from canonical JSON gives that text back (keys in text order).
    if (l === undefined || JSON.stringify(raw) !== l.json) return undefined;
    return l.tx;
  }

  /** Forgets transactions once delivered here. */
  delivered(txIds: readonly string[]): void {
    for (const id of txIds) this.forget(id);
  }

  /** Transactions submitted here and not yet delivered here. */
  size(): number {
    return this.local.size;
  }

  /** Stops writing and revokes the lease: what is still pending from this peer is dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await Promise.race([lease.revoke().catch(() => {}), sleep(1000)]);
  }

  private kick(): void {
    if (this.pumping || !this.started || this.stopped || this.queueHead >= this.queue.length) return;
    this.pumping = true;
    this.pump()
      .catch((e) => this.opts.onFatal(e))
      .finally(() => {
        this.pumping = false;
        this.kick();
      });
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      await this.write(batch);
      for (const id of batch) {
        const l = this.local.get(id);
        if (l) l.queued = false;
      }
    }
  }

  /** The next transactions in submission order that fit in one etcd transaction. */
  private takeBatch(): string[] {
    const batch: string[] = [];
    let bytes = 0;
    const budget = this.opts.maxRequestBytes - REQUEST_MARGIN_BYTES;
    while (this.queueHead < this.queue.length && batch.length < this.maxBatch) {
      const id = this.queue[this.queueHead]!;
      const l = this.local.get(id);
      if (l === undefined || !l.queued) {
        this.queueHead++;
        continue;
      }
      const cost = l.bytes + 2 * (id.length + 64);
      if (batch.length > 0 && bytes + cost > budget) break;
      batch.push(id);
      bytes += cost;
      this.queueHead++;
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return batch;
  }

  /** Writes the batch, retrying transient failures; transactions found already stored are left alone. */
  private async write(batch: string[]): Promise<void> {
    let todo = batch;
    while (!this.stopped) {
      todo = todo.filter((id) => this.local.has(id));
      if (todo.length === 0) return;
      try {
        const leaseId = await this.leaseId();
        const res = await this.txn(todo, leaseId);
        this.backoff.reset();
        if (res.succeeded) return;
        // Some are stored already (pending from another peer, or included): write only the others.
        // Asked afterwards rather than in the write's failure branch, which every write would carry.
        const found = await this.present(todo);
        const absent = todo.filter(
          (_, i) =>
            found.responses[2 * i]?.response_range.count === '0' &&
            found.responses[2 * i + 1]?.response_range.count === '0',
        );
        if (absent.length === todo.length) throw new Error('conditional write failed but every key is absent');
        todo = absent;
      } catch (e) {
        if (this.stopped) return;
        if (isPermanentEtcdError(e)) throw e;
        if (e instanceof EtcdLeaseInvalidError || describeError(e).includes('lease not found')) this.lease = undefined;
        this.opts.log(`pending write failed, retrying: ${describeError(e)}`);
        await sleep(this.backoff.next());
      }
    }
  }

  private txn(ids: string[], leaseId: string) {
    const [first, ...rest] = ids as [string, ...string[]];
    let cmp = this.ns.if(pendingKey(first), 'Create', '==', 0).and(includedKey(first), 'Create', '==', 0);
    for (const id of rest) cmp = cmp.and(pendingKey(id), 'Create', '==', 0).and(includedKey(id), 'Create', '==', 0);
    return cmp
      .then(...ids.map((id) => this.ns.put(pendingKey(id)).value(this.local.get(id)!.value).lease(leaseId)))
      .commit();
  }

  /** Counts of each transaction's pending key and included marker, in one read: [pending, included] per id. */
  private present(ids: string[]) {
    // One etcd transaction of reads only (its compare holds for any key).
    return this.ns
      .if(pendingKey(ids[0]!), 'Version', '>', -1)
      .then(...ids.flatMap((id) => [this.countOp(pendingKey(id)), this.countOp(includedKey(id))]))
      .commit();
  }

  /** A count-only read of one key (raw ops are not namespaced by the client, so the prefix is added here). */
  private countOp(key: string): IRequestOp {
    return { request_range: { key: Buffer.concat([this.ns.prefix, Buffer.from(key)]), count_only: true } };
  }

  private leaseId(): Promise<string> {
    if (this.lease === undefined) {
      const lease = this.ns.lease(this.opts.ttlSec);
      lease.on('lost', (err) => {
        if (this.lease !== lease) return;
        this.lease = undefined;
        this.opts.log(`pending lease lost (${describeError(err)}); writing this peer's pending transactions again`);
        this.requeueAll();
      });
      this.lease = lease;
    }
    return this.lease.grant();
  }

  private forget(txId: string): void {
    const l = this.local.get(txId);
    if (l === undefined) return;
    this.local.delete(txId);
    if (this.bySig.get(l.tx.parsed.tx.sig) === txId) this.bySig.delete(l.tx.parsed.tx.sig);
  }

  private requeueAll(): void {
    const now = Date.now();
    for (const [id, l] of this.local) {
      if (l.queued) continue;
      l.queued = true;
      l.since = now;
      this.queue.push(id);
    }
    this.kick();
  }

  private sweep(ageMs: number): void {
    if (this.stopped) return;
    const now = Date.now();
    const expired: string[] = [];
    for (const [id, l] of this.local) {
      if (l.expiresAt + EXPIRY_GRACE_MS <= now) {
        this.forget(id);
        expired.push(id);
      } else if (!l.queued && l.since <= now - ageMs) {
        l.queued = true;
        l.since = now;
        this.queue.push(id);
      }
    }
    if (expired.length > 0) this.opts.onExpired(expired);
    this.kick();
  }
}
