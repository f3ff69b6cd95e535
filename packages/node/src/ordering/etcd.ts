/**
 * The `etcd` orderer for a consortium (docs/architecture.md#ordering,
 * docs/adr/0006-etcd-ordering.md): peers share pending transactions through etcd, a proposer
 * elected through etcd cuts blocks with one compare-and-swap transaction each, and every peer
 * delivers the blocks in height order.
 *
 * Keys, under `<prefix>/`: `pending/<txId>` (lease-bound), `included/<txId>` (until the transaction
 * expires), `blocks/<height, 16 digits>`, `head`, and the etcd3 election under `election/proposer/`.
 *
 * @example
 * const orderer = new EtcdOrderer({
 *   endpoints: ['http://127.0.0.1:2379'], prefix: '/custos/main', peerId: 'bank-1',
 *   lastHeight: () => store.latestHeader().height, parse: parseAndVerify,
 * });
 */
import { type Campaign, Etcd3, type IOptions, type Namespace } from 'etcd3';
import { NodeError } from '../errors.js';
import { BlockFeed } from './etcd-feed.js';
import { ELECTION_NAME } from './etcd-layout.js';
import { Proposer } from './etcd-proposer.js';
import { Backoff, describeError, sleep } from './etcd-retry.js';
import { PendingWriter } from './etcd-submitter.js';
import { type DeliverFn, type Orderer, type ParseBatchFn, type PendingTx, parseEach } from './orderer.js';

export { BEHIND_ORDERER_WINDOW } from './etcd-feed.js';

/** TLS client credentials (CA, client certificate and key, PEM) and user auth for an etcd client. */
export interface EtcdSecurity {
  credentials?: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer };
  auth?: { username: string; password: string };
}

/** The `etcd3` client options for `security`. */
export function etcdClientAuth(security: EtcdSecurity | undefined): Pick<IOptions, 'credentials' | 'auth'> {
  return {
    ...(security?.credentials === undefined ? {} : { credentials: security.credentials }),
    ...(security?.auth === undefined ? {} : { auth: security.auth }),
  };
}

export interface EtcdOrdererOptions {
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`. */
  endpoints: string[];
  /** TLS client credentials and user auth for etcd (default: none, plain `http://`). */
  security?: EtcdSecurity;
  /** Key prefix of this chain, e.g. `/custos/<chainId>`; every key the orderer uses is under it. */
  prefix: string;
  /** Unique name of this orderer instance (the election value, and the `proposer` of its blocks). */
  peerId: string;
  /**
   * Parses and verifies a stored signed transaction (the node's admission rules). Throwing rejects
   * it: from a pending key, it is dropped; inside a block, the block is corrupt and delivery stops.
   */
  parse: (raw: unknown) => PendingTx;
  /**
   * `parse` for a whole block or watch event at once (the node's: signatures verified in one batch
   * off the event loop). Default: `parse` on each transaction, on this thread.
   */
  parseBatch?: ParseBatchFn;
  /** Height of this peer's last committed block; delivery resumes after it. Default 0. */
  lastHeight?: () => number;
  /** Most transactions in one block. Default 2,000 (also bounded by `maxTxnOps` and `maxRequestBytes`). */
  maxTxs?: number;
  /** Longest the oldest pending transaction waits for its block. Default 20 ms. */
  maxWaitMs?: number;
  /** Blocks kept in etcd; older ones are deleted and etcd's history compacted. Default 1,000. */
  window?: number;
  /** Lease TTL of pending keys, kept alive by the submitting peer. Default 60 s. */
  pendingTtlSec?: number;
  /** Lease TTL of the proposer's election key: how long a crashed proposer blocks ordering. Default 5 s. */
  electionTtlSec?: number;
  /** The cluster's `--max-txn-ops`. Default 128, etcd's default. */
  maxTxnOps?: number;
  /** The cluster's `--max-request-bytes`. Default 1.5 MiB, etcd's default. */
  maxRequestBytes?: number;
  /** On stop, how long to wait for transactions submitted here to be delivered. Default 3 s. */
  drainMs?: number;
  /** Deadline of each etcd call. Default 5 s. */
  callTimeoutMs?: number;
  /** Called once when ordering stops for good (corrupt or pruned blocks, a misconfigured cluster). */
  onError?: (err: unknown) => void;
  /** Called with transactions submitted here that expired before any block took them. */
  onExpired?: (txIds: string[]) => void;
  /** Diagnostics (retries, leadership changes). */
  log?: (message: string) => void;
  /**
   * Why a block dated `time` (its parent dated `parentTime`) must not be delivered or built on here;
   * undefined when plausible. Default: more than 30 s ahead of this machine's clock, or before its parent.
   */
  checkBlockTime?: (time: number, parentTime: number) => string | undefined;
  /** Called once per block refused for its time (the clock alarm). */
  onRefused?: (height: number, blockTime: number, reason: string) => void;
  /** Members and quorum threshold in force: `members - threshold + 1` refusals let the proposer re-date a block. Default 1 of 1. */
  quorum?: () => { members: number; threshold: number };
  /** This machine's clock, for the proposer's block times (tests). Default Date.now. */
  now?: () => number;
}

