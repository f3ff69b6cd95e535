/**
 * The proposer of the etcd orderer, run by the instance that etcd's election made leader. It keeps
 * the pending pool in memory (one range read, then a watch), cuts a block at `maxTxs` transactions
 * or `maxWaitMs` after the oldest one, and commits it with ONE compare-and-swap etcd transaction.
 * Safety does not rest on being the only leader: the compares reject a second block at a height and
 * a second inclusion of a transaction, so a deposed leader that has not noticed yet is harmless.
 *
 * It never builds on a head block whose time it finds implausible (`checkBlockTime`). Such a block
 * is re-dated, at the same height and with the same transactions, once enough members refused it
 * that it can never be certified (`members - threshold + 1` refusals of that revision) and no
 * quorum of signatures exists for its height: one compare-and-swap on the block's revision and on
 * every refusal counted (a peer withdraws its refusal, conditioned on the revision, before it
 * executes the block after all).
 */
import type { Etcd3, IRequestOp, Namespace } from 'etcd3';
import { NodeError } from '../errors.js';
import {
  blockKey,
  blocksPrefix,
  decodeBlock,
  encodeBlock,
  HEAD_KEY,
  includedKey,
  pendingKey,
  pendingPrefix,
  refusalsPrefix,
} from './etcd-layout.js';
import { PendingPool, type PoolEntry } from './etcd-pending.js';
import { BLOCK_OVERHEAD_BYTES, type RedateOptions, Redater } from './etcd-redate.js';
import { Backoff, describeError, isPermanentEtcdError, sleep, Wakeup } from './etcd-retry.js';
import type { OrderedBatch, ParseBatchFn, PendingTx } from './orderer.js';

/** A transaction's inclusion marker outlives its expiry by this much (covers clocks that disagree). */
const MARKER_MARGIN_SEC = 120;
const IDLE_MS = 1000;
/** How often a busy proposer looks for members' refusals. */
const REVIEW_MS = 500;

export interface ProposerOptions extends RedateOptions {
  /** Parses and verifies pending transactions in batches (off the event loop where it can). */
  parseBatch: ParseBatchFn;
  maxTxs: number;
  maxWaitMs: number;
  maxTxnOps: number;
  /** Blocks kept in etcd. */
  window: number;
  /** Compacts etcd's history every this many heights. */
  compactEvery: number;
  /** This machine's clock (tests). Default Date.now. */
  now?: () => number;
  onFatal: (err: unknown) => void;
  /**
   * Called with each block this proposer is about to store (before the write: the block can come
   * back through the watch first), its value as written and its transactions' parse, so that this
   * peer's feed need not parse them again when the block comes back with these bytes.
   */
  onProposed?: (height: number, value: Buffer, batch: OrderedBatch) => void;
  /** The seq and parse of a pending value this peer wrote itself, byte for byte (`PendingWriter.written`). */
  written?: (txId: string, value: Buffer) => { seq: number; tx: PendingTx } | undefined;
}

interface Head {
  height: number;
  time: number;
  /** Time of the block before it (0 before block 1). */
  parentTime: number;
  /** etcd mod revision of the head block (when read from etcd). */
  rev?: string;
  /** The head block's transactions as stored (when read from etcd). */
  txs?: unknown[];
}

export class Proposer {
  /** Pending transactions, oldest first. */
  private readonly pool: PendingPool;
  private head: Head | undefined;
  private readonly wake = new Wakeup();
  private readonly markerLeases = new Map<number, Promise<string>>();
  private readonly backoff = new Backoff(50, 2000);
  /** Height and revision of the implausible head last reported, so the log says it once. */
  private reported: string | undefined;
  private readonly now: () => number;
  private reviewedAt = Number.NEGATIVE_INFINITY;
  /** Most transactions one etcd transaction can carry: block and head puts, range delete, 2 ops each. */
  private readonly capacity: number;
  private readonly redater: Redater;

  constructor(
    private readonly client: Etcd3,
    private readonly ns: Namespace,
    private readonly opts: ProposerOptions,
  ) {
    this.capacity = Math.max(1, Math.min(opts.maxTxs, Math.floor((opts.maxTxnOps - 3) / 2)));
    this.now = opts.now ?? Date.now;
    this.pool = new PendingPool(ns, {
      parseBatch: opts.parseBatch,
      capacity: this.capacity,
      maxTxnOps: opts.maxTxnOps,
      log: opts.log,
      wake: () => this.wake.notify(),
      ...(opts.written === undefined ? {} : { written: opts.written }),
    });
    this.redater = new Redater(ns, opts, this.capacity, this.now, (keys) => this.pool.deleteKeys(keys));
  }

  /** Proposes blocks while `leading()` holds. */
  async run(leading: () => boolean): Promise<void> {
    try {
      while (leading()) {
        try {
          await this.step();
        } catch (e) {
          if (!leading()) break;
          if (isPermanentEtcdError(e) || e instanceof NodeError) {
            this.opts.onFatal(e);
            return;
          }
          this.opts.log(`proposer: ${describeError(e)}; retrying`);
          this.head = undefined;
          this.markerLeases.clear();
          await sleep(this.backoff.next());
        }
      }
    } finally {
      await this.pool.clear();
      this.head = undefined;
    }
  }

