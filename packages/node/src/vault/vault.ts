/**
 * The off-chain vault: an org's personal data, encrypted at rest and erased for good by destroying
 * keys (crypto-shredding). The ledger only gets `{vaultRef, commitment}`. Key hierarchy:
 * KEK (in the Kms) wraps one key per subject, which wraps one data key per record, which encrypts
 * salt || canonical value. Deleting one subject-key row makes all of a subject's records unreadable.
 * Why, and what it does not protect against: docs/adr/0004-vault-crypto-shredding.md.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isHex } from '@custos/protocol/encoding';
import type { JsonValue } from '@custos/protocol/jcs';
import type Database from 'better-sqlite3';
import { NodeError } from '../errors.js';
import { open, seal } from './aead.js';
import type { Kms } from './kms.js';
import { bad, canonicalText, checkRef, checkSubject, MAX_VALUE_BYTES, ORG_ID } from './values.js';
import { openVaultDb, prepareQueries, type VaultQueries } from './vault-db.js';

export { MAX_VALUE_BYTES };

const SALT_BYTES = 32;
const KEY_BYTES = 32;
const FORMAT = 'custos-vault/1';

export interface VaultOptions {
  /** The vault's own SQLite file, separate from the ledger's. Created (mode 0600) if missing. */
  path: string;
  kms: Kms;
  /** The member org that holds this vault; bound into every subject key's id. */
  org: string;
}

export interface PutResult {
  /** Random 16-byte hex id; says nothing about the subject or the value. */
  vaultRef: string;
  /** Hex SHA-256(salt || UTF-8 canonical JSON value), for the ledger. */
  commitment: string;
}

/** What a reader shows: the id of a `data.access` transaction for this record. */
export interface AccessProof {
  accessTxId: string;
}

/** Supplied by the node: true only if `accessTxId` committed as a valid `data.access` of `vaultRef`. */
export type AccessCheck = (vaultRef: string, accessTxId: string) => boolean;

export interface EraseRecordResult {
  vaultRef: string;
  /** True if it had been erased before (erasure is idempotent). */
  alreadyErased: boolean;
  erasedAt: number;
  /** Time of the durable delete of the record's rows. */
  shredMs: number;
}

export interface EraseSubjectResult {
  /** The records erased, for the node's `data.erased`. */
  vaultRefs: string[];
  erasedAt: number;
  /** Time until the subject key was durably gone: from then on nothing can decrypt. Independent of volume. */
  shredMs: number;
  /** Time of the bulk delete of the (by then useless) ciphertexts. Grows with volume. */
  cleanupMs: number;
}

export interface VaultRecord {
  vaultRef: string;
  createdAt: number;
  updatedAt: number;
}

export interface VaultStats {
  org: string;
  kms: string;
  subjects: number;
  records: number;
  /** Tombstones: erased records, kept so reads answer ERASED rather than NOT_FOUND. */
  erased: number;
  /** Shredded subjects whose ciphertexts are still to be deleted (after a crash mid-erasure). */
  pendingCleanup: number;
  fileBytes: number;
}

export type RecordStatus = 'live' | 'erased' | 'unknown';

const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));

const sha256hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * An org's vault over its own SQLite file, opened with `secure_delete` (deleted bytes are zeroed
 * in the file), the rollback journal in DELETE mode (a WAL file would keep deleted pages until a
 * checkpoint) and `synchronous = FULL` (an erasure that returned has reached the disk).
 *
 * @example
 * const vault = new Vault({ path: join(home, 'vault.db'), kms, org: 'bank' });
 * const { vaultRef, commitment } = vault.put(subjectDid, { email: 'ada@example.org' });
 * // ... commit data.register {subject, commitment, vaultRef, ...}, later data.access ...
 * const value = vault.read(vaultRef, { accessTxId }, (ref, tx) => node.isValidAccess(ref, tx));
 * const { vaultRefs } = vault.eraseSubject(subjectDid); // then commit data.erased {records: vaultRefs}
 */
export class Vault {
  readonly org: string;
  readonly kms: Kms;
  /** Records whose erasure was finished while opening (a crash came between shred and cleanup). */
  readonly recovered: readonly string[];
  private readonly db: Database.Database;
  private readonly q: VaultQueries;

