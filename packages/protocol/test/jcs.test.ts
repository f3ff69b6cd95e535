/**
 * RFC 8785 (JCS): the upstream test vectors byte for byte, the W3C eddsa-jcs-2022 canonical
 * documents, and properties (idempotence, key-order independence, rejection of non-I-JSON values).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/bytes.js';
import { ProtocolError } from '../src/errors.js';
import { sha256 } from '../src/hash.js';
import { canonicalBytes, canonicalize } from '../src/jcs.js';
import { listVectors, readVectorBytes, readVectorText, vectorsDir } from './vectors.js';

function expectBadJson(value: unknown): void {
  let thrown: unknown;
  try {
    canonicalize(value);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe('BAD_JSON');
}

/** True if `s` has no lone surrogate; encodeURIComponent is an independent oracle for that. */
function isWellFormed(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

/** A copy of `v` whose objects have their keys inserted in reverse order. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).reverse()) {
      Object.defineProperty(out, k, {
        value: reverseKeys((v as Record<string, unknown>)[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

const jcsDir = vectorsDir('jcs');

describe('RFC 8785 test vectors (test/vectors/jcs)', () => {
  const dir = jcsDir as URL;
  const names = listVectors(dir, 'input', '.json').map((f) => f.slice(0, -'.json'.length));

  it('has the upstream cases', () => {
    expect(names).toEqual(expect.arrayContaining(['arrays', 'french', 'structures', 'unicode', 'values', 'weird']));
  });

  for (const name of names) {
    it(`${name}: canonical bytes match output/${name}.json and outhex/${name}.txt`, () => {
      const input = JSON.parse(readVectorText(dir, `input/${name}.json`));
      const got = canonicalBytes(input);
      expect(toHex(got)).toBe(toHex(readVectorBytes(dir, `output/${name}.json`)));
      const hex = readVectorText(dir, `outhex/${name}.txt`).replace(/\s+/g, '');
      expect(toHex(got)).toBe(toHex(fromHex(hex)));
      // Canonical text is a fixed point.
      expect(canonicalize(JSON.parse(canonicalize(input)))).toBe(canonicalize(input));
    });
  }
});

const eddsaDir = vectorsDir('eddsa-jcs-2022');

describe('W3C eddsa-jcs-2022 canonical documents (test/vectors)', () => {
  const dir = eddsaDir as URL;

  it('canonicalizes the unsigned credential and its hash', () => {
    const { proof: _proof, ...unsigned } = JSON.parse(readVectorText(dir, 'signedJCS.json')) as Record<string, unknown>;
    expect(canonicalize(unsigned)).toBe(readVectorText(dir, 'canonDocJCS.txt').trim());
    expect(toHex(sha256(canonicalBytes(unsigned)))).toBe(readVectorText(dir, 'docHashJCS.txt').trim());
  });

  it('canonicalizes the proof configuration and its hash', () => {
    const config = JSON.parse(readVectorText(dir, 'proofConfigJCS.json'));
    expect(canonicalize(config)).toBe(readVectorText(dir, 'proofCanonJCS.txt').trim());
    expect(toHex(sha256(canonicalBytes(config)))).toBe(readVectorText(dir, 'proofHashJCS.txt').trim());
  });
});

describe('canonicalize: RFC 8785 rules', () => {
  it('sorts property names by UTF-16 code units, not code points or locale', () => {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFF in UTF-16 but after it by code point.
    expect(canonicalize({ '\uffff': 1, '\u{1f600}': 2, é: 3, z: 4, Z: 5, '': 6 })).toBe(
      '{"":6,"Z":5,"z":4,"é":3,"\u{1f600}":2,"\uffff":1}',
    );
    expect(canonicalize({ 10: 'a', 2: 'b', 1: 'c' })).toBe('{"1":"c","10":"a","2":"b"}');
  });

  it('serializes numbers as ECMAScript does (RFC 8785 section 3.2.2.3)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1, '1'],
      [-1.5, '-1.5'],
      [1e21, '1e+21'],
      [1e20, '100000000000000000000'],
      [1e-7, '1e-7'],
      [0.000001, '0.000001'],
      [0.1 + 0.2, '0.30000000000000004'],
      [Number.MAX_SAFE_INTEGER, '9007199254740991'],
      [Number.MAX_VALUE, '1.7976931348623157e+308'],
      [Number.MIN_VALUE, '5e-324'],
    ];
    for (const [n, text] of cases) expect(canonicalize(n)).toBe(text);
  });

  it('escapes only what JSON requires, in lower-case hex', () => {
    expect(canonicalize('"\\\b\f\n\r\t\u0000\u001f\u007f\u2028</>')).toBe(
      '"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\u007f\u2028</>"',
    );
  });

  it('omits object properties whose value is undefined, as JSON.stringify does', () => {
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('accepts objects without a prototype', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.b = 1;
    o.a = [true, null];
    expect(canonicalize(o)).toBe('{"a":[true,null],"b":1}');
  });

  it('accepts a shared (non-cyclic) sub-object twice', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: [shared, shared] })).toBe('{"a":{"x":1},"b":[{"x":1},{"x":1}]}');
  });
});

describe('canonicalize: rejects values outside I-JSON with BAD_JSON', () => {
  it('rejects non-finite numbers', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expectBadJson(v);
      expectBadJson([1, v]);
      expectBadJson({ a: { b: v } });
    }
  });

  it('rejects undefined at the top level and in arrays, including holes', () => {
    expectBadJson(undefined);
    expectBadJson([1, undefined]);
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point of the test
    expectBadJson([1, , 2]);
  });

  it('rejects functions, symbols and bigints', () => {
    expectBadJson(() => 1);
    expectBadJson({ f() {} });
    expectBadJson([Symbol('s')]);
    expectBadJson({ n: 1n });
  });

  it('rejects cycles through objects and arrays', () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    expectBadJson(o);
    const a: unknown[] = [1];
    a.push({ back: a });
    expectBadJson(a);
  });

  it('rejects class instances, even with toJSON', () => {
    class Point {
      x = 1;
    }
    for (const v of [
      new Date(0),
      new Map([['a', 1]]),
      new Set([1]),
      new Uint8Array(2),
      new Point(),
      new String('s'),
      new Number(1),
      new Boolean(true),
      /re/,
      new Error('e'),
    ]) {
      expectBadJson(v);
      expectBadJson({ nested: [v] });
    }
  });

  it('rejects nesting deeper than 1000 levels instead of overflowing the stack', () => {
    const nest = (levels: number): unknown => {
      let v: unknown = [];
      for (let i = 1; i < levels; i++) v = i % 2 === 0 ? [v] : { k: v };
      return v;
    };
    expect(() => canonicalize(nest(1000))).not.toThrow();
    expectBadJson(nest(1001));
    expectBadJson(nest(200_000));
  });

  // Decision: RFC 8785 builds on I-JSON (RFC 7493), which forbids lone surrogates. JSON.stringify
  // would write them as \udXXX escapes; Custos rejects them so that canonical text is always
  // Unicode and every peer, whatever its JSON library, agrees on the bytes.
  it('rejects lone surrogates in strings and property names', () => {
    for (const s of ['\ud800', '\udfff', 'a\ud83d', '\ude00b', '\ude00\ud83d', '\ud83d\ud83d\ude00']) {
      expectBadJson(s);
      expectBadJson([s]);
      expectBadJson({ [s]: 1 });
      expectBadJson({ a: { [`k${s}`]: 'v' } });
    }
    expect(canonicalize('\ud83d\ude00')).toBe('"\u{1f600}"');
  });
});

/** Every kind of value fast-check can make, JSON or not. */
const ANYTHING = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
});

