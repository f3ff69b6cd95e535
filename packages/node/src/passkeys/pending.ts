/** The passkey service's in-memory tables of ceremonies, sessions and device links (ADR 0016). */

/** A bounded map of entries with an expiry: expired ones are dropped on the way, the oldest when full. */
export class Pending<T extends { expiresAt: number }> {
  private readonly map = new Map<string, T>();
  constructor(private readonly max: number) {}
  put(key: string, value: T, now: number): void {
    for (const [k, v] of this.map) {
      if (v.expiresAt > now && this.map.size < this.max) break;
      this.map.delete(k);
    }
    this.map.set(key, value);
  }
  /** Removes and returns the entry if present and unexpired. */
  take(key: string, now: number): T | undefined {
    const v = this.map.get(key);
    this.map.delete(key);
    return v !== undefined && v.expiresAt > now ? v : undefined;
  }
  peek(key: string, now: number): T | undefined {
    const v = this.map.get(key);
    return v !== undefined && v.expiresAt > now ? v : undefined;
  }
  deleteWhere(pred: (v: T) => boolean): void {
    for (const [k, v] of this.map) if (pred(v)) this.map.delete(k);
  }
}
