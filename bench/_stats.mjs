// Shared helpers for benchmark scenarios: latency percentiles and machine facts.
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