describe('canonicalize: properties', () => {
  const jsonValue = fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 });

  it('is a fixed point: canonicalize(JSON.parse(canonicalize(x))) === canonicalize(x)', () => {
    fc.assert(
      fc.property(jsonValue, (x) => {
        const c = canonicalize(x);
        expect(canonicalize(JSON.parse(c))).toBe(c);
      }),
    );
  });

  it('is valid JSON that parses back to the same value (up to -0)', () => {
    fc.assert(
      fc.property(jsonValue, (x) => {
        expect(JSON.parse(canonicalize(x))).toEqual(JSON.parse(JSON.stringify(x)));
      }),
    );
  });

  it('equals the plain definition: keys sorted by JavaScript string order, everything else as JSON.stringify', () => {
    const plain = (v: unknown): string => {
      if (Array.isArray(v)) return `[${v.map(plain).join(',')}]`;
      if (typeof v === 'object' && v !== null) {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o).sort();
        return `{${keys.map((k) => `${JSON.stringify(k)}:${plain(o[k])}`).join(',')}}`;
      }
      return JSON.stringify(v);
    };
    // Plain ASCII and escaped characters side by side, and objects of up to 40 keys (past the
    // insertion sort's limit of 32).
    const text = fc.string({
      unit: fc.constantFrom('a', 'B', '"', '\\', '\u0000', '\u001f', ' ', '~', '\u007f', 'é', '😀'),
    });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.integer(), text, tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 5 }),
      object: fc.dictionary(text, tie('node'), { maxKeys: 40 }),
    })).node;
    fc.assert(
      fc.property(value, (x) => {
        expect(canonicalize(x)).toBe(plain(x));
      }),
    );
  });

  it('does not depend on property insertion order', () => {
    fc.assert(
      fc.property(jsonValue, (x) => {
        expect(canonicalize(reverseKeys(x))).toBe(canonicalize(x));
      }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 2 })), (o) => {
        const shuffled = Object.fromEntries(Object.entries(o).sort(() => Math.random() - 0.5));
        expect(canonicalize(shuffled)).toBe(canonicalize(o));
      }),
    );
  });

  it('serializes every finite double as JSON.stringify does, and round-trips it', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(canonicalize(n)).toBe(JSON.stringify(n));
        expect(Number(canonicalize(n))).toBe(n === 0 ? 0 : n);
      }),
    );
  });

  it('rejects a string exactly when it holds a lone surrogate', () => {
    const utf16 = fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 8 });
    fc.assert(
      fc.property(utf16, (s) => {
        if (isWellFormed(s)) {
          expect(JSON.parse(canonicalize({ [s]: s }))).toEqual({ [s]: s });
        } else {
          expectBadJson(s);
          expectBadJson({ [s]: 0 });
        }
      }),
    );
  });

  it('throws nothing but ProtocolError BAD_JSON on arbitrary JavaScript values', () => {
    fc.assert(
      fc.property(ANYTHING, (v) => {
        try {
          canonicalize(v);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          expect((e as ProtocolError).code).toBe('BAD_JSON');
        }
      }),
    );
  });
});
