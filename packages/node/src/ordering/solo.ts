/**
 * The `solo` orderer: an in-process block cutter for one machine. Cuts a block at `maxTxs`
 * transactions, once the pending pool stops growing (nothing new for `quietMs`), or `maxWaitMs`
 * after it started waiting, whichever comes first, and delivers blocks strictly one after another.
 * So a lone transaction waits `quietMs`, not `maxWaitMs`, while a busy stream fills its block for
 * up to `maxWaitMs`.
 */
import type { DeliverFn, Orderer, PendingTx } from './orderer.js';

export interface SoloOptions {
  /** Most transactions in one block. Default 2,000. */
  maxTxs?: number;
  /** Longest a pending transaction waits for its block to be cut. Default 20 ms. */
  maxWaitMs?: number;
  /** A block is cut once no transaction arrived for this long. Default 2 ms (at most `maxWaitMs`). */
  quietMs?: number;
  /**
   * Transactions admitted and still on their way here (their signatures being verified): while
   * there are any, the pool has not stopped growing. Default none.
   */
  incoming?: () => number;
  /** Clock, for tests. */
  now?: () => number;
}

export class SoloOrderer implements Orderer {
  private readonly maxTxs: number;
  private readonly maxWaitMs: number;
  private readonly quietMs: number;
  private readonly incoming: () => number;
  private readonly now: () => number;
  /** When the block being filled started waiting, and when its last transaction arrived. */
  private waitingSince = 0;
  private lastArrival = 0;
  private queue: PendingTx[] = [];
  private deliver: DeliverFn | undefined;
  private lastTime = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private delivering: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: SoloOptions = {}) {
    this.maxTxs = opts.maxTxs ?? 2000;
    this.maxWaitMs = opts.maxWaitMs ?? 20;
    this.quietMs = Math.min(opts.quietMs ?? 2, this.maxWaitMs);
    this.incoming = opts.incoming ?? (() => 0);
    this.now = opts.now ?? Date.now;
  }

  async start(deliver: DeliverFn, lastTime: number): Promise<void> {
    this.deliver = deliver;
    this.lastTime = lastTime;
    this.stopped = false;
  }

  submit(txs: PendingTx[]): void {
    if (this.stopped) throw new Error('orderer stopped');
    for (const t of txs) this.queue.push(t);
    if (txs.length > 0) this.lastArrival = performance.now();
    this.schedule();
  }

  pending(): number {
    return this.queue.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.delivering;
  }

  private schedule(): void {
    if (this.delivering !== undefined || this.stopped || this.queue.length === 0) return;
    if (this.queue.length >= this.maxTxs) {
      this.cut();
    } else if (this.timer === undefined) {
      this.waitingSince = performance.now();
      this.arm(this.quietMs);
    }
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.check();
    }, ms);
  }

  /** Cuts once the pool stopped growing or waited long enough; otherwise looks again later. */
  private check(): void {
    const t = performance.now();
    const waited = t - this.waitingSince;
    const quiet = t - this.lastArrival;
    if (waited >= this.maxWaitMs || (quiet >= this.quietMs && this.incoming() === 0)) {
      this.cut();
      return;
    }
    this.arm(Math.max(1, Math.min(this.quietMs - quiet, this.maxWaitMs - waited)));
  }

  private cut(): void {
    if (this.delivering !== undefined || this.stopped || this.queue.length === 0 || !this.deliver) return;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const txs = this.queue.length <= this.maxTxs ? this.queue : this.queue.slice(0, this.maxTxs);
    this.queue = this.queue.length <= this.maxTxs ? [] : this.queue.slice(this.maxTxs);
    const time = Math.max(this.now(), this.lastTime);
    const deliver = this.deliver;
    this.delivering = (async () => {
      try {
        await deliver({ txs, time });
        this.lastTime = time;
      } catch {
        // The node refused the batch (its time) and failed its transactions' submitters itself.
      } finally {
        this.delivering = undefined;
        this.schedule();
      }
    })();
  }
}
