/**
 * The nonces of signed requests seen within their validity window (at most 60 s), so a captured
 * request cannot be sent again. In memory and bounded: when full of unexpired entries it refuses
 * new requests (fail closed) rather than forget a nonce that could still be replayed. A nonce is
 * recorded only once its signature verified and its key was authorized for the route (trust #14),
 * and each client (address, IPv6 by /64) may hold at most `maxPerClient` live entries, so one
 * client cannot fill the cache and lock everyone else out. Per node process; a signature also
 * covers `@authority`, which the node binds to its own names (`authority.ts`), so it cannot be
 * replayed to another peer either.
 */

export type NonceCheck = 'fresh' | 'replayed' | 'full' | 'client-full';

export const DEFAULT_REPLAY_CACHE_SIZE = 200_000;
/** Live nonces one client may hold: above the read rate limit over the longest signature window. */
export const DEFAULT_REPLAY_CACHE_PER_CLIENT = 5_000;

interface Entry {
  until: number;
  client: string;
}

export class ReplayCache {
  /** key -> expiry (ms). Insertion order is close to expiry order: sweeps start from the oldest. */
  private readonly seen = new Map<string, Entry>();
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly maxEntries = DEFAULT_REPLAY_CACHE_SIZE,
    private readonly maxPerClient = DEFAULT_REPLAY_CACHE_PER_CLIENT,
  ) {}

  /** Records `nonce` of `keyid` until `expiresAtMs`, counted against `client`; says whether it was fresh. */
  check(keyid: string, nonce: string, expiresAtMs: number, now: number, client = ''): NonceCheck {
    const key = `${keyid} ${nonce}`;
    const cur = this.seen.get(key);
    if (cur !== undefined && cur.until > now) return 'replayed';
    this.sweepOldest(now, 2);
    if ((this.perClient.get(client) ?? 0) >= this.maxPerClient) {
      this.sweepAll(now);
      if ((this.perClient.get(client) ?? 0) >= this.maxPerClient) return 'client-full';
    }
    if (this.seen.size >= this.maxEntries) {
      this.sweepAll(now);
      if (this.seen.size >= this.maxEntries) return 'full';
    }
    if (cur !== undefined) this.drop(key, cur);
    this.seen.set(key, { until: expiresAtMs, client });
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    return 'fresh';
  }

  get size(): number {
    return this.seen.size;
  }

  private drop(key: string, e: Entry): void {
    this.seen.delete(key);
    const n = (this.perClient.get(e.client) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(e.client);
    else this.perClient.set(e.client, n);
  }

  /** Drops up to `n` expired entries at the old end: keeps the map near its live size at O(1) per request. */
  private sweepOldest(now: number, n: number): void {
    for (const [k, e] of this.seen) {
      if (n-- <= 0 || e.until > now) return;
      this.drop(k, e);
    }
  }

  private sweepAll(now: number): void {
    for (const [k, e] of this.seen) if (e.until <= now) this.drop(k, e);
  }
}
