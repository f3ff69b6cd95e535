/**
 * The customer wallet (ADR 0003): pairwise derivation checked against node:crypto's HKDF and Ed25519,
 * unlinkability of two orgs' views, and the passphrase-protected export, decrypted independently
 * with node:crypto, with every malformed, oversized, tampered or mutated export rejected by code.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  sign as nodeSign,
  randomBytes,
  scryptSync,
} from 'node:crypto';
import { inspect } from 'node:util';
import { codeChecker } from '@custos/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../src/b64.js';
import { toHex, utf8 } from '../src/bytes.js';
import { didFromPublicKey, publicKeyFromDid } from '../src/crypto/didkey.js';
import { nobleVerifier, publicKeyOf, type Signer } from '../src/crypto/ed25519.js';
import { ProtocolError, type ProtocolErrorCode } from '../src/errors.js';
import { canonicalize } from '../src/jcs.js';
import { signTx } from '../src/ledger/tx.js';
import {
  DEFAULT_SCRYPT_N,
  exportWallet,
  importWallet,
  MAX_WALLET_EXPORT_BYTES,
  MIN_SCRYPT_N,
  WALLET_PADDING_BLOCK,
  type WalletExport,
} from '../src/wallet/export.js';
import { derivePairwiseSeed, PAIRWISE_SALT } from '../src/wallet/pairwise.js';
import { MAX_RELATIONSHIPS, Wallet } from '../src/wallet/wallet.js';

const CHAIN = 'custos-test';
const PASS = 'correct horse battery staple';
const FAST = { scryptN: MIN_SCRYPT_N };
/** Golden vector, also printed in docs/adr/0003-wallet-keys.md for other implementations. */
const GOLDEN = {
  master: Uint8Array.from({ length: 32 }, (_, i) => i),
  chainId: 'custos-test',
  orgId: 'acme-bank',
  seed: '89595981b39e7b3af671f0462be9a5fd17cd35b4ba885f86dc851cae89bd9a0b',
  publicKey: '3dc70aa43283f4862821d1218ecf765b449c2b73c67c15a3ba9e494ac393b376',
  did: 'did:key:z6MkicQwxijTTEsSWpbRqKrAjtFWuDLDJ6ABuEc651ymo7WV',
};

/** Reproducible master secrets, so statistical checks cannot flake. */
function master(i: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`test master ${i}`).digest());
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * A stand-in signer whose public key is the seed itself, for the capacity tests only: deriving
 * 10,000 real Ed25519 keys costs seconds, and capacity does not depend on the curve.
 */
function cheapSigner(secretKey: Uint8Array): Signer {
  return {
    publicKey: secretKey.slice(),
    sign: () => {
      throw new Error('cheapSigner does not sign');
    },
  };
}

/** node:crypto Ed25519, as the node would plug it in: an independent implementation. */
function nativeSigner(secretKey: Uint8Array): Signer {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return {
    publicKey: new Uint8Array(Buffer.from(jwk.x as string, 'base64url')),
    sign: (message) => new Uint8Array(nodeSign(null, message, key)),
  };
}

function nodeHkdf(masterSecret: Uint8Array, chainId: string, orgId: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', masterSecret, PAIRWISE_SALT, `${chainId}\n${orgId}`, 32));
}

const expectCode = codeChecker(ProtocolError);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

async function expectRejects(p: Promise<unknown>, code: ProtocolErrorCode): Promise<ProtocolError> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(ProtocolError);
  expect((e as ProtocolError).code).toBe(code);
  return e as ProtocolError;
}

function bitCount(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    let x = (a[i] as number) ^ (b[i] as number);
    for (; x !== 0; x &= x - 1) n++;
  }
  return n;
}

function commonPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length * 8; i++) {
    const bit = (x: Uint8Array) => ((x[i >> 3] as number) >> (7 - (i & 7))) & 1;
    if (bit(a) !== bit(b)) return i;
  }
  return a.length * 8;
}

/** Every substring of `s` of `width` characters. */
function windows(s: string, width: number): string[] {
  return Array.from({ length: Math.max(0, s.length - width + 1) }, (_, i) => s.slice(i, i + width));
}

