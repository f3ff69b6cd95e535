/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the canonical bytes that transactions,
 * headers and checkpoints are hashed and signed over.
 *
 * ECMAScript's JSON.stringify already serializes numbers (RFC 8785 section 3.2.2.3) and
 * strings (3.2.2.2) exactly as JCS requires; what JCS adds is property order (sorted by
 * UTF-16 code units, 3.2.3) and the rejection of values I-JSON forbids, including strings and
 * property names with lone surrogates (RFC 7493 section 2.1): JSON.stringify would escape them as
 * `\udXXX`, which I-JSON forbids and a receiver may decode as U+FFFD.
 */
import { utf8 } from './bytes.js';
import { ProtocolError } from './errors.js';

/** JSON values that can be canonicalized. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Nesting limit for arrays and objects. Without it a deep enough value overflows the stack, and
 * where that happens depends on the thread's stack size: one peer would reject what another accepts.
 */
const MAX_DEPTH = 1000;

/**
 * Canonical JSON text of `value`. Throws `BAD_JSON` on non-finite numbers, non-JSON types, cycles,
 * class instances, strings with lone surrogates and nesting deeper than 1000 levels.
 */
export function canonicalize(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, [], 0);
  return parts.join('');
}

/** UTF-8 bytes of the canonical JSON text of `value`. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalize(value));
}

/** With the `u` flag a well-formed surrogate pair is one code point, so this matches lone surrogates only. */
const LONE_SURROGATE = /\p{Cs}/u;
/**
 * Printable ASCII without `"` and `\`: JSON.stringify would only add the quotes, and there is no
 * surrogate to check. Most strings of a ledger (ids, names, hex, base64url) are like this, and are
 * then written as they are rather than copied into a new string.
 */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function writeString(s: string, out: string[], what: string): void {
  if (PLAIN.test(s)) {
    out.push('"', s, '"');
    return;
  }
  if (LONE_SURROGATE.test(s))
    throw new ProtocolError('BAD_JSON', `expected ${what} of Unicode text, got a lone surrogate`);
  out.push(JSON.stringify(s));
}

/**
 * Sorts property names by UTF-16 code units (RFC 8785 section 3.2.3), in place. Objects of a ledger
 * have a handful of properties, often already in order: insertion sort allocates nothing there,
 * where Array.prototype.sort copies into a work array.
 */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 32) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/** `ancestors` are the objects and arrays being written around `v`: meeting one again is a cycle. */
function write(v: unknown, out: string[], ancestors: object[], depth: number): void {
  switch (typeof v) {
    case 'string':
      writeString(v, out, 'a string');
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new ProtocolError('BAD_JSON', `expected a finite number, got ${v}`);
      out.push(JSON.stringify(v));
      return;
    case 'object': {
      if (v === null) {
        out.push('null');
        return;
      }
      if (ancestors.includes(v)) throw new ProtocolError('BAD_JSON', 'expected an acyclic value, got a cycle');
      if (depth >= MAX_DEPTH) throw new ProtocolError('BAD_JSON', `expected at most ${MAX_DEPTH} levels of nesting`);
      ancestors.push(v);
      if (Array.isArray(v)) {
        out.push('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(',');
          write(v[i], out, ancestors, depth + 1);
        }
        out.push(']');
      } else {
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) {
          throw new ProtocolError('BAD_JSON', `expected a plain object, got ${proto?.constructor?.name ?? 'object'}`);
        }
        const obj = v as Record<string, unknown>;
        const keys = sortKeys(Object.keys(obj));
        out.push('{');
        let first = true;
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i] as string;
          const value = obj[k];
          // Properties whose value is undefined are left out, as JSON.stringify does.
          if (value === undefined) continue;
          if (!first) out.push(',');
          first = false;
          writeString(k, out, 'a property name');
          out.push(':');
          write(value, out, ancestors, depth + 1);
        }
        out.push('}');
      }
      ancestors.pop();
      return;
    }
    default:
      throw new ProtocolError('BAD_JSON', `expected a JSON value, got ${typeof v}`);
  }
}
