/**
 * libsecp256k1 for the EVM signatures (src/crypto/secp256k1.ts, ADR 0022): with it installed,
 * `evmSign` gives the same bytes and `evmRecover` the same address, or the same refusal, as
 * @noble/curves without it, for random keys and digests and for every kind of tampered signature.
 */
import {
  evmAddress,
  evmRecover,
  evmSecretKey,
  evmSign,
  secp256k1IsNative,
  useSecp256k1Native,
} from '@custos/protocol/interop';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { installNativeCrypto } from '../src/crypto/native.js';
import { libsecp256k1 } from '../src/crypto/secp256k1.js';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const word = (x: bigint) => x.toString(16).padStart(64, '0');

/** `f` with @noble/curves (`native` false) or libsecp256k1, its result or its error as text. */
function under<T>(native: boolean, f: () => T): T | string {
  useSecp256k1Native(native ? (libsecp256k1() ?? undefined) : undefined);
  try {
    return f();
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  } finally {
    useSecp256k1Native(undefined);
  }
}

afterAll(() => installNativeCrypto());

describe('libsecp256k1 for EVM signatures', () => {
  it('loads here and is what a node installs', () => {
    expect(libsecp256k1()).not.toBeNull();
    installNativeCrypto();
    expect(secp256k1IsNative()).toBe(true);
  });

  it('signs the same bytes as @noble/curves, recovering to the same address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (digest) => {
        const key = evmSecretKey();
        const sig = under(true, () => evmSign(digest, key));
        expect(sig).toBe(under(false, () => evmSign(digest, key)));
        expect(under(true, () => evmRecover(digest, sig))).toBe(evmAddress(key));
      }),
      { numRuns: 100 },
    );
  });

  it('recovers what @noble/curves recovers and refuses what it refuses, with or without an expected signer', () => {
    const [key, other] = [evmSecretKey(), evmSecretKey()];
    const me = evmAddress(key);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), fc.nat(7), (digest, mine, tamper) => {
        let sig: string = evmSign(digest, mine ? key : other);
        const r = BigInt(`0x${sig.slice(2, 66)}`);
        const s = BigInt(`0x${sig.slice(66, 130)}`);
        const v = sig.slice(130);
        const flip = v === '1b' ? '1c' : '1b';
        // The other parity, the high-s twin, r or s out of range or zero, a bad v, an x with no point.
        if (tamper === 1) sig = `${sig.slice(0, 130)}${flip}`;
        if (tamper === 2) sig = `0x${word(r)}${word(N - s)}${flip}`;
        if (tamper === 3) sig = `0x${word(r + N < 1n << 256n ? r + N : 0n)}${sig.slice(66)}`;
        if (tamper === 4) sig = `0x${word(r)}${word(0n)}${v}`;
        if (tamper === 5) sig = `${sig.slice(0, 130)}1d`;
        if (tamper === 6) sig = `0x${word(5n)}${sig.slice(66)}`;
        if (tamper === 7) sig = `0x${word(0n)}${sig.slice(66)}`;
        for (const expected of [undefined, me]) {
          const noble = under(false, () => evmRecover(digest, sig, expected));
          expect(under(true, () => evmRecover(digest, sig, expected))).toBe(noble);
        }
      }),
      { numRuns: 200 },
    );
  });
});
