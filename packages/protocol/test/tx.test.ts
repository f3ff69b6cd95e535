/**
 * Transactions: every rejection path of parseTx, signature, window and chain checks, a golden
 * signed transaction (a format change shows up as a diff of test/golden/tx.json), and properties:
 * parseTx throws nothing but ProtocolError on arbitrary and mutated input.
 */
import { codeChecker, expectGolden, goldenJson, readGolden, updatingGoldens } from '@custos/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64url } from '../src/b64.js';
import { fromHex, toHex, utf8 } from '../src/bytes.js';
import { didFromPublicKey } from '../src/crypto/didkey.js';
import { nobleSigner, nobleVerifier } from '../src/crypto/ed25519.js';
import { ProtocolError } from '../src/errors.js';
import { sha256 } from '../src/hash.js';
import { canonicalBytes, canonicalize } from '../src/jcs.js';
import {
  checkChain,
  checkTxWindow,
  isTxId,
  MAX_ARGS_DEPTH,
  MAX_CLOCK_SKEW_MS,
  MAX_TTL_MS,
  MAX_TX_BYTES,
  parseTx,
  type SignedTx,
  signTx,
  type TxBody,
  txIdOf,
  verifyTxSignature,
} from '../src/ledger/tx.js';

const alice = nobleSigner(new Uint8Array(32).fill(1));
const bob = nobleSigner(new Uint8Array(32).fill(2));
const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const NONCE = Uint8Array.from({ length: 16 }, (_, i) => i);

function validTx(overrides: { args?: TxBody['args']; now?: number; ttlMs?: number } = {}): SignedTx {
  return signTx(
    {
      chainId: 'custos-test',
      type: 'kv.put',
      args: overrides.args ?? { key: 'greeting', value: 'hello' },
      now: overrides.now ?? NOW,
      ttlMs: overrides.ttlMs ?? 10 * 60 * 1000,
      nonce: NONCE,
    },
    alice,
  );
}

/** A JSON copy of a valid transaction with `edit` applied to it (as a peer would receive it). */
function mutated(edit: (tx: { body: Record<string, unknown>; sig: unknown } & Record<string, unknown>) => void) {
  const tx = JSON.parse(JSON.stringify(validTx()));
  edit(tx);
  return tx;
}

const expectCode = codeChecker(ProtocolError);

const badTx = (raw: unknown, message?: RegExp) => expectCode(() => parseTx(raw), 'BAD_TX', message);

/** `args` nested `levels` deep (args itself is level 1), with `leaf` innermost. */
function nestedArgs(levels: number, leaf: unknown): TxBody['args'] {
  let v: unknown = leaf;
  for (let i = 1; i < levels; i++) v = i % 2 === 0 ? [v] : { x: v };
  return { x: v } as TxBody['args'];
}

