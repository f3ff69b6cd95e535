/**
 * Checkpoint signatures through etcd (docs/adr/0006-etcd-ordering.md, "Finality"): each peer puts
 * `<prefix>/sigs/<height, 16 digits>/<memberId>` = `{checkpoint, signatures}` and watches `sigs/`;
 * a periodic read of the heights still waiting covers a missed watch event or a restart. Keys below
 * the orderer's window are deleted, as the blocks are. What was published meanwhile goes out in
 * one etcd transaction; what one watch event or one re-read brings is handed to the node at once.
 */
import { Etcd3, type Namespace, Range, type Watcher } from 'etcd3';
import { type EtcdSecurity, etcdClientAuth } from '../ordering/etcd.js';
import type { CheckpointExchange } from '../peer/exchange.js';
import type { SignedCheckpoint } from '../peer/quorum.js';

export interface EtcdBoardOptions {
  endpoints: string[];
  /** TLS client credentials and user auth for etcd. */
  security?: EtcdSecurity;
  /** The chain's key prefix, the same as the orderer's. */
  prefix: string;
  /** Heights of signatures kept. Default 1,000 (the orderer's default window). */
  window?: number;
  /** How often heights still waiting are read again. Default 1 s. */
  sweepMs?: number;
  callTimeoutMs?: number;
  log?: (message: string) => void;
}

const MAX_SWEEP_HEIGHTS = 64;
const MAX_VALUE_BYTES = 16 * 1024;
/** Signatures per etcd transaction (below etcd's default --max-txn-ops of 128). */
const MAX_PUTS_PER_TXN = 64;

export function sigKey(height: number, memberId: string): string {
  return `${heightPrefix(height)}${memberId}`;
}

/** The prefix of one height's signature keys: its 16 digits and a slash. */
function heightPrefix(height: number): string {
  return `${String(height).padStart(16, '0')}/`;
}

export class EtcdCheckpointBoard implements CheckpointExchange {
  private readonly client: Etcd3;
  private readonly ns: Namespace;
  private readonly window: number;
  private readonly log: (m: string) => void;
  private readonly queue = new Map<string, string>();
  private watcher: Watcher | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private lastPruned = 0;

  constructor(private readonly opts: EtcdBoardOptions) {
    const callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: callTimeoutMs,
      ...etcdClientAuth(opts.security),
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      grpcOptions: { 'grpc.keepalive_time_ms': 6000, 'grpc.keepalive_timeout_ms': 2000 },
    });
    this.ns = this.client.namespace(`${opts.prefix.replace(/\/+$/, '')}/sigs/`);
    this.window = opts.window ?? 1000;
    this.log = opts.log ?? (() => {});
  }

  async start(receive: (raws: unknown[]) => void, unfinal: () => number[]): Promise<void> {
    const deliver = (values: Buffer[]) => {
      const raws: unknown[] = [];
      for (const value of values) {
        if (value.length > MAX_VALUE_BYTES) continue;
        try {
          raws.push(JSON.parse(value.toString('utf8')));
        } catch {
          // Not JSON: nothing a member signed; ignore it.
        }
      }
      if (raws.length === 0) return;
      try {
        receive(raws);
      } catch {
        // The node checks what it is given; a failure there must not stop the watch.
      }
    };
    this.watcher = await this.ns.watch().prefix('').create();
    this.watcher.on('data', (res) => deliver(res.events.filter((e) => e.type === 'Put').map((e) => e.kv.value)));
    this.watcher.on('error', (e) => this.log(`signature watch: ${String(e)}`));
    // One range read over the oldest waiting heights (up to MAX_SWEEP_HEIGHTS of them), rather
    // than one read per height: under load many heights wait a moment for the others' signatures.
    const sweep = async () => {
      const waiting = unfinal().slice(0, MAX_SWEEP_HEIGHTS);
      const first = waiting[0];
      const last = waiting[waiting.length - 1];
      if (first === undefined || last === undefined || this.stopped) return;
      const kvs = await this.ns
        .getAll()
        .inRange({ start: heightPrefix(first), end: heightPrefix(last + 1) })
        .buffers()
        .catch(() => ({}) as Record<string, Buffer>);
      const wanted = new Set(waiting.map(heightPrefix));
      deliver(Object.entries(kvs).flatMap(([k, v]) => (wanted.has(k.slice(0, 17)) ? [v] : [])));
    };
    let sweeping = false;
    this.sweepTimer = setInterval(() => {
      if (sweeping || this.stopped) return;
      sweeping = true;
      sweep().finally(() => {
        sweeping = false;
      });
    }, this.opts.sweepMs ?? 1000);
    this.sweepTimer.unref();
    await sweep();
  }

  publish(memberId: string, signed: SignedCheckpoint): void {
    if (this.stopped) return;
    const height = signed.checkpoint.height;
    this.queue.set(sigKey(height, memberId), JSON.stringify(signed));
    if (height - this.lastPruned >= Math.max(1, Math.floor(this.window / 4)) && height > this.window) {
      this.lastPruned = height;
      const cut = String(height - this.window).padStart(16, '0');
      this.ns
        .delete()
        .range(new Range('', cut))
        .catch((e) => this.log(`signature prune: ${String(e)}`));
    }
    this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined;
    });
  }

  private async flush(): Promise<void> {
    let delay = 50;
    while (this.queue.size > 0 && !this.stopped) {
      const batch = [...this.queue].slice(0, MAX_PUTS_PER_TXN);
      try {
        // One etcd transaction for all of them (always applied: its only compare holds for any key).
        await this.ns
          .if(batch[0]![0], 'Version', '>', -1)
          .then(...batch.map(([k, v]) => this.ns.put(k).value(v)))
          .commit();
        for (const [k, v] of batch) if (this.queue.get(k) === v) this.queue.delete(k);
        delay = 50;
      } catch (e) {
        this.log(`signature publish: ${String(e)}; retrying`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    // Give queued signatures a moment to go out, so that a clean stop does not delay the others' finality.
    const deadline = Date.now() + 1000;
    while (this.queue.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.watcher?.cancel().catch(() => {});
    this.client.close();
  }
}
