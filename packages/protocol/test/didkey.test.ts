/**
 * did:key for Ed25519 (W3C did:key method): the spec's published key/DID pairs, the W3C
 * eddsa-jcs-2022 key pair, round trips, and rejection of everything that is not an Ed25519 did:key.
 */

import { codeChecker } from '@custos/test-utils';
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58, base64urlnopad } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../src/bytes.js';
import { didFromPublicKey, isDidKey, publicKeyFromDid } from '../src/crypto/didkey.js';
import { nobleSigner, nobleVerifier } from '../src/crypto/ed25519.js';
import { ProtocolError } from '../src/errors.js';
import { readVectorText, vectorsDir } from './vectors.js';

const expectCode = codeChecker(ProtocolError);

function expectBadDid(did: unknown): void {
  expectCode(() => publicKeyFromDid(did as string), 'BAD_DID');
  expect(isDidKey(did)).toBe(false);
}

/** did:key:z + base58btc(multicodec varint || key). */
function didOf(prefix: number[], key: Uint8Array): string {
  return `did:key:z${base58.encode(concatBytes(Uint8Array.from(prefix), key))}`;
}

/** The eight points of small order, as computed in the test below. */
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
];
/** The two points with x = 0 again, encoded with the sign bit set. */
const SIGN_BIT_VARIANTS = [
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];
const P = 2n ** 255n - 19n;

function le(n: bigint): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
}

/** True for keys that must not name a signer: y >= p, or small order. */
function isWeak(key: Uint8Array): boolean {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(key[i] as number);
  y &= 2n ** 255n - 1n;
  return y >= P || SMALL_ORDER.includes(toHex(key)) || SIGN_BIT_VARIANTS.includes(toHex(key));
}

const KEY = fromHex('3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29');

describe('did:key spec test vectors (w3c-ccg did-method-key, test-vectors/ed25519-x25519.json)', () => {
  // Each DID with the publicKeyBase58 of its verification method.
  const vectors: [string, string][] = [
    ['did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp', '4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS'],
    ['did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG', '6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt'],
    ['did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf', '8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH'],
  ];

  for (const [did, keyBase58] of vectors) {
    it(`${did.slice(0, 20)}... decodes to its key and back`, () => {
      const key = base58.decode(keyBase58);
      expect(toHex(publicKeyFromDid(did))).toBe(toHex(key));
      expect(didFromPublicKey(key)).toBe(did);
      expect(isDidKey(did)).toBe(true);
    });
  }

  it('z6MkiTBz... is the key with JWK x O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik', () => {
    expect(base64urlnopad.encode(publicKeyFromDid('did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp'))).toBe(
      'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik',
    );
    expect(didFromPublicKey(KEY)).toBe('did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp');
  });
});

const eddsaDir = vectorsDir('eddsa-jcs-2022');

describe('W3C eddsa-jcs-2022 key pair (test/vectors)', () => {
  const dir = eddsaDir as URL;
  const keyPair = JSON.parse(readVectorText(dir, 'keyPair.json')) as Record<string, string>;
  const seedOf = (multibase: string): Uint8Array => {
    const bytes = base58.decode(multibase.slice(1));
    // Multicodec ed25519-priv is 0x1300, varint 0x80 0x26.
    expect([bytes[0], bytes[1], bytes.length]).toEqual([0x80, 0x26, 34]);
    return bytes.slice(2);
  };

  it('the did:key of the secret key is did:key:<publicKeyMultibase>', () => {
    const signer = nobleSigner(seedOf(keyPair.privateKeyMultibase as string));
    expect(didFromPublicKey(signer.publicKey)).toBe(`did:key:${keyPair.publicKeyMultibase}`);
    const signed = JSON.parse(readVectorText(dir, 'signedJCS.json')) as { proof: { verificationMethod: string } };
    expect(signed.proof.verificationMethod.split('#')[0]).toBe(didFromPublicKey(signer.publicKey));
  });

  it('signs the combined hash into the published proofValue, and it verifies', () => {
    const signer = nobleSigner(seedOf(keyPair.privateKeyMultibase as string));
    const data = fromHex(readVectorText(dir, 'combinedHashJCS.txt').trim());
    const sig = signer.sign(data);
    expect(toHex(sig)).toBe(readVectorText(dir, 'sigHexJCS.txt').trim());
    expect(`z${base58.encode(sig)}`).toBe(readVectorText(dir, 'sigBTC58JCS.txt').trim());
    const pk = publicKeyFromDid(`did:key:${keyPair.publicKeyMultibase}`);
    expect(nobleVerifier.verify(pk, data, sig)).toBe(true);
  });
});

describe('round trip', () => {
  it('publicKeyFromDid(didFromPublicKey(k)) === k, with one 56-character did:key:z6Mk per key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        if (isWeak(key)) {
          expectCode(() => didFromPublicKey(key), 'BAD_KEY');
          return;
        }
        const did = didFromPublicKey(key);
        expect(did).toMatch(/^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/);
        expect(toHex(publicKeyFromDid(did))).toBe(toHex(key));
        expect(isDidKey(did)).toBe(true);
      }),
    );
  });

  it('works for real signer keys', () => {
    for (let i = 0; i < 8; i++) {
      const { publicKey } = nobleSigner(new Uint8Array(32).fill(i));
      expect(toHex(publicKeyFromDid(didFromPublicKey(publicKey)))).toBe(toHex(publicKey));
    }
  });

  it('didFromPublicKey rejects keys of the wrong length with BAD_KEY', () => {
    for (const n of [0, 31, 33, 64]) expectCode(() => didFromPublicKey(new Uint8Array(n)), 'BAD_KEY');
  });
});