describe('parseTx accepts', () => {
  it('gives canonicalBytes(body) as body bytes, whatever the fields and their order', () => {
    const chainId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,63}$/);
    const type = fc.stringMatching(/^[a-z][a-z0-9]{0,31}(\.[a-z][a-zA-Z0-9]{0,31}){1,2}$/);
    fc.assert(
      fc.property(
        chainId,
        type,
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - MAX_TTL_MS }),
        fc.integer({ min: 1, max: MAX_TTL_MS }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
        fc.boolean(),
        (chainId, type, createdAt, ttl, nonce, args, reversed) => {
          const body = {
            chainId,
            type,
            signer: didFromPublicKey((reversed ? bob : alice).publicKey),
            args: args as TxBody['args'],
            createdAt,
            expiresAt: createdAt + ttl,
            nonce: toHex(nonce),
          };
          const ordered = reversed ? Object.fromEntries(Object.entries(body).reverse()) : body;
          const parsed = parseTx({ body: ordered, sig: 'A'.repeat(86) });
          expect(toHex(parsed.bodyBytes)).toBe(toHex(canonicalBytes(body)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a signed transaction, returning its canonical body bytes and id', () => {
    const tx = validTx();
    const parsed = parseTx(tx);
    expect(parsed.tx).toBe(tx);
    expect(toHex(parsed.bodyBytes)).toBe(toHex(canonicalBytes(tx.body)));
    expect(parsed.txId).toBe(toHex(sha256(canonicalBytes(tx.body))));
    expect(parsed.txId).toBe(txIdOf(tx.body));
    expect(isTxId(parsed.txId)).toBe(true);
    expect(verifyTxSignature(parsed, nobleVerifier)).toBe(true);
  });

  it('the same transaction with its fields in any order (same id, same signature)', () => {
    const tx = validTx();
    const reordered = JSON.parse(
      `{"sig":${JSON.stringify(tx.sig)},"body":${JSON.stringify(Object.fromEntries(Object.entries(tx.body).reverse()))}}`,
    );
    const parsed = parseTx(reordered);
    expect(parsed.txId).toBe(parseTx(tx).txId);
    expect(verifyTxSignature(parsed, nobleVerifier)).toBe(true);
  });

  it('the bounds: TTL of exactly one hour, args nested exactly MAX_ARGS_DEPTH levels', () => {
    expect(() => parseTx(validTx({ ttlMs: MAX_TTL_MS }))).not.toThrow();
    expect(() => parseTx(validTx({ ttlMs: 1 }))).not.toThrow();
    expect(() => parseTx(validTx({ args: nestedArgs(MAX_ARGS_DEPTH, 1) }))).not.toThrow();
    expect(() => parseTx(validTx({ args: nestedArgs(MAX_ARGS_DEPTH, 'leaf') }))).not.toThrow();
    expect(() => parseTx(validTx({ args: {} }))).not.toThrow();
    expect(() => parseTx(validTx({ now: 0 }))).not.toThrow();
  });

  it('a body of exactly MAX_TX_BYTES', () => {
    const base = canonicalBytes(validTx({ args: { pad: '' } }).body).length;
    const tx = validTx({ args: { pad: 'x'.repeat(MAX_TX_BYTES - base) } });
    expect(parseTx(tx).bodyBytes.length).toBe(MAX_TX_BYTES);
  });
});

describe('parseTx rejects with BAD_TX', () => {
  it('anything but an object', () => {
    for (const raw of [undefined, null, 0, 'tx', true, [], [validTx()]]) badTx(raw, /expected a transaction object/);
  });

  it('fields other than body and sig', () => {
    badTx(
      mutated((tx) => {
        tx.extra = 1;
      }),
      /unexpected field 'extra'/,
    );
    badTx(
      mutated((tx) => {
        tx.txId = 'x';
      }),
    );
  });

  it('a missing or malformed signature', () => {
    const sigs: unknown[] = [
      undefined,
      null,
      42,
      '',
      'A'.repeat(85),
      'A'.repeat(87),
      `${'A'.repeat(85)}=`,
      `${'A'.repeat(84)}==`,
      `${'A'.repeat(85)}+`,
      `${'A'.repeat(85)}/`,
      `${'A'.repeat(85)} `,
      `${'A'.repeat(85)}\u00e9`,
      // The last character holds 4 zero bits: any other last character is not 64 bytes.
      `${'A'.repeat(85)}B`,
      `${'A'.repeat(85)}_`,
      'a'.repeat(86),
      Array(86).fill('A'),
    ];
    for (const sig of sigs) {
      badTx(
        mutated((tx) => {
          tx.sig = sig;
        }),
        /expected sig/,
      );
    }
    badTx(
      mutated((tx) => {
        delete tx.sig;
      }),
    );
  });

  it('a body that is not an object', () => {
    for (const body of [undefined, null, 'body', 7, [], [1]]) {
      badTx(
        mutated((tx) => {
          tx.body = body as never;
        }),
        /expected body to be an object/,
      );
    }
  });

  it('unknown or extra body fields', () => {
    for (const k of ['id', 'sig', 'fee', 'Args', '__proto__x', 'x'.repeat(1000)]) {
      const err = badTx(
        mutated((tx) => {
          tx.body[k] = 1;
        }),
        /unexpected field 'body\./,
      );
      expect(err.message.length).toBeLessThan(200);
    }
  });

  it('a bad chainId', () => {
    for (const v of [undefined, null, 1, '', 'UPPER', '-lead', 'under_score', 'sp ace', 'a'.repeat(65), 'é']) {
      badTx(
        mutated((tx) => {
          tx.body.chainId = v;
        }),
        /body\.chainId/,
      );
    }
    expect(() =>
      parseTx(signTx({ chainId: 'a'.repeat(64), type: 'kv.put', args: {}, now: NOW, nonce: NONCE }, alice)),
    ).not.toThrow();
  });

  it('a bad type', () => {
    for (const v of [undefined, 1, '', 'kv', 'kv.', '.put', 'Kv.put', '1kv.put', 'kv.put.a.b', 'kv-x.put', 'kv.p ut']) {
      badTx(
        mutated((tx) => {
          tx.body.type = v;
        }),
        /body\.type/,
      );
    }
    badTx(
      mutated((tx) => {
        tx.body.type = `${'k'.repeat(33)}.put`;
      }),
    );
    for (const ok of ['kv.put', 'consent.grant', 'gov.member.addKey', `${'k'.repeat(32)}.${'p'.repeat(32)}`]) {
      expect(() => parseTx(signTx({ chainId: 'c', type: ok, args: {}, now: NOW, nonce: NONCE }, alice))).not.toThrow();
    }
  });

  it('a signer that is not an Ed25519 did:key', () => {
    const signers: unknown[] = [
      undefined,
      42,
      '',
      'did:web:example.com',
      'did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F', // X25519
      `${didFromPublicKey(alice.publicKey)}x`,
      didFromPublicKey(alice.publicKey).slice(0, -1),
      `did:key:z${'1'.repeat(100_000)}`,
    ];
    for (const v of signers) {
      badTx(
        mutated((tx) => {
          tx.body.signer = v;
        }),
        /body\.signer/,
      );
    }
  });

  it('args that are not an object', () => {
    for (const v of [undefined, null, 1, 'a', [], [{}]]) {
      badTx(
        mutated((tx) => {
          tx.body.args = v;
        }),
        /body\.args to be an object/,
      );
    }
  });

  it('args nested deeper than MAX_ARGS_DEPTH, without overflowing the stack', () => {
    badTx(validTx({ args: nestedArgs(MAX_ARGS_DEPTH + 1, 1) }), /nested at most 16 levels/);
    badTx(validTx({ args: nestedArgs(MAX_ARGS_DEPTH + 1, {}) }), /nested at most 16 levels/);
    badTx(
      mutated((tx) => {
        tx.body.args = nestedArgs(100_000, 1);
      }),
      /nested at most 16 levels/,
    );
  });

  it('args holding values that are not JSON, with the JCS error as cause', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, new Date(0), new Map(), () => 1, 1n, '\ud800', cycle]) {
      const err = badTx(
        mutated((tx) => {
          (tx.body.args as Record<string, unknown>).v = v;
        }),
      );
      if (v !== cycle) {
        expect(err.message).toMatch(/only JSON values/);
        expect((err.cause as ProtocolError).code).toBe('BAD_JSON');
      }
    }
    badTx(
      mutated((tx) => {
        tx.body.args = { '\udc00': 1 };
      }),
      /only JSON values/,
    );
  });

  it('timestamps that are not non-negative integer milliseconds', () => {
    for (const field of ['createdAt', 'expiresAt']) {
      for (const v of [undefined, null, '1767225600000', 1.5, -1, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY]) {
        badTx(
          mutated((tx) => {
            tx.body[field] = v;
          }),
          new RegExp(`body\\.${field}`),
        );
      }
    }
  });

  it('expiresAt not after createdAt, or more than an hour later', () => {
    for (const delta of [0, -1, -MAX_TTL_MS, MAX_TTL_MS + 1, 24 * MAX_TTL_MS]) {
      badTx(
        mutated((tx) => {
          tx.body.expiresAt = (tx.body.createdAt as number) + delta;
        }),
        /expected expiresAt after createdAt and at most 60 minutes later/,
      );
    }
  });

  it('a nonce that is not 32 lower-case hex characters', () => {
    for (const v of [
      undefined,
      7,
      '',
      '0'.repeat(31),
      '0'.repeat(33),
      '0'.repeat(64),
      'A'.repeat(32),
      'g'.repeat(32),
    ]) {
      badTx(
        mutated((tx) => {
          tx.body.nonce = v;
        }),
        /body\.nonce/,
      );
    }
  });
});

