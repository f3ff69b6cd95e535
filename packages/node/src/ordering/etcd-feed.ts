/**
 * The delivering side of the etcd orderer, run by every instance: takes blocks from a watch on
 * `blocks/` (and from range reads when it starts, falls behind or the watch breaks) and delivers
 * them strictly in height order, one at a time, each height exactly once.
 *
 * Before delivering, it checks the block's time against this peer's clock (`checkBlockTime`). A
 * block dated too far ahead (or before its parent) is not delivered: the feed records a refusal
 * under `refusals/<height>/<peerId>` and waits, re-reading the block, until it is re-dated by the
 * proposer (a new revision of the same key) or its time becomes plausible. A peer that delivers a
 * block it refused first withdraws its refusal in an etcd transaction conditioned on the block's
 * revision, so the proposer never re-dates a block a refusal it counted was withdrawn for
 * (docs/architecture.md, "A consortium").
 */
import type { Namespace, Watcher } from 'etcd3';
import { NodeError } from '../errors.js';
import {
  blockKey,
  blocksPrefix,
  decodeBlock,
  encodeRefusal,
  HEAD_KEY,
  heightOfKey,
  refusalKey,
  refusalsPrefix,
} from './etcd-layout.js';
import { Backoff, describeError, isPermanentEtcdError, sleep, Wakeup } from './etcd-retry.js';
import type { DeliverFn, OrderedBatch, ParseBatchFn, ParseOutcome, PendingTx } from './orderer.js';

/** Blocks read per range read. */
const PAGE = 16;
/** Blocks held ahead of delivery; further ones are read again when their turn comes. */
const BUFFER_MAX = 64;
/** With nothing new for this long, check etcd directly (a watch can go quiet without an error). */
const IDLE_POLL_MS = 2000;
/** Blocks after the one being delivered whose transactions are parsed and verified meanwhile. */
const PREFETCH = 2;

/** The error a peer gets when the blocks it needs next were pruned from etcd. */
export const BEHIND_ORDERER_WINDOW = 'BEHIND_ORDERER_WINDOW';

export interface BlockFeedOptions {
  /** Parses and verifies a block's transactions (off the event loop where it can). */
  parseBatch: ParseBatchFn;
  /** Blocks the proposer keeps in etcd (for error messages). */
  window: number;
  log: (message: string) => void;
  onFatal: (err: unknown) => void;
  onDelivered: (txIds: string[]) => void;
  /** This orderer instance's name: the key of its refusals. */
  peerId: string;
  /** Why a block dated `time` after a parent dated `parentTime` is refused here; undefined if plausible. */
  checkBlockTime: (time: number, parentTime: number) => string | undefined;
  /** Called once per refused block (height and etcd revision). */
  onRefused: (height: number, blockTime: number, reason: string) => void;
  /** The parse of a block's transaction when this peer submitted exactly it (not parsed again); else undefined. */
  submitted?: (raw: unknown) => PendingTx | undefined;
}

interface Held {
  value: Buffer;
  /** etcd mod revision of the block key. */
  rev: string;
}

/** The error code a node's deliver throws for a block it refuses for its time. */
const REFUSED_CODE = 'BLOCK_TIME_IMPLAUSIBLE';

export class BlockFeed {
  private delivered = 0;
  private lastTime = 0;
  private deliver: DeliverFn = () => {};
  private readonly buffer = new Map<number, Held>();
  /** Blocks being parsed and verified (the next one and up to PREFETCH after it), by height. */
  private readonly decoded = new Map<number, { held: Held; batch: Promise<OrderedBatch> }>();
  /** Blocks this peer's proposer stored, with their parse: a block read back with these bytes is not parsed again. */
  private readonly proposedHere = new Map<number, { value: Buffer; batch: OrderedBatch }>();
  /** The block revision this peer last refused (`<height>:<rev>`), and the heights it holds refusals at. */
  private refused: string | undefined;
  private readonly refusedHeights = new Set<number>();
  private watcher: Watcher | undefined;
  private watchBroken = true;
  private readRevision = 0;
  private needFetch = true;
  private stopped = false;
  private delivering: Promise<void> | undefined;
  private readonly wake = new Wakeup();
  private readonly backoff = new Backoff(50, 2000);

  constructor(
    private readonly ns: Namespace,
    private readonly opts: BlockFeedOptions,
  ) {}

