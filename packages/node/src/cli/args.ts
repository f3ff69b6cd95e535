/** Parsers of command-line values: each says what it expected and what it got (`BAD_REQUEST`). */
import type { JsonValue } from '@custos/protocol/jcs';
import { isTxId } from '@custos/protocol/ledger';
import { NodeError } from '../errors.js';

const RECORD_ID = /^[0-9a-f]{64}$/;

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

export function parseArgsObject(text: string, flag = '--args'): { [key: string]: JsonValue } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    const { offset, expected } = jsonSyntaxError(text);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    throw bad(
      `${flag} is not valid JSON: at position ${offset} (line ${line}, column ${column}) expected ${expected}${offset >= text.length ? ', got the end of the text' : ''}; e.g. '{"ns":"demo","key":"k","value":1}' (in single quotes for the shell)`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad(`expected ${flag} as a JSON object, e.g. '{"ns":"demo","key":"k","value":1}'`);
  return v as { [key: string]: JsonValue };
}

/**
 * Where JSON text stops being JSON, and what was expected there (JSON.parse says it only in some
 * cases, and in words that change between Node versions). Only called on text that failed to parse.
 */
export function jsonSyntaxError(text: string): { offset: number; expected: string } {
  let i = 0;
  class Stop {
    constructor(readonly expected: string) {}
  }
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const lit = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) throw new Stop(`'${word}'`);
      i++;
    }
  };
  const str = () => {
    if (text[i] !== '"') throw new Stop('a string in double quotes');
    i++;
    for (;;) {
      if (i >= text.length) throw new Stop('a closing double quote');
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') throw new Stop('a character, not a control character (escape it)');
      if (c === '\\') {
        i++;
        const e = text[i];
        if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++)
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) throw new Stop('four hex digits after \\u');
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e))
          throw new Stop('an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u');
      }
      i++;
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (m === null || m[0] === '' || m[0] === '-')
      throw new Stop('a value: an object, array, string, number, true, false or null');
    i += m[0].length;
  };
  const value = (depth: number): void => {
    if (depth > 256) throw new Stop('at most 256 levels of nesting');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        if (text[i] !== ':') throw new Stop("':' after the field name");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        throw new Stop("',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        throw new Stop("',' or ']'");
      }
    }
    if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else num();
  };
  try {
    value(0);
    ws();
    if (i < text.length) throw new Stop('the end of the text');
  } catch (e) {
    if (e instanceof Stop) return { offset: i, expected: e.expected };
    throw e;
  }
  return { offset: i, expected: 'valid JSON' };
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

export function parseRecordId(value: string): string {
  return parseHexId(value, 'a record id');
}

/** `--source-record ORG:ID`: the record another member shared with this org. */
export function parseSourceRecord(value: string): { org: string; id: string } {
  const m = /^([a-z0-9][a-z0-9-]{0,31}):([0-9a-f]{64})$/.exec(value);
  if (m === null) {
    throw bad(
      `expected --source-record as ORG:ID (an org id, a colon, a 64-hex record id), got '${value.slice(0, 100)}'`,
    );
  }
  return { org: m[1]!, id: m[2]! };
}

export function parseRequestId(value: string): string {
  return parseHexId(value, 'a request id (--request)');
}

function parseHexId(value: string, what: string): string {
  if (!RECORD_ID.test(value))
    throw bad(`expected ${what} of 64 lower-case hex characters, got '${value.slice(0, 80)}'`);
  return value;
}