describe('parseTx rejects with TX_TOO_LARGE', () => {
  it('a body one byte over MAX_TX_BYTES, counted in UTF-8 bytes', () => {
    const base = canonicalBytes(validTx({ args: { pad: '' } }).body).length;
    const tx = validTx({ args: { pad: 'x'.repeat(MAX_TX_BYTES - base + 1) } });
    expectCode(() => parseTx(tx), 'TX_TOO_LARGE', /at most 32768 bytes, got 32769/);
    // 11,000 characters, but 33,000 bytes.
    expectCode(() => parseTx(validTx({ args: { pad: '€'.repeat(11_000) } })), 'TX_TOO_LARGE');
    // Wide rather than long.
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    expectCode(() => parseTx(validTx({ args: wide })), 'TX_TOO_LARGE');
  });
});

describe('verifyTxSignature', () => {
  const tamperings: [string, Record<string, unknown>][] = [
    ['chainId', { chainId: 'custos-other' }],
    ['type', { type: 'kv.delete' }],
    ['args value', { args: { key: 'greeting', value: 'hellO' } }],
    ['args key added', { args: { key: 'greeting', value: 'hello', extra: null } }],
    ['args key removed', { args: { key: 'greeting' } }],
    ['createdAt', { createdAt: NOW + 1 }],
    ['expiresAt', { expiresAt: NOW + 10 * 60 * 1000 - 1 }],
    ['nonce', { nonce: 'f'.repeat(32) }],
    ['signer', { signer: didFromPublicKey(bob.publicKey) }],
  ];

  for (const [name, patch] of tamperings) {
    it(`is false when ${name} was changed after signing`, () => {
      const tx = mutated((t) => Object.assign(t.body, patch));
      const parsed = parseTx(tx);
      expect(verifyTxSignature(parsed, nobleVerifier)).toBe(false);
    });
  }

  it('accepts exactly the 86-character strings that decode to 64 bytes', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const last of alphabet) {
      const sig = `${validTx().sig.slice(0, 85)}${last}`;
      let decodes = true;
      try {
        fromBase64url(sig, 64);
      } catch {
        decodes = false;
      }
      let parses = true;
      try {
        parseTx({ ...validTx(), sig });
      } catch {
        parses = false;
      }
      expect(parses).toBe(decodes);
    }
  });

  it('is false for a signature by another key, or with one character changed', () => {
    const tx = validTx();
    const bobs = signTx({ chainId: 'custos-test', type: 'kv.put', args: tx.body.args, now: NOW, nonce: NONCE }, bob);
    expect(verifyTxSignature(parseTx({ body: tx.body, sig: bobs.sig }), nobleVerifier)).toBe(false);
    for (const i of [0, 40, 84]) {
      const c = tx.sig[i] === 'A' ? 'B' : 'A';
      const sig = tx.sig.slice(0, i) + c + tx.sig.slice(i + 1);
      expect(verifyTxSignature(parseTx({ body: tx.body, sig }), nobleVerifier)).toBe(false);
    }
  });

  it('is false for a signature over non-canonical JSON of the same body', () => {
    const tx = validTx();
    const sig = Buffer.from(alice.sign(utf8(JSON.stringify(tx.body)))).toString('base64url');
    expect(JSON.stringify(tx.body)).not.toBe(canonicalize(tx.body));
    expect(verifyTxSignature(parseTx({ body: tx.body, sig }), nobleVerifier)).toBe(false);
  });

  it('verifies what signTx makes, for random args and keys', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
        (sk, args) => {
          const tx = signTx({ chainId: 'c', type: 'kv.put', args: args as TxBody['args'], now: NOW }, nobleSigner(sk));
          const parsed = parseTx(JSON.parse(JSON.stringify(tx)));
          expect(verifyTxSignature(parsed, nobleVerifier)).toBe(true);
          expect(parsed.txId).toBe(txIdOf(tx.body));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('checkTxWindow', () => {
  const { body } = validTx();

  it('accepts now inside [createdAt - skew, expiresAt)', () => {
    for (const now of [body.createdAt, body.expiresAt - 1, body.createdAt - MAX_CLOCK_SKEW_MS]) {
      expect(() => checkTxWindow(body, now)).not.toThrow();
    }
  });

  it('TX_EXPIRED from expiresAt on', () => {
    for (const now of [body.expiresAt, body.expiresAt + 1, body.expiresAt + 10 * MAX_TTL_MS]) {
      expectCode(() => checkTxWindow(body, now), 'TX_EXPIRED');
    }
  });

  it('TX_NOT_YET_VALID when createdAt is more than the clock skew ahead', () => {
    for (const now of [body.createdAt - MAX_CLOCK_SKEW_MS - 1, 0]) {
      expectCode(() => checkTxWindow(body, now), 'TX_NOT_YET_VALID');
    }
  });
});

describe('checkChain', () => {
  it('WRONG_CHAIN for another chain, nothing for its own', () => {
    const { body } = validTx();
    expect(() => checkChain(body, 'custos-test')).not.toThrow();
    for (const other of ['custos-prod', 'custos-test ', 'CUSTOS-TEST', '']) {
      expectCode(() => checkChain(body, other), 'WRONG_CHAIN');
    }
  });
});

describe('signTx', () => {
  it('defaults to the current time, a ten-minute TTL and a fresh random nonce', () => {
    const before = Date.now();
    const a = signTx({ chainId: 'c', type: 'kv.put', args: {} }, alice);
    const b = signTx({ chainId: 'c', type: 'kv.put', args: {} }, alice);
    expect(a.body.createdAt).toBeGreaterThanOrEqual(before);
    expect(a.body.createdAt).toBeLessThanOrEqual(Date.now());
    expect(a.body.expiresAt - a.body.createdAt).toBe(10 * 60 * 1000);
    expect(a.body.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(a.body.nonce).not.toBe(b.body.nonce);
    expect(txIdOf(a.body)).not.toBe(txIdOf(b.body));
  });
});

describe('golden transaction (test/golden/tx.json)', () => {
  const goldenUrl = new URL('./golden/tx.json', import.meta.url);
  const options = {
    chainId: 'custos-golden',
    type: 'consent.grant',
    args: {
      purpose: 'marketing',
      scopes: ['email', 'phone'],
      until: 1_798_761_600_000,
      note: 'Zoë paid 5 € 😀',
      weight: 0.5,
      extra: { b: null, a: true },
    },
    now: NOW,
    ttlMs: 15 * 60 * 1000,
  };

  const golden = () => {
    const tx = signTx({ ...options, nonce: NONCE }, alice);
    return {
      description:
        'A transaction signed by secret key 32 x 0x01 with the options and nonce below. Regenerate with UPDATE_GOLDEN=1 only for an intended format change.',
      secretKey: '01'.repeat(32),
      nonce: toHex(NONCE),
      options,
      publicKey: toHex(alice.publicKey),
      tx,
      canonicalBody: canonicalize(tx.body),
      txId: txIdOf(tx.body),
    };
  };

  if (updatingGoldens()) expectGolden(goldenUrl, goldenJson(golden()));
  // Fails the file when the golden is missing: UPDATE_GOLDEN=1 writes it, never a plain run.
  const stored = JSON.parse(readGolden(goldenUrl));

  it('signs to the stored transaction, canonical body text and txId', () => {
    expectGolden(goldenUrl, goldenJson(golden()));
  });

  it('the stored transaction parses and verifies, and its id is SHA-256 of the stored canonical body', () => {
    const parsed = parseTx(stored.tx);
    expect(verifyTxSignature(parsed, nobleVerifier)).toBe(true);
    expect(parsed.txId).toBe(stored.txId);
    expect(toHex(sha256(utf8(stored.canonicalBody)))).toBe(stored.txId);
    expect(toHex(parsed.bodyBytes)).toBe(toHex(utf8(stored.canonicalBody)));
    expect(toHex(nobleSigner(fromHex(stored.secretKey)).publicKey)).toBe(stored.publicKey);
  });
});

describe('parseTx properties', () => {
  const anything = fc.anything({
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

  /** Throws whatever parseTx throws unless it is a ProtocolError; then checks the parsed result is usable. */
  function parsesOrRejectsCleanly(raw: unknown): void {
    let parsed: ReturnType<typeof parseTx>;
    try {
      parsed = parseTx(raw);
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
      expect(['BAD_TX', 'TX_TOO_LARGE']).toContain((e as ProtocolError).code);
      return;
    }
    expect(typeof verifyTxSignature(parsed, nobleVerifier)).toBe('boolean');
    expect(isTxId(parsed.txId)).toBe(true);
  }

  it('throws nothing but ProtocolError on arbitrary values', () => {
    fc.assert(fc.property(anything, parsesOrRejectsCleanly), { numRuns: 500 });
    fc.assert(fc.property(fc.record({ body: anything, sig: anything }), parsesOrRejectsCleanly), { numRuns: 300 });
  });

  const FIELDS = ['chainId', 'type', 'signer', 'args', 'createdAt', 'expiresAt', 'nonce'];

  it('throws nothing but ProtocolError on valid transactions with one field replaced, removed or added', () => {
    const edit = fc.oneof(
      fc.record({ op: fc.constant('set' as const), field: fc.constantFrom(...FIELDS, 'extra'), value: anything }),
      fc.record({ op: fc.constant('delete' as const), field: fc.constantFrom(...FIELDS), value: fc.constant(0) }),
      fc.record({ op: fc.constant('arg' as const), field: fc.string(), value: anything }),
      fc.record({ op: fc.constant('top' as const), field: fc.constantFrom('body', 'sig', 'other'), value: anything }),
    );
    fc.assert(
      fc.property(edit, ({ op, field, value }) => {
        const tx = mutated((t) => {
          if (op === 'set') t.body[field] = value;
          else if (op === 'delete') delete t.body[field];
          else if (op === 'arg') Object.defineProperty(t.body.args, field, { value, enumerable: true });
          else (t as Record<string, unknown>)[field] = value;
        });
        parsesOrRejectsCleanly(tx);
      }),
      { numRuns: 500 },
    );
  });

  it('a mutated body that still parses never verifies', () => {
    const original = validTx();
    const originalBody = canonicalize(original.body);
    const text = JSON.stringify(original);
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.integer({ min: 32, max: 126 }), (i, code) => {
        let raw: unknown;
        try {
          raw = JSON.parse(text.slice(0, i) + String.fromCharCode(code) + text.slice(i + 1));
        } catch {
          return;
        }
        parsesOrRejectsCleanly(raw);
        let parsed: ReturnType<typeof parseTx>;
        try {
          parsed = parseTx(raw);
        } catch {
          return;
        }
        const same = canonicalize(parsed.tx.body) === originalBody && parsed.tx.sig === original.sig;
        expect(verifyTxSignature(parsed, nobleVerifier)).toBe(same);
      }),
      { numRuns: 1000 },
    );
  });
});
