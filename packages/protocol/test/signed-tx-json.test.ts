/**
 * signedTxJson: the bytes a peer stores for a transaction and the orderer passes between peers, so
 * every peer must produce them alike. A vector pins them for a body with escapes and non-ASCII
 * text (RFC 8785: control characters, quote and backslash escaped; everything else, including
 * U+2028 and astral characters, written as UTF-8); properties tie them to `canonicalize`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../src/bytes.js';
import { nobleSigner } from '../src/crypto/ed25519.js';
import { sha256 } from '../src/hash.js';
import { canonicalize, type JsonValue } from '../src/jcs.js';
import { parseTx, signedTxJson, signTx } from '../src/ledger/tx.js';

const signer = nobleSigner(new Uint8Array(32).fill(7));
const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const NONCE = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);

const tricky = signTx(
  {
    chainId: 'custos-vector',
    type: 'kv.put',
    args: {
      key: 'privacy/zoë.note',
      value: { text: 'Zoë said "hi"\\ \n\t\u0007 \u2028 € 😀', é: 1, e: -0.5, list: [true, null, 1e21] },
    },
    now: NOW,
    ttlMs: 60_000,
    nonce: NONCE,
  },
  signer,
);

const EXPECTED =
  '{"body":{"args":{"key":"privacy/zoë.note","value":{"e":-0.5,"list":[true,null,1e+21],"text":"Zoë said \\"hi\\"\\\\ \\n\\t\\u0007 \u2028 € 😀","é":1}},' +
  '"chainId":"custos-vector","createdAt":1767225600000,"expiresAt":1767225660000,"nonce":"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0",' +
  '"signer":"did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z","type":"kv.put"},' +
  '"sig":"SmX3umYRvv7FA_CJ-hmOqYpE_zBU1ZUAAvcDobcohOiHhsQaxKo44yS3IkBxm8NDMRzuFTDrOj99aCzRr1dfAg"}';

describe('signedTxJson', () => {
  it('pins the bytes of a transaction with escapes and non-ASCII text', () => {
    const json = signedTxJson(parseTx(tricky));
    expect(json).toBe(EXPECTED);
    // The whole text, signer and signature included, as SHA-256 of its UTF-8 bytes.
    expect(toHex(sha256(utf8(json)))).toBe(VECTOR_SHA256);
  });

  it('is the canonical JSON of the transaction, with the signature as JSON.stringify writes it', () => {
    const p = parseTx(tricky);
    expect(signedTxJson(p)).toBe(canonicalize(tricky as unknown as JsonValue));
    // The etcd orderer used to quote the signature with JSON.stringify: the same bytes for any sig parseTx accepts.
    expect(signedTxJson(p)).toBe(
      `{"body":${canonicalize(tricky.body as unknown as JsonValue)},"sig":${JSON.stringify(tricky.sig)}}`,
    );
  });

  it('equals canonicalize(tx) for arbitrary argument values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string({ unit: 'grapheme' }), (value, key) => {
        const tx = signTx(
          { chainId: 'custos-vector', type: 'kv.put', args: { [key]: value as JsonValue }, now: NOW, nonce: NONCE },
          signer,
        );
        expect(signedTxJson(parseTx(tx))).toBe(canonicalize(tx as unknown as JsonValue));
      }),
      { numRuns: 200 },
    );
  });
});

const VECTOR_SHA256 = '9f2c8d0d84e846303ae5aa2a0cd8dcc354845c4c71cb9b3931ef9e9e461ed9b7';
