/**
 * Byte helpers shared by every part of the protocol. Bytes are always `Uint8Array`
 * so the same code runs in Node and in the browser.
 */
import { ProtocolError } from './errors.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] as number];
  return out;
}

/** Parses lower- or upper-case hex; throws `BAD_ENCODING` on odd length or a non-hex digit. */
export function fromHex(hex: string, expectedLength?: number): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ProtocolError('BAD_ENCODING', `expected an even-length hex string, got ${describe(hex)}`);
  }
  const out = new Uint8Array(hex.length / 2);
  // Digits checked above: each one's value from its character code, without a string per byte.
  for (let i = 0; i < out.length; i++)
    out[i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new ProtocolError('BAD_ENCODING', `expected ${expectedLength} bytes of hex, got ${out.length}`);
  }
  return out;
}

/** The value of a hex digit's character code ('0'-'9', 'a'-'f', 'A'-'F'; checked by the caller). */
function nibble(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/** True if `s` is hex of exactly `bytes` bytes. */
export function isHex(s: unknown, bytes: number): s is string {
  return typeof s === 'string' && s.length === bytes * 2 && /^[0-9a-f]*$/.test(s);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes UTF-8, throwing `BAD_ENCODING` on invalid sequences. */
export function fromUtf8(b: Uint8Array): string {
  try {
    return decoder.decode(b);
  } catch (cause) {
    throw new ProtocolError('BAD_ENCODING', 'expected valid UTF-8', { cause });
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Short, safe description of an untrusted value for error messages (never echoes long content). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'number') return Number.isFinite(v) ? `the number ${v}` : String(v);
  return typeof v;
}
