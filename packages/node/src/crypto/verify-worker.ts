/**
 * Worker thread of `VerifyPool`: receives a packed chunk as one transferred ArrayBuffer, verifies
 * its signatures with node:crypto and transfers back one byte per item; for `kind: 'parse'` it first
 * parses and canonicalises the chunk's transactions and sends those answers (`parse-packed.ts`).
 * For `kind: 'stats'` it answers its thread's CPU accounts (`VerifyPool.stats`).
 */
import { parentPort } from 'node:worker_threads';
import { parsePacked } from './parse-packed.js';
import { threadCpuMs, threadId } from './thread-cpu.js';
import type { WorkerStats } from './verify-pool.js';
import { verifyPacked } from './verify-pool.js';

if (parentPort === null) throw new Error('verify-worker.js runs only as a worker thread of VerifyPool');
const port = parentPort;

const stats: WorkerStats = { threadId: threadId(), cpuMs: 0, verifyMs: 0, verified: 0, parseMs: 0, parsed: 0 };
// Thread CPU where /proc gives it; wall time elsewhere (then a loaded machine inflates it).
const clock = threadCpuMs() === undefined ? () => performance.now() : () => threadCpuMs() as number;

port.on('message', (msg: { id: number; buffer: ArrayBuffer; kind?: 'parse' | 'stats' }) => {
  if (msg.kind === 'stats') {
    port.postMessage({ id: msg.id, stats: { ...stats, cpuMs: threadCpuMs() } });
    return;
  }
  const t0 = clock();
  if (msg.kind === 'parse') {
    const { answers, errors, verify } = parsePacked(msg.buffer);
    stats.parseMs += clock() - t0;
    port.postMessage({ id: msg.id, answers, errors }, [answers]);
    const t1 = clock();
    const results = verify();
    stats.verifyMs += clock() - t1;
    stats.parsed += results.length;
    stats.verified += results.length;
    port.postMessage({ id: msg.id, results }, [results.buffer]);
    return;
  }
  const results = verifyPacked(msg.buffer);
  stats.verifyMs += clock() - t0;
  stats.verified += results.length;
  port.postMessage({ id: msg.id, results }, [results.buffer]);
});
