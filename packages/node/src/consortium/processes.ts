/** Processes and ports of a local consortium: signalling, liveness, free ports, and Ctrl-C handling. */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { NodeError } from '../errors.js';

/** The signal that interrupted the current `whileWatchingSignals`, if one did. */
let interrupted: NodeJS.Signals | undefined;

/**
 * Runs `fn` with SIGINT and SIGTERM turned into a failure of its waits (`checkInterrupted`), so that
 * an operator's Ctrl-C during `up` or `restart-peer` goes through the same clean-up as any failure:
 * no process is left behind.
 */
export async function whileWatchingSignals<T>(fn: () => Promise<T>): Promise<T> {
  const on = (signal: NodeJS.Signals) => {
    interrupted = signal;
  };
  interrupted = undefined;
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  }
}

/** Whether a signal arrived during the current `whileWatchingSignals`. */
export function isInterrupted(): boolean {
  return interrupted !== undefined;
}

/** Throws once a signal arrived during the current `whileWatchingSignals`. */
export function checkInterrupted(): void {
  if (interrupted !== undefined)
    throw new NodeError('INTERNAL', `interrupted by ${interrupted}; stopped what was started`);
}

/**
 * Whether `pid` is alive and (where /proc exists) still runs a command line containing `marker`:
 * a recorded pid that the system has since given to another process is never signalled.
 */
export function ownsPid(pid: number, marker: string): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || !alive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmdline.includes(marker);
  } catch {
    return !existsSync('/proc/self');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    const killDeadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < killDeadline) await sleep(20);
  }
}

/** The last lines (at most 600 characters) written to a log since byte `from`. */
export function logTail(path: string, from: number): string {
  try {
    const text = readFileSync(path).subarray(from).toString('utf8').trim();
    if (text.length === 0) return `(nothing in ${path})`;
    const lines = text.split('\n').slice(-4).join(' | ');
    return `${lines.length > 600 ? `...${lines.slice(-600)}` : lines} (log ${path})`;
  } catch {
    return `(no log at ${path})`;
  }
}

/** Which of `ports` another process listens on (127.0.0.1). */
export async function portsInUse(ports: number[]): Promise<number[]> {
  const used: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (!free) used.push(port);
  }
  return used;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The JSON a URL answers with, or undefined when it does not answer 2xx within a second. */
export async function getJson(url: string): Promise<unknown> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}

/** `n` ports free on 127.0.0.1 now. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((res, rej) => {
          const s = createServer();
          s.once('error', rej);
          s.listen(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