/** Encrypts any plaintext exactly as the ADR specifies, with node:crypto: a hostile but well-keyed export. */
function sealWithNode(plaintext: Uint8Array, passphrase = PASS, pad = true): WalletExport {
  const padded = pad
    ? Buffer.alloc(Math.max(1, Math.ceil(plaintext.length / WALLET_PADDING_BLOCK)) * WALLET_PADDING_BLOCK, 0x20)
    : Buffer.alloc(plaintext.length);
  padded.set(plaintext);
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const key = scryptSync(passphrase.normalize('NFKC'), salt, 32, { N: MIN_SCRYPT_N, r: 8, p: 1 });
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from('custos/wallet/v1'));
  const ct = Buffer.concat([cipher.update(padded), cipher.final(), cipher.getAuthTag()]);
  return {
    version: 1,
    kdf: { name: 'scrypt', N: MIN_SCRYPT_N, r: 8, p: 1, salt: salt.toString('base64url') },
    cipher: { name: 'aes-256-gcm', nonce: nonce.toString('base64url'), ciphertext: ct.toString('base64url') },
  };
}

function openWithNode(file: WalletExport, passphrase = PASS): Buffer {
  const key = scryptSync(passphrase.normalize('NFKC'), Buffer.from(file.kdf.salt, 'base64url'), 32, {
    N: file.kdf.N,
    r: 8,
    p: 1,
    maxmem: 256 * file.kdf.N * 8,
  });
  const sealed = Buffer.from(file.cipher.ciphertext, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(file.cipher.nonce, 'base64url'));
  decipher.setAAD(Buffer.from('custos/wallet/v1'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

function payload(relationships: unknown[], masterSecret: unknown = toBase64url(master(0))): Uint8Array {
  return utf8(canonicalize({ version: 1, masterSecret, relationships } as never));
}

const chainIdArb = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,63}$/);
const orgIdArb = fc
  .string({ minLength: 1, maxLength: 64, unit: 'grapheme' })
  .filter((s) => s.length <= 256 && ![...s].some((c) => (c.codePointAt(0) as number) < 0x20 || c === '\u007f'));

describe('pairwise derivation: HKDF-SHA256 (RFC 5869) to an Ed25519 seed (RFC 8032)', () => {
  it('reproduces the golden vector of ADR 0003', () => {
    const seed = derivePairwiseSeed(GOLDEN.master, GOLDEN.chainId, GOLDEN.orgId);
    expect(toHex(seed)).toBe(GOLDEN.seed);
    expect(toHex(publicKeyOf(seed))).toBe(GOLDEN.publicKey);
    expect(Wallet.fromMasterSecret(GOLDEN.master).relationship(GOLDEN.chainId, GOLDEN.orgId).did).toBe(GOLDEN.did);
  });

  it('matches HKDF and Ed25519 computed independently with node:crypto', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), chainIdArb, orgIdArb, (m, chainId, orgId) => {
        const seed = derivePairwiseSeed(m, chainId, orgId);
        expect(toHex(seed)).toBe(toHex(nodeHkdf(m, chainId, orgId)));
        const did = Wallet.fromMasterSecret(m).relationship(chainId, orgId).did;
        expect(did).toBe(didFromPublicKey(nativeSigner(seed).publicKey));
      }),
      { numRuns: 100 },
    );
  });

  it('is deterministic: the same master secret gives the same pseudonyms, in any order', () => {
    const a = Wallet.fromMasterSecret(master(1));
    const b = Wallet.fromMasterSecret(master(1));
    const da = ['org-a', 'org-b', 'org-c'].map((o) => a.relationship(CHAIN, o).did);
    const db = ['org-c', 'org-b', 'org-a'].map((o) => b.relationship(CHAIN, o).did).reverse();
    expect(db).toEqual(da);
    expect(a.relationship(CHAIN, 'org-a').did).toBe(da[0]);
  });

  it('gives different pseudonyms to different orgs and to the same org on different chains', () => {
    const w = Wallet.fromMasterSecret(master(2));
    const dids = [
      w.relationship('chain-one', 'org-a').did,
      w.relationship('chain-one', 'org-b').did,
      w.relationship('chain-two', 'org-a').did,
      w.relationship('chain-two', 'org-b').did,
      // The newline separator keeps these apart: ('chain', 'one\norg-a') is not ('chain-one', 'org-a').
      w.relationship('chain', 'one org-a').did,
    ];
    expect(new Set(dids).size).toBe(dids.length);
  });

  it('rejects ids that are malformed or would collide in UTF-8 with BAD_WALLET', () => {
    const m = master(3);
    for (const chainId of ['', 'Custos', '-x', 'a b', 'a\nb', 'x'.repeat(65), 7]) {
      expectCode(() => derivePairwiseSeed(m, chainId as string, 'org'), 'BAD_WALLET');
    }
    // A lone surrogate encodes as U+FFFD: accepting it would give '\ud800' and '\ufffd' one pseudonym.
    for (const orgId of ['', 'a\u0000b', 'a\nb', '\u007f', '\ud800', 'x\udfff', 'o'.repeat(257), null]) {
      expectCode(() => derivePairwiseSeed(m, CHAIN, orgId as string), 'BAD_WALLET');
    }
    expect(toHex(derivePairwiseSeed(m, CHAIN, '\ufffd'))).toBe(toHex(nodeHkdf(m, CHAIN, '\ufffd')));
    expect(derivePairwiseSeed(m, CHAIN, 'o'.repeat(256))).toHaveLength(32);
  });

  it('rejects a master secret that is not 32 bytes with BAD_KEY', () => {
    expectCode(() => Wallet.fromMasterSecret(new Uint8Array(31)), 'BAD_KEY');
    expectCode(() => Wallet.fromMasterSecret('secret' as unknown as Uint8Array), 'BAD_KEY');
    expectCode(() => derivePairwiseSeed(new Uint8Array(33), CHAIN, 'org'), 'BAD_KEY');
  });
});

