/** Parsers of command-line values: each says what it expected and what it got (`BAD_REQUEST`). */
import { isTxId, type JsonValue } from '@custos/protocol';
import { NodeError } from '../errors.js';

function bad(message: string): NodeError {
  return new NodeError('BAD_REQUEST', message);
}

export function parseHeight(value: string, what = 'height'): number {
  if (!/^(0|[1-9][0-9]{0,14})$/.test(value))
    throw bad(`expected ${what} as a non-negative integer, got '${value.slice(0, 40)}'`);
  return Number(value);
}

export function parsePort(value: string): number {
  const n = /^[0-9]{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 0 && n <= 65535)) throw bad(`expected a port between 0 and 65535, got '${value.slice(0, 40)}'`);
  return n;
}

export function parseTxId(value: string): string {
  if (!isTxId(value))
    throw bad(`expected a transaction id of 64 lower-case hex characters, got '${String(value).slice(0, 80)}'`);
  return value;
}

export function parseArgsObject(text: string): { [key: string]: JsonValue } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad(`expected --args as a JSON object, e.g. '{"ns":"demo","key":"k","value":1}'`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('expected --args as a JSON object');
  return v as { [key: string]: JsonValue };
}

/** `bank,insurer:Acme Insurance` -> ids with names (the name defaults to the id, capitalized). */
export function parseOrgs(text: string): { id: string; name: string }[] {
  const orgs = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const [id = '', ...rest] = s.split(':');
      const name = rest.join(':').trim();
      return { id: id.trim(), name: name.length > 0 ? name : id.charAt(0).toUpperCase() + id.slice(1) };
    });
  if (orgs.length === 0) throw bad('expected --orgs as a comma-separated list of org ids, e.g. bank,insurer');
  return orgs;
}

export function parsePositiveInt(value: string, what: string): number {
  if (!/^[1-9][0-9]{0,5}$/.test(value))
    throw bad(`expected ${what} as a positive integer, got '${value.slice(0, 40)}'`);
  return Number(value);
}
