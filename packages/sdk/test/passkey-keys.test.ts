/**
 * The passkey wallet's keys (ADR 0016), with Node's WebCrypto: the recovery code's format, the
 * derivations from it, wrapping the wallet key under a secret bound to its context, and the wallet
 * sealed under the wallet key in the ADR 0003 export format.
 */
import { fromBase64url } from '@custos/protocol/encoding';
import { ProtocolError } from '@custos/protocol/errors';
import { describe, expect, it } from 'vitest';
import {
  deviceLinkProof,
  newLinkSecret,
  newRecoveryCode,
  newWalletKey,
  openWallet,
  parseRecoveryCode,
  recoveryKeys,
  sealWallet,
  unwrapWalletKey,
  Wallet,
  wrapWalletKey,
} from '../src/index.js';

async function code(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof ProtocolError ? e.code : String(e)),
  );
}

describe('recovery codes', () => {
  it('are 32 Crockford base32 characters in eight groups, 160 random bits, parsed back as typed', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const c = newRecoveryCode();
      expect(c).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
      seen.add(c);
      const bytes = parseRecoveryCode(c);
      expect(bytes.length).toBe(20);
      // Lower case, spaces instead of dashes, and O / I / L for 0 / 1 give the same bytes.
      const typed = c.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
      expect(parseRecoveryCode(typed)).toEqual(bytes);
    }
    expect(seen.size).toBe(50);
  });

  it('refuses a code of the wrong length or with a letter outside the alphabet', () => {
    const c = newRecoveryCode();
    for (const bad of [c.slice(0, -1), `${c}A`, c.replace(/.$/, 'U'), '', 'x'.repeat(300)]) {
      expect(() => parseRecoveryCode(bad), bad).toThrow(/expected a recovery code of 32 characters/);
    }
  });

  it('derive a lookup, an authenticator and a secret that differ from each other and from another code', async () => {
    const c = newRecoveryCode();
    const a = await recoveryKeys(c);
    const again = await recoveryKeys(c.toLowerCase());
    expect(again).toEqual(a);
    expect(fromBase64url(a.lookup).length).toBe(16);
    expect(fromBase64url(a.auth).length).toBe(32);
    expect(a.secret.length).toBe(32);
    expect(a.auth).not.toBe(Buffer.from(a.secret).toString('base64url'));
    const b = await recoveryKeys(newRecoveryCode());
    expect(b.lookup).not.toBe(a.lookup);
    expect(b.auth).not.toBe(a.auth);
  });
});

describe('device links', () => {
  it('prove the secret with an auth whose SHA-256 is the verifier, neither of them the secret', async () => {
    const secret = newLinkSecret();
    const p = await deviceLinkProof(secret);
    expect(await deviceLinkProof(secret)).toEqual(p);
    const auth = fromBase64url(p.auth, 32);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', auth as Uint8Array<ArrayBuffer>));
    expect(fromBase64url(p.verifier, 32)).toEqual(digest);
    expect(auth).not.toEqual(secret);
    expect((await deviceLinkProof(newLinkSecret())).auth).not.toBe(p.auth);
  });
});

describe('wrapped wallet keys', () => {
  it('unwrap only with the same secret and context', async () => {
    const key = newWalletKey();
    const secret = newLinkSecret();
    const wrapped = await wrapWalletKey(secret, 'passkey:abc', key);
    expect(fromBase64url(wrapped).length).toBe(60);
    expect(await unwrapWalletKey(secret, 'passkey:abc', wrapped)).toBe(key);
    expect(await code(unwrapWalletKey(secret, 'passkey:abd', wrapped))).toBe('WRONG_PASSPHRASE');
    expect(await code(unwrapWalletKey(newLinkSecret(), 'passkey:abc', wrapped))).toBe('WRONG_PASSPHRASE');
    const bytes = fromBase64url(wrapped);
    bytes[20] = bytes[20]! ^ 1;
    expect(await code(unwrapWalletKey(secret, 'passkey:abc', Buffer.from(bytes).toString('base64url')))).toBe(
      'WRONG_PASSPHRASE',
    );
    expect(await code(unwrapWalletKey(secret, 'passkey:abc', wrapped.slice(0, 40)))).toBe('BAD_KEY');
    expect(await code(wrapWalletKey(new Uint8Array(16), 'recovery', key))).toBe('BAD_KEY');
  });

  it('a wallet sealed under its wallet key opens with that key only, with every relationship', async () => {
    const w = Wallet.create();
    const bank = w.relationship('test', 'bank').did;
    const key = newWalletKey();
    const sealed = await sealWallet(w, key);
    expect(sealed.kdf.N).toBe(1024);
    const opened = await openWallet(sealed, key);
    expect(opened.relationship('test', 'bank').did).toBe(bank);
    expect(opened.relationships().map((r) => r.orgId)).toEqual(['bank']);
    expect(await code(openWallet(sealed, newWalletKey()))).toBe('WRONG_PASSPHRASE');
  });
});
