/**
 * Waiting and retrying for the etcd orderer: jittered exponential backoff, a wake-up signal for
 * loops that sleep until something happens, and which etcd errors are worth retrying.
 */
import { ClientClosedError, GRPCInvalidArgumentError } from 'etcd3';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential backoff with full jitter, from `minMs` up to `maxMs`. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly minMs = 50,
    private readonly maxMs = 2000,
  ) {}

  next(): number {
    const cap = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(cap / 2 + (Math.random() * cap) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Lets a loop sleep until `notify()` or a timeout, whichever comes first. */
export class Wakeup {
  private waiters: (() => void)[] = [];
  private notified = false;

  notify(): void {
    this.notified = true;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /**
   * Resolves at the next `notify()` (or at once if one came since the last wait) with true, or after
   * `ms` with false.
   */
  wait(ms: number): Promise<boolean> {
    if (this.notified) {
      this.notified = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const done = (notified: boolean) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== wake);
        this.notified = false;
        resolve(notified);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      this.waiters.push(wake);
    });
  }
}

const PERMANENT_MESSAGES = [
  'too many operations in txn request',
  'request is too large',
  'permission denied',
  'authentication failed',
  'user name is empty',
  'invalid auth token',
];

/**
 * True for errors that retrying cannot fix: a misconfigured limit (`--max-txn-ops`,
 * `--max-request-bytes`), missing permissions, a closed client. Everything else (no leader, timeouts,
 * unreachable members, lost leases) is treated as transient.
 */
export function isPermanentEtcdError(err: unknown): boolean {
  if (err instanceof ClientClosedError) return true;
  const message = err instanceof Error ? err.message.toLowerCase() : '';
  if (PERMANENT_MESSAGES.some((m) => message.includes(m))) return true;
  return err instanceof GRPCInvalidArgumentError && !message.includes('compacted');
}

/** Short description of an error for logs. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return String(err).slice(0, 300);
}
