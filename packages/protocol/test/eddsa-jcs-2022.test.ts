/**
 * W3C Data Integrity EdDSA Cryptosuites v1.0, `eddsa-jcs-2022`: the specification's test vectors
 * (test/vectors/eddsa-jcs-2022, from w3c/vc-di-eddsa) step by step, verification of the
 * signed credential and its failure after any change, and the Verify Proof rules (context prefix,
 * proof shape, key resolution) on forged input, which must never throw.
 */

import { codeChecker } from '@custos/test-utils';
import { base58 } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.js';
import {
  controllerOf,
  createProof,
  didKeyVerificationMethod,
  eddsaJcs2022Hash,
  eddsaJcs2022ProofConfig,
  eddsaJcs2022Transform,
  type JsonObject,
  publicKeyFromDidKeyUrl,
  signerVerificationMethod,
  verifyProof,
} from '../src/consent/eddsa-jcs-2022.js';
import { isXsdDateTimeStamp, parseXsdDateTime, toXsdDateTime } from '../src/consent/xsd-datetime.js';
import { didFromPublicKey } from '../src/crypto/didkey.js';
import { nobleSigner, nobleVerifier, type Verifier } from '../src/crypto/ed25519.js';
import { ProtocolError } from '../src/errors.js';
import { canonicalize } from '../src/jcs.js';
import { readVectorText, vectorsDir } from './vectors.js';

const dir = vectorsDir('eddsa-jcs-2022');

const expectCode = codeChecker(ProtocolError);

/** Every path to a value in `v` (objects and arrays included), root excluded. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([...prefix, i], ...paths(x, [...prefix, i]));
    });
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...paths(x, [...prefix, k]));
  }
  return out;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** A copy of `doc` with the value at `path` replaced by `f(old)`, or deleted when `f` returns undefined. */
function edit(doc: unknown, path: (string | number)[], f: (old: unknown) => unknown): unknown {
  const copy = clone(doc);
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  const next = f(parent[last]);
  if (next === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    parent[last] = next;
  }
  return copy;
}

/** A different JSON value of the same kind (so only the signature can catch it). */
function tweak(old: unknown): unknown {
  if (typeof old === 'string') return `${old}x`;
  if (typeof old === 'number') return old + 1;
  if (typeof old === 'boolean') return !old;
  if (Array.isArray(old)) return [...old, 'x'];
  if (old === null) return 0;
  return { ...(old as object), extra: true };
}