  /** Height of the last block delivered. */
  height(): number {
    return this.delivered;
  }

  /**
   * Checks that etcd still holds the blocks after `lastHeight` (throws a STORE_CORRUPT NodeError with
   * `details.reason = 'BEHIND_ORDERER_WINDOW'` if they were pruned), then delivers from there on.
   */
  async start(deliver: DeliverFn, lastHeight: number, lastTime: number, timeoutMs: number): Promise<void> {
    this.deliver = deliver;
    this.delivered = lastHeight;
    this.lastTime = lastTime;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.fetch();
        await this.loadOwnRefusals();
        break;
      } catch (e) {
        if (e instanceof NodeError) throw e;
        if (isPermanentEtcdError(e) || Date.now() >= deadline) {
          throw new NodeError('INTERNAL', `cannot read the blocks from etcd: ${describeError(e)}`, { cause: e });
        }
        this.opts.log(`feed: start failed (${describeError(e)}); retrying`);
        await sleep(this.backoff.next());
      }
    }
    this.openWatch();
    this.run().catch((e) => this.opts.onFatal(e));
  }

  /**
   * A block this peer's proposer stored at `height` (`value` as written) and the parse of its
   * transactions, which went through the same `parseBatch` in the pending pool. Delivery still
   * takes the block from etcd; only when the bytes there are these does it skip parsing them again.
   */
  proposed(height: number, value: Buffer, batch: OrderedBatch): void {
    if (height <= this.delivered) return;
    this.proposedHere.set(height, { value, batch });
    for (const h of this.proposedHere.keys()) {
      if (h <= this.delivered || this.proposedHere.size > BUFFER_MAX) this.proposedHere.delete(h);
    }
  }

  /** Stops delivering; resolves once the batch being delivered (if any) has been delivered. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.notify();
    await this.delivering?.catch(() => {});
    await this.closeWatch();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const next = this.delivered + 1;
      const held = this.buffer.get(next);
      if (held === undefined) {
        await this.refill(next);
        continue;
      }
      // The next blocks' signatures are verified while this one is checked and delivered.
      for (let h = next + 1; h <= next + PREFETCH; h++) {
        const ahead = this.buffer.get(h);
        if (ahead !== undefined) this.decodeHeld(h, ahead);
      }
      let batch: OrderedBatch;
      try {
        batch = await this.decodeHeld(next, held);
      } catch (e) {
        this.opts.onFatal(e);
        return;
      }
      if (this.stopped) return;
      // A newer revision of this block (re-dated) arrived meanwhile: take that one.
      if (this.buffer.get(next)?.rev !== held.rev) continue;
      const refusal = this.opts.checkBlockTime(batch.time, this.lastTime);
      if (refusal !== undefined) {
        await this.refuse(next, held, batch.time, refusal);
        continue;
      }
      if (this.refusedHeights.has(next) && !(await this.withdraw(next, held.rev))) continue;
      this.buffer.delete(next);
      const delivering = Promise.resolve().then(() => this.deliver(batch));
      this.delivering = delivering;
      try {
        await delivering;
      } catch (e) {
        if ((e as NodeError).code === REFUSED_CODE) {
          // The node's own check refused it (its clock moved meanwhile): treat it as a refusal.
          this.buffer.set(next, held);
          await this.refuse(next, held, batch.time, (e as Error).message);
          continue;
        }
        this.opts.onFatal(new NodeError('INTERNAL', `delivering block ${next} failed`, { cause: e }));
        return;
      } finally {
        this.delivering = undefined;
      }
      this.delivered = next;
      this.decoded.delete(next);
      this.lastTime = batch.time;
      this.opts.onDelivered(batch.txs.map((t) => t.parsed.txId));
    }
  }

  /** Heights where this peer left a refusal (before a restart): withdrawn before delivering there. */
  private async loadOwnRefusals(): Promise<void> {
    const keys = await this.ns.getAll().prefix(refusalsPrefix).keys();
    const suffix = `/${this.opts.peerId}`;
    for (const k of keys) {
      if (!k.endsWith(suffix)) continue;
      const h = Number(k.slice(refusalsPrefix.length, refusalsPrefix.length + 16));
      if (Number.isSafeInteger(h) && h > this.delivered) this.refusedHeights.add(h);
    }
  }

  /**
   * Refuses the block held at `height` (once per etcd revision: a refusal record and the alarm),
   * then waits a moment and re-reads the block, which the proposer may have re-dated meanwhile.
   */
  private async refuse(height: number, held: Held, blockTime: number, reason: string): Promise<void> {
    const id = `${height}:${held.rev}`;
    if (this.refused !== id) {
      this.opts.log(`feed: refused block ${height}: ${reason}`);
      this.opts.onRefused(height, blockTime, reason);
      try {
        await this.ns
          .put(refusalKey(height, this.opts.peerId))
          .value(encodeRefusal({ height, revision: held.rev, blockTime, peerTime: Date.now() }));
        this.refused = id;
        this.refusedHeights.add(height);
      } catch (e) {
        this.opts.log(`feed: recording the refusal of block ${height} failed (${describeError(e)}); retrying`);
      }
    }
    await this.wake.wait(IDLE_POLL_MS);
    // Read the block again: a re-dated one is a new revision of the same key.
    if (this.buffer.get(height) === held) {
      this.buffer.delete(height);
      this.needFetch = true;
    }
  }

  /**
   * Withdraws this peer's refusal at `height` before delivering the block there after all, in one
   * etcd transaction conditioned on the block still being revision `rev`. False (and the block
   * read again) if the block changed meanwhile.
   */
  private async withdraw(height: number, rev: string): Promise<boolean> {
    try {
      const res = await this.ns
        .if(blockKey(height), 'Mod', '==', rev)
        .then(this.ns.delete().key(refusalKey(height, this.opts.peerId)))
        .commit();
      if (res.succeeded) {
        this.refusedHeights.delete(height);
        return true;
      }
    } catch (e) {
      this.opts.log(`feed: withdrawing the refusal of block ${height} failed (${describeError(e)}); retrying`);
      await sleep(this.backoff.next());
    }
    this.buffer.delete(height);
    this.needFetch = true;
    return false;
  }

  /** Gets block `next` into the buffer: from etcd directly when needed, else by waiting for the watch. */
  private async refill(next: number): Promise<void> {
    if (this.needFetch || this.watchBroken) {
      try {
        await this.fetch();
        if (this.watchBroken && !this.stopped) {
          await this.closeWatch();
          this.openWatch();
        }
        this.backoff.reset();
      } catch (e) {
        if (e instanceof NodeError || isPermanentEtcdError(e)) {
          this.stopped = true;
          this.opts.onFatal(e);
          return;
        }
        this.opts.log(`feed: reading blocks failed (${describeError(e)}); retrying`);
        await sleep(this.backoff.next());
      }
      return;
    }
    await this.wake.wait(IDLE_POLL_MS);
    // Woken without the next block (a later one came first, or nothing came): ask etcd.
    if (!this.buffer.has(next)) this.needFetch = true;
  }

  /** Range-reads the blocks after the last delivered one; tells a pruned block from one not cut yet. */
  private async fetch(): Promise<void> {
    const next = this.delivered + 1;
    const res = await this.ns
      .getAll()
      .inRange({ start: blockKey(next), end: blockKey(next + PAGE) })
      .exec();
    this.readRevision = Math.max(this.readRevision, Number(res.header.revision));
    for (const kv of res.kvs) this.hold(heightOfKey(kv.key.toString()), kv.value, kv.mod_revision);
    this.needFetch = false;
    if (this.buffer.has(next)) return;
    // Blocks are created in height order, so a later block without this one means it was pruned.
    if (res.kvs.length > 0) throw this.behind(next, undefined);
    const head = await this.readHead();
    if (head < this.delivered) {
      throw new NodeError(
        'STORE_CORRUPT',
        `etcd orderer head ${head} is behind this peer's height ${this.delivered}: wrong prefix, or etcd lost its data`,
        { details: { head, height: this.delivered } },
      );
    }
    if (head < next) return;
    const again = await this.ns.get(blockKey(next)).exec();
    const kv = again.kvs[0];
    if (kv === undefined) throw this.behind(next, head);
    this.hold(next, kv.value, kv.mod_revision);
  }

  private behind(next: number, head: number | undefined): NodeError {
    return new NodeError(
      'STORE_CORRUPT',
      `block ${next} is no longer in etcd, which keeps only the last ${this.opts.window} blocks: ` +
        'catch this peer up from the other peers, then restart it',
      { details: { reason: BEHIND_ORDERER_WINDOW, height: next, ...(head === undefined ? {} : { head }) } },
    );
  }

  private async readHead(): Promise<number> {
    const res = await this.ns.get(HEAD_KEY).exec();
    const kv = res.kvs[0];
    if (kv === undefined) return 0;
    const head = Number(kv.value.toString());
    if (!Number.isSafeInteger(head) || head < 1) {
      throw new NodeError('STORE_CORRUPT', `etcd head is not a height: ${kv.value.toString().slice(0, 30)}`);
    }
    return head;
  }

  private hold(height: number | undefined, value: Buffer, rev: string): void {
    if (height === undefined || height <= this.delivered) return;
    if (height > this.delivered + BUFFER_MAX) {
      this.needFetch = true;
      return;
    }
    const held = this.buffer.get(height);
    // A watch event can arrive after a range read of a later revision: keep the latest.
    if (held !== undefined && BigInt(held.rev) > BigInt(rev)) return;
    this.buffer.set(height, { value, rev });
  }

  private openWatch(): void {
    const watcher = this.ns
      .watch()
      .prefix(blocksPrefix)
      .only('put')
      .startRevision(String(this.readRevision + 1))
      .watcher();
    watcher.on('data', (res) => {
      for (const ev of res.events) {
        if (ev.type === 'Put') this.hold(heightOfKey(ev.kv.key.toString()), ev.kv.value, ev.kv.mod_revision);
      }
      this.wake.notify();
    });
    watcher.on('error', (err) => {
      if (this.watcher !== watcher) return;
      this.opts.log(`feed: block watch failed (${describeError(err)}); reading blocks directly`);
      this.watchBroken = true;
      this.wake.notify();
    });
    watcher.on('disconnected', () => {
      this.needFetch = true;
      this.wake.notify();
    });
    this.watcher = watcher;
    this.watchBroken = false;
  }

  private async closeWatch(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await Promise.race([w.cancel().catch(() => {}), sleep(1000)]);
  }

  /** The parse of the block held at `height` (started once per revision held). */
  private decodeHeld(height: number, held: Held): Promise<OrderedBatch> {
    const d = this.decoded.get(height);
    if (d !== undefined && d.held.rev === held.rev) return d.batch;
    for (const h of this.decoded.keys()) if (h <= this.delivered) this.decoded.delete(h);
    const own = this.proposedHere.get(height);
    this.proposedHere.delete(height);
    const batch = own?.value.equals(held.value) ? Promise.resolve(own.batch) : this.decode(held.value, height);
    // A block parsed ahead may never be delivered here (stop, re-dated): its failure is seen when its turn comes.
    batch.catch(() => {});
    this.decoded.set(height, { held, batch });
    return batch;
  }

  /** The node's parse of a block's transactions, but for those this peer submitted itself (parsed and verified at admission). */
  private async parseOthers(raws: readonly unknown[]): Promise<ParseOutcome[]> {
    const submitted = this.opts.submitted;
    if (submitted === undefined) return this.opts.parseBatch(raws);
    const out: ParseOutcome[] = new Array(raws.length);
    const rest: number[] = [];
    for (let i = 0; i < raws.length; i++) {
      const own = submitted(raws[i]);
      if (own === undefined) rest.push(i);
      else out[i] = own;
    }
    if (rest.length > 0) {
      const parsed = await this.opts.parseBatch(rest.map((i) => raws[i]));
      for (let j = 0; j < rest.length; j++) out[rest[j]!] = parsed[j]!;
    }
    return out;
  }

  /** Parses a stored block; every transaction not submitted here goes through the node's parse (shape and signature). */
  private async decode(raw: Buffer, height: number): Promise<OrderedBatch> {
    const block = decodeBlock(raw, height);
    const outcomes = await this.parseOthers(block.txs);
    const txs = outcomes.map((o, i) => {
      if ('error' in o) {
        throw new NodeError('STORE_CORRUPT', `etcd block ${height} holds a malformed transaction at index ${i}`, {
          cause: o.error,
          details: { height, index: i },
        });
      }
      return o;
    });
    // The time as written: a block dated before its parent is refused, not silently re-dated.
    return { txs, time: block.time };
  }
}
