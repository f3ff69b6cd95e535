/**
 * Which transactions a store may hold, answered from memory: Bloom filters of the ids of the
 * transactions this store committed since it was opened, one per hour of `expiresAt`. Admission
 * asks it before the SQLite replay probe: "no" is exact, so a fresh transaction (nearly all of
 * them) costs no database read; "maybe" is checked in SQLite. A replayed transaction carries the
 * same body, hence the same `expiresAt` and hour, so only one filter is consulted.
 *
 * Transactions committed before the store was opened are not in any filter: for every `expiresAt`
 * up to the latest one stored at open (`exactAfter`), the answer is "maybe". Hours that ended more
 * than the longest validity window ago are dropped: their transactions have expired and admission
 * refuses them before asking. Memory: at most `LIVE_HOURS` filters of 4 MiB.
 */
import { MAX_TTL_MS } from '@custos/protocol/ledger';

const HOUR_MS = MAX_TTL_MS;
/** Bits per filter (2^25: about 1 % false "maybe" at 3 million transactions in an hour). */
const BITS = 1 << 25;
/** Hours of `expiresAt` kept: the current one, the next (validity window plus clock skew), one spare. */
const LIVE_HOURS = 4;

export class ReplayFilter {
  private readonly hours = new Map<number, Uint32Array>();
  private newest = Number.NEGATIVE_INFINITY;

  /** `exactAfter`: the largest `expiresAt` among the transactions stored when the store was opened (0 if none). */
  constructor(private readonly exactAfter: number) {}

  /** Records a committed transaction. */
  add(txId: string, expiresAt: number): void {
    const hour = Math.floor(expiresAt / HOUR_MS);
    let bits = this.hours.get(hour);
    if (bits === undefined) {
      bits = new Uint32Array(BITS / 32);
      this.hours.set(hour, bits);
      if (hour > this.newest) {
        this.newest = hour;
        for (const h of this.hours.keys()) if (h <= hour - LIVE_HOURS) this.hours.delete(h);
      }
    }
    for (const bit of positions(txId)) bits[bit >>> 5] = (bits[bit >>> 5] as number) | (1 << (bit & 31));
  }

  /** False only if no transaction with this id and `expiresAt` was committed to the store. */
  mayContain(txId: string, expiresAt: number): boolean {
    if (expiresAt <= this.exactAfter) return true;
    const hour = Math.floor(expiresAt / HOUR_MS);
    if (hour <= this.newest - LIVE_HOURS) return true;
    const bits = this.hours.get(hour);
    if (bits === undefined) return false;
    for (const bit of positions(txId)) if (((bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    return true;
  }
}

/** Three bit positions from the id itself (hex SHA-256: already uniform); anything else always hits bit 0. */
function positions(txId: string): [number, number, number] {
  const a = Number.parseInt(txId.slice(0, 8), 16);
  const b = Number.parseInt(txId.slice(8, 16), 16);
  const c = Number.parseInt(txId.slice(16, 24), 16);
  const mask = BITS - 1;
  return [(a || 0) & mask, (b || 0) & mask, (c || 0) & mask];
}
