/**
 * Bounded concurrency for the relayer and members' duties: everything pending is handled in one
 * pass, with at most `limit` awaits open at once, so a pass costs about one block of the chain it
 * submits to rather than one block per item.
 */

/**
 * Calls `fn` on every item, at most `limit` at a time; resolves when all have settled. `fn` handles
 * its own errors (a rejection is passed to `onError`, the others carry on).
 *
 * @example
 * await eachConcurrently(openDecisions, 16, (d) => sign(d));
 */
export async function eachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  onError: (item: T, e: unknown) => void = () => {},
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (e) {
        onError(item, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
