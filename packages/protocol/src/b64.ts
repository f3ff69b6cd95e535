/** base64url without padding (RFC 4648 section 5), used for signatures in JSON. */
import { base64urlnopad } from '@scure/base';
import { describe } from './bytes.js';
import { ProtocolError } from './errors.js';

export function toBase64url(bytes: Uint8Array): string {
  return base64urlnopad.encode(bytes);
}

/** Decodes base64url (no padding); throws `BAD_ENCODING` on anything else or on the wrong length. */
export function fromBase64url(s: string, expectedLength?: number): Uint8Array {
  if (typeof s !== 'string' || s.length > 1 << 20) {
    throw new ProtocolError('BAD_ENCODING', `expected a base64url string, got ${describe(s)}`);
  }
  let out: Uint8Array;
  try {
    out = base64urlnopad.decode(s);
  } catch (cause) {
    throw new ProtocolError('BAD_ENCODING', 'expected base64url without padding', { cause });
  }
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new ProtocolError('BAD_ENCODING', `expected ${expectedLength} bytes of base64url, got ${out.length}`);
  }
  return out;
}
