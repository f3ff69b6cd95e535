/**
 * The proposer's pending pool (`etcd-proposer.ts`): every transaction under `pending/`, oldest
 * first, held in memory from one range read and then a watch. A pending key is admitted only if it
 * holds a well-formed transaction for this chain, under its own id, with a valid signature;
 * anything else is dropped from etcd. Each watch event's transactions are parsed in one batch (the
 * node verifies their signatures off the event loop) as soon as it arrives, and the events are
 * applied to the pool strictly in arrival order, so a put and a later delete of the same key never
 * swap.
 */
import type { Namespace, Watcher } from 'etcd3';
import { Range } from 'etcd3';
import {
  decodePending,
  HEAD_KEY,
  type PendingValue,
  pendingKey,
  pendingPrefix,
  signedTxJson,
  txIdOfPendingKey,
} from './etcd-layout.js';
import { describeError, sleep } from './etcd-retry.js';
import type { ParseBatchFn, ParseOutcome, PendingTx } from './orderer.js';

/** Pending keys read per range read. */
const PAGE = 500;

export interface PoolEntry {
  txId: string;
  seq: number;
  createRev: number;
  json: string;
  /** Its parse (signature verified): what the feed delivers when this proposer's block comes back. */
  tx: PendingTx;
  bytes: number;
  expiresAt: number;
  firstSeen: number;
}

export interface PendingPoolOptions {
  /** Parses and verifies pending transactions in batches. */
  parseBatch: ParseBatchFn;
  /** Transactions in a full block: reaching it wakes the proposer. */
  capacity: number;
  maxTxnOps: number;
  log: (message: string) => void;
  /** Called when the pool gets its first transaction or a full block's worth, or must be reloaded. */
  wake: () => void;
  /** The seq and parse of a pending value this peer wrote itself, byte for byte (not parsed again). */
  written?: (txId: string, value: Buffer) => { seq: number; tx: PendingTx } | undefined;
}

/** A pending key as read or watched. */
interface PendingKv {
  key: string;
  createRev: number;
  value: Buffer;
}

/** A pending key's value parsed: the submitter's seq and the parse of its transaction. */
interface ParsedPending {
  seq: number;
  outcome: ParseOutcome;
}

type Parsed = ParsedPending | { error: unknown };

/** A change to `pending/` from the watch: a key put, or deleted. */
type PendingEvent = { put: PendingKv; txId: string | undefined } | { deleted: string };

export class PendingPool {
  /** Pending transactions, oldest first (create revision, then the submitter's seq). */
  readonly entries = new Map<string, PoolEntry>();
  /** True until loaded, and after the watch failed: `load()` again before proposing. */
  stale = true;
  /** Bumped whenever the pool is cleared: watch events parsed for an older pool are dropped. */
  private generation = 0;
  /** The tail of the chain that applies watch events in arrival order. */
  private applying: Promise<void> = Promise.resolve();
  /** Watch events received and not yet applied. */
  private unapplied = 0;
  private watcher: Watcher | undefined;