describe('W3C test vectors (test/vectors/eddsa-jcs-2022)', () => {
  const d = dir as URL;
  const text = (name: string) => readVectorText(d, name).trim();
  const keyPair = JSON.parse(text('keyPair.json')) as { publicKeyMultibase: string; privateKeyMultibase: string };
  const signed = JSON.parse(text('signedJCS.json')) as JsonObject & { proof: JsonObject };
  const { proof: signedProof, ...unsigned } = signed;
  const { proofValue: _pv, ...proofOptions } = signedProof;

  // Multikey: multicodec ed25519-priv (0x1300, varint 0x80 0x26) and ed25519-pub (0xed, varint 0xed 0x01).
  const secretBytes = base58.decode(keyPair.privateKeyMultibase.slice(1));
  const publicBytes = base58.decode(keyPair.publicKeyMultibase.slice(1));
  const signer = nobleSigner(secretBytes.slice(2));

  it('decodes the Multikey key pair, and the secret key gives the public key', () => {
    expect([...secretBytes.slice(0, 2)]).toEqual([0x80, 0x26]);
    expect([...publicBytes.slice(0, 2)]).toEqual([0xed, 0x01]);
    expect(toHex(signer.publicKey)).toBe(toHex(publicBytes.slice(2)));
    expect(didFromPublicKey(signer.publicKey)).toBe(`did:key:${keyPair.publicKeyMultibase}`);
    expect(didKeyVerificationMethod(`did:key:${keyPair.publicKeyMultibase}`)).toBe(proofOptions.verificationMethod);
  });

  it('transformation: the canonical unsecured document is canonDocJCS.txt', () => {
    expect(eddsaJcs2022Transform(unsigned, proofOptions)).toBe(text('canonDocJCS.txt'));
  });

  it('proof configuration: equals proofConfigJCS.json, canonical form proofCanonJCS.txt', () => {
    expect(proofOptions).toEqual(JSON.parse(text('proofConfigJCS.json')));
    expect(eddsaJcs2022ProofConfig(proofOptions)).toBe(text('proofCanonJCS.txt'));
  });

  it('hashing: proof config hash, document hash and their concatenation', () => {
    const hash = eddsaJcs2022Hash(text('canonDocJCS.txt'), text('proofCanonJCS.txt'));
    expect(hash.length).toBe(64);
    expect(toHex(hash.slice(0, 32))).toBe(text('proofHashJCS.txt'));
    expect(toHex(hash.slice(32))).toBe(text('docHashJCS.txt'));
    expect(toHex(hash)).toBe(text('combinedHashJCS.txt'));
  });

  it('proof serialization: the Ed25519 signature (hex) and its base58btc multibase', () => {
    const signature = signer.sign(eddsaJcs2022Hash(text('canonDocJCS.txt'), text('proofCanonJCS.txt')));
    expect(toHex(signature)).toBe(text('sigHexJCS.txt'));
    expect(`z${base58.encode(signature)}`).toBe(text('sigBTC58JCS.txt'));
  });

  it('createProof signs the unsigned credential into signedJCS.json, field order included', () => {
    const secured = createProof(unsigned, {
      signer,
      verificationMethod: proofOptions.verificationMethod as string,
      created: proofOptions.created as string,
      proofPurpose: 'assertionMethod',
    });
    expect(secured).toEqual(signed);
    expect(JSON.stringify(secured)).toBe(JSON.stringify(signed));
    // Milliseconds since the epoch give the same `created`.
    const again = createProof(unsigned, {
      signer,
      verificationMethod: signerVerificationMethod(signer),
      created: Date.UTC(2023, 1, 24, 23, 36, 38),
    });
    expect(again).toEqual(signed);
  });

  it('verifyProof accepts signedJCS.json and returns the unsecured document', () => {
    const r = verifyProof(signed, { verifier: nobleVerifier });
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.verifiedDocument).toEqual(unsigned);
    expect(verifyProof(signed, { verifier: nobleVerifier, expectedProofPurpose: 'assertionMethod' }).verified).toBe(
      true,
    );
  });

  it('verifyProof rejects signedJCS.json after any change to any field of the document or the proof', () => {
    const all = paths(signed);
    expect(all.length).toBeGreaterThan(20);
    for (const path of all) {
      for (const f of [tweak, () => undefined, () => null]) {
        // Appending a context is the one change the specification allows (step 4.2 verifies over
        // the proof's contexts, for proof chains); it is checked separately below.
        if (path.length === 1 && path[0] === '@context' && f === tweak) continue;
        const forged = edit(signed, path, f);
        let r: ReturnType<typeof verifyProof> | undefined;
        expect(() => {
          r = verifyProof(forged, { verifier: nobleVerifier });
        }, path.join('.')).not.toThrow();
        expect(r?.verified, `${path.join('.')} edited`).toBe(false);
        expect(r?.problems.length).toBeGreaterThan(0);
        expect(r?.verifiedDocument).toBeNull();
      }
    }
    const appended = verifyProof(edit(signed, ['@context'], tweak), { verifier: nobleVerifier });
    expect(appended.verified).toBe(true);
    expect(appended.verifiedDocument?.['@context']).toEqual(signed['@context']);
    // A new field anywhere is a change too.
    expect(verifyProof({ ...signed, extra: 1 }, { verifier: nobleVerifier }).verified).toBe(false);
    expect(
      verifyProof({ ...signed, proof: { ...signedProof, nonce: 'x' } }, { verifier: nobleVerifier }).verified,
    ).toBe(false);
  });

  it('verifyProof rejects another purpose than expected and an unknown key', () => {
    const r = verifyProof(signed, { verifier: nobleVerifier, expectedProofPurpose: 'authentication' });
    expect(r.verified).toBe(false);
    expect(r.problems.join()).toMatch(/proofPurpose/);
    const other = nobleSigner(new Uint8Array(32).fill(9));
    const wrongKey = verifyProof(signed, { verifier: nobleVerifier, resolveKey: () => other.publicKey });
    expect(wrongKey.problems).toEqual(['signature does not verify']);
  });
});

