/**
 * Scenario hpke: the customer's corrections sealed and opened (ADR 0018) with the protocol's HPKE
 * wrapper (`@hpke/core`, WebCrypto, X25519 / HKDF-SHA256 / AES-256-GCM), one at a time on one core,
 * for a 100-byte address. Ceiling, measured in the same run: the raw X25519 operations the
 * primitives need, with node:crypto (a seal is one key generation and one Diffie-Hellman, an open
 * one Diffie-Hellman): HPKE cannot be faster than its key agreement. Needs a build
 * (`npm run build`). Prints one JSON object last.
 *
 *   node bench/hpke.mjs
 */
import { diffieHellman, generateKeyPairSync } from 'node:crypto';
import {
  envelopeDigest,
  generateHpkeKeyPair,
  openRectification,
  sealRectification,
} from '../packages/protocol/dist/crypto/hpke.js';

const CTX = {
  chainId: 'bench',
  org: 'bank',
  subject: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
  record: 'ab'.repeat(32),
};
const VALUE = {
  street: '2 New Road',
  city: 'Leeds',
  postcode: 'LS1 1AA',
  country: 'United Kingdom',
  note: 'x'.repeat(30),
};

async function rate(ms, f) {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await f();
    n++;
  }
  return Math.round((n * 1000) / (performance.now() - t0));
}

export async function run(options = {}) {
  const ms = options.quick ? 1000 : 3000;
  const kp = await generateHpkeKeyPair();
  const env = await sealRectification(kp.publicKey, CTX, VALUE);
  const seal = await rate(ms, () => sealRectification(kp.publicKey, CTX, VALUE));
  const open = await rate(ms, () => openRectification(kp.privateKey, env, CTX));
  const digest = await rate(ms / 3, () => envelopeDigest(env));
  const a = generateKeyPairSync('x25519');
  const b = generateKeyPairSync('x25519');
  const dh = await rate(ms, () => diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey }));
  const keygen = await rate(ms, () => generateKeyPairSync('x25519'));
  const sealCeiling = Math.round(1 / (1 / dh + 1 / keygen));
  return {
    scenario: 'hpke',
    suite: 'DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM',
    valueBytes: JSON.stringify(VALUE).length,
    envelopeBytes: JSON.stringify(env).length,
    sealsPerSecond: seal,
    opensPerSecond: open,
    digestsPerSecond: digest,
    ceiling: { x25519DhPerSecond: dh, x25519KeygenPerSecond: keygen, sealPerSecond: sealCeiling, openPerSecond: dh },
    ratio: {
      seal: Math.round((seal / sealCeiling) * 100) / 100,
      open: Math.round((open / dh) * 100) / 100,
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await run()));
