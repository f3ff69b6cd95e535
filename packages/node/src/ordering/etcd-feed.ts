/**
 * The delivering side of the etcd orderer, run by every instance: takes blocks from a watch on
 * `blocks/` (and from range reads when it starts, falls behind or the watch breaks) and delivers
 * them strictly in height order, one at a time, each height exactly once.
 */
import type { Namespace, Watcher } from 'etcd3';
import { NodeError } from '../errors.js';
import { blockKey, blocksPrefix, decodeBlock, HEAD_KEY, heightOfKey } from './etcd-layout.js';
import { Backoff, describeError, isPermanentEtcdError, sleep, Wakeup } from './etcd-retry.js';
import type { DeliverFn, OrderedBatch, PendingTx } from './orderer.js';

/** Blocks read per range read. */
const PAGE = 16;
/** Blocks held ahead of delivery; further ones are read again when their turn comes. */
const BUFFER_MAX = 64;
/** With nothing new for this long, check etcd directly (a watch can go quiet without an error). */
const IDLE_POLL_MS = 2000;

/** The error a peer gets when the blocks it needs next were pruned from etcd. */
export const BEHIND_ORDERER_WINDOW = 'BEHIND_ORDERER_WINDOW';

export interface BlockFeedOptions {
  parse: (raw: unknown) => PendingTx;
  /** Blocks the proposer keeps in etcd (for error messages). */
  window: number;
  log: (message: string) => void;
  onFatal: (err: unknown) => void;
  onDelivered: (txIds: string[]) => void;
}

export class BlockFeed {
  private delivered = 0;
  private lastTime = 0;
  private deliver: DeliverFn = () => {};
  private readonly buffer = new Map<number, Buffer>();
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
      const raw = this.buffer.get(next);
      if (raw === undefined) {
        await this.refill(next);
        continue;
      }
      this.buffer.delete(next);
      let batch: OrderedBatch;
      try {
        batch = this.decode(raw, next);
      } catch (e) {
        this.opts.onFatal(e);
        return;
      }
      if (this.stopped) return;
      const delivering = Promise.resolve().then(() => this.deliver(batch));
      this.delivering = delivering;
      try {
        await delivering;
      } catch (e) {
        this.opts.onFatal(new NodeError('INTERNAL', `delivering block ${next} failed`, { cause: e }));
        return;
      } finally {
        this.delivering = undefined;
      }
      this.delivered = next;
      this.lastTime = batch.time;
      this.opts.onDelivered(batch.txs.map((t) => t.parsed.txId));
    }
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
    for (const kv of res.kvs) this.hold(heightOfKey(kv.key.toString()), kv.value);
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
    this.hold(next, kv.value);
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

  private hold(height: number | undefined, value: Buffer): void {
    if (height === undefined || height <= this.delivered) return;
    if (height > this.delivered + BUFFER_MAX) {
      this.needFetch = true;
      return;
    }
    this.buffer.set(height, value);
  }

  private openWatch(): void {
    const watcher = this.ns
      .watch()
      .prefix(blocksPrefix)
      .only('put')
      .startRevision(String(this.readRevision + 1))
      .watcher();
    watcher.on('data', (res) => {
      for (const ev of res.events) if (ev.type === 'Put') this.hold(heightOfKey(ev.kv.key.toString()), ev.kv.value);
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

  /** Parses a stored block; every transaction goes through the node's parse (shape and signature). */
  private decode(raw: Buffer, height: number): OrderedBatch {
    const block = decodeBlock(raw, height);
    const txs = block.txs.map((t, i) => {
      try {
        return this.opts.parse(t);
      } catch (e) {
        throw new NodeError('STORE_CORRUPT', `etcd block ${height} holds a malformed transaction at index ${i}`, {
          cause: e,
          details: { height, index: i },
        });
      }
    });
    return { txs, time: Math.max(block.time, this.lastTime) };
  }
}
