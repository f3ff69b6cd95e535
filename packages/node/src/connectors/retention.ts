/**
 * The retention schedule of an org's own systems (issue 16): every interval the org's node runs
 * each mapped system's `expire` at the time of the latest final block (the same time the vault's
 * own sweep acts on, `OrgService.retentionTime`: never the wall clock alone, and nothing while the
 * block time is implausible), then records on the ledger, per system, what it did:
 * `retention.run {system, outcome, asOf, rows, digest}` (modules/retention.ts): the rows erased or
 * masked and the salted digest of what was there before, never a value. A run that expired nothing
 * is not recorded (it would fill the ledger with empty entries); the view keeps it. A failing
 * system records its error code, and the others still run. The vault is left to the node's own
 * retention sweep, which erases each record with `data.erased` (reason `retention`).
 *
 * Off by default: `connectors.json` turns it on per org (`retentionIntervalMinutes`); the demo runs
 * it for the bank.
 */
import { errorCode, NodeError } from '../errors.js';
import type { RetentionRun } from '../modules/retention.js';
import type { OrgService } from '../orgs/org-service.js';
import { type Connector, evidenceDigest, newEvidenceSalt } from './connector.js';

export const MIN_RETENTION_INTERVAL_MS = 60_000;

/** What the last run did in one system (kept in memory; the ledger keeps the runs that changed something). */
export interface RetentionSystemRun {
  system: string;
  /** When it ran (this node's clock) and the block time it counted retention at. */
  ranAt: number;
  asOf: number;
  outcome: 'done' | 'failed' | 'nothing-due';
  rows: number;
  digest: string | null;
  /** The ledger entry of this run, if one was recorded. */
  txId: string | null;
  /** The error's message (names systems and SQLSTATEs, never a value), on failure. */
  error?: string;
}

export interface RetentionView {
  org: string;
  /** The interval (ms), or null when no schedule runs. */
  intervalMs: number | null;
  /** The last run, in the node's memory since it started. */
  lastRun: { ranAt: number; asOf: number; systems: RetentionSystemRun[] } | null;
  /** Per system of the connectors, the last run recorded on the ledger. */
  recorded: { system: string; run: RetentionRun | null }[];
}

function message(e: unknown): string {
  const text = `${errorCode(e)}: ${e instanceof Error ? e.message : String(e)}`;
  return text.length > 500 ? `${text.slice(0, 499)}…` : text;
}

export class RetentionScheduler {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<RetentionSystemRun[]> | undefined;
  private last: RetentionView['lastRun'] = null;