describe('Wallet', () => {
  it('creates a fresh random master secret each time', () => {
    const a = Wallet.create().relationship(CHAIN, 'org');
    const b = Wallet.create().relationship(CHAIN, 'org');
    expect(a.did).not.toBe(b.did);
  });

  it('copies the master secret it is given', () => {
    const m = master(4);
    const w = Wallet.fromMasterSecret(m);
    const before = w.relationship(CHAIN, 'org').did;
    m.fill(0);
    expect(w.relationship(CHAIN, 'org-2').did).toBe(
      Wallet.fromMasterSecret(master(4)).relationship(CHAIN, 'org-2').did,
    );
    expect(w.relationship(CHAIN, 'org').did).toBe(before);
  });

  it('lists the relationships it used or was told about, with labels and createdAt', () => {
    let clock = 1_000;
    const w = Wallet.fromMasterSecret(master(5), { now: () => clock++ });
    const used = w.relationship(CHAIN, 'bank');
    const told = w.addRelationship(CHAIN, 'insurer', 'Car insurance');
    expect(w.relationships()).toEqual([
      { chainId: CHAIN, orgId: 'bank', did: used.did, createdAt: 1_000 },
      { chainId: CHAIN, orgId: 'insurer', did: told.did, label: 'Car insurance', createdAt: 1_001 },
    ]);
    // Using a known relationship keeps it; labelling it keeps createdAt.
    expect(w.relationship(CHAIN, 'insurer').did).toBe(told.did);
    expect(w.addRelationship(CHAIN, 'bank', 'Current account')).toEqual({
      chainId: CHAIN,
      orgId: 'bank',
      did: used.did,
      label: 'Current account',
      createdAt: 1_000,
    });
    expect(w.relationships()).toHaveLength(2);
    expect(Object.isFrozen(w.relationships()[0])).toBe(true);
    expect(w.relationship(CHAIN, 'insurer').label).toBe('Car insurance');
  });

  it('rejects malformed labels with BAD_WALLET', () => {
    const w = Wallet.fromMasterSecret(master(6));
    for (const label of ['', 'a\nb', '\ud800', 'l'.repeat(257), 5]) {
      expectCode(() => w.addRelationship(CHAIN, 'org', label as string), 'BAD_WALLET');
    }
    expect(w.relationships()).toEqual([]);
  });

  it('links its own pseudonyms by did, and nobody else’s', () => {
    const w = Wallet.fromMasterSecret(master(7));
    const a = w.relationship(CHAIN, 'org-a');
    const b = w.addRelationship('other-chain', 'org-b');
    expect(w.findByDid(a.did)).toMatchObject({ chainId: CHAIN, orgId: 'org-a' });
    expect(w.findByDid(b.did)).toMatchObject({ chainId: 'other-chain', orgId: 'org-b' });
    expect(w.findByDid(Wallet.fromMasterSecret(master(8)).relationship(CHAIN, 'org-a').did)).toBeUndefined();
    expect(w.findByDid('not a did')).toBeUndefined();
    expect(w.findByDid(42 as unknown as string)).toBeUndefined();
  });

  it('uses the signer factory it is given, with the same keys and signatures as the noble default', () => {
    const seen: Uint8Array[] = [];
    const native = Wallet.fromMasterSecret(master(9), {
      signerFactory: (sk) => {
        seen.push(sk);
        return nativeSigner(sk);
      },
    });
    const noble = Wallet.fromMasterSecret(master(9));
    const n = native.relationship(CHAIN, 'org');
    const j = noble.relationship(CHAIN, 'org');
    expect(n.did).toBe(j.did);
    expect(toHex(seen[0] as Uint8Array)).toBe(toHex(derivePairwiseSeed(master(9), CHAIN, 'org')));
    const msg = utf8('consent');
    expect(toHex(n.signer.sign(msg))).toBe(toHex(j.signer.sign(msg)));
    expect(nobleVerifier.verify(publicKeyFromDid(n.did), msg, n.signer.sign(msg))).toBe(true);
  });

  it('never serialises or prints its master secret or relationships', () => {
    const m = master(10);
    const w = Wallet.fromMasterSecret(m);
    w.addRelationship(CHAIN, 'secret-org', 'my label');
    expect(JSON.stringify(w)).toBe('{}');
    expect(Object.getOwnPropertyNames(w)).toEqual([]);
    expect('toJSON' in w).toBe(false);
    const printed = `${inspect(w, { showHidden: true, depth: 10 })} ${String(w)}`;
    for (const leak of [toHex(m), toBase64url(m), 'secret-org', 'my label', 'Uint8Array']) {
      expect(printed).not.toContain(leak);
    }
  });

  it(`holds at most ${MAX_RELATIONSHIPS} relationships`, () => {
    const w = Wallet.fromMasterSecret(master(11), { signerFactory: cheapSigner });
    for (let i = 0; i < MAX_RELATIONSHIPS; i++) w.addRelationship(CHAIN, `org-${i}`);
    expect(w.relationships()).toHaveLength(MAX_RELATIONSHIPS);
    expectCode(() => w.relationship(CHAIN, 'one-more'), 'BAD_WALLET');
    expect(w.addRelationship(CHAIN, 'org-0', 'still labelled').label).toBe('still labelled');
  });
});

