/**
 * The block clock: whether a block's time is plausible on this peer (not too far ahead of its wall
 * clock, never before its parent), and the clock alarm raised when a block or a retention sweep is
 * refused for its time. The wall clock is used for these checks only, never by execution.
 */
import { NodeError } from '../errors.js';

/** Default of `maxClockSkewMs`: how far ahead of a peer's clock a block may be dated. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;
/** Bounds of `maxClockSkewMs`. */
export const MIN_CLOCK_SKEW_MS = 1000;
export const MAX_CLOCK_SKEW_MS = 600_000;

/** A block refused for its time, or a retention sweep refused for an implausible jump (the clock alarm). */
export interface ClockAlarm {
  kind: 'block' | 'retention';
  /** Height of the refused block (or of the final block a refused sweep would have used). */
  height: number;
  /** The time in the block, ms. */
  blockTime: number;
  /** This peer's clock when it refused, ms. */
  localTime: number;
  /** `blockTime - localTime`, ms (negative for a block dated before its parent). */
  skewMs: number;
  reason: string;
}

/** What `clockStatus` reports: the alarm in force, how many were raised, and the allowed skew. */
export interface ClockStatus {
  alarm: ClockAlarm | undefined;
  alarms: number;
  maxClockSkewMs: number;
}

export class BlockClock {
  readonly now: () => number;
  readonly maxClockSkewMs: number;
  private readonly onAlarm: (alarm: ClockAlarm) => void;
  /** The clock alarm in force (cleared by the next block committed or sweep accepted). */
  private alarm: ClockAlarm | undefined;
  private alarms = 0;

  /** Throws BAD_REQUEST for a `maxClockSkewMs` out of bounds; `onAlarm` hears each alarm raised. */
  constructor(now: () => number, maxClockSkewMs: number, onAlarm: (alarm: ClockAlarm) => void) {
    this.now = now;
    this.maxClockSkewMs = checkSkew(maxClockSkewMs);
    this.onAlarm = onAlarm;
  }

  /**
   * Why a block dated `time` must not be executed on this peer (undefined if its time is plausible):
   * more than `maxClockSkewMs` ahead of this peer's clock, or before its parent's time.
   */
  check(time: number, parentTime: number): string | undefined {
    if (!Number.isSafeInteger(time) || time < 0) return 'its time is not an integer number of milliseconds';
    if (time < parentTime) return `it is dated ${parentTime - time} ms before its parent`;
    const ahead = time - this.now();
    if (ahead > this.maxClockSkewMs) {
      return `it is dated ${ahead} ms ahead of this peer's clock (at most ${this.maxClockSkewMs} ms allowed)`;
    }
    return undefined;
  }

  /** Records the clock alarm and tells the listener. */
  raise(alarm: ClockAlarm): void {
    this.alarm = alarm;
    this.alarms++;
    this.onAlarm(alarm);
  }

  /** Clears the clock alarm of `kind` (a block committed, or a retention sweep accepted). */
  clear(kind: ClockAlarm['kind']): void {
    if (this.alarm?.kind === kind) this.alarm = undefined;
  }

  status(): ClockStatus {
    return { alarm: this.alarm, alarms: this.alarms, maxClockSkewMs: this.maxClockSkewMs };
  }
}

function checkSkew(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < MIN_CLOCK_SKEW_MS || ms > MAX_CLOCK_SKEW_MS) {
    throw new NodeError(
      'BAD_REQUEST',
      `expected maxClockSkewMs as an integer from ${MIN_CLOCK_SKEW_MS} to ${MAX_CLOCK_SKEW_MS}, got ${String(ms).slice(0, 20)}`,
    );
  }
  return ms;
}