  constructor(
    private readonly orgs: OrgService,
    readonly org: string,
    private readonly connectors: readonly Connector[],
    readonly intervalMs: number,
    private readonly log: (event: Record<string, unknown>) => void = () => {},
  ) {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < MIN_RETENTION_INTERVAL_MS) {
      throw new NodeError('BAD_REQUEST', `expected a retention interval of at least ${MIN_RETENTION_INTERVAL_MS} ms`);
    }
  }

  /** Runs now, then every interval, until `stop`. */
  start(): void {
    if (this.timer !== undefined) return;
    const tick = () => {
      this.runOnce().catch((e) =>
        this.log({ event: 'retention.systems.failed', org: this.org, error: message(e).slice(0, 200) }),
      );
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /**
   * One run over every non-vault system, at `asOf` (default: the latest final block's time, when
   * plausible; without one nothing runs and [] is answered). One run at a time: a call during a run
   * waits for it.
   */
  async runOnce(asOf?: number): Promise<RetentionSystemRun[]> {
    if (this.running !== undefined) return this.running;
    this.running = this.run(asOf);
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async run(at: number | undefined): Promise<RetentionSystemRun[]> {
    const asOf = at ?? this.orgs.retentionTime();
    if (asOf === undefined) return [];
    const ranAt = Date.now();
    const out: RetentionSystemRun[] = [];
    for (const c of this.connectors) {
      if (c.kind === 'vault') continue;
      out.push(await this.runSystem(c, asOf, ranAt));
    }
    this.last = { ranAt, asOf, systems: out };
    return out;
  }

  private async runSystem(c: Connector, asOf: number, ranAt: number): Promise<RetentionSystemRun> {
    const base = { system: c.system, ranAt, asOf };
    try {
      const result = await c.expire(asOf);
      if (result.rows === 0) return { ...base, outcome: 'nothing-due', rows: 0, digest: null, txId: null };
      const digest = evidenceDigest(newEvidenceSalt(), result);
      const r = await this.orgs.submit(this.org, 'retention.run', {
        system: c.system,
        outcome: 'done',
        asOf,
        rows: result.rows,
        digest,
      });
      if (r.code !== 'OK') {
        // The rows are gone; only the record failed. Say so, with the ledger's code.
        this.log({ event: 'retention.systems.unrecorded', org: this.org, system: c.system, code: r.code });
        return {
          ...base,
          outcome: 'failed',
          rows: result.rows,
          digest,
          txId: r.txId,
          error: `retention.run ended ${r.code}`,
        };
      }
      this.log({ event: 'retention.systems.run', org: this.org, system: c.system, rows: result.rows, txId: r.txId });
      return { ...base, outcome: 'done', rows: result.rows, digest, txId: r.txId };
    } catch (e) {
      const r = await this.orgs
        .submit(this.org, 'retention.run', { system: c.system, outcome: 'failed', asOf, error: errorCode(e) })
        .catch(() => undefined);
      this.log({ event: 'retention.systems.failed', org: this.org, system: c.system, error: errorCode(e) });
      return { ...base, outcome: 'failed', rows: 0, digest: null, txId: r?.txId ?? null, error: message(e) };
    }
  }

  /** The schedule, the last run and what the ledger holds per system. */
  view(): RetentionView {
    return {
      org: this.org,
      intervalMs: this.timer === undefined ? null : this.intervalMs,
      lastRun: this.last,
      recorded: this.connectors
        .filter((c) => c.kind !== 'vault')
        .map((c) => ({
          system: c.system,
          run: this.orgs.retentionRun(this.org, c.system) ?? null,
        })),
    };
  }
}

/** The schedules running on an org service, by org: read by the API's view, stopped with the peer. */
const schedules = new WeakMap<OrgService, Map<string, RetentionScheduler>>();

/**
 * Starts the retention schedule of `org` over the connectors configured for it (runs at once, then
 * every `intervalMs`). BAD_REQUEST if the org has no connectors or already has a schedule.
 */
export function startRetentionSchedule(
  orgs: OrgService,
  org: string,
  intervalMs: number,
  log?: (event: Record<string, unknown>) => void,
): RetentionScheduler {
  const connectors = orgs.connectorsOf(org);
  if (connectors === undefined) throw new NodeError('BAD_REQUEST', `no connectors configured for org '${org}'`);
  let mine = schedules.get(orgs);
  if (mine === undefined) {
    mine = new Map();
    schedules.set(orgs, mine);
  }
  if (mine.has(org)) throw new NodeError('BAD_REQUEST', `org '${org}' already has a retention schedule`);
  const s = new RetentionScheduler(orgs, org, connectors, intervalMs, log);
  mine.set(org, s);
  s.start();
  return s;
}

/** The schedule of `org` on this org service, if one runs. */
export function retentionScheduleOf(orgs: OrgService, org: string): RetentionScheduler | undefined {
  return schedules.get(orgs)?.get(org);
}

/** Stops every schedule of the org service and waits for runs in progress (before its connectors close). */
export async function stopRetentionSchedules(orgs: OrgService): Promise<void> {
  const mine = schedules.get(orgs);
  if (mine === undefined) return;
  schedules.delete(orgs);
  await Promise.all([...mine.values()].map((s) => s.stop()));
}
