/**
 * Shared conformance suite for Ed25519 `Signer` / `Verifier` implementations (RFC 8032): every
 * implementation (noble in the browser, node:crypto in the peer) runs it, fed with the RFC 8032
 * section 7.1 vectors, tampering, malformed lengths, non-canonical scalars and a cross-check.
 *
 * @example
 * runSignerVerifierSuite('noble', { signer: nobleSigner, verifier: nobleVerifier });
 */

import { fromHex, type Signer, toHex, type Verifier } from '@custos/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

export interface SignerVerifierImpl {
  /** Makes a signer from a 32-byte RFC 8032 secret key (seed); throws on any other length. */
  signer: (secretKey: Uint8Array) => Signer;
  verifier: Verifier;
}

export interface SignerVerifierSuiteOptions extends SignerVerifierImpl {
  /** Another implementation: it must produce the same signatures and accept each other's. */
  reference?: SignerVerifierImpl;
}

export interface Rfc8032Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}

/** RFC 8032 section 7.1, typed in from the RFC text (hex, whitespace as in the RFC). */
export const RFC8032_VECTORS: readonly Rfc8032Vector[] = [
  {
    name: 'TEST 1',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc4 4449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a 0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: `e5564300c360ac729086e2cc806e828a 84877f1eb8e5d974d873e06522490155
                5fb8821590a33bacc61e39701cf9b46b d25bf5f0595bbe24655141438e7a100b`,
  },
  {
    name: 'TEST 2',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f 5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc 9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: `92a009a9f0d4cab8720e820b5f642540 a2b27b5416503f8fb3762223ebdb69da
                085ac1e43e15996e458f3613d0f11d8c 387b2eaeb4302aeeb00d291612bb0c00`,
  },
  {
    name: 'TEST 3',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b1 66d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f058 0816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: `6291d657deec24024827e69c3abe01a3 0ce548a284743a445e3680d7db5ac3ac
                18ff9b538d16f290ae67f760984dc659 4a7c15e9716ed28dc027beceea1ec40a`,
  },
  {
    name: 'TEST 1024',
    secretKey: 'f5e5767cf153319517630f226876b86c 8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386 ceffbf2b2428c9c51fef7c597f1d426e',
    message: `08b8b2b733424243760fe426a4b54908 632110a66c2f6591eabd3345e3e4eb98
              fa6e264bf09efe12ee50f8f54e9f77b1 e355f6c50544e23fb1433ddf73be84d8
              79de7c0046dc4996d9e773f4bc9efe57 38829adb26c81b37c93a1b270b20329d
              658675fc6ea534e0810a4432826bf58c 941efb65d57a338bbd2e26640f89ffbc
              1a858efcb8550ee3a5e1998bd177e93a 7363c344fe6b199ee5d02e82d522c4fe
              ba15452f80288a821a579116ec6dad2b 3b310da903401aa62100ab5d1a36553e
              06203b33890cc9b832f79ef80560ccb9 a39ce767967ed628c6ad573cb116dbef
              efd75499da96bd68a8a97b928a8bbc10 3b6621fcde2beca1231d206be6cd9ec7
              aff6f6c94fcd7204ed3455c68c83f4a4 1da4af2b74ef5c53f1d8ac70bdcb7ed1
              85ce81bd84359d44254d95629e9855a9 4a7c1958d1f8ada5d0532ed8a5aa3fb2
              d17ba70eb6248e594e1a2297acbbb39d 502f1a8c6eb6f1ce22b3de1a1f40cc24
              554119a831a9aad6079cad88425de6bd e1a9187ebb6092cf67bf2b13fd65f270
              88d78b7e883c8759d2c4f5c65adb7553 878ad575f9fad878e80a0c9ba63bcbcc
              2732e69485bbc9c90bfbd62481d9089b eccf80cfe2df16a2cf65bd92dd597b07
              07e0917af48bbb75fed413d238f5555a 7a569d80c3414a8d0859dc65a46128ba
              b27af87a71314f318c782b23ebfe808b 82b0ce26401d2e22f04d83d1255dc51a
              ddd3b75a2b1ae0784504df543af8969b e3ea7082ff7fc9888c144da2af58429e
              c96031dbcad3dad9af0dcbaaaf268cb8 fcffead94f3c7ca495e056a9b47acdb7
              51fb73e666c6c655ade8297297d07ad1 ba5e43f1bca32301651339e22904cc8c
              42f58c30c04aafdb038dda0847dd988d cda6f3bfd15c4b4c4525004aa06eeff8
              ca61783aacec57fb3d1f92b0fe2fd1a8 5f6724517b65e614ad6808d6f6ee34df
              f7310fdc82aebfd904b01e1dc54b2927 094b2db68d6f903b68401adebf5a7e08
              d78ff4ef5d63653a65040cf9bfd4aca7 984a74d37145986780fc0b16ac451649
              de6188a7dbdf191f64b5fc5e2ab47b57 f7f7276cd419c17a3ca8e1b939ae49e4
              88acba6b965610b5480109c8b17b80e1 b7b750dfc7598d5d5011fd2dcc5600a3
              2ef5b52a1ecc820e308aa342721aac09 43bf6686b64b2579376504ccc493d97e
              6aed3fb0f9cd71a43dd497f01f17c0e2 cb3797aa2a2f256656168e6c496afc5f
              b93246f6b1116398a346f1a641f3b041 e989f7914f90cc2c7fff357876e506b5
              0d334ba77c225bc307ba537152f3f161 0e4eafe595f6d9d90d11faa933a15ef1
              369546868a7f3a45a96768d40fd9d034 12c091c6315cf4fde7cb68606937380d
              b2eaaa707b4c4185c32eddcdd306705e 4dc1ffc872eeee475a64dfac86aba41c
              0618983f8741c5ef68d3a101e8a3b8ca c60c905c15fc910840b94c00a0b9d0`,
    signature: `0aab4c900501b3e24d7cdf4663326a3a 87df5e4843b2cbdb67cbf6e460fec350
                aa5371b1508f9f4528ecea23c436d94b 5e8fcd4f681e30a6ac00a9704a188a03`,
  },
  {
    name: 'TEST SHA(abc)',
    secretKey: '833fe62409237b9d62ec77587520911e 9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034 c35467ef2efd4d64ebf819683467e2bf',
    message: `ddaf35a193617abacc417349ae204131 12e6fa4e89a97ea20a9eeee64b55d39a
              2192992a274fc1a836ba3c23a3feebbd 454d4423643ce80e2a9ac94fa54ca49f`,
    signature: `dc2a4459e7369633a52b1bf277839a00 201009a3efbf3ecb69bea2186c26b589
                09351fc9ac90b3ecfdfbc7c66431e030 3dca179c138ac17ad9bef1177331a704`,
  },
];

