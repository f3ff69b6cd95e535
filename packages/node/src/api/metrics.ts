/**
 * Prometheus metrics (prom-client), served as text at GET /metrics. Two registries: `metrics`, one
 * per process, for counters any part of the node increments (vault operations) and the process's
 * own figures; and a `NodeMetrics` per server, fed by the node's `block` events and the HTTP hooks.
 * Labels are route patterns, methods, status and result codes only: never an id, a key or an address.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CustosNode } from '../node.js';

const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry, prefix: 'custos_' });

/**
 * Process-wide metrics that parts of the node outside the HTTP API increment.
 *
 * @example
 * import { metrics } from '../api/metrics.js';
 * metrics.vaultOps.inc({ op: 'put', result: 'ok' });
 */
export const metrics = {
  registry: processRegistry,
  /** Vault operations by kind (`put`, `get`, `erase`, `rotate`...) and outcome (`ok`, `denied`, `erased`, `error`). */
  vaultOps: new Counter({
    name: 'custos_vault_operations_total',
    help: 'Vault operations by kind and outcome.',
    labelNames: ['op', 'result'] as const,
    registers: [processRegistry],
  }),
};

/** Seconds, from 1 ms to 30 s: commit latency and request durations. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Metrics of one node as seen by one server. Detaches from the node when the server closes. */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly blocks: Counter;
  private readonly txs: Counter<'code'>;
  private readonly commitLatency: Histogram;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly onBlock: (header: { height: number; logSize: number; txCount: number }) => void;
  private readonly clockAlarms: Counter<'kind'>;
  private readonly onClockAlarm: (alarm: { kind: string }) => void;
  private countCodes: ((from: number, to: number) => { code: string; n: number }[]) | undefined;

  constructor(private readonly node: CustosNode) {
    const registers = [this.registry];
    this.blocks = new Counter({ name: 'custos_blocks_committed_total', help: 'Blocks committed.', registers });
    this.txs = new Counter({
      name: 'custos_transactions_committed_total',
      help: 'Transactions committed, by result code.',
      labelNames: ['code'] as const,
      registers,
    });
    this.commitLatency = new Histogram({
      name: 'custos_commit_latency_seconds',
      help: 'From admission by this API to the commit of the block holding the transaction.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'custos_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'custos_block_height',
      help: 'Height of the latest committed block.',
      registers,
      collect() {
        this.set(node.latest().height);
      },
    });
    new Gauge({
      name: 'custos_latest_block_age_seconds',
      help: 'Wall-clock age of the latest committed block.',
      registers,
      collect() {
        this.set(Math.max(0, (Date.now() - node.latest().time) / 1000));
      },
    });
    new Gauge({
      name: 'custos_pending_transactions',
      help: 'Transactions admitted and not yet committed (signature checks, ordering, execution).',
      registers,
      collect() {
        this.set(node.pendingCount());
      },
    });
    new Gauge({
      name: 'custos_node_fatal',
      help: '1 when the node stopped on a failed commit.',
      registers,
      collect() {
        this.set(node.fatalError() === undefined ? 0 : 1);
      },
    });
    this.clockAlarms = new Counter({
      name: 'custos_clock_alarms_total',
      help: "Blocks refused for their time (dated beyond this peer's clock plus the allowed skew, or before their parent) and retention sweeps refused for an implausible jump, by kind.",
      labelNames: ['kind'] as const,
      registers,
    });
    new Gauge({
      name: 'custos_clock_alarm',
      help: '1 while the clock alarm is raised (a block refused for its time and not yet replaced, or a retention sweep refused).',
      registers,
      collect() {
        this.set(node.clockStatus().alarm === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: 'custos_clock_skew_seconds',
      help: "Time in the refused block minus this peer's clock when the alarm was raised (0 without an alarm).",
      registers,
      collect() {
        this.set((node.clockStatus().alarm?.skewMs ?? 0) / 1000);
      },
    });
    this.onClockAlarm = (alarm) => this.clockAlarms.inc({ kind: alarm.kind });
    node.on('clock-alarm', this.onClockAlarm);
    this.onBlock = (header) => {
      this.blocks.inc();
      if (header.txCount === 0) return;
      for (const { code, n } of this.codesOf(header.logSize - header.txCount, header.logSize)) {
        this.txs.inc({ code }, n);
      }
    };
    node.on('block', this.onBlock);
  }

  /** Result codes of the log entries [from, to): one indexed range query per block. */
  private codesOf(from: number, to: number): { code: string; n: number }[] {
    if (this.countCodes === undefined) {
      const stmt = this.node.store.db.prepare<[number, number], { code: string; n: number }>(
        'SELECT code, COUNT(*) AS n FROM txs WHERE log_index >= ? AND log_index < ? GROUP BY code',
      );
      this.countCodes = (a, b) => stmt.all(a, b);
    }
    return this.countCodes(from, to);
  }

  /** Records a transaction admitted at `admittedAt` (performance.now()) that just committed. */
  observeCommit(admittedAt: number): void {
    this.commitLatency.observe((performance.now() - admittedAt) / 1000);
  }

  /**
   * Times every request of `app` by route pattern and status; detaches from the node on close.
   * Each route gets its own `onResponse` hook that knows its pattern, and the label set of each
   * method and status is built once: `request.routeOptions` builds a fresh object per read, which
   * every request paid for here (docs/performance.md, "HTTP single route").
   */
  install(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const existing = route.onResponse;
      const own = this.timer(route.url);
      // A new array, not a push: Fastify copies a GET route's options for its HEAD route first.
      route.onResponse = existing === undefined ? [own] : [...(Array.isArray(existing) ? existing : [existing]), own];
    });
    // Requests no route matched (the not-found handler has no `onRoute`).
    const unmatched = this.timer('unmatched');
    app.addHook('onResponse', (request, reply, done) => {
      if (request.is404) unmatched(request, reply, done);
      else done();
    });
    app.addHook('onClose', async () => {
      this.node.off('block', this.onBlock);
      this.node.off('clock-alarm', this.onClockAlarm);
    });
  }

  /** An `onResponse` hook recording a request of `route` in the request-duration histogram. */
  private timer(route: string): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
    const labels = new Map<string, { method: string; route: string; status: string }>();
    return (request, reply, done) => {
      const key = `${request.method} ${reply.statusCode}`;
      let set = labels.get(key);
      if (set === undefined) {
        set = { method: request.method, route, status: String(reply.statusCode) };
        labels.set(key, set);
      }
      this.httpDuration.observe(set, reply.elapsedTime / 1000);
      done();
    };
  }

  /** The Prometheus text exposition of this node's and the process's metrics. */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await metrics.registry.metrics()}`;
  }
}

export const METRICS_CONTENT_TYPE = processRegistry.contentType;
