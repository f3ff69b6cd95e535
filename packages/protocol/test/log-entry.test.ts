import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, type LogEntry, logEntryBytes, RESULT_CODES, toHex } from '../src/index.js';

describe('log entry bytes', () => {
  it('the fast template gives exactly the RFC 8785 canonical bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.constantFrom(...RESULT_CODES),
        (id, height, index, time, code) => {
          const entry: LogEntry = { txId: toHex(id), height, index, time, code };
          expect(toHex(logEntryBytes(entry))).toBe(toHex(canonicalBytes(entry)));
        },
      ),
    );
  });

  it('falls back to canonicalization for anything the template does not cover', () => {
    const odd = { txId: 'not-hex', height: 1, index: 0, time: 5, code: 'OK' } as LogEntry;
    expect(toHex(logEntryBytes(odd))).toBe(toHex(canonicalBytes(odd)));
  });
});
