/**
 * CPU time of the calling thread (Linux: `/proc/thread-self/schedstat`, nanoseconds on a CPU), so a
 * verify worker can say how much of its thread went to verification and how much to the rest.
 * Elsewhere there is no per-thread clock in Node 20, and these figures are undefined.
 */
import { readFileSync } from 'node:fs';

let available = true;

/** Milliseconds the calling thread has run on a CPU, or undefined where /proc is not available. */
export function threadCpuMs(): number | undefined {
  if (!available) return undefined;
  try {
    const text = readFileSync('/proc/thread-self/schedstat', 'latin1');
    return Number(text.slice(0, text.indexOf(' '))) / 1e6;
  } catch {
    available = false;
    return undefined;
  }
}

/** The kernel's id of the calling thread (its `/proc/self/task/<tid>` entry), or undefined off Linux. */
export function threadId(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    return Number(stat.slice(0, stat.indexOf(' ')));
  } catch {
    return undefined;
  }
}
