/**
 * The vault and its local KMS: round trips, access control, crypto-shredding of records and
 * subjects, and what is left on disk after an erasure (canary test: nothing).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { tempDir } from '@custos/test-utils/node';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../src/vault/aead.js';
import { type Kms, LocalKms } from '../src/vault/kms.js';
import { MAX_VALUE_BYTES, Vault } from '../src/vault/vault.js';
import { expectNodeError, runKmsSuite } from './conformance/kms.js';

const PASSPHRASE = 'correct horse battery staple';
const ORG = 'bank';
const hex = (n: number): string => randomBytes(n).toString('hex');
const newSubject = (): string => `did:key:z6Mk${hex(16)}`;
const sha256hex = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const allow = (): boolean => true;
const access = () => ({ accessTxId: hex(32) });

const root = tempDir('custos-vault-');
afterAll(root.cleanup);
let counter = 0;
const freshPath = (name: string): string => join(root.dir, `${name}-${counter++}`);

let kms: LocalKms;
let kmsPath: string;
beforeAll(() => {
  kmsPath = freshPath('kms.json');
  kms = LocalKms.create(kmsPath, PASSPHRASE);
});

/** A vault alone in a new directory, so that every file in that directory is the vault's. */
function newVault(k: Kms = kms): { vault: Vault; dir: string; path: string } {
  const dir = freshPath('vault');
  mkdirSync(dir);
  const path = join(dir, 'vault.db');
  return { vault: new Vault({ path, kms: k, org: ORG }), dir, path };
}

interface Secrets {
  subjectKey: Buffer;
  wrappedSubjectKey: Buffer;
  dataKey: Buffer;
  wrappedDataKey: Buffer;
  sealed: Buffer;
  salt: Buffer;
  text: string;
}

/**
 * White box: reads a live record's rows straight from the file and decrypts them down to the salt,
 * with the schema and key ids of src/vault/vault.ts. The tests then look for these bytes on disk.
 */
function extractSecrets(path: string, vaultRef: string): Secrets {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        `SELECT r.key_ref, r.wrapped_key, r.sealed, s.wrapped_key AS subject_key
         FROM records r JOIN subjects s ON s.key_ref = r.key_ref WHERE r.ref = ?`,
      )
      .get(vaultRef) as { key_ref: string; wrapped_key: Buffer; sealed: Buffer; subject_key: Buffer };
    const subjectKey = Buffer.from(kms.unwrap(`custos/vault/${ORG}/subject/${row.key_ref}`, row.subject_key));
    const aad = Buffer.from(vaultRef);
    const dataKey = open(subjectKey, row.wrapped_key, aad);
    const plain = dataKey && open(dataKey, row.sealed, aad);
    if (!dataKey || !plain) throw new Error('white-box decryption failed');
    return {
      subjectKey,
      wrappedSubjectKey: row.subject_key,
      dataKey,
      wrappedDataKey: row.wrapped_key,
      sealed: row.sealed,
      salt: plain.subarray(0, 32),
      text: plain.toString('utf8', 32),
    };
  } finally {
    db.close();
  }
}

/** Names of the files in `dir` whose bytes contain `needle` anywhere. */
function filesContaining(dir: string, needle: Uint8Array): string[] {
  return readdirSync(dir).filter((f) => readFileSync(join(dir, f)).includes(Buffer.from(needle)));
}

/** 64-byte pieces of a blob: a surviving page fragment of 128 bytes or more contains one of them. */
function pieces(blob: Buffer, size = 64): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + size <= blob.length; i += size) out.push(blob.subarray(i, i + size));
  return out;
}

/** Every key an attacker with the files and the KEK derives: subject keys, and the data keys they unwrap. */
function keysOnDisk(path: string): { subjectKeys: Buffer[]; dataKeys: Buffer[] } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const subjects = db.prepare('SELECT key_ref, wrapped_key FROM subjects').all() as {
      key_ref: string;
      wrapped_key: Buffer;
    }[];
    const byRef = new Map(
      subjects.map((r) => [
        r.key_ref,
        Buffer.from(kms.unwrap(`custos/vault/${ORG}/subject/${r.key_ref}`, r.wrapped_key)),
      ]),
    );
    const records = db.prepare('SELECT ref, key_ref, wrapped_key FROM records').all() as {
      ref: string;
      key_ref: string;
      wrapped_key: Buffer;
    }[];
    const dataKeys: Buffer[] = [];
    for (const r of records) {
      const k = byRef.get(r.key_ref);
      const dk = k && open(k, r.wrapped_key, Buffer.from(r.ref));
      if (dk) dataKeys.push(dk);
    }
    return { subjectKeys: [...byRef.values()], dataKeys };
  } finally {
    db.close();
  }
}

