// CPU time of this process's main thread (Linux: /proc/self/task/<pid>/stat), to report what the
// node's serial path costs per transaction: the figure that bounds throughput once verification is
// spread over the worker pool, and one that a busy machine disturbs far less than wall-clock time.
import { readdirSync, readFileSync } from 'node:fs';

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

/** CPU milliseconds thread `tid` of this process has run (schedstat, nanoseconds), or null. */
function taskCpuMs(tid) {
  try {
    const text = readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1');
    return Number(text.slice(0, text.indexOf(' '))) / 1e6;
  } catch {
    return null;
  }
}

/** User and kernel CPU milliseconds of thread `tid` (stat, in clock ticks), or null. */
function taskUserKernelMs(tid) {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) * TICK_MS, kernel: Number(fields[12]) * TICK_MS };
  } catch {
    return null;
  }
}

/** Every live thread of this process: its CPU milliseconds so far, and their user and kernel parts. */
function threadsCpuMs() {
  const out = new Map();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const ms = taskCpuMs(tid);
      const split = taskUserKernelMs(tid);
      if (ms !== null && split !== null) out.set(Number(tid), { ms, ...split });
    }
  } catch {}
  return out;
}

/**
 * A reading of where this process's CPU has gone so far: the whole process (user and kernel), the
 * main thread, every other thread, and the verify pool's own accounts (`VerifyPool.stats`, when the
 * node has one). Two readings around a run make `cpuAccount`.
 */
export async function cpuSnapshot(pool) {
  const workers = typeof pool?.stats === 'function' ? await pool.stats() : undefined;
  return {
    wallMs: performance.now(),
    usage: process.cpuUsage(),
    main: taskCpuMs(process.pid),
    threads: threadsCpuMs(),
    workers,
  };
}

const perTx = (ms, txs) => Math.round((ms * 1000 * 10) / txs) / 10;

/**
 * Where a transaction's CPU went between two `cpuSnapshot`s, in µs per committed transaction, over
 * ALL threads: verification inside the verify workers, the rest of those workers' threads (parsing,
 * messages, their GC), the main thread, the other threads (libuv's fsyncs, the WAL checkpoint
 * worker, V8's GC and compiler helpers), the kernel's share of all of it, and how much of the
 * machine's cores the process left idle over the run's wall time.
 */
export function cpuAccount(a, b, txs, cores) {
  if (txs === 0) return null;
  const wallMs = b.wallMs - a.wallMs;
  const userMs = (b.usage.user - a.usage.user) / 1000;
  const kernelMs = (b.usage.system - a.usage.system) / 1000;
  const processMs = userMs + kernelMs;
  const mainMs = a.main === null || b.main === null ? null : b.main - a.main;
  const out = {
    process_us_per_tx: perTx(processMs, txs),
    kernel_us_per_tx: perTx(kernelMs, txs),
    main_us_per_tx: mainMs === null ? null : perTx(mainMs, txs),
  };
  if (a.workers !== undefined && b.workers !== undefined) {
    let verifyMs = 0;
    let verified = 0;
    let parseMs = 0;
    let workerMs = 0;
    const tids = new Set();
    for (const w of b.workers.workers) {
      const before = a.workers.workers.find((x) => x.threadId === w.threadId);
      if (before === undefined) continue;
      tids.add(w.threadId);
      verifyMs += w.verifyMs - before.verifyMs;
      verified += w.verified - before.verified;
      parseMs += w.parseMs - before.parseMs;
      workerMs += (w.cpuMs ?? 0) - (before.cpuMs ?? 0);
    }
    out.verify_us_per_tx = perTx(verifyMs, txs);
    out.verifies_per_tx =
      Math.round(((verified + b.workers.verifiedInline - a.workers.verifiedInline) / txs) * 100) / 100;
    out.verified_inline_per_tx = Math.round(((b.workers.verifiedInline - a.workers.verifiedInline) / txs) * 100) / 100;
    out.worker_non_verify_us_per_tx = perTx(workerMs - verifyMs, txs);
    out.worker_parse_us_per_tx = perTx(parseMs, txs);
    let otherMs = 0;
    const others = [];
    for (const [tid, t] of b.threads) {
      if (tid === process.pid || tids.has(tid)) continue;
      const t0 = a.threads.get(tid) ?? { ms: 0, user: 0, kernel: 0 };
      otherMs += t.ms - t0.ms;
      // Thread ids grow in creation order: V8's platform threads first, then libuv's pool, then
      // worker threads (the verify pool's, the WAL checkpointer's).
      if (t.ms - t0.ms >= txs / 1000) {
        others.push({ tid, us: perTx(t.ms - t0.ms, txs), kernel_us: perTx(t.kernel - t0.kernel, txs) });
      }
    }
    // Threads that ended during the run are in the process's figure only.
    out.other_threads_us_per_tx = perTx(otherMs, txs);
    // Each other thread that used at least 1 µs per transaction, by thread id, with its kernel part.
    out.other_threads = others.map(({ tid, us, kernel_us }) => ({
      thread: tid - process.pid,
      us_per_tx: us,
      kernel_us_per_tx: kernel_us,
    }));
    out.pool_threads = [...tids].map((tid) => tid - process.pid);
    out.unaccounted_us_per_tx = perTx(processMs - (mainMs ?? 0) - workerMs - otherMs, txs);
  }
  out.idle_share = Math.round((1 - processMs / (wallMs * cores)) * 1000) / 1000;
  return out;
}
