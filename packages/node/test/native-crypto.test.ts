/**
 * Native node:crypto Ed25519 and SHA-256: the shared Signer/Verifier conformance suite, with
 * @noble/curves as the cross-check reference, and SHA-256 against @noble/hashes.
 */
import { nobleSigner, nobleVerifier, setSha256, sha256 } from '@custos/protocol/crypto';
import { runSignerVerifierSuite } from '@custos/test-utils/signer-verifier';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { installNativeCrypto, nativeSha256, nativeSigner, nativeVerifier } from '../src/crypto/native.js';

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

runSignerVerifierSuite('node:crypto', {
  signer: nativeSigner,
  verifier: nativeVerifier,
  reference: { signer: nobleSigner, verifier: nobleVerifier },
});

describe('nativeVerifier key cache', () => {
  it('gives the same answers for many distinct keys and for repeated ones', () => {
    const signers = Array.from({ length: 40 }, (_, i) => nativeSigner(new Uint8Array(32).fill(i + 1)));
    const msg = new TextEncoder().encode('cache');
    for (let round = 0; round < 3; round++) {
      for (const [i, s] of signers.entries()) {
        const sig = s.sign(msg);
        expect(nativeVerifier.verify(s.publicKey, msg, sig)).toBe(true);
        const other = signers[(i + 1) % signers.length] as (typeof signers)[number];
        expect(nativeVerifier.verify(other.publicKey, msg, sig)).toBe(false);
      }
    }
  });
});

describe('nativeSha256', () => {
  it('matches @noble/hashes on random inputs, including views at an offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat(16), (data, offset) => {
        const backing = new Uint8Array(data.length + offset);
        backing.set(data, offset);
        const view = backing.subarray(offset);
        const got = nativeSha256(view);
        expect(got).toBeInstanceOf(Uint8Array);
        expect(got.length).toBe(32);
        expect(hex(got)).toBe(hex(nobleSha256(data)));
      }),
      { numRuns: 300 },
    );
  });

  it('has the FIPS 180-4 values for "" and "abc"', () => {
    expect(hex(nativeSha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(hex(nativeSha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('keeps every digest intact while later digests fill more slabs', () => {
    const inputs = Array.from({ length: 1000 }, (_, i) => new TextEncoder().encode(`preimage ${i}`));
    const kept = inputs.map((d) => nativeSha256(d));
    for (let i = 0; i < 1000; i++) nativeSha256(new Uint8Array([i & 0xff, i >> 8]));
    expect(kept.map(hex)).toEqual(inputs.map((d) => hex(nobleSha256(d))));
    expect(new Set(kept.map(hex)).size).toBe(1000);
  });

  describe('installNativeCrypto', () => {
    afterAll(() => setSha256((d) => nobleSha256(d)));

    it('makes the protocol hash with node:crypto, with the same results', () => {
      const data = new TextEncoder().encode('custos');
      const before = hex(sha256(data));
      installNativeCrypto();
      expect(hex(sha256(data))).toBe(before);
      expect(hex(sha256(data))).toBe(hex(nativeSha256(data)));
    });
  });
});

describe('native verifier agrees with RFC 8032 decoding on weak keys', () => {
  it('rejects a trivial signature by the small-order identity key, which node:crypto alone accepts', async () => {
    const { nativeVerifier } = await import('../src/crypto/native.js');
    const { nobleVerifier } = await import('@custos/protocol/crypto');
    // Identity point (0, 1) encoded, and the signature R = identity, S = 0.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const sig = new Uint8Array(64);
    sig[0] = 1;
    const msg = new TextEncoder().encode('any message at all');
    expect(nobleVerifier.verify(identity, msg, sig)).toBe(false);
    expect(nativeVerifier.verify(identity, msg, sig)).toBe(false);
  });
});
