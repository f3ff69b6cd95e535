/**
 * One interface for every system an org keeps customer data in (issue 16, point 2): find a
 * subject's rows, export them (access, portability), erase or mask them by the map's policy
 * (erasure), expire them by age (retention), rectify them. Each operation runs in one transaction of
 * the system where the system allows, and answers a count and the rows' canonical evidence, never
 * logging a value. The conformance suite (packages/node/test/connector-conformance.ts) holds every
 * connector to the same behaviour.
 */
import { createHash, randomBytes } from 'node:crypto';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { NodeError } from '../errors.js';
import type { DataMapTable, SystemKind } from './datamap.js';

/** Who the rows are about: the pairwise pseudonym, and identity values the vault holds for the subject. */
export interface SubjectRef {
  /** The subject's pairwise did:key towards the org. */
  did: string;
  /**
   * Values that link rows to the subject in tables whose identity is kind "vault", by
   * `<category>` or `<category>#<key>` (the identity's category and key in the map).
   */
  vaultIdentities?: Readonly<Record<string, readonly string[]>>;
}

/** The rows one operation touched in one table: mapped columns only (identity, timestamp, fields). */
export interface TableRows {
  table: string;
  rows: { [column: string]: JsonValue }[];
}

export interface ConnectorResult {
  system: string;
  /** Rows found, exported, erased, masked or updated. */
  rows: number;
  /** What was read (export) or what was there before (erase, rectify), table by table, in a canonical order. */
  tables: TableRows[];
}

/** A field to set to a new value for rectification; the value is a JSON scalar. */
export interface Rectification {
  table: string;
  field: string;
  value: string | number | boolean | null;
}

export const MAX_RECTIFY_VALUE_CHARS = 4096;
export const MAX_RECTIFICATIONS = 64;
/** Most identity values of one subject a connector matches at once. */
export const MAX_IDENTITY_VALUES = 64;

/** Per call: the idempotency key a system that takes one (the HTTP connector) applies the call once under. */
export interface CallOptions {
  idempotencyKey?: string;
  /**
   * Called by a connector whose system has transactions, inside the step's transaction, after the
   * work and before COMMIT, with the result and a token `settled` later answers for (the step journal:
   * step-journal.ts). A throw rolls the transaction back. Connectors without it are journalled by the
   * caller once the call returns.
   */
  beforeCommit?: (result: ConnectorResult, settle: string) => void;
}

/** Whether the transaction behind a `beforeCommit` token committed: `unknown` when the system cannot tell. */
export type Settlement = 'committed' | 'aborted' | 'in-progress' | 'unknown';

export interface Connector {
  readonly system: string;
  readonly kind: SystemKind;
  /** The data map's tables of this system (absent for the vault, which holds the registered records). */
  readonly tables?: readonly DataMapTable[];
  /** How many rows hold data on the subject, by table. Reads only. */
  find(subject: SubjectRef, opts?: CallOptions): Promise<ConnectorResult>;
  /** The subject's rows, mapped columns only. Reads only. */
  export(subject: SubjectRef, opts?: CallOptions): Promise<ConnectorResult>;
  /** Erases (deletes or masks, as the map says) every row of the subject, in one transaction; returns what was erased. */
  erase(subject: SubjectRef, opts?: CallOptions): Promise<ConnectorResult>;
  /** Erases or masks what is past its retention at `now` (ms), for every subject, in one transaction. */
  expire(now: number, opts?: CallOptions): Promise<ConnectorResult>;
  /** Sets mapped fields of the subject's rows, in one transaction; returns the rows as they were. */
  rectify(subject: SubjectRef, changes: readonly Rectification[], opts?: CallOptions): Promise<ConnectorResult>;
  /** Whether the transaction of a `beforeCommit` token committed (connectors that call `beforeCommit`). */
  settled?(token: string): Promise<Settlement>;
  close(): Promise<void>;
}

/** Rows in a canonical order (by their canonical JSON), so the evidence does not depend on the system's order. */
export function sortRows(rows: { [column: string]: JsonValue }[]): { [column: string]: JsonValue }[] {
  return rows
    .map((r) => ({ r, key: canonicalize(r) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.r);
}

/**
 * The digest recorded on the ledger for what a step exported or erased:
 * SHA-256(salt || canonical JSON of {system, tables}), salted like a vault commitment so a guess of
 * the values cannot be confirmed from the ledger. Whoever holds the salt and the rows (the customer,
 * with an access export) recomputes it.
 */
export function evidenceDigest(salt: Uint8Array, result: Pick<ConnectorResult, 'system' | 'tables'>): string {
  const body = canonicalize({ system: result.system, tables: result.tables } as unknown as JsonValue);
  return createHash('sha256').update(salt).update(body).digest('hex');
}

export function newEvidenceSalt(): Buffer {
  return randomBytes(32);
}

/** A JSON scalar of bounded size for a rectification, or BAD_REQUEST saying what was expected. */
export function checkRectifications(changes: readonly Rectification[]): void {
  if (!Array.isArray(changes) || changes.length === 0 || changes.length > MAX_RECTIFICATIONS) {
    throw new NodeError('BAD_REQUEST', `expected 1-${MAX_RECTIFICATIONS} rectifications`);
  }
  changes.forEach((c, i) => {
    const v = c.value;
    const scalar = v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!scalar && !(typeof v === 'string' && v.length <= MAX_RECTIFY_VALUE_CHARS)) {
      throw new NodeError(
        'BAD_REQUEST',
        `expected rectification ${i}'s value as a string of at most ${MAX_RECTIFY_VALUE_CHARS} characters, a finite number, true, false or null`,
      );
    }
  });
}