/** True if a key from `keys` opens the old record's wrapped data key or its ciphertext. */
function opensAny(keys: { subjectKeys: Buffer[]; dataKeys: Buffer[] }, old: Secrets & { ref: string }): boolean {
  const aad = Buffer.from(old.ref);
  return (
    keys.subjectKeys.some((k) => open(k, old.wrappedDataKey, aad) !== null) ||
    keys.dataKeys.some((k) => open(k, old.sealed, aad) !== null)
  );
}

runKmsSuite('LocalKms', () => LocalKms.create(freshPath('kms.json'), PASSPHRASE));

describe('LocalKms keystore file', () => {
  it('reopens with the passphrase: same id, unwraps what the first instance wrapped', () => {
    const path = freshPath('kms.json');
    const a = LocalKms.create(path, PASSPHRASE);
    const key = randomBytes(32);
    const wrapped = a.wrap('k', key);
    const b = LocalKms.open(path, PASSPHRASE);
    expect(b.id).toBe(a.id);
    expect(Buffer.from(b.unwrap('k', wrapped)).equals(key)).toBe(true);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a wrong passphrase with WRONG_PASSPHRASE', () => {
    const path = freshPath('kms.json');
    LocalKms.create(path, PASSPHRASE);
    const err = expectNodeError(() => LocalKms.open(path, 'correct horse battery stapler'), 'WRONG_PASSPHRASE');
    expect(err.message).not.toContain(PASSPHRASE);
  });

  it('refuses to overwrite, a missing file, a short passphrase and damaged files', () => {
    const path = freshPath('kms.json');
    LocalKms.create(path, PASSPHRASE);
    expectNodeError(() => LocalKms.create(path, PASSPHRASE), 'ALREADY_INITIALIZED');
    expectNodeError(() => LocalKms.open(freshPath('missing.json'), PASSPHRASE), 'NOT_INITIALIZED');
    expectNodeError(() => LocalKms.create(freshPath('kms.json'), 'short'), 'BAD_REQUEST');

    const file = JSON.parse(readFileSync(path, 'utf8'));
    const variant = (change: (f: typeof file) => void): string => {
      const f = structuredClone(file);
      change(f);
      const p = freshPath('kms.json');
      writeFileSync(p, JSON.stringify(f));
      return p;
    };
    expectNodeError(
      () =>
        LocalKms.open(
          variant((f) => (f.kind = 'custos-keystore')),
          PASSPHRASE,
        ),
      'BAD_KEYSTORE',
    );
    expectNodeError(
      () =>
        LocalKms.open(
          variant((f) => (f.kdf.N = 1 << 24)),
          PASSPHRASE,
        ),
      'BAD_KEYSTORE',
    );
    expectNodeError(
      () =>
        LocalKms.open(
          variant((f) => (f.cipher.iv = 'AAAA')),
          PASSPHRASE,
        ),
      'BAD_KEYSTORE',
    );
    // The id is authenticated: another id does not decrypt.
    expectNodeError(
      () =>
        LocalKms.open(
          variant((f) => (f.id = `local:${hex(16)}`)),
          PASSPHRASE,
        ),
      'WRONG_PASSPHRASE',
    );
    const notJson = freshPath('kms.json');
    writeFileSync(notJson, '{"version": 1,');
    expectNodeError(() => LocalKms.open(notJson, PASSPHRASE), 'BAD_KEYSTORE');
    const huge = freshPath('kms.json');
    writeFileSync(huge, ' '.repeat(5000));
    expectNodeError(() => LocalKms.open(huge, PASSPHRASE), 'BAD_KEYSTORE');
  });
});

