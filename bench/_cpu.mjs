// CPU time of this process's main thread (Linux: /proc/self/task/<pid>/stat), to report what the
// node's serial path costs per transaction: the figure that bounds throughput once verification is
// spread over the worker pool, and one that a busy machine disturbs far less than wall-clock time.
import { readFileSync } from 'node:fs';

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

/** Main-thread CPU milliseconds so far (user + system), or null where /proc is not available. */
export function mainThreadCpuMs() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** Main-thread microseconds per transaction between two `mainThreadCpuMs()` readings. */
export function mainThreadUsPerTx(before, after, txs) {
  if (before === null || after === null || txs === 0) return null;
  return Math.round(((after - before) * 1000) / txs);
}