  /** Wakes the proposer, e.g. when leadership is lost, so that `run` notices. */
  poke(): void {
    this.wake.notify();
  }

  private async step(): Promise<void> {
    if (this.pool.stale) await this.pool.load();
    if (this.head === undefined) this.head = await this.readHead();
    if (this.head.height > 0) {
      const why = this.opts.checkBlockTime(this.head.time, this.head.parentTime);
      if (why !== undefined) {
        const outcome = await this.redater.review(this.head);
        if (outcome === 'none') {
          this.report(
            `proposer: block ${this.head.height} is implausible (${why}); waiting for the members' refusals`,
            `${this.head.height}:${this.head.rev}`,
          );
          await this.wake.wait(IDLE_MS);
        }
        this.head = undefined;
        return;
      }
    }
    const first = this.pool.entries.values().next().value;
    if (first === undefined) {
      const woken = await this.wake.wait(IDLE_MS);
      // A watch on a member that hangs sees nothing and reports nothing: after a quiet second, check.
      if (!woken && this.pool.size === 0 && !this.pool.busy() && !this.pool.stale && (await this.pendingCount()) > 0) {
        this.opts.log('proposer: pending keys the watch did not report; reloading the pool');
        this.pool.stale = true;
      }
      // Read the head again after a quiet second: a block written by someone else (an implausible
      // one to re-date, say) is noticed without waiting for the next transaction; and look at the
      // members' refusals (this proposer's own blocks may be the ones refused).
      if (!woken) {
        this.head = undefined;
        if ((await this.ns.getAll().prefix(refusalsPrefix).count()) > 0)
          await this.redater.review(await this.readHead());
      }
      return;
    }
    const now = this.now();
    if (this.pool.size < this.capacity && now - first.firstSeen < this.opts.maxWaitMs) {
      await this.wake.wait(first.firstSeen + this.opts.maxWaitMs - now);
      return;
    }
    const time = Math.max(now, this.head.time, this.opts.lastTime());
    const implausible = this.opts.checkBlockTime(time, this.head.time);
    if (implausible !== undefined) {
      // This peer's own last block is dated implausibly: it proposes nothing on top of it.
      this.report(`proposer: not proposing block ${this.head.height + 1}: ${implausible}`, `own:${this.head.height}`);
      await this.wake.wait(IDLE_MS);
      this.head = undefined;
      return;
    }
    const chosen: PoolEntry[] = [];
    const dropped: string[] = [];
    let bytes = BLOCK_OVERHEAD_BYTES;
    const perTx = 2 * (this.ns.prefix.length + 96);
    for (const e of this.pool.entries.values()) {
      // Execution would only mark these EXPIRED: drop them instead.
      if (e.expiresAt <= time) {
        dropped.push(e.txId);
        continue;
      }
      if (chosen.length >= this.capacity) break;
      if (bytes + e.bytes + perTx > this.opts.maxRequestBytes) {
        if (chosen.length === 0) dropped.push(e.txId);
        break;
      }
      chosen.push(e);
      bytes += e.bytes + perTx;
    }
    if (dropped.length > 0) this.pool.drop(dropped);
    if (chosen.length === 0) return;
    // Members refused some block: re-date it, or step down if this proposer's clock is the odd one
    // (looked at every REVIEW_MS at most, so a busy proposer pays no extra etcd call per block).
    if (performance.now() - this.reviewedAt >= REVIEW_MS) {
      this.reviewedAt = performance.now();
      if (
        (await this.ns.getAll().prefix(refusalsPrefix).count()) > 0 &&
        (await this.redater.review(this.head)) !== 'none'
      ) {
        this.head = undefined;
        return;
      }
    }

    const height = this.head.height + 1;
    const block = Buffer.from(
      encodeBlock(
        height,
        time,
        this.opts.peerId,
        chosen.map((e) => e.json),
      ),
    );
    // Told before the write: the block can come back through the feed's watch before the write's
    // answer does. Should another block take the height, its bytes differ and the feed parses it.
    this.opts.onProposed?.(height, block, { txs: chosen.map((e) => e.tx), time });
    const res = await this.commit(height, block, chosen);
    if (res.succeeded) {
      this.pool.forget(chosen.map((e) => e.txId));
      this.head = { height, time, parentTime: this.head.time };
      this.backoff.reset();
      if (height % this.opts.compactEvery === 0) this.compact();
      return;
    }
    // Another proposer got there first, or some transactions are in a block already. Asked
    // afterwards rather than in the block write's failure branch, which every block would carry.
    const found = await this.whyNot(height, chosen);
    const included = chosen.filter((_, i) => found.responses[2 + i]?.response_range.count !== '0');
    if (included.length > 0) this.pool.drop(included.map((e) => e.txId));
    const headNow = found.responses[0]?.response_range.kvs[0]?.value.toString();
    const blockExists = found.responses[1]?.response_range.count !== '0';
    if (included.length === 0 && blockExists && (headNow ?? '0') === String(height - 1)) {
      throw new NodeError('STORE_CORRUPT', `etcd holds block ${height} but its head says ${height - 1}`);
    }
    this.head = undefined;
  }

