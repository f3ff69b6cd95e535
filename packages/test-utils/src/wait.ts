/** Polling for conditions that become true in the background (blocks ordered, peers caught up). */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` every `intervalMs` until it holds; false if `timeoutMs` passed first. For tests that
 * assert on the outcome themselves (`expect(await waitFor(...)).toBe(true)`).
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 10,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}

/**
 * Polls `cond` until it holds and throws `timed out waiting: <what>` after `timeoutMs`. A condition
 * that throws (a peer still starting, a refused connection) counts as not yet; its last error is
 * part of the timeout message.
 */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`;
      throw new Error(`timed out waiting: ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}
