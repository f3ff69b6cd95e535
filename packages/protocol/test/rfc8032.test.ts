/**
 * RFC 8032 Ed25519 for the pure-JS (@noble/curves) implementation the browser uses: the shared
 * Signer/Verifier conformance suite (section 7.1 vectors and rejections) plus its own key checks.
 */

import { RFC8032_VECTORS, rfcHex, runSignerVerifierSuite } from '@custos/test-utils/signer-verifier';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.js';
import {
  nobleSigner,
  nobleVerifier,
  PUBLIC_KEY_LENGTH,
  publicKeyOf,
  randomSecretKey,
  SECRET_KEY_LENGTH,
  SIGNATURE_LENGTH,
} from '../src/crypto/ed25519.js';
import { ProtocolError } from '../src/errors.js';

runSignerVerifierSuite('noble', { signer: nobleSigner, verifier: nobleVerifier });

describe('noble Ed25519 helpers', () => {
  it('has the RFC 8032 sizes', () => {
    expect([SECRET_KEY_LENGTH, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH]).toEqual([32, 32, 64]);
  });

  it('publicKeyOf derives the RFC 8032 public keys', () => {
    for (const v of RFC8032_VECTORS) expect(toHex(publicKeyOf(rfcHex(v.secretKey)))).toBe(toHex(rfcHex(v.publicKey)));
  });

  it('rejects secret keys of the wrong length with BAD_KEY', () => {
    for (const n of [0, 31, 33]) {
      for (const f of [() => nobleSigner(new Uint8Array(n)), () => publicKeyOf(new Uint8Array(n))]) {
        expect(f).toThrow(ProtocolError);
        try {
          f();
        } catch (e) {
          expect((e as ProtocolError).code).toBe('BAD_KEY');
          expect((e as ProtocolError).message).toContain(`got ${n} bytes`);
        }
      }
    }
  });

  it('randomSecretKey gives fresh 32-byte keys', () => {
    const a = randomSecretKey();
    const b = randomSecretKey();
    expect(a.length).toBe(32);
    expect(toHex(a)).not.toBe(toHex(b));
  });
});
