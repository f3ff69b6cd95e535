/**
 * The nonces of signed requests seen within their validity window (at most 60 s), so a captured
 * request cannot be sent again. In memory and bounded: when full of unexpired entries it refuses
 * new requests (fail closed) rather than forget a nonce that could still be replayed. Per node
 * process; a signature also covers `@authority`, so it cannot be replayed to another peer either.
 */

export type NonceCheck = 'fresh' | 'replayed' | 'full';

export const DEFAULT_REPLAY_CACHE_SIZE = 200_000;

export class ReplayCache {
  /** key -> expiry (ms). Insertion order is close to expiry order: sweeps start from the oldest. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = DEFAULT_REPLAY_CACHE_SIZE) {}

  /** Records `nonce` of `keyid` until `expiresAtMs`; says whether it was fresh. */
  check(keyid: string, nonce: string, expiresAtMs: number, now: number): NonceCheck {
    const key = `${keyid} ${nonce}`;
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return 'replayed';
    this.sweepOldest(now, 2);
    if (this.seen.size >= this.maxEntries) {
      this.sweepAll(now);
      if (this.seen.size >= this.maxEntries) return 'full';
    }
    this.seen.delete(key);
    this.seen.set(key, expiresAtMs);
    return 'fresh';
  }

  get size(): number {
    return this.seen.size;
  }

  /** Drops up to `n` expired entries at the old end: keeps the map near its live size at O(1) per request. */
  private sweepOldest(now: number, n: number): void {
    for (const [k, until] of this.seen) {
      if (n-- <= 0 || until > now) return;
      this.seen.delete(k);
    }
  }

  private sweepAll(now: number): void {
    for (const [k, until] of this.seen) if (until <= now) this.seen.delete(k);
  }
}