/** After stepping down (its clock outvoted), a proposer campaigns again this much later, at the back of the queue. */
const STEP_DOWN_MS = 1000;

const DEFAULT_SKEW_MS = 30_000;

function defaultCheckBlockTime(time: number, parentTime: number): string | undefined {
  if (time < parentTime) return `it is dated ${parentTime - time} ms before its parent`;
  const ahead = time - Date.now();
  return ahead > DEFAULT_SKEW_MS ? `it is dated ${ahead} ms ahead of this peer's clock` : undefined;
}

export class EtcdOrderer implements Orderer {
  private readonly client: Etcd3;
  private readonly ns: Namespace;
  private readonly feed: BlockFeed;
  private readonly writer: PendingWriter;
  private readonly proposer: Proposer;
  private readonly opts: EtcdOrdererOptions;
  private readonly electionTtlSec: number;
  private readonly log: (message: string) => void;
  private campaign: Campaign | undefined;
  private leading: object | undefined;
  private proposing: Promise<void> = Promise.resolve();
  private readonly campaignBackoff = new Backoff(100, 5000);
  private lastTime = 0;
  private started = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private fatal: unknown;

  constructor(opts: EtcdOrdererOptions) {
    if (opts.endpoints.length === 0) throw new TypeError('expected at least one etcd endpoint');
    const prefix = opts.prefix.replace(/\/+$/, '');
    if (!/^[\x21-\x7e]+$/.test(prefix)) throw new TypeError(`expected a printable key prefix, got '${opts.prefix}'`);
    if (!/^[\x21-\x7e]{1,128}$/.test(opts.peerId)) throw new TypeError('expected peerId of 1-128 printable characters');
    const window = opts.window ?? 1000;
    if (!Number.isSafeInteger(window) || window < 2) throw new TypeError(`expected window >= 2, got ${window}`);
    const maxTxnOps = opts.maxTxnOps ?? 128;
    if (maxTxnOps < 5) throw new TypeError(`expected maxTxnOps >= 5, got ${maxTxnOps}`);
    this.opts = opts;
    this.log = opts.log ?? (() => {});
    this.electionTtlSec = opts.electionTtlSec ?? 5;
    const callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: callTimeoutMs,
      ...etcdClientAuth(opts.security),
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      grpcOptions: {
        'grpc.max_receive_message_length': 256 * 1024 * 1024,
        // Pings find a member that hangs (frozen, partitioned) and move watches off it. etcd refuses
        // pings more often than every 5 s (--grpc-keepalive-min-time).
        'grpc.keepalive_time_ms': 6000,
        'grpc.keepalive_timeout_ms': 2000,
      },
    });
    this.ns = this.client.namespace(`${prefix}/`);
    const maxRequestBytes = opts.maxRequestBytes ?? 1.5 * 1024 * 1024;
    const onFatal = (e: unknown) => this.fail(e);
    const checkBlockTime = opts.checkBlockTime ?? defaultCheckBlockTime;
    const parseBatch = opts.parseBatch ?? parseEach(opts.parse);
    this.feed = new BlockFeed(this.ns, {
      parseBatch,
      window,
      log: this.log,
      onFatal,
      onDelivered: (ids) => this.writer.delivered(ids),
      peerId: opts.peerId,
      checkBlockTime,
      onRefused: opts.onRefused ?? (() => {}),
      submitted: (raw) => this.writer.submitted(raw),
    });
    this.writer = new PendingWriter(this.ns, {
      ttlSec: opts.pendingTtlSec ?? 60,
      maxTxnOps,
      maxRequestBytes,
      log: this.log,
      onFatal,
      onExpired: opts.onExpired ?? (() => {}),
    });
    this.proposer = new Proposer(this.client, this.ns, {
      peerId: opts.peerId,
      maxTxs: opts.maxTxs ?? 2000,
      maxWaitMs: opts.maxWaitMs ?? 20,
      maxTxnOps,
      maxRequestBytes,
      window,
      compactEvery: Math.max(1, Math.floor(window / 4)),
      parse: opts.parse,
      parseBatch,
      lastTime: () => this.lastTime,
      checkBlockTime,
      quorum: opts.quorum ?? (() => ({ members: 1, threshold: 1 })),
      onOutvoted: () => this.stepDown(),
      onProposed: (height, value, batch) => this.feed.proposed(height, value, batch),
      written: (txId, value) => this.writer.written(txId, value),
      ...(opts.now === undefined ? {} : { now: opts.now }),
      log: this.log,
      onFatal,
    });
  }

  /**
   * Resumes delivery after `lastHeight()` and joins the proposer election. Throws a NodeError if
   * etcd no longer holds the blocks after it (STORE_CORRUPT, `details.reason` BEHIND_ORDERER_WINDOW),
   * holds fewer blocks than this peer (STORE_CORRUPT), or cannot be read for 10 s (INTERNAL).
   */
  async start(deliver: DeliverFn, lastTime: number): Promise<void> {
    if (this.started) throw new Error('orderer already started');
    this.started = true;
    this.lastTime = lastTime;
    try {
      const timeoutMs = Math.max(10_000, 2 * (this.opts.callTimeoutMs ?? 5000));
      await this.feed.start(deliver, this.opts.lastHeight?.() ?? 0, lastTime, timeoutMs);
    } catch (e) {
      this.stopped = true;
      this.stopping = Promise.resolve();
      this.client.close();
      throw e;
    }
    this.writer.start();
    this.runCampaign();
    await this.awaitLeader();
  }

  submit(txs: PendingTx[]): void {
    if (this.stopping !== undefined) throw new NodeError('NODE_STOPPED', 'orderer stopped');
    this.writer.add(txs);
  }

  pending(): number {
    return this.writer.size();
  }

  /**
   * Stops taking submissions and waits (up to `drainMs`) for the ones submitted here to be delivered,
   * so that a clean restart does not drop what this peer accepted; then stops proposing and
   * delivering, resigns from the election and revokes this peer's pending lease (what is still
   * undelivered is dropped). Resolves once the batch being delivered (if any) has been delivered.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.started && this.fatal === undefined) {
      const deadline = Date.now() + (this.opts.drainMs ?? 3000);
      while (this.writer.size() > 0 && this.fatal === undefined && Date.now() < deadline) await sleep(5);
    }
    this.stopped = true;
    this.leading = undefined;
    this.proposer.poke();
    await this.feed.stop();
    const campaign = this.campaign;
    this.campaign = undefined;
    await Promise.all([
      campaign ? Promise.race([campaign.resign().catch(() => {}), sleep(1000)]) : undefined,
      this.writer.stop(),
      Promise.race([this.proposing, sleep(1000)]),
    ]);
    this.client.close();
  }

  /** Height of the last block delivered here. */
  deliveredHeight(): number {
    return this.feed.height();
  }

  /** Whether this instance currently holds the proposer election. */
  isProposer(): boolean {
    return this.leading !== undefined;
  }

  /** The error that stopped ordering, if one did. */
  error(): unknown {
    return this.fatal;
  }

  private fail(err: unknown): void {
    if (this.fatal !== undefined || this.stopped) return;
    this.fatal = err;
    this.log(`ordering stopped: ${describeError(err)}`);
    this.leading = undefined;
    this.proposer.poke();
    this.opts.onError?.(err);
    this.stop().catch(() => {});
  }

  /** Campaigns for the proposer role; after losing it (or failing to campaign), campaigns again. */
  private runCampaign(): void {
    if (this.stopped) return;
    const campaign = this.ns.election(ELECTION_NAME, this.electionTtlSec).campaign(this.opts.peerId);
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.campaign !== campaign || this.stopped) return;
      this.log(`${this.opts.peerId} is the proposer`);
      this.campaignBackoff.reset();
      const token = {};
      this.leading = token;
      const previous = this.proposing;
      this.proposing = previous
        .then(() => this.proposer.run(() => this.leading === token && !this.stopped))
        .catch((e) => this.fail(e));
    });
    campaign.on('error', (err) => {
      if (this.campaign !== campaign) return;
      this.log(`${this.opts.peerId} left the election: ${describeError(err)}`);
      this.campaign = undefined;
      this.leading = undefined;
      this.proposer.poke();
      if (!this.stopped) setTimeout(() => this.runCampaign(), this.campaignBackoff.next()).unref();
    });
  }

  /** Gives up the proposer role (this peer's clock disagrees with the members'), then campaigns again. */
  private stepDown(): void {
    const campaign = this.campaign;
    if (campaign === undefined || this.stopped) return;
    this.campaign = undefined;
    this.leading = undefined;
    this.proposer.poke();
    campaign
      .resign()
      .catch(() => {})
      .finally(() => {
        if (!this.stopped) setTimeout(() => this.runCampaign(), STEP_DOWN_MS).unref();
      });
  }

  /** Waits (briefly) until some instance leads, so the first submissions do not wait for an election. */
  private async awaitLeader(): Promise<void> {
    const election = this.ns.election(ELECTION_NAME, this.electionTtlSec);
    const deadline = Date.now() + 3000;
    while (!this.stopped && Date.now() < deadline) {
      if (this.leading !== undefined) return;
      const leader = await election.leader().catch(() => undefined);
      if (leader !== undefined && leader !== this.opts.peerId) return;
      await sleep(10);
    }
  }
}