describe('createProof and verifyProof', () => {
  const signer = nobleSigner(new Uint8Array(32).fill(7));
  const vm = signerVerificationMethod(signer);
  const doc = { '@context': ['https://www.w3.org/ns/credentials/v2'], type: ['VerifiableCredential'], n: 1 };
  const created = 1_767_225_600_000; // 2026-01-01T00:00:00Z
  const secured = createProof(doc, { signer, verificationMethod: vm, created });

  it('adds a proof with the document @context, created and assertionMethod by default', () => {
    expect(secured.proof).toMatchObject({
      type: 'DataIntegrityProof',
      cryptosuite: 'eddsa-jcs-2022',
      created: '2026-01-01T00:00:00Z',
      verificationMethod: vm,
      proofPurpose: 'assertionMethod',
      '@context': doc['@context'],
    });
    expect(secured.proof.proofValue).toMatch(/^z[1-9A-HJ-NP-Za-km-z]{86,88}$/);
    expect(doc).not.toHaveProperty('proof');
    expect(verifyProof(secured, { verifier: nobleVerifier }).verified).toBe(true);
  });

  it('omits the proof @context for a document without one, and still verifies', () => {
    const plain = createProof({ a: 'b' }, { signer, verificationMethod: vm, created });
    expect(plain.proof).not.toHaveProperty('@context');
    expect(verifyProof(plain, { verifier: nobleVerifier }).verified).toBe(true);
  });

  it('verifies a proof made without step 2 (no proof @context) over a document with one', () => {
    const options = {
      type: 'DataIntegrityProof',
      cryptosuite: 'eddsa-jcs-2022',
      created: '2026-01-01T00:00:00Z',
      verificationMethod: vm,
      proofPurpose: 'assertionMethod',
    };
    const sig = signer.sign(eddsaJcs2022Hash(eddsaJcs2022Transform(doc, options), eddsaJcs2022ProofConfig(options)));
    const old = { ...doc, proof: { ...options, proofValue: `z${base58.encode(sig)}` } };
    expect(verifyProof(old, { verifier: nobleVerifier }).verified).toBe(true);
  });

  it('signs over the proof @context only: a later context added to the document is allowed (proof chains)', () => {
    const extended = { ...secured, '@context': [...doc['@context'], 'https://example.org/later/v1'] };
    const r = verifyProof(extended, { verifier: nobleVerifier });
    expect(r.verified).toBe(true);
    expect(r.verifiedDocument?.['@context']).toEqual(doc['@context']);
  });

  it('rejects a document whose @context does not start with the proof @context', () => {
    for (const context of [undefined, 'https://example.org/x', ['https://example.org/x', ...doc['@context']], []]) {
      const forged: Record<string, unknown> = { ...secured, '@context': context };
      if (context === undefined) delete forged['@context'];
      const r = verifyProof(forged, { verifier: nobleVerifier });
      expect(r.verified).toBe(false);
      expect(r.problems.join()).toMatch(/@context/);
    }
  });

  it('uses resolveKey for other verification methods, and survives one that throws', () => {
    const web = createProof(doc, { signer, verificationMethod: 'https://issuer.example/keys/1', created });
    expect(verifyProof(web, { verifier: nobleVerifier }).problems).toEqual([
      'cannot resolve proof.verificationMethod to an Ed25519 public key',
    ]);
    expect(verifyProof(web, { verifier: nobleVerifier, resolveKey: () => signer.publicKey }).verified).toBe(true);
    const r = verifyProof(web, {
      verifier: nobleVerifier,
      resolveKey: () => {
        throw new Error('offline');
      },
    });
    expect(r.verified).toBe(false);
    expect(r.problems[0]).toMatch(/offline/);
  });

  it('checks expires against `now` when given', () => {
    const options = {
      type: 'DataIntegrityProof',
      cryptosuite: 'eddsa-jcs-2022',
      created: '2026-01-01T00:00:00Z',
      expires: '2026-02-01T00:00:00Z',
      verificationMethod: vm,
      proofPurpose: 'assertionMethod',
    };
    const sig = signer.sign(eddsaJcs2022Hash(eddsaJcs2022Transform(doc, options), eddsaJcs2022ProofConfig(options)));
    const withExpiry = { ...doc, proof: { ...options, proofValue: `z${base58.encode(sig)}` } };
    expect(verifyProof(withExpiry, { verifier: nobleVerifier, now: Date.UTC(2026, 0, 15) }).verified).toBe(true);
    expect(verifyProof(withExpiry, { verifier: nobleVerifier, now: Date.UTC(2026, 1, 1) }).problems).toEqual([
      'proof expired',
    ]);
  });

  it('reports every malformed proof field without throwing', () => {
    const cases: [unknown, RegExp][] = [
      [null, /JSON object/],
      [[secured], /JSON object/],
      [{ ...doc }, /expected a proof/],
      [{ ...doc, proof: [secured.proof] }, /proof sets/],
      [{ ...doc, proof: 'x' }, /proof as an object/],
      [{ ...secured, proof: { ...secured.proof, type: 'Ed25519Signature2020' } }, /proof.type/],
      [{ ...secured, proof: { ...secured.proof, cryptosuite: 'eddsa-rdfc-2022' } }, /proof.cryptosuite/],
      [{ ...secured, proof: { ...secured.proof, verificationMethod: 7 } }, /verificationMethod/],
      [{ ...secured, proof: { ...secured.proof, proofPurpose: {} } }, /proofPurpose/],
      [{ ...secured, proof: { ...secured.proof, created: '2026-02-30T00:00:00Z' } }, /created/],
      [{ ...secured, proof: { ...secured.proof, expires: 'tomorrow' } }, /expires/],
      [{ ...secured, proof: { ...secured.proof, proofValue: secured.proof.proofValue.slice(1) } }, /proofValue/],
      [{ ...secured, proof: { ...secured.proof, proofValue: `u${secured.proof.proofValue.slice(1)}` } }, /proofValue/],
      [{ ...secured, proof: { ...secured.proof, proofValue: 'z0OIl' } }, /proofValue/],
      [{ ...secured, proof: { ...secured.proof, proofValue: `z${'1'.repeat(100_000)}` } }, /proofValue/],
      [{ ...secured, n: Number.NaN }, /canonicalize/],
      [{ ...secured, proof: { ...secured.proof, verificationMethod: `${vm.split('#')[0]}#other` } }, /resolve/],
      [{ ...secured, proof: { ...secured.proof, verificationMethod: vm.split('#')[0] } }, /resolve/],
    ];
    for (const [input, problem] of cases) {
      const r = verifyProof(input, { verifier: nobleVerifier });
      expect(r.verified).toBe(false);
      expect(r.problems.join(' | ')).toMatch(problem);
    }
  });

  it('catches a verifier that throws', () => {
    const broken: Verifier = {
      verify() {
        throw new Error('boom');
      },
    };
    const r = verifyProof(secured, { verifier: broken });
    expect(r.verified).toBe(false);
    expect(r.problems[0]).toMatch(/boom/);
  });

  it('rejects bad createProof input with precise errors', () => {
    const other = nobleSigner(new Uint8Array(32).fill(8));
    expectCode(() => createProof(secured, { signer, verificationMethod: vm, created }), 'BAD_PROOF', /proof sets/);
    expectCode(() => createProof([] as unknown as object, { signer, verificationMethod: vm, created }), 'BAD_PROOF');
    expectCode(
      () => createProof(doc, { signer, verificationMethod: signerVerificationMethod(other), created }),
      'BAD_KEY',
    );
    expectCode(
      () => createProof(doc, { signer, verificationMethod: vm.split('#')[0] as string, created }),
      'BAD_PROOF',
    );
    expectCode(() => createProof(doc, { signer, verificationMethod: 'no-colon', created }), 'BAD_PROOF');
    expectCode(
      () => createProof(doc, { signer, verificationMethod: vm, created: '2026-01-01' }),
      'BAD_PROOF',
      /created/,
    );
    expectCode(() => createProof(doc, { signer, verificationMethod: vm, created: -1 }), 'BAD_ENCODING');
    expectCode(
      () => createProof(doc, { signer, verificationMethod: vm, created, proofPurpose: 'assertion method' }),
      'BAD_PROOF',
    );
    expectCode(
      () => createProof({ x: Number.POSITIVE_INFINITY }, { signer, verificationMethod: vm, created }),
      'BAD_JSON',
    );
    expectCode(
      () => eddsaJcs2022Transform(doc, { type: 'DataIntegrityProof', cryptosuite: 'ecdsa-jcs-2019' }),
      'BAD_PROOF',
    );
  });

  it('verifyProof never throws on arbitrary input, and arbitrary JSON documents round-trip', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withDate: true, withMap: true, withNullPrototype: true, withTypedArray: true }),
        (v) => {
          const r = verifyProof(v, { verifier: nobleVerifier });
          expect(r.verified).toBe(false);
          const r2 = verifyProof({ ...secured, proof: v }, { verifier: nobleVerifier });
          expect(r2.verified).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (d) => {
        fc.pre(!Object.hasOwn(d, 'proof'));
        const s = createProof(d, { signer, verificationMethod: vm, created });
        const r = verifyProof(JSON.parse(JSON.stringify(s)), { verifier: nobleVerifier });
        expect(r.verified).toBe(true);
        expect(canonicalize(r.verifiedDocument)).toBe(canonicalize(d));
      }),
      { numRuns: 100 },
    );
  });
});

