/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the canonical bytes that transactions,
 * headers and checkpoints are hashed and signed over.
 *
 * ECMAScript's JSON.stringify already serializes numbers (RFC 8785 section 3.2.2.3) and
 * strings (3.2.2.2) exactly as JCS requires; what JCS adds is property order (sorted by
 * UTF-16 code units, 3.2.3) and the rejection of values I-JSON forbids.
 */
import { utf8 } from './bytes.js';
import { ProtocolError } from './errors.js';

/** JSON values that can be canonicalized. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Canonical JSON text of `value`. Throws `BAD_JSON` on non-finite numbers, non-JSON types or cycles. */
export function canonicalize(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, new Set());
  return parts.join('');
}

/** UTF-8 bytes of the canonical JSON text of `value`. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalize(value));
}

function write(v: unknown, out: string[], seen: Set<object>): void {
  switch (typeof v) {
    case 'string':
      out.push(JSON.stringify(v));
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
      if (seen.has(v)) throw new ProtocolError('BAD_JSON', 'expected an acyclic value, got a cycle');
      seen.add(v);
      if (Array.isArray(v)) {
        out.push('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(',');
          write(v[i], out, seen);
        }
        out.push(']');
      } else {
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) {
          throw new ProtocolError('BAD_JSON', `expected a plain object, got ${proto?.constructor?.name ?? 'object'}`);
        }
        const obj = v as Record<string, unknown>;
        // Default sort compares UTF-16 code units, which is what RFC 8785 section 3.2.3 asks for.
        const keys = Object.keys(obj)
          .filter((k) => obj[k] !== undefined)
          .sort();
        out.push('{');
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i] as string;
          if (i > 0) out.push(',');
          out.push(JSON.stringify(k), ':');
          write(obj[k], out, seen);
        }
        out.push('}');
      }
      seen.delete(v);
      return;
    }
    default:
      throw new ProtocolError('BAD_JSON', `expected a JSON value, got ${typeof v}`);
  }
}
