/**
 * Conformance suite every `Kms` implementation runs (LocalKms now; a cloud KMS or an HSM later):
 * wrapped keys round-trip, are bound to their key id and to the KEK, reject any alteration with
 * STORE_CORRUPT, and never repeat (fresh nonce per wrap).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NodeError } from '../../src/errors.js';
import type { Kms } from '../../src/vault/kms.js';

/** Runs `fn` and checks that it throws a NodeError with `code`. */
export function expectNodeError(fn: () => unknown, code: string): NodeError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected a NodeError ${code}`).toBeInstanceOf(NodeError);
  expect((thrown as NodeError).code).toBe(code);
  return thrown as NodeError;
}

const contains = (haystack: Uint8Array, needle: Uint8Array): boolean =>
  Buffer.from(haystack).includes(Buffer.from(needle));

export function runKmsSuite(name: string, newKms: () => Kms | Promise<Kms>): void {
  describe(`Kms conformance: ${name}`, () => {
    it('unwraps what it wrapped, for the same key id', async () => {
      const kms = await newKms();
      for (const keyId of ['k', 'custos/vault/bank/subject/00ff', 'é/🔑', 'x'.repeat(1024)]) {
        const key = randomBytes(32);
        const wrapped = kms.wrap(keyId, key);
        expect(wrapped).toBeInstanceOf(Uint8Array);
        expect(contains(wrapped, key)).toBe(false);
        expect(Buffer.from(kms.unwrap(keyId, wrapped)).equals(key)).toBe(true);
        // Unwrapping twice gives the same key: unwrap does not consume anything.
        expect(Buffer.from(kms.unwrap(keyId, wrapped)).equals(key)).toBe(true);
      }
    });

    it('has a stable, non-empty id that differs from another KEK', async () => {
      const a = await newKms();
      const b = await newKms();
      expect(typeof a.id).toBe('string');
      expect(a.id.length).toBeGreaterThan(0);
      expect(a.id).toBe(a.id);
      expect(a.id).not.toBe(b.id);
    });

    it('refuses a wrapped key under any other key id', async () => {
      const kms = await newKms();
      const wrapped = kms.wrap('record-a', randomBytes(32));
      for (const other of ['record-b', 'record-', 'record-aa', 'Record-a', 'record-a ']) {
        expectNodeError(() => kms.unwrap(other, wrapped), 'STORE_CORRUPT');
      }
    });

    it('refuses a wrapped key with any byte altered, truncated, extended or empty', async () => {
      const kms = await newKms();
      const wrapped = kms.wrap('k', randomBytes(32));
      for (let i = 0; i < wrapped.length; i++) {
        const tampered = Uint8Array.from(wrapped);
        tampered[i] = (tampered[i] as number) ^ 0x01;
        expectNodeError(() => kms.unwrap('k', tampered), 'STORE_CORRUPT');
      }
      expectNodeError(() => kms.unwrap('k', wrapped.subarray(0, wrapped.length - 1)), 'STORE_CORRUPT');
      expectNodeError(() => kms.unwrap('k', Uint8Array.from([...wrapped, 0])), 'STORE_CORRUPT');
      expectNodeError(() => kms.unwrap('k', new Uint8Array(0)), 'STORE_CORRUPT');
    });

    it('wraps the same key differently each time (random nonce)', async () => {
      const kms = await newKms();
      const key = randomBytes(32);
      const seen = new Set<string>();
      for (let i = 0; i < 16; i++) seen.add(Buffer.from(kms.wrap('k', key)).toString('hex'));
      expect(seen.size).toBe(16);
    });

    it('cannot unwrap what another KEK wrapped', async () => {
      const a = await newKms();
      const b = await newKms();
      const wrapped = a.wrap('k', randomBytes(32));
      expectNodeError(() => b.unwrap('k', wrapped), 'STORE_CORRUPT');
    });

    it('rejects keys that are not 32 bytes and empty key ids', async () => {
      const kms = await newKms();
      for (const n of [0, 16, 31, 33, 64]) expectNodeError(() => kms.wrap('k', randomBytes(n)), 'BAD_REQUEST');
      expectNodeError(() => kms.wrap('', randomBytes(32)), 'BAD_REQUEST');
    });
  });
}
