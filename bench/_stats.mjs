// Shared helpers for benchmark scenarios: latency percentiles and machine facts.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Caliper-style latency summary of a list of milliseconds. */
export function latencySummary(samples) {
  if (samples.length === 0) return { min: null, avg: null, p50: null, p95: null, p99: null, max: null };
  const s = Float64Array.from(samples).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const round = (x) => Math.round(x * 1000) / 1000;
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    min: round(s[0]),
    avg: round(sum / s.length),
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(s[s.length - 1]),
  };
}

export function machine() {
  return { cpus: os.availableParallelism(), node: process.version };
}

/**
 * This process's I/O counters from /proc/self/io (Linux): `wchar` counts every byte handed to
 * write(2) (SQLite's WAL and database writes, before the page cache), `write_bytes` what reached
 * the storage layer. Null where the file does not exist.
 */
export function ioCounters() {
  try {
    const text = readFileSync('/proc/self/io', 'utf8');
    const field = (name) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { wchar: field('wchar'), write_bytes: field('write_bytes') };
  } catch {
    return null;
  }
}

/** Bytes written per transaction between two `ioCounters()` readings, or null if unknown. */
export function bytesPerTx(before, after, txs) {
  if (before === null || after === null || txs === 0) return null;
  return {
    written: Math.round((after.wchar - before.wchar) / txs),
    to_storage: Math.round((after.write_bytes - before.write_bytes) / txs),
  };
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat
 * (Linux, at the usual 100 clock ticks per second); null where it cannot be read.
 */
export function cpuSeconds(pid = process.pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