  /**
   * Creates `blocks/<height>` if it does not exist and `head` is height-1 and no chosen transaction
   * has an `included/` marker; in the same etcd transaction sets `head`, deletes the chosen pending
   * keys, writes their markers and deletes blocks that fell out of the window.
   */
  private async commit(height: number, block: Buffer, chosen: PoolEntry[]) {
    const leases = await Promise.all(chosen.map((e) => this.markerLease(e.expiresAt)));
    let cmp = this.ns.if(blockKey(height), 'Create', '==', 0);
    cmp = height === 1 ? cmp.and(HEAD_KEY, 'Create', '==', 0) : cmp.and(HEAD_KEY, 'Value', '==', String(height - 1));
    for (const e of chosen) cmp = cmp.and(includedKey(e.txId), 'Create', '==', 0);
    const ops = [this.ns.put(blockKey(height)).value(block), this.ns.put(HEAD_KEY).value(String(height))];
    chosen.forEach((e, i) => {
      ops.push(this.ns.put(includedKey(e.txId)).value(String(height)).lease(leases[i]!));
    });
    const deletes = chosen.map((e) => this.ns.delete().key(pendingKey(e.txId)));
    const prune =
      height > this.opts.window
        ? [this.ns.delete().inRange({ start: blockKey(0), end: blockKey(height - this.opts.window + 1) })]
        : [];
    return cmp.then(...ops, ...deletes, ...prune).commit();
  }

  /** What made a block write fail, in one read: the head, whether the block exists, each chosen transaction's marker. */
  private whyNot(height: number, chosen: PoolEntry[]) {
    // One etcd transaction of reads only (its compare holds for any key).
    return this.ns
      .if(HEAD_KEY, 'Version', '>', -1)
      .then(
        this.ns.get(HEAD_KEY),
        this.countOp(blockKey(height)),
        ...chosen.map((e) => this.countOp(includedKey(e.txId))),
      )
      .commit();
  }

  private async pendingCount(): Promise<number> {
    return this.ns.getAll().prefix(pendingPrefix).count();
  }

  private countOp(key: string): IRequestOp {
    return { request_range: { key: Buffer.concat([this.ns.prefix, Buffer.from(key)]), count_only: true } };
  }

  /**
   * A lease for inclusion markers, shared by transactions expiring in the same minute: a marker must
   * live until its transaction expires (afterwards the proposer drops a resubmitted copy anyway).
   */
  private markerLease(expiresAt: number): Promise<string> {
    const bucket = Math.ceil(expiresAt / 60_000);
    let lease = this.markerLeases.get(bucket);
    if (lease === undefined) {
      const now = Date.now();
      for (const b of this.markerLeases.keys()) if (b * 60_000 < now) this.markerLeases.delete(b);
      const ttl = Math.max(60, Math.ceil((bucket * 60_000 - now) / 1000) + MARKER_MARGIN_SEC);
      lease = this.ns.lease(ttl, { autoKeepAlive: false }).grant();
      lease.catch(() => this.markerLeases.delete(bucket));
      this.markerLeases.set(bucket, lease);
    }
    return lease;
  }

  /** Logs `message` once per `key`. */
  private report(message: string, key: string): void {
    if (this.reported === key) return;
    this.reported = key;
    this.opts.log(message);
  }

  private async readHead(): Promise<Head> {
    const res = await this.ns.get(HEAD_KEY).exec();
    const kv = res.kvs[0];
    if (kv === undefined) return { height: 0, time: 0, parentTime: 0 };
    const height = Number(kv.value.toString());
    if (!Number.isSafeInteger(height) || height < 1) {
      throw new NodeError('STORE_CORRUPT', `etcd head is not a height: ${kv.value.toString().slice(0, 30)}`);
    }
    const read = await this.ns.get(blockKey(height)).exec();
    const bkv = read.kvs[0];
    // The head moved on and pruned it between the two reads: read again.
    if (bkv === undefined) throw new Error(`block ${height} went away while reading the head`);
    const block = decodeBlock(bkv.value, height);
    let parentTime = 0;
    if (height > 1) {
      const parent = await this.ns.get(blockKey(height - 1)).exec();
      const pkv = parent.kvs[0];
      if (pkv === undefined) throw new Error(`block ${height - 1} went away while reading the head`);
      parentTime = decodeBlock(pkv.value, height - 1).time;
    }
    return { height, time: block.time, parentTime, rev: bkv.mod_revision, txs: block.txs };
  }

  /** Compacts etcd's history up to the oldest block kept, in the background. */
  private compact(): void {
    (async () => {
      const res = await this.ns.getAll().prefix(blocksPrefix).limit(1).exec();
      const oldest = res.kvs[0];
      if (oldest === undefined) return;
      await this.client.kv.compact({ revision: oldest.mod_revision });
    })().catch((e: unknown) => {
      if (!describeError(e).includes('compacted')) this.opts.log(`proposer: compaction failed: ${describeError(e)}`);
    });
  }
}