describe('Vault', () => {
  it('round-trips JSON values and commits to salt || canonical value', () => {
    const { vault } = newVault();
    const subject = newSubject();
    const values: JsonValue[] = [
      'ada@example.org',
      42,
      null,
      true,
      [1, 'two', { three: 3 }],
      { name: 'Ada', address: { city: 'Zürich', zip: '8000' }, tags: ['🔑', ''] },
    ];
    const results = values.map((v) => vault.put(subject, v));
    const seen = new Set<string>();
    for (const [i, r] of results.entries()) {
      expect(r.vaultRef).toMatch(/^[0-9a-f]{32}$/);
      expect(r.commitment).toMatch(/^[0-9a-f]{64}$/);
      expect(vault.read(r.vaultRef, access(), allow)).toEqual(values[i]);
      expect(vault.verifyCommitment(r.vaultRef, r.commitment)).toBe(true);
      seen.add(r.vaultRef);
      seen.add(r.commitment);
    }
    expect(seen.size).toBe(2 * values.length);
    expect(vault.verifyCommitment(results[0]!.vaultRef, results[1]!.commitment)).toBe(false);
    // The same value twice: different salt, different commitment.
    expect(vault.put(subject, 'x').commitment).not.toBe(vault.put(subject, 'x').commitment);
    vault.close();
  });

  it('round-trips any JSON value (property)', () => {
    const { vault } = newVault();
    const subject = newSubject();
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const { vaultRef, commitment } = vault.put(subject, value as JsonValue);
        const back = vault.read(vaultRef, access(), allow);
        expect(canonicalize(back)).toBe(canonicalize(value));
        expect(vault.verifyCommitment(vaultRef, commitment)).toBe(true);
      }),
      { numRuns: 60 },
    );
    vault.close();
  });

  it('decrypts only for an access the node vouches for: ACCESS_DENIED otherwise', () => {
    const { vault } = newVault();
    const subject = newSubject();
    const secret = `secret-${hex(8)}`;
    const { vaultRef } = vault.put(subject, { email: `${secret}@example.org` });
    const proof = access();
    const calls: [string, string][] = [];
    const check = (ref: string, tx: string): boolean => {
      calls.push([ref, tx]);
      return false;
    };
    const err = expectNodeError(() => vault.read(vaultRef, proof, check), 'ACCESS_DENIED');
    expect(calls).toEqual([[vaultRef, proof.accessTxId]]);
    for (const text of [err.message, JSON.stringify(err.details ?? {})]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(subject);
    }
    // Only `true` opens: truthy values do not.
    const loose = (() => 1) as unknown as () => boolean;
    expectNodeError(() => vault.read(vaultRef, proof, loose), 'ACCESS_DENIED');
    // A malformed proof never reaches the check.
    calls.length = 0;
    expectNodeError(() => vault.read(vaultRef, { accessTxId: 'abc' }, check), 'BAD_REQUEST');
    expectNodeError(() => vault.read(vaultRef, undefined as never, check), 'BAD_REQUEST');
    expect(calls).toEqual([]);
    // Unknown records are not revealed to a denied reader either.
    expectNodeError(() => vault.read(hex(16), proof, check), 'ACCESS_DENIED');
    expectNodeError(() => vault.read(hex(16), proof, allow), 'NOT_FOUND');
    expectNodeError(() => vault.read('../etc', proof, allow), 'BAD_REQUEST');
    vault.close();
  });

  it('rejects oversized and non-JSON values and malformed subjects without echoing them', () => {
    const { vault } = newVault();
    const subject = newSubject();
    // Exactly at the limit: a string of n characters is n + 2 bytes of canonical JSON.
    expect(() => vault.put(subject, 'a'.repeat(MAX_VALUE_BYTES - 2))).not.toThrow();
    const big = expectNodeError(() => vault.put(subject, 'a'.repeat(MAX_VALUE_BYTES - 1)), 'BAD_REQUEST');
    expect(big.message).toBe(`expected a value of at most ${MAX_VALUE_BYTES} bytes as canonical JSON, got 65537`);
    const { vaultRef } = vault.put(subject, 'small');
    expectNodeError(() => vault.update(vaultRef, { blob: 'é'.repeat(40_000) }), 'BAD_REQUEST');
    expect(vault.read(vaultRef, access(), allow)).toBe('small');
    expectNodeError(() => vault.put(subject, Number.NaN), 'BAD_REQUEST');
    expectNodeError(() => vault.put(subject, undefined as never), 'BAD_REQUEST');
    expectNodeError(() => vault.put(subject, new Date() as never), 'BAD_REQUEST');
    const name = `Ada ${hex(6)}`;
    for (const bad of [name, `did:key:${name}`, 'did:key:', `did:key:z${'a'.repeat(600)}`, 42]) {
      const err = expectNodeError(() => vault.put(bad as string, 'v'), 'BAD_REQUEST');
      expect(err.message).not.toContain(name);
    }
    vault.close();
  });

  it('rectifies with a new salt and data key: the old commitment no longer verifies', () => {
    const { vault } = newVault();
    const subject = newSubject();
    const { vaultRef, commitment } = vault.put(subject, { email: 'old@example.org' });
    const updated = vault.update(vaultRef, { email: 'new@example.org' });
    expect(updated.commitment).not.toBe(commitment);
    expect(vault.read(vaultRef, access(), allow)).toEqual({ email: 'new@example.org' });
    expect(vault.verifyCommitment(vaultRef, commitment)).toBe(false);
    expect(vault.verifyCommitment(vaultRef, updated.commitment)).toBe(true);
    expectNodeError(() => vault.update(hex(16), 1), 'NOT_FOUND');
    vault.close();
  });

  it('erases one record: ERASED for read, verify and update; the rest of the subject stays', () => {
    const { vault } = newVault();
    const subject = newSubject();
    const a = vault.put(subject, 'a');
    const b = vault.put(subject, 'b');
    const t0 = performance.now();
    const erased = vault.eraseRecord(a.vaultRef);
    const elapsed = performance.now() - t0;
    expect(erased.alreadyErased).toBe(false);
    // The reported time is part of the call's own time (1 ms for rounding).
    expect(erased.shredMs).toBeGreaterThanOrEqual(0);
    expect(erased.shredMs).toBeLessThanOrEqual(elapsed + 1);
    expectNodeError(() => vault.read(a.vaultRef, access(), allow), 'ERASED');
    expectNodeError(() => vault.verifyCommitment(a.vaultRef, a.commitment), 'ERASED');
    expectNodeError(() => vault.update(a.vaultRef, 'a2'), 'ERASED');
    expect(vault.status(a.vaultRef)).toBe('erased');
    expect(vault.eraseRecord(a.vaultRef).alreadyErased).toBe(true);
    expectNodeError(() => vault.eraseRecord(hex(16)), 'NOT_FOUND');
    expect(vault.read(b.vaultRef, access(), allow)).toBe('b');
    expect(vault.records(subject).map((r) => r.vaultRef)).toEqual([b.vaultRef]);
    // The last record takes the subject key with it.
    expect(vault.stats().subjects).toBe(1);
    vault.eraseRecord(b.vaultRef);
    expect(vault.stats()).toMatchObject({ subjects: 0, records: 0, erased: 2, pendingCleanup: 0 });
    vault.close();
  });

  it('erases a subject by deleting its key: every record ERASED, others untouched, reported for data.erased', () => {
    const { vault } = newVault();
    const subject = newSubject();
    const other = newSubject();
    const refs = vault
      .putMany(
        subject,
        Array.from({ length: 50 }, (_, i) => ({ i })),
      )
      .map((r) => r.vaultRef);
    const kept = vault.put(other, 'kept');
    expect(
      vault
        .records(subject)
        .map((r) => r.vaultRef)
        .sort(),
    ).toEqual([...refs].sort());
    const t0 = performance.now();
    const result = vault.eraseSubject(subject);
    const elapsed = performance.now() - t0;
    expect([...result.vaultRefs].sort()).toEqual([...refs].sort());
    // Shredding and cleanup are two steps of the call: each measured, together within its time.
    expect(result.shredMs).toBeGreaterThanOrEqual(0);
    expect(result.cleanupMs).toBeGreaterThanOrEqual(0);
    expect(result.shredMs + result.cleanupMs).toBeLessThanOrEqual(elapsed + 2);
    for (const ref of refs) {
      expectNodeError(() => vault.read(ref, access(), allow), 'ERASED');
      expect(vault.status(ref)).toBe('erased');
    }
    expect(vault.records(subject)).toEqual([]);
    expect(vault.read(kept.vaultRef, access(), allow)).toBe('kept');
    expect(vault.stats()).toMatchObject({ subjects: 1, records: 1, erased: 50, pendingCleanup: 0 });
    // Erasing again erases nothing; the subject can start over under a new key.
    expect(vault.eraseSubject(subject).vaultRefs).toEqual([]);
    const again = vault.put(subject, 'new');
    expect(vault.read(again.vaultRef, access(), allow)).toBe('new');
    vault.close();
  });

  it('finishes an erasure interrupted between shred and cleanup when it next opens', () => {
    const { vault, path } = newVault();
    const subject = newSubject();
    const refs = vault.putMany(subject, ['a', 'b', 'c']).map((r) => r.vaultRef);
    vault.close();
    // What eraseSubject commits first, as if the process died right after.
    const db = new Database(path);
    db.transaction(() => {
      const { key_ref } = db.prepare('SELECT key_ref FROM subjects').get() as { key_ref: string };
      db.prepare('DELETE FROM subjects').run();
      db.prepare('INSERT INTO shredded (key_ref, erased_at) VALUES (?, ?)').run(key_ref, Date.now());
    })();
    db.close();
    const reopened = new Vault({ path, kms, org: ORG });
    expect([...reopened.recovered].sort()).toEqual([...refs].sort());
    for (const ref of refs) expectNodeError(() => reopened.read(ref, access(), allow), 'ERASED');
    expect(reopened.stats()).toMatchObject({ records: 0, erased: 3, pendingCleanup: 0 });
    reopened.close();
  });

  it('binds each wrapped data key and ciphertext to its record: swapped rows do not decrypt', () => {
    const { vault, path } = newVault();
    const subject = newSubject();
    const [a, b] = vault.putMany(subject, ['a', 'b']);
    vault.close();
    const db = new Database(path);
    const row = db.prepare('SELECT wrapped_key, sealed FROM records WHERE ref = ?');
    const ra = row.get(a!.vaultRef) as { wrapped_key: Buffer; sealed: Buffer };
    const rb = row.get(b!.vaultRef) as { wrapped_key: Buffer; sealed: Buffer };
    const set = db.prepare('UPDATE records SET wrapped_key = ?, sealed = ? WHERE ref = ?');
    set.run(rb.wrapped_key, rb.sealed, a!.vaultRef);
    set.run(ra.wrapped_key, ra.sealed, b!.vaultRef);
    db.close();
    const reopened = new Vault({ path, kms, org: ORG });
    expectNodeError(() => reopened.read(a!.vaultRef, access(), allow), 'STORE_CORRUPT');
    expectNodeError(() => reopened.read(b!.vaultRef, access(), allow), 'STORE_CORRUPT');
    reopened.close();
  });

  it('opens only with its own KMS and org; rollback journal, not WAL; owner-only file', () => {
    const { vault, path, dir } = newVault();
    vault.put(newSubject(), 'v');
    vault.close();
    const header = readFileSync(path).subarray(0, 20);
    // File format read/write versions: 1 = rollback journal, 2 = WAL (sqlite.org/fileformat.html).
    expect([header[18], header[19]]).toEqual([1, 1]);
    expect(readdirSync(dir)).toEqual(['vault.db']);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    const otherKms = LocalKms.create(freshPath('kms.json'), PASSPHRASE);
    expectNodeError(() => new Vault({ path, kms: otherKms, org: ORG }), 'BAD_KEYSTORE');
    expectNodeError(() => new Vault({ path, kms, org: 'insurer' }), 'BAD_REQUEST');
    expectNodeError(() => new Vault({ path, kms, org: 'Not An Org' }), 'BAD_REQUEST');
    new Vault({ path, kms: LocalKms.open(kmsPath, PASSPHRASE), org: ORG }).close();
  });
});