  constructor(options: VaultOptions) {
    const { path, kms, org } = options;
    if (typeof org !== 'string' || !ORG_ID.test(org)) throw bad('expected an org id of 1-32 characters [a-z0-9-]');
    if (typeof kms?.id !== 'string' || typeof kms.wrap !== 'function' || typeof kms.unwrap !== 'function') {
      throw bad('expected a Kms');
    }
    this.org = org;
    this.kms = kms;
    this.db = openVaultDb(path, (db) => this.checkMeta(db, path));
    this.q = prepareQueries(this.db);
    const recovered: string[] = [];
    for (const { key_ref, erased_at } of this.q.allShredded.all()) recovered.push(...this.cleanup(key_ref, erased_at));
    this.recovered = recovered;
  }

  /** A new file records its org and KMS; an existing one must be opened with the same ones. */
  private checkMeta(db: Database.Database, path: string): void {
    const get = (key: string): string | undefined =>
      (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    const format = get('format');
    if (format === undefined) {
      const set = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      db.transaction(() => {
        set.run('format', FORMAT);
        set.run('org', this.org);
        set.run('kms', this.kms.id);
      })();
      return;
    }
    if (format !== FORMAT) throw new NodeError('STORE_CORRUPT', `expected a ${FORMAT} file at ${path}, got ${format}`);
    const org = get('org');
    if (org !== this.org) throw bad(`the vault at ${path} belongs to org ${org}, not ${this.org}`);
    const kms = get('kms');
    if (kms !== this.kms.id) {
      throw new NodeError('BAD_KEYSTORE', `the vault at ${path} was created with KMS ${kms}, got ${this.kms.id}`);
    }
  }

  private keyId(keyRef: string): string {
    return `custos/vault/${this.org}/subject/${keyRef}`;
  }

  private unwrapSubjectKey(keyRef: string, wrapped: Buffer): Buffer {
    return asBuffer(this.kms.unwrap(this.keyId(keyRef), wrapped));
  }

  /** The subject's key, created (and wrapped by the KMS) on first use. */
  private subjectKey(subject: string): { keyRef: string; key: Buffer } {
    const row = this.q.subject.get(subject);
    if (row) return { keyRef: row.key_ref, key: this.unwrapSubjectKey(row.key_ref, row.wrapped_key) };
    const keyRef = randomHex(16);
    const key = randomBytes(KEY_BYTES);
    this.q.insertSubject.run(subject, keyRef, asBuffer(this.kms.wrap(this.keyId(keyRef), key)), Date.now());
    return { keyRef, key };
  }

  /**
   * Re-keys a subject (inside the caller's transaction): a fresh subject key under a new key ref
   * wraps again the data keys of every record left under `oldKeyRef`, and the old subject key's row
   * is deleted (zeroed in the file by secure_delete). From then on no key on disk opens a wrapped
   * data key or ciphertext of a record erased or rectified before: wherever an old copy of those
   * bytes survives (a freed disk block, the journal, a file copy), the subject key it needs is gone.
   * Returns the new key (the caller zeroes it), or undefined when no record is left (the subject's
   * key is then simply deleted).
   */
  private rekey(oldKeyRef: string): { keyRef: string; key: Buffer } | undefined {
    const subj = this.q.subjectByKey.get(oldKeyRef);
    if (subj === undefined) return undefined;
    const rows = this.q.wrappedOf.all(oldKeyRef);
    this.q.deleteSubjectByKey.run(oldKeyRef);
    if (rows.length === 0) return undefined;
    const oldKey = this.unwrapSubjectKey(oldKeyRef, subj.wrapped_key);
    const keyRef = randomHex(16);
    const key = randomBytes(KEY_BYTES);
    try {
      this.q.insertSubject.run(subj.subject, keyRef, asBuffer(this.kms.wrap(this.keyId(keyRef), key)), subj.created_at);
      for (const row of rows) {
        const aad = Buffer.from(row.ref);
        const dataKey = open(oldKey, row.wrapped_key, aad);
        if (dataKey === null || dataKey.length !== KEY_BYTES) {
          dataKey?.fill(0);
          throw new NodeError('STORE_CORRUPT', `record ${row.ref} does not decrypt: altered or moved`);
        }
        try {
          this.q.rewrap.run(keyRef, seal(key, dataKey, aad), row.ref);
        } finally {
          dataKey.fill(0);
        }
      }
    } catch (e) {
      key.fill(0);
      throw e;
    } finally {
      oldKey.fill(0);
    }
    return { keyRef, key };
  }

  /** Fresh salt and data key for a value; returns what is stored and the commitment. */
  private sealValue(vaultRef: string, subjectKey: Buffer, text: Buffer) {
    const aad = Buffer.from(vaultRef);
    const dataKey = randomBytes(KEY_BYTES);
    const plain = Buffer.concat([randomBytes(SALT_BYTES), text]);
    try {
      return {
        commitment: sha256hex(plain),
        sealed: seal(dataKey, plain, aad),
        wrappedKey: seal(subjectKey, dataKey, aad),
      };
    } finally {
      dataKey.fill(0);
      plain.fill(0);
    }
  }

  /**
   * Stores a value for `subject`; returns its vaultRef and commitment for `data.register`. With
   * `pendingUntil` (the expiry of the `data.register` that will carry it), the record is written
   * together with a pending mark: until `settle`, `pending()` lists it, so a registration that never
   * committed is found and erased even after a crash (no orphan value without a ledger record).
   */
  put(subject: string, value: JsonValue, opts: { pendingUntil?: number } = {}): PutResult {
    const [result] = this.putMany(subject, [value], opts);
    return result!;
  }

  /** Stores several values for one subject in one transaction (one durable commit). */
  putMany(subject: string, values: readonly JsonValue[], opts: { pendingUntil?: number } = {}): PutResult[] {
    checkSubject(subject);
    if (!Array.isArray(values)) throw bad('expected an array of values');
    if (values.length === 0) return [];
    const texts = values.map(canonicalText);
    return this.db.transaction(() => {
      const { keyRef, key } = this.subjectKey(subject);
      try {
        const now = Date.now();
        return texts.map((text) => {
          const vaultRef = randomHex(16);
          const { commitment, sealed, wrappedKey } = this.sealValue(vaultRef, key, text);
          this.q.insertRecord.run(vaultRef, keyRef, wrappedKey, sealed, now, now);
          if (opts.pendingUntil !== undefined) this.q.insertPending.run(vaultRef, opts.pendingUntil);
          return { vaultRef, commitment };
        });
      } finally {
        key.fill(0);
        for (const t of texts) t.fill(0);
      }
    })();
  }

  /** salt || canonical value of a live record; ERASED, NOT_FOUND or STORE_CORRUPT otherwise. */
  private openRecord(vaultRef: string): Buffer {
    const row = this.q.record.get(vaultRef);
    if (row === undefined) {
      if (this.q.tombstone.get(vaultRef)) throw new NodeError('ERASED', `record ${vaultRef} was erased`);
      throw new NodeError('NOT_FOUND', `no record ${vaultRef} in this vault`);
    }
    // The subject key is gone: the record was shredded and only awaits cleanup.
    if (row.subject_key === null) throw new NodeError('ERASED', `record ${vaultRef} was erased`);
    const aad = Buffer.from(vaultRef);
    const subjectKey = this.unwrapSubjectKey(row.key_ref, row.subject_key);
    const dataKey = open(subjectKey, row.wrapped_key, aad);
    subjectKey.fill(0);
    const plain = dataKey && dataKey.length === KEY_BYTES ? open(dataKey, row.sealed, aad) : null;
    dataKey?.fill(0);
    if (plain === null || plain.length < SALT_BYTES) {
      plain?.fill(0);
      throw new NodeError('STORE_CORRUPT', `record ${vaultRef} does not decrypt: altered or moved`);
    }
    return plain;
  }

  /** Decrypts a record for a committed access: `check(vaultRef, accessTxId)` must be `true`, else ACCESS_DENIED. */
  read(vaultRef: string, accessProof: AccessProof, check: AccessCheck): JsonValue {
    checkRef(vaultRef);
    const txId = accessProof?.accessTxId;
    if (!isHex(txId, 32)) throw bad('expected accessProof.accessTxId, the 64-hex id of a data.access transaction');
    if (typeof check !== 'function') throw bad('expected an access check');
    if (check(vaultRef, txId) !== true) {
      throw new NodeError('ACCESS_DENIED', `transaction ${txId} is not a valid data.access of record ${vaultRef}`);
    }
    const plain = this.openRecord(vaultRef);
    try {
      return JSON.parse(plain.toString('utf8', SALT_BYTES)) as JsonValue;
    } finally {
      plain.fill(0);
    }
  }

  /** The value and its commitment's salt (hex), for the subject's own access or export request (ADR 0021). */
  readForSubject(vaultRef: string): { salt: string; value: JsonValue } {
    checkRef(vaultRef);
    const plain = this.openRecord(vaultRef);
    try {
      return { salt: plain.toString('hex', 0, SALT_BYTES), value: JSON.parse(plain.toString('utf8', SALT_BYTES)) };
    } finally {
      plain.fill(0);
    }
  }

  /** True if `commitment` is this record's; for the org's own checks against the ledger. */
  verifyCommitment(vaultRef: string, commitment: string): boolean {
    checkRef(vaultRef);
    if (!isHex(commitment, 32)) throw bad('expected a commitment of 64 lowercase hex characters');
    const plain = this.openRecord(vaultRef);
    try {
      return timingSafeEqual(createHash('sha256').update(plain).digest(), Buffer.from(commitment, 'hex'));
    } finally {
      plain.fill(0);
    }
  }

  /**
   * Rectification: replaces the value with a new salt and a new data key; the old ones are deleted,
   * and the subject is re-keyed, so the old ciphertext and wrapped data key open with no key left.
   */
  update(vaultRef: string, value: JsonValue): { commitment: string } {
    checkRef(vaultRef);
    const text = canonicalText(value);
    try {
      return this.db.transaction(() => {
        const row = this.q.record.get(vaultRef);
        if (row === undefined || row.subject_key === null) {
          if (row !== undefined || this.q.tombstone.get(vaultRef)) {
            throw new NodeError('ERASED', `record ${vaultRef} was erased`);
          }
          throw new NodeError('NOT_FOUND', `no record ${vaultRef} in this vault`);
        }
        const fresh = this.rekey(row.key_ref);
        if (fresh === undefined) throw new NodeError('STORE_CORRUPT', `record ${vaultRef} has no subject key`);
        try {
          const { commitment, sealed, wrappedKey } = this.sealValue(vaultRef, fresh.key, text);
          this.q.updateRecord.run(wrappedKey, sealed, Date.now(), vaultRef);
          return { commitment };
        } finally {
          fresh.key.fill(0);
        }
      })();
    } finally {
      text.fill(0);
    }
  }

  /**
   * Crypto-shreds one record: deletes its ciphertext, wrapped data key and (encrypted) salt, and
   * leaves a tombstone. The subject is re-keyed (its remaining records wrapped under a fresh key,
   * the old key deleted), so no key on disk opens the erased record's bytes wherever a copy of them
   * survives; the subject's key simply goes when this was its last record.
   */
  eraseRecord(vaultRef: string): EraseRecordResult {
    checkRef(vaultRef);
    const erasedAt = Date.now();
    const start = performance.now();
    const alreadyErased = this.db.transaction(() => {
      const row = this.q.recordKeyRef.get(vaultRef);
      if (row === undefined) {
        if (this.q.tombstone.get(vaultRef)) return true;
        throw new NodeError('NOT_FOUND', `no record ${vaultRef} in this vault`);
      }
      this.q.deleteRecord.run(vaultRef);
      this.q.deletePending.run(vaultRef);
      this.q.insertTombstone.run(vaultRef, erasedAt);
      this.rekey(row.key_ref)?.key.fill(0);
      return false;
    })();
    return { vaultRef, alreadyErased, erasedAt, shredMs: performance.now() - start };
  }

  /**
   * Crypto-shreds every record of a subject: first deletes the subject's wrapped key (one row, one
   * durable commit: from then on nothing can decrypt them, whatever their number), then deletes the
   * ciphertexts in bulk. Returns the records erased, for `data.erased`. Erasing twice erases nothing.
   */
  eraseSubject(subject: string): EraseSubjectResult {
    checkSubject(subject);
    const erasedAt = Date.now();
    const start = performance.now();
    const keyRef = this.db.transaction(() => {
      const row = this.q.subject.get(subject);
      if (row === undefined) return null;
      this.q.deleteSubject.run(subject);
      // Remembered so that a crash before the cleanup is finished at the next open.
      this.q.insertShredded.run(row.key_ref, erasedAt);
      return row.key_ref;
    })();
    const shredMs = performance.now() - start;
    if (keyRef === null) return { vaultRefs: [], erasedAt, shredMs, cleanupMs: 0 };
    const cleanupStart = performance.now();
    const vaultRefs = this.cleanup(keyRef, erasedAt);
    return { vaultRefs, erasedAt, shredMs, cleanupMs: performance.now() - cleanupStart };
  }

  /** Deletes the ciphertexts of a shredded subject key, leaving tombstones. */
  private cleanup(keyRef: string, erasedAt: number): string[] {
    return this.db.transaction(() => {
      const refs = this.q.refsOf.all(keyRef).map((r) => r.ref);
      this.q.tombstoneAll.run(erasedAt, keyRef);
      this.q.deleteAllOf.run(keyRef);
      this.q.deleteShredded.run(keyRef);
      return refs;
    })();
  }

  /** Names the transaction that registers a pending record (set before it is submitted). */
  setPendingTx(vaultRef: string, txId: string): void {
    checkRef(vaultRef);
    if (!isHex(txId, 32)) throw bad('expected a txId of 64 lowercase hex characters');
    this.q.setPendingTx.run(txId, vaultRef);
  }

  /** The registration of a pending record is decided (committed, or its record erased): unmark it. */
  settle(vaultRef: string): void {
    checkRef(vaultRef);
    this.q.deletePending.run(vaultRef);
  }

  /** Records written for a registration not yet known to have committed, soonest expiry first. */
  pending(): { vaultRef: string; txId: string | null; until: number }[] {
    return this.q.allPending.all().map((r) => ({ vaultRef: r.ref, txId: r.tx_id, until: r.until }));
  }

  /** Whether a record is live, erased, or was never in this vault. Reveals nothing else. */
  status(vaultRef: string): RecordStatus {
    checkRef(vaultRef);
    const row = this.q.record.get(vaultRef);
    if (row !== undefined) return row.subject_key === null ? 'erased' : 'live';
    return this.q.tombstone.get(vaultRef) ? 'erased' : 'unknown';
  }

  /** The subject's live records, oldest first. */
  records(subject: string): VaultRecord[] {
    checkSubject(subject);
    return this.q.recordsOf
      .all(subject)
      .map((r) => ({ vaultRef: r.ref, createdAt: r.created_at, updatedAt: r.updated_at }));
  }

  stats(): VaultStats {
    const pageCount = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return {
      org: this.org,
      kms: this.kms.id,
      subjects: this.q.count.subjects.get()!.n,
      records: this.q.count.records.get()!.n,
      erased: this.q.count.erased.get()!.n,
      pendingCleanup: this.q.count.shredded.get()!.n,
      fileBytes: pageCount * pageSize,
    };
  }

  /**
   * Re-wraps every subject key under another KMS's KEK, in one transaction, and records the new KMS.
   * Once the old KEK (its keystore file, every backup of it and its passphrase) is destroyed, wrapped
   * keys left in old backups or in disk blocks the filesystem freed can no longer be unwrapped.
   */
  static rotateKms(options: { path: string; org: string; from: Kms; to: Kms }): { subjects: number } {
    const { path, org, from, to } = options;
    if (typeof to?.id !== 'string' || to.id === from?.id) throw bad('expected a KMS with another KEK to rotate to');
    const vault = new Vault({ path, kms: from, org });
    try {
      const db = vault.db;
      const rows = db.prepare('SELECT key_ref, wrapped_key FROM subjects').all() as {
        key_ref: string;
        wrapped_key: Buffer;
      }[];
      const set = db.prepare('UPDATE subjects SET wrapped_key = ? WHERE key_ref = ?');
      db.transaction(() => {
        for (const row of rows) {
          const key = vault.unwrapSubjectKey(row.key_ref, row.wrapped_key);
          try {
            set.run(asBuffer(to.wrap(vault.keyId(row.key_ref), key)), row.key_ref);
          } finally {
            key.fill(0);
          }
        }
        db.prepare("UPDATE meta SET value = ? WHERE key = 'kms'").run(to.id);
      })();
      return { subjects: rows.length };
    } finally {
      vault.close();
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