describe('unlinkability: two orgs each see only their own pseudonym', () => {
  /** Everything org `orgId` learns from a customer: its did, its public key and transactions it receives. */
  function orgView(w: Wallet, orgId: string) {
    const { did, signer } = w.relationship(CHAIN, orgId);
    const txs = [1, 2, 3].map((i) =>
      signTx(
        {
          chainId: CHAIN,
          type: 'consent.grant',
          args: { org: orgId, purposes: ['dpv:Marketing'] },
          now: 1_767_225_600_000 + i,
          nonce: new Uint8Array(16).fill(i),
        },
        signer,
      ),
    );
    return { did, publicKey: signer.publicKey, txs, text: `${did} ${toHex(signer.publicKey)} ${JSON.stringify(txs)}` };
  }

  it('shares no value, key fragment or signature between the two views', () => {
    const m = master(20);
    const w = Wallet.fromMasterSecret(m);
    const a = orgView(w, 'org-a');
    const b = orgView(w, 'org-b');
    expect(a.did).not.toBe(b.did);
    // Whatever words A's and B's views of this customer share, A's view of this customer also
    // shares with B's view of a stranger (field names, chain, type, times, nonces): nothing says "same customer".
    const tokens = (text: string) => new Set(text.split(/[^A-Za-z0-9_-]+/).filter((t) => t.length > 0));
    const shared = (x: Set<string>, y: Set<string>) => new Set([...x].filter((t) => y.has(t)));
    const strangerB = orgView(Wallet.fromMasterSecret(master(99)), 'org-b');
    expect(shared(tokens(a.text), tokens(b.text))).toEqual(shared(tokens(a.text), tokens(strangerB.text)));
    // No 6-byte fragment of B's public key, and no 8-character fragment of its did or signatures, is in A's view.
    for (const frag of windows(toHex(b.publicKey), 12)) expect(a.text).not.toContain(frag);
    for (const frag of windows(b.did.slice('did:key:z6Mk'.length), 8)) expect(a.text).not.toContain(frag);
    for (const tx of b.txs) for (const frag of windows(tx.sig, 8)) expect(a.text).not.toContain(frag);
    // Neither view holds the master secret or any pairwise secret key.
    for (const view of [a.text, b.text]) {
      expect(view).not.toContain(toHex(m));
      expect(view).not.toContain(toHex(derivePairwiseSeed(m, CHAIN, 'org-a')));
      expect(view).not.toContain(toHex(derivePairwiseSeed(m, CHAIN, 'org-b')));
    }
    // A's signatures verify under A's key only.
    const tx = a.txs[0]!;
    const body = utf8(canonicalize(tx.body));
    expect(nobleVerifier.verify(a.publicKey, body, fromBase64url(tx.sig))).toBe(true);
    expect(nobleVerifier.verify(b.publicKey, body, fromBase64url(tx.sig))).toBe(false);
  });

  it('keeps B’s key out of reach of A, even if A learnt its own pairwise secret key', () => {
    const m = master(21);
    const seedA = derivePairwiseSeed(m, CHAIN, 'org-a');
    const pubA = publicKeyOf(seedA);
    const pubB = publicKeyOf(derivePairwiseSeed(m, CHAIN, 'org-b'));
    // Every derivation A could try from what it holds, with B's public info, misses B's key.
    const info = `${CHAIN}\norg-b`;
    for (const ikm of [seedA, pubA, utf8(didFromPublicKey(pubA))]) {
      const guess = new Uint8Array(hkdfSync('sha256', ikm, PAIRWISE_SALT, info, 32));
      expect(toHex(publicKeyOf(guess))).not.toBe(toHex(pubB));
    }
  });

  it('gives keys with no more in common than two random keys (no shared prefix, half the bits differ)', () => {
    const same: number[] = [];
    const other: number[] = [];
    for (let i = 0; i < 200; i++) {
      const pubA = Wallet.fromMasterSecret(master(100 + i)).relationship(CHAIN, 'org-a').signer.publicKey;
      const pubB = Wallet.fromMasterSecret(master(100 + i)).relationship(CHAIN, 'org-b').signer.publicKey;
      const pubB2 = Wallet.fromMasterSecret(master(1000 + i)).relationship(CHAIN, 'org-b').signer.publicKey;
      expect(commonPrefixBits(pubA, pubB)).toBeLessThan(20);
      expect(pubA[0] === pubB[0] && pubA[1] === pubB[1]).toBe(false);
      same.push(bitCount(pubA, pubB));
      other.push(bitCount(pubA, pubB2));
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    // 256 bits: a random pair differs in 128 +- 8; the mean of 200 pairs lies within 128 +- 0.6.
    // The same customer's two keys are as far apart as two different customers' keys: no signal.
    expect(Math.abs(mean(same) - 128)).toBeLessThan(3);
    expect(Math.abs(mean(other) - 128)).toBeLessThan(3);
    expect(Math.abs(mean(same) - mean(other))).toBeLessThan(4);
    expect(Math.min(...same)).toBeGreaterThan(64);
    expect(Math.max(...same)).toBeLessThan(192);
  });

  it('gives another customer with the same orgs entirely different pseudonyms', () => {
    const orgs = ['org-a', 'org-b', 'org-c'];
    const one = orgs.map((o) => Wallet.fromMasterSecret(master(30)).relationship(CHAIN, o).did);
    const two = orgs.map((o) => Wallet.fromMasterSecret(master(31)).relationship(CHAIN, o).did);
    expect(new Set([...one, ...two]).size).toBe(6);
  });

  it('lets the wallet, and only the wallet, link both pseudonyms', () => {
    const w = Wallet.fromMasterSecret(master(22));
    const a = orgView(w, 'org-a');
    const b = orgView(w, 'org-b');
    expect(w.findByDid(a.did)?.orgId).toBe('org-a');
    expect(w.findByDid(b.did)?.orgId).toBe('org-b');
    const stranger = Wallet.fromMasterSecret(master(23));
    stranger.relationship(CHAIN, 'org-a');
    stranger.relationship(CHAIN, 'org-b');
    expect(stranger.findByDid(a.did)).toBeUndefined();
    expect(stranger.findByDid(b.did)).toBeUndefined();
  });
});

describe('export and import (scrypt + AES-256-GCM)', () => {
  function sample(): Wallet {
    let clock = 1_767_225_600_000;
    const w = Wallet.fromMasterSecret(master(40), { now: () => clock++ });
    w.relationship(CHAIN, 'did:key:z6MkicQwxijTTEsSWpbRqKrAjtFWuDLDJ6ABuEc651ymo7WV');
    w.addRelationship(CHAIN, 'northwind-insurance', 'Home insurance');
    w.addRelationship('retail-chain', 'fabrikam-stores', 'Loyalty card ✓');
    return w;
  }

  it('round-trips: the same dids, labels, createdAt and signatures', async () => {
    const w = sample();
    const file = await exportWallet(w, PASS, FAST);
    const back = await importWallet(JSON.stringify(file), PASS);
    expect(back.relationships()).toEqual(w.relationships());
    const rel = w.relationships()[1]!;
    const msg = utf8('grant');
    expect(toHex(back.relationship(rel.chainId, rel.orgId).signer.sign(msg))).toBe(
      toHex(w.relationship(rel.chainId, rel.orgId).signer.sign(msg)),
    );
    // The master secret came back too: a relationship made after the export has the same pseudonym.
    expect(back.relationship(CHAIN, 'new-org').did).toBe(w.relationship(CHAIN, 'new-org').did);
    // The parsed object and its UTF-8 bytes are accepted as well.
    expect((await importWallet(file, PASS)).relationships()).toHaveLength(3);
    expect((await importWallet(utf8(JSON.stringify(file)), PASS)).relationships()).toHaveLength(3);
  });

  it(`uses scrypt N = 2^17, r = 8, p = 1 by default`, async () => {
    const file = await exportWallet(sample(), PASS);
    expect(file.kdf).toMatchObject({ name: 'scrypt', N: DEFAULT_SCRYPT_N, r: 8, p: 1 });
    expect(DEFAULT_SCRYPT_N).toBe(2 ** 17);
    // Opened with node:crypto's scrypt at the file's own parameters (the JS import path is covered with FAST below).
    const opened = JSON.parse(openWithNode(file).toString('utf8').trimEnd()) as { relationships: unknown[] };
    expect(opened.relationships).toHaveLength(3);
  });

  it('is the format ADR 0003 specifies: node:crypto decrypts it to canonical JSON padded with spaces', async () => {
    const w = sample();
    const file = await exportWallet(w, PASS, FAST);
    expect(Object.keys(file)).toEqual(['version', 'kdf', 'cipher']);
    expect(fromBase64url(file.kdf.salt)).toHaveLength(16);
    expect(fromBase64url(file.cipher.nonce)).toHaveLength(12);
    const sealed = openWithNode(file);
    expect(sealed.length % WALLET_PADDING_BLOCK).toBe(0);
    const plain = sealed.toString('utf8');
    const json = plain.trimEnd();
    expect(canonicalize(JSON.parse(json))).toBe(json);
    expect(JSON.parse(json)).toEqual({
      version: 1,
      masterSecret: toBase64url(master(40)),
      relationships: w.relationships().map(({ did: _, ...r }) => r),
    });
    // And an export written by node:crypto from that description imports.
    const again = await importWallet(sealWithNode(utf8(json)), PASS);
    expect(again.relationships()).toEqual(w.relationships());
  });

  it('shows no org id, chain id, label, did or secret in clear, and hides the ids’ lengths', async () => {
    const w = sample();
    const text = JSON.stringify(await exportWallet(w, PASS, FAST));
    const clear = w.relationships().flatMap((r) => [r.orgId, r.chainId, r.did, r.label ?? 'no label']);
    for (const s of [...clear, 'northwind', 'fabrikam', 'z6Mk', toHex(master(40)), toBase64url(master(40))]) {
      expect(text).not.toContain(s);
    }
    const short = Wallet.fromMasterSecret(master(41));
    short.addRelationship('c', 'o');
    const long = Wallet.fromMasterSecret(master(41));
    long.addRelationship('c'.repeat(64), 'o'.repeat(256), 'l'.repeat(256));
    const a = await exportWallet(short, PASS, FAST);
    const b = await exportWallet(long, PASS, FAST);
    expect(a.cipher.ciphertext.length).toBe(b.cipher.ciphertext.length);
  });

  it('normalises the passphrase to NFKC', async () => {
    const file = await exportWallet(sample(), 'ｐａｓｓｗｏｒｄ１２', FAST);
    expect((await importWallet(file, 'password12')).relationships()).toHaveLength(3);
    const composed = await exportWallet(sample(), 'caf\u00e9 au lait', FAST);
    expect((await importWallet(composed, 'cafe\u0301 au lait')).relationships()).toHaveLength(3);
  });

  it('refuses to export under a passphrase shorter than 8 characters (BAD_KEY), or with a bad scrypt N', async () => {
    const w = sample();
    await expectRejects(exportWallet(w, 'short12'), 'BAD_KEY');
    await expectRejects(exportWallet(w, 42 as unknown as string), 'BAD_KEY');
    await expectRejects(exportWallet(w, 'lone \ud800 surrogate'), 'BAD_KEY');
    for (const scryptN of [2 ** 9, 2 ** 19, 1000, 2 ** 10 + 1])
      await expectRejects(exportWallet(w, PASS, { scryptN }), 'BAD_KEY');
    // Eight code points, even when they take more UTF-16 units.
    expect((await exportWallet(w, '😀😀😀😀😀😀😀😀', FAST)).version).toBe(1);
  });

  it('answers a wrong passphrase with WRONG_PASSPHRASE', async () => {
    const file = await exportWallet(sample(), PASS, FAST);
    await expectRejects(importWallet(file, 'Correct horse battery staple'), 'WRONG_PASSPHRASE');
    await expectRejects(importWallet(file, 'short'), 'WRONG_PASSPHRASE');
    await expectRejects(importWallet(file, undefined as unknown as string), 'WRONG_PASSPHRASE');
  });

  it('answers any tampering with the ciphertext, tag, nonce, salt or cost with WRONG_PASSPHRASE', async () => {
    const file = await exportWallet(sample(), PASS, FAST);
    const sealed = fromBase64url(file.cipher.ciphertext);
    for (const at of [0, 1, 100, sealed.length - 17, sealed.length - 16, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[at] = (bad[at] as number) ^ 0x01;
      const e = await expectRejects(
        importWallet({ ...file, cipher: { ...file.cipher, ciphertext: toBase64url(bad) } }, PASS),
        'WRONG_PASSPHRASE',
      );
      expect(e.message).toMatch(/wrong passphrase or altered export/);
    }
    const flip = (s: string) => {
      const b = fromBase64url(s);
      b[0] = (b[0] as number) ^ 0x80;
      return toBase64url(b);
    };
    await expectRejects(
      importWallet({ ...file, cipher: { ...file.cipher, nonce: flip(file.cipher.nonce) } }, PASS),
      'WRONG_PASSPHRASE',
    );
    await expectRejects(
      importWallet({ ...file, kdf: { ...file.kdf, salt: flip(file.kdf.salt) } }, PASS),
      'WRONG_PASSPHRASE',
    );
    await expectRejects(importWallet({ ...file, kdf: { ...file.kdf, N: 2 ** 11 } }, PASS), 'WRONG_PASSPHRASE');
  });

  it('rejects malformed and oversized exports with BAD_WALLET', async () => {
    const file = await exportWallet(sample(), PASS, FAST);
    const good = JSON.parse(JSON.stringify(file)) as Record<string, Record<string, unknown>>;
    const withField = (path: string, value: unknown) => {
      const copy = JSON.parse(JSON.stringify(good)) as Record<string, Record<string, unknown>>;
      const [outer, inner] = path.split('.') as [string, string | undefined];
      if (inner === undefined) copy[outer] = value as Record<string, unknown>;
      else (copy[outer] as Record<string, unknown>)[inner] = value;
      if (value === undefined) {
        if (inner === undefined) delete copy[outer];
        else delete (copy[outer] as Record<string, unknown>)[inner];
      }
      return copy;
    };
    const sealed = fromBase64url(file.cipher.ciphertext);
    const throwing = Object.defineProperty({ ...good }, 'version', {
      enumerable: true,
      get() {
        throw new RangeError('hostile getter');
      },
    });
    const cases: unknown[] = [
      null,
      undefined,
      42,
      '',
      'not json',
      '{"version":1',
      '[]',
      [],
      {},
      new Map(),
      new Uint8Array([0xff, 0xfe]),
      throwing,
      new Proxy(good, {
        ownKeys() {
          throw new TypeError('hostile proxy');
        },
      }),
      withField('version', 2),
      withField('version', '1'),
      withField('version', undefined),
      withField('extra', 1),
      withField('kdf', 'scrypt'),
      withField('kdf.name', 'pbkdf2'),
      withField('kdf.N', 2 ** 19),
      withField('kdf.N', 2 ** 30),
      withField('kdf.N', 2 ** 9),
      withField('kdf.N', 1000),
      withField('kdf.N', '1024'),
      withField('kdf.r', 4),
      withField('kdf.p', 2),
      withField('kdf.salt', 'AAAA'),
      withField('kdf.salt', `${good.kdf?.salt}=`),
      withField('kdf.extra', true),
      withField('cipher.name', 'chacha20-poly1305'),
      withField('cipher.nonce', toBase64url(new Uint8Array(16))),
      withField('cipher.ciphertext', undefined),
      withField('cipher.ciphertext', 42),
      withField('cipher.ciphertext', toBase64url(sealed.subarray(0, 16))),
      withField('cipher.ciphertext', toBase64url(sealed.subarray(0, sealed.length - 1))),
      withField('cipher.ciphertext', `${file.cipher.ciphertext.slice(0, -1)}!`),
      withField('cipher.ciphertext', 'A'.repeat(MAX_WALLET_EXPORT_BYTES)),
      JSON.stringify(good) + ' '.repeat(MAX_WALLET_EXPORT_BYTES),
      utf8(JSON.stringify(good) + ' '.repeat(MAX_WALLET_EXPORT_BYTES)),
    ];
    for (const input of cases) await expectRejects(importWallet(input, PASS), 'BAD_WALLET');
  });

  it('rejects a well-keyed export whose content is malformed with BAD_WALLET', async () => {
    const rel = { chainId: CHAIN, orgId: 'org', createdAt: 1 };
    const plaintexts: Uint8Array[] = [
      new Uint8Array([0xff, 0xfe, 0xfd]),
      utf8('not json'),
      utf8('{"version":1, "masterSecret":"x"}'),
      utf8(JSON.stringify({ version: 1, relationships: [], masterSecret: toBase64url(master(0)) })),
      payload([], toBase64url(new Uint8Array(31))),
      payload([], 'not base64!'),
      payload([], 7),
      utf8(canonicalize({ version: 2, masterSecret: toBase64url(master(0)), relationships: [] })),
      utf8(canonicalize({ version: 1, masterSecret: toBase64url(master(0)), relationships: [], extra: 1 })),
      payload({} as unknown as unknown[]),
      payload([rel, rel]),
      payload([{ ...rel, chainId: 'Bad Chain' }]),
      payload([{ ...rel, orgId: '' }]),
      payload([{ ...rel, label: '' }]),
      payload([{ ...rel, label: null }]),
      payload([{ ...rel, createdAt: -1 }]),
      payload([{ ...rel, createdAt: 1.5 }]),
      payload([{ ...rel, did: 'did:key:z6Mk' }]),
      payload(['org']),
      payload(Array.from({ length: MAX_RELATIONSHIPS + 1 }, (_, i) => ({ ...rel, orgId: `o${i}` }))),
    ];
    for (const p of plaintexts) await expectRejects(importWallet(sealWithNode(p), PASS), 'BAD_WALLET');
    // Padding other than spaces, or a plaintext not a multiple of the block, is rejected too.
    const json = payload([rel]);
    const tabs = new Uint8Array(WALLET_PADDING_BLOCK).fill(0x09);
    tabs.set(json);
    await expectRejects(importWallet(sealWithNode(tabs, PASS, false), PASS), 'BAD_WALLET');
    await expectRejects(importWallet(sealWithNode(json, PASS, false), PASS), 'BAD_WALLET');
    expect((await importWallet(sealWithNode(json), PASS)).relationships()).toHaveLength(1);
  });

  it(`carries ${MAX_RELATIONSHIPS} relationships with short ids, and refuses a wallet too large for 1 MiB`, async () => {
    const full = Wallet.fromMasterSecret(master(42), { signerFactory: cheapSigner, now: () => 1_767_225_600_000 });
    for (let i = 0; i < MAX_RELATIONSHIPS; i++) full.addRelationship(CHAIN, `org-${i}`);
    const file = await exportWallet(full, PASS, FAST);
    expect(JSON.stringify(file).length).toBeLessThanOrEqual(MAX_WALLET_EXPORT_BYTES);
    const back = await importWallet(JSON.stringify(file), PASS, { signerFactory: cheapSigner });
    // Compared as JSON text: one string comparison instead of a deep-equal over 10,000 objects.
    expect(JSON.stringify(back.relationships())).toBe(JSON.stringify(full.relationships()));

    const big = Wallet.fromMasterSecret(master(43), { signerFactory: cheapSigner });
    for (let i = 0; i < 4000; i++) big.addRelationship(CHAIN, `${'o'.repeat(250)}-${i}`);
    const e = await expectRejects(exportWallet(big, PASS, FAST), 'BAD_WALLET');
    expect(e.message).toMatch(/1048576 bytes/);
  });

  it('throws nothing but BAD_WALLET or WRONG_PASSPHRASE on mutated exports (fast-check)', async () => {
    const file = await exportWallet(sample(), PASS, FAST);
    const text = JSON.stringify(file);
    const paths = [[], ['version'], ['kdf'], ['kdf', 'name'], ['kdf', 'N'], ['kdf', 'r'], ['kdf', 'p'], ['kdf', 'salt']]
      .concat([['cipher'], ['cipher', 'name'], ['cipher', 'nonce'], ['cipher', 'ciphertext']])
      .map((p) => p as string[]);
    const setAt = (root: unknown, path: string[], value: unknown, remove: boolean): unknown => {
      if (path.length === 0) return value;
      const copy = { ...(root as Record<string, unknown>) };
      const [head, ...rest] = path as [string, ...string[]];
      if (rest.length === 0 && remove) delete copy[head];
      else copy[head] = setAt(copy[head], rest, value, remove);
      return copy;
    };
    const structural = fc
      .record({
        path: fc.constantFrom(...paths),
        value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.anything({ maxDepth: 2 })),
        remove: fc.boolean(),
      })
      .map(({ path, value, remove }) => setAt(JSON.parse(text), path, value, remove));
    const textual = fc
      .record({ at: fc.nat(text.length - 1), cut: fc.nat(8), insert: fc.string({ maxLength: 8, unit: 'binary' }) })
      .map(({ at, cut, insert }) => text.slice(0, at) + insert + text.slice(at + cut));
    await fc.assert(
      fc.asyncProperty(fc.oneof(structural, textual), async (input) => {
        const e = await rejection(importWallet(input, PASS));
        if (e === undefined) return; // a mutation that changed nothing (or only JSON whitespace)
        expect(e).toBeInstanceOf(ProtocolError);
        expect(['BAD_WALLET', 'WRONG_PASSPHRASE']).toContain((e as ProtocolError).code);
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        async (input) => {
          await expectRejects(importWallet(input, PASS), 'BAD_WALLET');
        },
      ),
      { numRuns: 300 },
    );
  });
});