describe('Vault KEK rotation', () => {
  it('re-wraps every subject key under the new KEK; the old KMS no longer opens it', () => {
    const { vault, dir, path } = newVault();
    const subjects = [newSubject(), newSubject()];
    const puts = subjects.map((s, i) => vault.put(s, { i }));
    vault.close();
    const oldWrapped = puts.map((p) => extractSecrets(path, p.vaultRef).wrappedSubjectKey);
    const next = LocalKms.create(freshPath('kms.json'), PASSPHRASE);
    expect(Vault.rotateKms({ path, org: ORG, from: kms, to: next })).toEqual({ subjects: 2 });
    expectNodeError(() => Vault.rotateKms({ path, org: ORG, from: next, to: next }), 'BAD_REQUEST');
    expectNodeError(() => new Vault({ path, kms, org: ORG }), 'BAD_KEYSTORE');
    const rotated = new Vault({ path, kms: next, org: ORG });
    for (const [i, p] of puts.entries()) {
      expect(rotated.read(p.vaultRef, access(), allow)).toEqual({ i });
      expect(rotated.verifyCommitment(p.vaultRef, p.commitment)).toBe(true);
    }
    rotated.close();
    for (const w of oldWrapped) expect(filesContaining(dir, w)).toEqual([]);
  });
});

