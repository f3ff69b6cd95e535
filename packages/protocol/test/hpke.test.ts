/**
 * HPKE envelopes for the customer's corrections (ADR 0018): a round trip through @hpke/core with
 * the suite X25519 / HKDF-SHA256 / AES-256-GCM, and every way an envelope must fail to open: another
 * key, another org, customer, record or chain, a flipped bit in the ciphertext or the encapsulated
 * key, a swapped key id.
 */
import { fromBase64url, toBase64url } from '@custos/protocol/encoding';
import {
  envelopeDigest,
  generateHpkeKeyPair,
  hpkeKeyId,
  MAX_RECTIFY_VALUE_BYTES,
  openRectification,
  parseRectifyEnvelope,
  type RectifyContext,
  type RectifyEnvelope,
  sealRectification,
} from '@custos/protocol/hpke';
import { describe, expect, it } from 'vitest';

const CTX: RectifyContext = {
  chainId: 'test',
  org: 'bank',
  subject: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
  record: 'ab'.repeat(32),
};
const VALUE = { street: '1 New Road', city: 'Leeds', postcode: 'LS1 1AA' };

function flip(b64: string, at: number): string {
  const bytes = fromBase64url(b64);
  bytes[at % bytes.length]! ^= 0x01;
  return toBase64url(bytes);
}

describe('HPKE envelopes', () => {
  it('round-trips a value sealed to the org key, with a fresh encapsulation each time', async () => {
    const kp = await generateHpkeKeyPair();
    expect(kp.publicKey).toHaveLength(32);
    expect(kp.privateKey).toHaveLength(32);
    const a = await sealRectification(kp.publicKey, CTX, VALUE);
    const b = await sealRectification(kp.publicKey, CTX, VALUE);
    expect(a.kid).toBe(hpkeKeyId(kp.publicKey));
    expect(a.enc).not.toBe(b.enc);
    expect(a.ct).not.toBe(b.ct);
    expect(envelopeDigest(a)).not.toBe(envelopeDigest(b));
    expect(envelopeDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(await openRectification(kp.privateKey, a, CTX)).toEqual(VALUE);
    expect(await openRectification(kp.privateKey, parseRectifyEnvelope(JSON.parse(JSON.stringify(b))), CTX)).toEqual(
      VALUE,
    );
    // The value is not visible in the envelope.
    expect(JSON.stringify(a)).not.toContain('Leeds');
  });

  it('trust #17: does not open under another key, org, customer, record or chain', async () => {
    const kp = await generateHpkeKeyPair();
    const other = await generateHpkeKeyPair();
    const env = await sealRectification(kp.publicKey, CTX, VALUE);
    await expect(openRectification(other.privateKey, env, CTX)).rejects.toMatchObject({ code: 'BAD_CIPHERTEXT' });
    for (const change of [
      { org: 'insurer' },
      { subject: 'did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH' },
      { record: 'cd'.repeat(32) },
      { chainId: 'other' },
    ]) {
      await expect(openRectification(kp.privateKey, env, { ...CTX, ...change })).rejects.toMatchObject({
        code: 'BAD_CIPHERTEXT',
      });
    }
  });

  it('refuses an altered ciphertext, encapsulated key or key id', async () => {
    const kp = await generateHpkeKeyPair();
    const env = await sealRectification(kp.publicKey, CTX, VALUE);
    const altered: RectifyEnvelope[] = [
      { ...env, ct: flip(env.ct, 0) },
      { ...env, ct: flip(env.ct, 1_000) },
      { ...env, enc: flip(env.enc, 5) },
      { ...env, kid: '0'.repeat(16) },
    ];
    for (const a of altered) {
      await expect(openRectification(kp.privateKey, a, CTX)).rejects.toMatchObject({ code: 'BAD_CIPHERTEXT' });
      expect(envelopeDigest(a)).not.toBe(envelopeDigest(env));
    }
  });

  it('checks shapes and bounds, saying what was expected', async () => {
    const kp = await generateHpkeKeyPair();
    expect(() => parseRectifyEnvelope({ v: 1, kid: 'x', enc: 'y', ct: 'z' })).toThrow(/kid as 16 hex digits/);
    expect(() => parseRectifyEnvelope({ v: 2 })).toThrow(/exactly v: 1, kid, enc and ct/);
    expect(() => parseRectifyEnvelope('text')).toThrow(/an envelope/);
    const env = await sealRectification(kp.publicKey, CTX, VALUE);
    expect(() => parseRectifyEnvelope({ ...env, extra: 1 })).toThrow(/exactly/);
    await expect(
      sealRectification(kp.publicKey, CTX, { note: 'x'.repeat(MAX_RECTIFY_VALUE_BYTES) }),
    ).rejects.toMatchObject({ code: 'BAD_JSON' });
    expect(() => hpkeKeyId(new Uint8Array(31))).toThrow(/32-byte X25519 public key/);
  });
});
