/**
 * How every command speaks: with `--json`, exactly one JSON document on stdout; otherwise short
 * sentences and tables. Errors go to stderr as `error CODE: message` and set the exit code from
 * the error registry.
 */
import { ERROR_REGISTRY, errorCode } from '../errors.js';
import type { DataRequest } from '../modules/request.js';

/** Exit status of a committed transaction whose result code is not OK (as `custos tx`). */
export const TX_FAILED_EXIT = 1;
const DAY = 86_400_000;

export interface Output {
  json: boolean;
  /** The command's result: `doc` with --json, else the human lines. */
  result(doc: unknown, human: string | string[]): void;
  /** A note for humans on stderr (never mixed into --json stdout). */
  note(line: string): void;
}

export function output(json: boolean): Output {
  return {
    json,
    result(doc, human) {
      if (json) process.stdout.write(`${JSON.stringify(doc)}\n`);
      else process.stdout.write(`${(Array.isArray(human) ? human : [human]).join('\n')}\n`);
    },
    note(line) {
      process.stderr.write(`${line}\n`);
    },
  };
}

/** Prints an error (and, with --json, an error document on stdout); returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error ${code}: ${message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  return ERROR_REGISTRY[code].exitCode;
}

/** Two aligned columns. */
export function table(rows: [string, string | number][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

/** A date as the CLI prints it (UTC, YYYY-MM-DD). */
export function day(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** `in 12 days` / `OVERDUE by 3 days` for an open request; its closing otherwise. */
export function deadlineText(r: Pick<DataRequest, 'status' | 'deadline' | 'closedAt'>, now: number): string {
  if (r.status !== 'open') return `${r.status} ${r.closedAt === null ? '' : day(r.closedAt)}`.trim();
  const days = Math.ceil(Math.abs(r.deadline - now) / DAY);
  return now > r.deadline
    ? `OVERDUE by ${days} day${days === 1 ? '' : 's'}`
    : `open, ${days} day${days === 1 ? '' : 's'} left`;
}