describe('Vault erasure leaves nothing behind', () => {
  it('canary: encrypted at rest; after erasure no file holds the value, subject, salt, keys or ciphertext', () => {
    const { vault, dir, path } = newVault();
    const canary = `canary${hex(8)}`;
    const name = `Ada Lovelace ${canary}`;
    const email = `ada.${canary}@example.org`;
    const subject = newSubject();
    const other = newSubject();
    // The other subject's rows are interleaved with the erased ones, so they share pages.
    const survivor = vault.put(other, { name: 'Grace Hopper', email: 'grace@example.org' });
    const puts = [
      { name, email },
      email,
      { name, notes: `${name} `.repeat(1500) }, // about 45 KB: spills into overflow pages
      [name, email, 1815],
    ].map((v) => vault.put(subject, v));
    const survivor2 = vault.put(other, 'after');
    const canaries = [canary, name, email].flatMap((s) => [Buffer.from(s, 'utf8'), Buffer.from(s, 'utf16le')]);

    for (const c of canaries) expect(filesContaining(dir, c)).toEqual([]);
    const secrets = puts.map((p) => extractSecrets(path, p.vaultRef));
    // Positive controls: the white-box extraction is right, and the scan finds what is on disk.
    for (const [i, s] of secrets.entries()) {
      expect(s.text).toContain(canary);
      expect(sha256hex(s.salt, Buffer.from(s.text))).toBe(puts[i]!.commitment);
      expect(filesContaining(dir, s.wrappedSubjectKey)).toEqual(['vault.db']);
      expect(filesContaining(dir, s.wrappedDataKey)).toEqual(['vault.db']);
      // Overflow pages split a large ciphertext, so pieces that straddle page boundaries are not found.
      const onDisk = pieces(s.sealed).filter((piece) => filesContaining(dir, piece).length > 0);
      expect(onDisk.length).toBeGreaterThan(0.9 * pieces(s.sealed).length);
      // Keys and salts are only ever on disk wrapped or encrypted.
      for (const k of [s.subjectKey, s.dataKey, s.salt]) expect(filesContaining(dir, k)).toEqual([]);
    }
    expect(filesContaining(dir, Buffer.from(subject))).toEqual(['vault.db']);

    // Rectify one record first: its previous salt and data key must be gone as well.
    vault.update(puts[0]!.vaultRef, { name, email: `new.${email}` });
    secrets.push(extractSecrets(path, puts[0]!.vaultRef));
    vault.eraseRecord(puts[1]!.vaultRef);
    const erased = vault.eraseSubject(subject);
    expect([...erased.vaultRefs].sort()).toEqual([0, 2, 3].map((i) => puts[i]!.vaultRef).sort());
    vault.close();

    // Only the database is left: no rollback journal, no WAL.
    expect(readdirSync(dir)).toEqual(['vault.db']);
    const needles = [
      ...canaries,
      Buffer.from(subject),
      ...secrets.flatMap((s) => [
        s.salt,
        s.dataKey,
        s.subjectKey,
        s.wrappedDataKey,
        s.wrappedSubjectKey,
        ...pieces(s.sealed),
      ]),
    ];
    const left = needles.filter((n) => filesContaining(dir, n).length > 0);
    expect(left.length, 'bytes of the erased subject still on disk').toBe(0);

    // The other subject is intact, and still found by the same scan.
    const reopened = new Vault({ path, kms, org: ORG });
    expect(reopened.read(survivor.vaultRef, access(), allow)).toEqual({
      name: 'Grace Hopper',
      email: 'grace@example.org',
    });
    expect(reopened.read(survivor2.vaultRef, access(), allow)).toBe('after');
    const kept = extractSecrets(path, survivor.vaultRef);
    expect(filesContaining(dir, kept.wrappedDataKey)).toEqual(['vault.db']);
    expect(filesContaining(dir, kept.wrappedSubjectKey)).toEqual(['vault.db']);
    reopened.close();
  });

  it('trust #8: after any erasure (per record, update, per subject) no key on disk opens any old ciphertext', () => {
    const { vault, dir, path } = newVault();
    const subject = newSubject();
    const other = newSubject();
    const puts = ['first', { email: 'ada@example.org' }, ['third', 3]].map((v) => vault.put(subject, v));
    const survivor = vault.put(other, 'someone else');
    const before = puts.map((p) => ({ ref: p.vaultRef, ...extractSecrets(path, p.vaultRef) }));
    // Positive control: the keys on disk open every live record's bytes.
    for (const old of before) expect(opensAny(keysOnDisk(path), old)).toBe(true);

    // What an attacker with the disk and the KEK holds after each erasure: every key on disk, and
    // any old bytes (from freed pages, the journal, a freed disk block or a file copy).
    const check = (gone: typeof before) => {
      const files = readdirSync(dir);
      expect(files.every((f) => f === 'vault.db' || f === 'vault.db-journal' || f === 'vault.db-wal')).toBe(true);
      for (const old of gone) {
        for (const n of [old.wrappedDataKey, old.wrappedSubjectKey, ...pieces(old.sealed, 32)]) {
          expect(filesContaining(dir, n), 'old bytes still in the database files').toEqual([]);
        }
        expect(opensAny(keysOnDisk(path), old), 'a key on disk opens an erased record').toBe(false);
      }
    };
    vault.eraseRecord(puts[1]!.vaultRef);
    check([before[1]!]);
    // The other records still read, under the subject's new key.
    expect(vault.read(puts[0]!.vaultRef, access(), allow)).toBe('first');
    const afterErase = puts
      .filter((_, i) => i !== 1)
      .map((p) => ({ ref: p.vaultRef, ...extractSecrets(path, p.vaultRef) }));
    expect(afterErase[0]!.subjectKey.equals(before[0]!.subjectKey)).toBe(false);

    vault.update(puts[0]!.vaultRef, 'rectified');
    // Every earlier version of the records: the erased one and the values before rectification.
    check([before[1]!, before[0]!, afterErase[0]!]);
    expect(vault.read(puts[0]!.vaultRef, access(), allow)).toBe('rectified');
    expect(vault.read(puts[2]!.vaultRef, access(), allow)).toEqual(['third', 3]);
    const afterUpdate = [0, 2].map((i) => ({ ref: puts[i]!.vaultRef, ...extractSecrets(path, puts[i]!.vaultRef) }));

    vault.eraseSubject(subject);
    check([...before, ...afterErase, ...afterUpdate]);
    expect(vault.read(survivor.vaultRef, access(), allow)).toBe('someone else');
    vault.close();
  });

  it('an erased commitment cannot be confirmed: without the salt no guess of the value matches', () => {
    const { vault, path } = newVault();
    const subject = newSubject();
    const value = { email: 'ada@example.org' }; // guessable, as personal data often is
    const { vaultRef, commitment } = vault.put(subject, value);
    const canonical = Buffer.from(canonicalize(value));
    // Control: with the salt, the right guess matches.
    expect(sha256hex(extractSecrets(path, vaultRef).salt, canonical)).toBe(commitment);
    vault.eraseSubject(subject);

    const zeros = Buffer.alloc(32);
    const attempts = [
      sha256hex(canonical),
      sha256hex(Buffer.from(JSON.stringify(value, null, 2))),
      sha256hex(Buffer.from('ada@example.org')),
      sha256hex(Buffer.from('"ada@example.org"')),
      sha256hex(zeros, canonical),
      sha256hex(canonical, zeros),
      sha256hex(Buffer.from(vaultRef, 'hex'), canonical),
      sha256hex(Buffer.from(vaultRef), canonical),
      sha256hex(Buffer.from(subject), canonical),
      sha256hex(Buffer.from(ORG), canonical),
      sha256hex(Buffer.from(commitment, 'hex'), canonical),
      // Committing the guess again gives a fresh salt, so a different commitment.
      vault.put(subject, value).commitment,
    ];
    expect(attempts).not.toContain(commitment);
    // Nor does the vault answer as an oracle for the erased record.
    expectNodeError(() => vault.verifyCommitment(vaultRef, commitment), 'ERASED');
    vault.close();
  });
});