/** Bytes of RFC-formatted hex (whitespace ignored). */
export function rfcHex(text: string): Uint8Array {
  return fromHex(text.replace(/\s+/g, ''));
}

/** Order of the Ed25519 base point, L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 section 5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

function bigIntToLe(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** A copy of `sig` with its S half replaced by `s` (little-endian, 32 bytes). */
function withS(sig: Uint8Array, s: bigint): Uint8Array {
  const out = sig.slice();
  out.set(bigIntToLe(s, 32), 32);
  return out;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

/** `bytes` copied into a larger buffer at an odd offset, so implementations must honour byteOffset. */
function atOffset(bytes: Uint8Array): Uint8Array {
  const backing = new Uint8Array(bytes.length + 11).fill(0xa5);
  backing.set(bytes, 7);
  return backing.subarray(7, 7 + bytes.length);
}

/** Verifies and insists on a boolean result: a verifier must never throw on bad input. */
function verifies(v: Verifier, pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const ok = v.verify(pk, msg, sig);
  expect(typeof ok).toBe('boolean');
  return ok;
}

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ maxLength: 300 });

/** Registers the conformance tests for one Ed25519 implementation. */
export function runSignerVerifierSuite(name: string, impl: SignerVerifierSuiteOptions): void {
  const { signer, verifier } = impl;
  const vectors = RFC8032_VECTORS.map((v) => ({
    name: v.name,
    sk: rfcHex(v.secretKey),
    pk: rfcHex(v.publicKey),
    msg: rfcHex(v.message),
    sig: rfcHex(v.signature),
  }));

  describe(`Signer/Verifier conformance: ${name}`, () => {
    describe('RFC 8032 section 7.1 test vectors', () => {
      it('has the message lengths of the RFC', () => {
        expect(vectors.map((v) => v.msg.length)).toEqual([0, 1, 2, 1023, 64]);
      });

      for (const v of vectors) {
        it(`${v.name}: derives the public key and signs byte for byte`, () => {
          const s = signer(v.sk);
          expect(toHex(s.publicKey)).toBe(toHex(v.pk));
          expect(toHex(s.sign(v.msg))).toBe(toHex(v.sig));
        });

        it(`${v.name}: verifies the signature`, () => {
          expect(verifies(verifier, v.pk, v.msg, v.sig)).toBe(true);
        });
      }
    });

    describe('rejects (false, never a throw)', () => {
      it('a tampered message', () => {
        for (const v of vectors) {
          expect(verifies(verifier, v.pk, Uint8Array.of(...v.msg, 0), v.sig)).toBe(false);
          if (v.msg.length === 0) continue;
          for (const bit of [0, 7, v.msg.length * 8 - 1]) {
            expect(verifies(verifier, v.pk, flipBit(v.msg, bit), v.sig)).toBe(false);
          }
          expect(verifies(verifier, v.pk, v.msg.subarray(0, -1), v.sig)).toBe(false);
        }
      });

      it('a signature with any one bit flipped (R or S)', () => {
        for (const v of vectors) {
          for (let byte = 0; byte < 64; byte++) {
            expect(verifies(verifier, v.pk, v.msg, flipBit(v.sig, byte * 8 + (byte % 8)))).toBe(false);
          }
        }
      });

      it('another key, or a key with one bit flipped', () => {
        for (const [i, v] of vectors.entries()) {
          const other = vectors[(i + 1) % vectors.length]?.pk as Uint8Array;
          expect(verifies(verifier, other, v.msg, v.sig)).toBe(false);
          for (let byte = 0; byte < 32; byte++) {
            expect(verifies(verifier, flipBit(v.pk, byte * 8 + (byte % 8)), v.msg, v.sig)).toBe(false);
          }
        }
      });

      it('keys and signatures of the wrong length', () => {
        const v = vectors[1];
        if (v === undefined) throw new Error('missing vector');
        for (const n of [0, 1, 31, 33, 64]) {
          const pk = new Uint8Array(n);
          pk.set(v.pk.subarray(0, n));
          expect(verifies(verifier, pk, v.msg, v.sig)).toBe(false);
        }
        for (const n of [0, 1, 32, 63, 65, 128]) {
          const sig = new Uint8Array(n);
          sig.set(v.sig.subarray(0, n));
          expect(verifies(verifier, v.pk, v.msg, sig)).toBe(false);
        }
        expect(verifies(verifier, Uint8Array.of(...v.pk, 0), v.msg, Uint8Array.of(...v.sig, 0))).toBe(false);
      });

      it('a non-canonical S (S >= L), which a lax verifier would accept as S mod L', () => {
        for (const v of vectors) {
          const s = leToBigInt(v.sig.subarray(32));
          expect(s < L).toBe(true);
          expect(verifies(verifier, v.pk, v.msg, withS(v.sig, s + L))).toBe(false);
          expect(verifies(verifier, v.pk, v.msg, withS(v.sig, L))).toBe(false);
          expect(verifies(verifier, v.pk, v.msg, withS(v.sig, 2n ** 256n - 1n))).toBe(false);
        }
      });

      it('public keys that are not points or not canonical encodings', () => {
        const v = vectors[2];
        if (v === undefined) throw new Error('missing vector');
        const p = 2n ** 255n - 19n;
        for (const pk of [
          new Uint8Array(32).fill(0xff),
          bigIntToLe(p, 32), // y = p: non-canonical encoding of y = 0
          bigIntToLe(p + 1n, 32), // y = p + 1: non-canonical encoding of y = 1
          bigIntToLe(2n, 32), // y = 2 is not on the curve
        ]) {
          expect(verifies(verifier, pk, v.msg, v.sig)).toBe(false);
        }
        fc.assert(
          fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (pk) => {
            expect(verifies(verifier, pk, v.msg, v.sig)).toBe(false);
          }),
          { numRuns: 50 },
        );
      });

      it('arbitrary bytes as key, message and signature', () => {
        fc.assert(
          fc.property(
            fc.uint8Array({ maxLength: 40 }),
            message,
            fc.uint8Array({ minLength: 60, maxLength: 68 }),
            (pk, msg, sig) => {
              expect(verifies(verifier, pk, msg, sig)).toBe(false);
            },
          ),
          { numRuns: 100 },
        );
      });
    });

    describe('signing', () => {
      it('round-trips random keys and messages', () => {
        fc.assert(
          fc.property(seed, message, (sk, msg) => {
            const s = signer(sk);
            const sig = s.sign(msg);
            expect(sig).toBeInstanceOf(Uint8Array);
            expect(sig.length).toBe(64);
            expect(s.publicKey.length).toBe(32);
            expect(verifies(verifier, s.publicKey, msg, sig)).toBe(true);
          }),
          { numRuns: 50 },
        );
      });

      it('is deterministic and keeps no reference to the caller’s secret key', () => {
        const v = vectors[2];
        if (v === undefined) throw new Error('missing vector');
        const sk = v.sk.slice();
        const s = signer(sk);
        sk.fill(0);
        expect(toHex(s.publicKey)).toBe(toHex(v.pk));
        expect(toHex(s.sign(v.msg))).toBe(toHex(v.sig));
        expect(toHex(s.sign(v.msg))).toBe(toHex(v.sig));
      });

      it('throws on a secret key of the wrong length', () => {
        for (const n of [0, 31, 33, 64]) expect(() => signer(new Uint8Array(n))).toThrow();
      });

      it('honours byteOffset of views into larger buffers and leaves inputs unchanged', () => {
        for (const v of vectors) {
          const sk = atOffset(v.sk);
          const msg = atOffset(v.msg);
          const s = signer(sk);
          const sig = s.sign(msg);
          expect(toHex(sig)).toBe(toHex(v.sig));
          const pk = atOffset(v.pk);
          const sigView = atOffset(v.sig);
          expect(verifies(verifier, pk, msg, sigView)).toBe(true);
          expect(toHex(pk)).toBe(toHex(v.pk));
          expect(toHex(msg)).toBe(toHex(v.msg));
          expect(toHex(sigView)).toBe(toHex(v.sig));
          expect(toHex(sk)).toBe(toHex(v.sk));
        }
      });
    });

    const reference = impl.reference;
    if (reference !== undefined) {
      describe('cross-implementation', () => {
        it('signs exactly as the reference, and each verifies the other', () => {
          fc.assert(
            fc.property(seed, message, (sk, msg) => {
              const mine = signer(sk);
              const theirs = reference.signer(sk);
              expect(toHex(mine.publicKey)).toBe(toHex(theirs.publicKey));
              const sigMine = mine.sign(msg);
              const sigTheirs = theirs.sign(msg);
              expect(toHex(sigMine)).toBe(toHex(sigTheirs));
              expect(verifies(reference.verifier, mine.publicKey, msg, sigMine)).toBe(true);
              expect(verifies(verifier, theirs.publicKey, msg, sigTheirs)).toBe(true);
            }),
            { numRuns: 50 },
          );
        });

        it('agrees with the reference on tampered and malformed signatures', () => {
          fc.assert(
            fc.property(seed, message, fc.nat(511), (sk, msg, bit) => {
              const s = reference.signer(sk);
              const bad = flipBit(s.sign(msg), bit);
              expect(verifies(verifier, s.publicKey, msg, bad)).toBe(
                verifies(reference.verifier, s.publicKey, msg, bad),
              );
            }),
            { numRuns: 50 },
          );
        });
      });
    }
  });
}