  constructor(
    private readonly ns: Namespace,
    private readonly opts: PendingPoolOptions,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Whether watch events are still being parsed: the pool may be about to grow. */
  busy(): boolean {
    return this.unapplied > 0;
  }

  /** Reads every pending key at one revision, then watches for changes after it. */
  async load(): Promise<void> {
    await this.clear();
    const generation = this.generation;
    const range = Range.prefix(pendingPrefix);
    const kvs: PendingKv[] = [];
    let start: Buffer = range.start;
    let revision: string | undefined;
    for (;;) {
      let q = this.ns.getAll().inRange({ start, end: range.end }).limit(PAGE);
      if (revision !== undefined) q = q.revision(revision);
      const res = await q.exec();
      revision ??= res.header.revision;
      for (const kv of res.kvs) {
        kvs.push({ key: kv.key.toString(), createRev: Number(kv.create_revision), value: kv.value });
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || last === undefined) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    const now = Date.now();
    const sorted = kvs.map((kv) => ({ ...kv, seq: safeSeq(kv.value) }));
    sorted.sort((a, b) => a.createRev - b.createRev || a.seq - b.seq);
    const parsed = await this.parse(sorted);
    if (generation !== this.generation) return;
    const before = this.entries.size;
    for (let i = 0; i < sorted.length; i++) this.admit(sorted[i]!, parsed[i]!, now);
    this.notifyGrowth(before);

    const watcher = this.ns
      .watch()
      .prefix(pendingPrefix)
      .startRevision(String(Number(revision) + 1))
      .watcher();
    watcher.on('data', (res) => {
      const t = Date.now();
      const events: PendingEvent[] = res.events.map((ev) => {
        const key = ev.kv.key.toString();
        return ev.type === 'Put'
          ? { put: { key, createRev: Number(ev.kv.create_revision), value: ev.kv.value }, txId: txIdOfPendingKey(key) }
          : { deleted: key };
      });
      this.onEvents(generation, events, t);
    });
    watcher.on('error', (err) => {
      this.opts.log(`proposer: pending watch failed (${describeError(err)}); reloading the pool`);
      this.stale = true;
      this.opts.wake();
    });
    this.watcher = watcher;
    this.stale = false;
  }

  /** Stops watching and empties the pool; it is stale until loaded again. */
  async clear(): Promise<void> {
    this.generation++;
    this.stale = true;
    this.entries.clear();
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await Promise.race([w.cancel().catch(() => {}), sleep(1000)]);
  }

  /** Removes transactions from the pool (they are in a block). */
  forget(txIds: Iterable<string>): void {
    for (const id of txIds) this.entries.delete(id);
  }

  /** Removes transactions from the pool and their pending keys from etcd. */
  drop(txIds: string[]): void {
    this.forget(txIds);
    this.deleteKeys(txIds.map(pendingKey));
  }

  /** Best-effort deletion in batches; a key left behind is dropped again later or expires with its lease. */
  deleteKeys(keys: string[]): void {
    for (let i = 0; i < keys.length; i += this.opts.maxTxnOps) {
      const ops = keys.slice(i, i + this.opts.maxTxnOps).map((k) => this.ns.delete().key(k));
      this.ns
        .if(HEAD_KEY, 'Version', '>', -1)
        .then(...ops)
        .commit()
        .catch((e: unknown) => this.opts.log(`proposer: deleting dropped keys failed: ${describeError(e)}`));
    }
  }

  /** Parses the event's new keys at once (while earlier events may still be verifying), then applies it in order. */
  private onEvents(generation: number, events: PendingEvent[], receivedAt: number): void {
    const puts = events.flatMap((e) =>
      'put' in e && (e.txId === undefined || !this.entries.has(e.txId)) ? [e.put] : [],
    );
    const parsing = this.parse(puts);
    this.unapplied++;
    this.applying = this.applying
      .then(() => parsing)
      .then((parsed) => {
        if (generation !== this.generation) return;
        const byKv = new Map(puts.map((kv, i) => [kv, parsed[i]!]));
        const before = this.entries.size;
        for (const e of events) {
          if ('deleted' in e) {
            const id = txIdOfPendingKey(e.deleted);
            if (id !== undefined) this.entries.delete(id);
            continue;
          }
          const p = byKv.get(e.put);
          if (p !== undefined) this.admit(e.put, p, receivedAt);
        }
        this.notifyGrowth(before);
      })
      .catch((err: unknown) => {
        if (generation !== this.generation) return;
        this.opts.log(`proposer: parsing pending keys failed (${describeError(err)}); reloading the pool`);
        this.stale = true;
        this.opts.wake();
      })
      .finally(() => {
        this.unapplied--;
      });
  }

  /** Parses pending keys in one batch: per key its seq and parse, or the error that makes it droppable. */
  private async parse(kvs: readonly PendingKv[]): Promise<Parsed[]> {
    const values = kvs.map((kv): PendingValue | ParsedPending | { error: unknown } => {
      try {
        const txId = txIdOfPendingKey(kv.key);
        if (txId === undefined) throw new Error('not a transaction id');
        const own = this.opts.written?.(txId, kv.value);
        if (own !== undefined) return { seq: own.seq, outcome: own.tx };
        return decodePending(kv.value);
      } catch (error) {
        return { error };
      }
    });
    const txs: unknown[] = [];
    for (const v of values) if ('tx' in v) txs.push(v.tx);
    const outcomes = txs.length === 0 ? [] : await this.opts.parseBatch(txs);
    let j = 0;
    return values.map((v) => ('tx' in v ? { seq: v.seq, outcome: outcomes[j++]! } : v));
  }

  /** Wakes the proposer when the pool was empty and is not, or reached a full block. */
  private notifyGrowth(before: number): void {
    const after = this.entries.size;
    const { capacity } = this.opts;
    if ((before === 0 && after > 0) || (before < capacity && after >= capacity)) this.opts.wake();
  }

  /** Adds a pending key to the pool if it holds a well-formed, correctly signed transaction. */
  private admit(kv: PendingKv, parsed: Parsed, now: number): void {
    const { key, createRev } = kv;
    const txId = txIdOfPendingKey(key);
    if (txId !== undefined && this.entries.has(txId)) return;
    try {
      if (txId === undefined) throw new Error('not a transaction id');
      if ('error' in parsed) throw parsed.error;
      const { seq, outcome } = parsed;
      if ('error' in outcome) throw outcome.error;
      if (outcome.parsed.txId !== txId) throw new Error('key does not match the transaction id');
      if (!outcome.sigOk) throw new Error('signature does not verify');
      const json = signedTxJson(outcome.parsed);
      this.entries.set(txId, {
        txId,
        seq,
        createRev,
        json,
        tx: outcome,
        bytes: Buffer.byteLength(json),
        expiresAt: outcome.parsed.tx.body.expiresAt,
        firstSeen: now,
      });
    } catch (e) {
      this.opts.log(`proposer: dropping pending key ${key.slice(0, 100)}: ${describeError(e)}`);
      this.deleteKeys([key]);
    }
  }
}

function safeSeq(value: Buffer): number {
  try {
    return decodePending(value).seq;
  } catch {
    return 0;
  }
}