describe('rejects with BAD_DID', () => {
  const good = didFromPublicKey(KEY);
  const body = good.slice('did:key:z'.length);

  it('other DID methods and malformed method prefixes', () => {
    for (const did of [
      'did:web:example.com',
      'did:example:123456789abcdefghi',
      `did:keys:z${body}`,
      `DID:KEY:z${body}`,
      `did:Key:z${body}`,
      `key:z${body}`,
      `did:z${body}`,
      'did:key:',
      'did:key',
      '',
    ]) {
      expectBadDid(did);
    }
  });

  it('non-strings', () => {
    for (const v of [undefined, null, 42, {}, [good], KEY, new String(good)]) expectBadDid(v);
  });

  it('a multibase other than base58btc (z)', () => {
    const bytes = concatBytes(Uint8Array.of(0xed, 0x01), KEY);
    for (const did of [
      `did:key:f${toHex(bytes)}`, // base16
      `did:key:u${base64urlnopad.encode(bytes)}`, // base64url
      `did:key:Z${body}`, // base58flickr
      `did:key:${body}`, // no multibase prefix at all
    ]) {
      expectBadDid(did);
    }
  });

  it('multicodecs other than ed25519-pub (0xed01)', () => {
    // Published did:key vectors for X25519 (0xec) and P-256 (0x1200).
    expectBadDid('did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F');
    expectBadDid('did:key:zDnaeTiq1PdzvZXUaMdezchcMJQpBdH2VN4pgrrEhMCCbmwSb');
    for (const prefix of [
      [0xec, 0x01], // x25519-pub
      [0x80, 0x24], // p256-pub (0x1200)
      [0xe7, 0x01], // secp256k1-pub
      [0x80, 0x26], // ed25519-priv (0x1300): a secret key must never pass as a signer
      [0xed], // ed25519 without the varint continuation
      [0xed, 0x81, 0x00], // 0xed01 with an over-long varint
      [0x01, 0xed],
      [],
    ]) {
      expectBadDid(didOf(prefix, KEY));
    }
  });

  it('keys of the wrong length', () => {
    for (const n of [0, 1, 16, 31, 33, 64]) {
      const key = new Uint8Array(n).fill(7);
      expectBadDid(didOf([0xed, 0x01], key));
    }
    expectBadDid(didOf([0xed, 0x01], concatBytes(KEY, Uint8Array.of(0))));
    expectBadDid(didOf([0xed, 0x01], KEY.subarray(1)));
  });

  it('characters outside the base58 alphabet, and extra text', () => {
    for (const bad of ['0', 'O', 'I', 'l', '+', '/', '=', ' ', '-', '_', 'é', '\u0000', '\ud800']) {
      expectBadDid(`did:key:z${body.slice(0, 10)}${bad}${body.slice(11)}`);
      expectBadDid(`${good}${bad}`);
    }
    expectBadDid(`${good}#${good.slice('did:key:'.length)}`);
    expectBadDid(`${good}?versionId=1`);
    expectBadDid(` ${good}`);
    expectBadDid(`${good}\n`);
  });

  it('leading zero bytes (base58 "1"), so each key has exactly one DID', () => {
    expectBadDid(`did:key:z1${body}`);
  });

  it('absurdly long input, quickly and without decoding it', () => {
    for (const did of [`did:key:z${'2'.repeat(1_000_000)}`, `${good}${'1'.repeat(100)}`, 'x'.repeat(10_000_000)]) {
      const start = performance.now();
      expectBadDid(did);
      expect(performance.now() - start).toBeLessThan(200);
    }
  });

  // Decision: keys that are not canonical encodings or have small order name no one. A trivial
  // signature (R = identity, S = 0) by a small-order key verifies on every message under node:crypto,
  // so anyone could sign as such a DID; @noble/curves (the browser) rejects them: the two disagree.
  describe('keys that are not canonical or have small order (and BAD_KEY from didFromPublicKey)', () => {
    it('the list holds all eight points of small order (checked with @noble/curves)', () => {
      // The 8-torsion is [L]Q for points Q; collect it from a few points and compare.
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      const torsion = new Set<string>();
      for (let i = 2; torsion.size < 8 && i < 200; i++) {
        let q: InstanceType<typeof ed25519.Point>;
        try {
          q = ed25519.Point.fromBytes(le(BigInt(i) * 7919n));
        } catch {
          continue;
        }
        const t = q.multiplyUnsafe(L - 1n).add(q);
        let m = t;
        for (let k = 0; k < 8; k++) {
          torsion.add(toHex(m.toBytes()));
          m = m.add(t);
        }
      }
      expect([...torsion].sort()).toEqual([...SMALL_ORDER].sort());
    });

    it('rejects every small-order key, and their encodings with x = 0 and the sign bit set', () => {
      for (const h of [...SMALL_ORDER, ...SIGN_BIT_VARIANTS]) {
        const key = fromHex(h);
        expectBadDid(didOf([0xed, 0x01], key));
        expectCode(() => didFromPublicKey(key), 'BAD_KEY');
        // The browser's verifier already refuses the trivial signature by such a key.
        expect(
          nobleVerifier.verify(
            key,
            Uint8Array.of(1),
            concatBytes(fromHex(SMALL_ORDER[0] as string), new Uint8Array(32)),
          ),
        ).toBe(false);
      }
    });

    it('rejects y >= p (a second encoding of another y), with either sign bit', () => {
      for (let y = P; y < 2n ** 255n; y++) {
        for (const key of [le(y), le(y + 2n ** 255n)]) {
          expectBadDid(didOf([0xed, 0x01], key));
          expectCode(() => didFromPublicKey(key), 'BAD_KEY');
        }
      }
      // p - 1 is canonical (and of small order); p - 2 is a canonical, ordinary y.
      expect(() => didFromPublicKey(le(P - 2n))).not.toThrow();
    });
  });
});
