/**
 * The `solo` orderer: an in-process block cutter for one machine. Cuts a block at `maxTxs`
 * transactions or `maxWaitMs` after the first pending transaction, whichever comes first, and
 * delivers blocks strictly one after another.
 */
import type { DeliverFn, Orderer, PendingTx } from './orderer.js';

export interface SoloOptions {
  /** Most transactions in one block. Default 2,000. */
  maxTxs?: number;
  /** Longest a pending transaction waits for its block to be cut. Default 20 ms. */
  maxWaitMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class SoloOrderer implements Orderer {
  private readonly maxTxs: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private queue: PendingTx[] = [];
  private deliver: DeliverFn | undefined;
  private lastTime = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private delivering: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: SoloOptions = {}) {
    this.maxTxs = opts.maxTxs ?? 2000;
    this.maxWaitMs = opts.maxWaitMs ?? 20;
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
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.cut();
      }, this.maxWaitMs);
    }
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
