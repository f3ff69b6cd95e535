/**
 * How every command speaks: with `--json`, exactly one JSON document on stdout; otherwise short
 * sentences and tables. Errors go to stderr as `error CODE: message` and set the exit code from
 * the error registry.
 */
import { ERROR_REGISTRY, errorCode } from '../errors.js';

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
