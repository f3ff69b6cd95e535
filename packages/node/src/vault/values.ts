/** Checks of what a vault is given: org ids, subject DIDs, record refs, and values (canonical JSON, bounded). */
import { isHex } from '@custos/protocol/encoding';
import { canonicalize } from '@custos/protocol/jcs';
import { NodeError } from '../errors.js';

/** Largest value a record holds: its canonical JSON text, in UTF-8 bytes. */
export const MAX_VALUE_BYTES = 64 * 1024;
/** Member ids as genesis.ts accepts them. */
export const ORG_ID = /^[a-z0-9-]{1,32}$/;
/** W3C DID Core syntax: did:<method>:<method-specific id>, which does not end with a colon. */
const DID = /^did:[a-z0-9]+:(?:[A-Za-z0-9._:-]|%[0-9A-Fa-f]{2})*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})$/;
const MAX_SUBJECT_CHARS = 512;

export const bad = (message: string): NodeError => new NodeError('BAD_REQUEST', message);

export function checkRef(vaultRef: unknown): asserts vaultRef is string {
  if (!isHex(vaultRef, 16)) throw bad('expected a vaultRef of 32 lowercase hex characters');
}

// Never echo the subject: it is a pseudonym, and pseudonymous data is personal data.
export function checkSubject(subject: unknown): asserts subject is string {
  if (typeof subject !== 'string' || subject.length > MAX_SUBJECT_CHARS || !DID.test(subject)) {
    throw bad(`expected a subject DID of at most ${MAX_SUBJECT_CHARS} characters`);
  }
}

/** Canonical JSON text of a value, bounded; errors say what was wrong, never what the value was. */
export function canonicalText(value: unknown): Buffer {
  let text: string;
  try {
    text = canonicalize(value);
  } catch (cause) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    throw new NodeError('BAD_REQUEST', `expected a JSON value${why}`, { cause });
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_VALUE_BYTES) {
    throw new NodeError(
      'BAD_REQUEST',
      `expected a value of at most ${MAX_VALUE_BYTES} bytes as canonical JSON, got ${bytes}`,
      { details: { maxBytes: MAX_VALUE_BYTES, bytes } },
    );
  }
  return Buffer.from(text, 'utf8');
}
