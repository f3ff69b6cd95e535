/**
 * How the relayer's and the members' duties' loops wait between passes: for the next block of a
 * chain they read (what is due arrives in blocks), with a timer as the bound and for endpoints that
 * cannot say when a block comes.
 */
import type { ChainEndpoint } from './endpoint.js';

/**
 * Resolves when one of `seen`'s endpoints has a block above the height seen, after `ms`, or when
 * `signal` aborts, whichever comes first; the other waits are then dropped.
 */
export async function untilNewBlock(
  seen: [ChainEndpoint, number][],
  ms: number,
  signal: AbortSignal | undefined,
  /** Other things to wait for (an EVM chain's new head), each given the signal that drops it. */
  also: ((signal: AbortSignal) => Promise<void>)[] = [],
): Promise<void> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.race([
      sleep(ms, stop.signal),
      ...seen.flatMap(([ep, h]) => (ep.nextBlock === undefined ? [] : [ep.nextBlock(h, stop.signal)])),
      ...also.map((wait) => wait(stop.signal)),
    ]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // The listener goes when the timer fires: a long run adds one per pass otherwise.
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