describe('did:key verification methods', () => {
  const did = didFromPublicKey(nobleSigner(new Uint8Array(32).fill(3)).publicKey);

  it('resolves did:key:z...#z... with the same key twice, nothing else', () => {
    const vm = didKeyVerificationMethod(did);
    expect(vm).toBe(`${did}#${did.slice('did:key:'.length)}`);
    expect(controllerOf(vm)).toBe(did);
    expect(controllerOf(did)).toBe(did);
    expect(publicKeyFromDidKeyUrl(vm)).not.toBeNull();
    for (const bad of [did, `${did}#key-1`, `${did}#`, `did:web:example.org#${did.slice(8)}`, 42, null, `${vm}x`]) {
      expect(publicKeyFromDidKeyUrl(bad)).toBeNull();
    }
    expectCode(() => didKeyVerificationMethod('did:web:example.org'), 'BAD_DID');
  });
});

describe('XML Schema dateTimeStamp', () => {
  it('accepts valid ones and computes their instant', () => {
    expect(parseXsdDateTime('2023-02-24T23:36:38Z')).toBe(Date.UTC(2023, 1, 24, 23, 36, 38));
    expect(parseXsdDateTime('2024-02-29T12:00:00.5+01:30')).toBe(Date.UTC(2024, 1, 29, 10, 30, 0, 500));
    expect(parseXsdDateTime('2023-12-31T24:00:00Z')).toBe(Date.UTC(2024, 0, 1));
    expect(parseXsdDateTime('0001-01-01T00:00:00-14:00')).toBe(Date.parse('0001-01-01T14:00:00Z'));
    expect(parseXsdDateTime('0000-02-29T00:00:00Z')).toBe(Date.parse('0000-02-29T00:00:00Z'));
    expect(parseXsdDateTime('0099-12-31T24:00:00Z')).toBe(Date.parse('0100-01-01T00:00:00Z'));
    expect(parseXsdDateTime('9999-12-31T23:59:59.9999Z')).toBe(253_402_300_799_999);
  });

  it('rejects dates, local times and impossible values', () => {
    for (const s of [
      '2023-02-24',
      '2023-02-24T23:36:38',
      '2023-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2023-04-31T00:00:00Z',
      '2023-13-01T00:00:00Z',
      '2023-01-01T24:00:01Z',
      '2023-01-01T23:60:00Z',
      '2023-01-01T00:00:00+14:01',
      '2023-01-01T00:00:00+0100',
      '2023-01-01 00:00:00Z',
      ` 2023-01-01T00:00:00Z`,
      `2023-01-01T00:00:00.${'0'.repeat(100)}Z`,
      20230101,
    ]) {
      expect(isXsdDateTimeStamp(s), String(s)).toBe(false);
    }
  });

  it('writes whole seconds without a fraction and round-trips every millisecond', () => {
    expect(toXsdDateTime(0)).toBe('1970-01-01T00:00:00Z');
    expect(toXsdDateTime(1_767_225_600_001)).toBe('2026-01-01T00:00:00.001Z');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
        expect(parseXsdDateTime(toXsdDateTime(ms))).toBe(ms);
      }),
    );
    for (const bad of [-1, 1.5, 253_402_300_800_000, Number.NaN]) expectCode(() => toXsdDateTime(bad), 'BAD_ENCODING');
  });
});
