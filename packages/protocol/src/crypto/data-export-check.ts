/**
 * The wallet's check of an opened export (ADR 0021): each value against its salted commitment on
 * the ledger, and every record the org held on the customer when it answered accounted for, so the
 * customer sees "complete: N of N records" or the records that fail.
 */
import { fromHex, toHex, utf8 } from '../bytes.js';
import { sha256 } from '../hash.js';
import { canonicalize, type JsonValue } from '../jcs.js';
import type { DataExport } from './data-export.js';

/** What the ledger says of one record (from the customer's verified report). */
export interface LedgerRecordFacts {
  id: string;
  commitment: string;
  registeredAt: number;
  erasedAt: number | null;
}

/** What the ledger says of the answer: `request.fulfil`'s `export` and when it committed. */
export interface LedgerExportFacts {
  digest: string;
  records: number;
  closedAt: number;
}

export type ExportProblem = 'value-mismatch' | 'missing' | 'not-held' | 'duplicate';

export interface ExportCheck {
  complete: boolean;
  /** Records the org held on the customer when it answered (the ledger's count). */
  total: number;
  /** Records whose value matches its commitment. */
  verified: number;
  failures: { record: string; problem: ExportProblem }[];
  /** False when the envelope is not the one `request.fulfil` committed to. */
  digestMatches: boolean;
  /** "complete: N of N records", or what is wrong. */
  summary: string;
}

const PROBLEM_TEXT: Record<ExportProblem, string> = {
  'value-mismatch': 'the value does not match its commitment on the ledger',
  missing: 'held by the org but not in the export',
  'not-held': 'not a record the org held on you when it answered',
  duplicate: 'in the export twice',
};

/** The problem in words, for a CLI line or the portal. */
export const exportProblemText = (p: ExportProblem): string => PROBLEM_TEXT[p];

/** True if `SHA-256(salt || canonical JSON value)` is `commitment`. */
export function valueMatchesCommitment(salt: string, value: JsonValue, commitment: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(salt)) return false;
  let text: string;
  try {
    text = canonicalize(value);
  } catch {
    return false;
  }
  const salted = new Uint8Array([...fromHex(salt), ...utf8(text)]);
  return toHex(sha256(salted)) === commitment;
}

/**
 * Checks an opened export against the ledger: `records` are the customer's records at the org (their
 * verified report), `answer` the fulfilled request's export entry, `envelopeDigest` the SHA-256 of
 * the envelope received. Records registered after the answer, or erased before it, are not expected.
 */
export function checkDataExport(
  data: DataExport,
  records: readonly LedgerRecordFacts[],
  answer: LedgerExportFacts,
  envelopeDigest: string,
): ExportCheck {
  const held = new Map(
    records
      .filter((r) => r.registeredAt <= answer.closedAt && (r.erasedAt === null || r.erasedAt > answer.closedAt))
      .map((r) => [r.id, r]),
  );
  const failures: ExportCheck['failures'] = [];
  const seen = new Set<string>();
  let verified = 0;
  for (const x of data.records) {
    const rec = held.get(x.record);
    if (seen.has(x.record)) failures.push({ record: x.record, problem: 'duplicate' });
    else if (rec === undefined) failures.push({ record: x.record, problem: 'not-held' });
    else if (!valueMatchesCommitment(x.salt, x.value, rec.commitment)) {
      failures.push({ record: x.record, problem: 'value-mismatch' });
    } else verified++;
    seen.add(x.record);
  }
  for (const id of held.keys()) if (!seen.has(id)) failures.push({ record: id, problem: 'missing' });
  const total = Math.max(held.size, answer.records);
  const digestMatches = envelopeDigest === answer.digest;
  const complete = digestMatches && failures.length === 0 && verified === total && answer.records === held.size;
  const summary = complete
    ? `complete: ${verified} of ${total} records`
    : [
        `incomplete: ${verified} of ${total} records verified`,
        ...(digestMatches ? [] : ['the file is not the one the org committed to on the ledger']),
        ...(answer.records === held.size ? [] : [`the ledger says ${answer.records} records were exported`]),
        ...failures.map((f) => `record ${f.record}: ${PROBLEM_TEXT[f.problem]}`),
      ].join('; ');
  return { complete, total, verified, failures, digestMatches, summary };
}

const csvCell = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/**
 * The export as CSV (RFC 4180), one row per record: record, category, source, purposes (as
 * `purpose=basis` separated by `;`), value (a string as is, anything else as canonical JSON), salt.
 */
export function dataExportToCsv(data: DataExport): string {
  const rows = [['record', 'category', 'source', 'purposes', 'value', 'salt']];
  for (const r of data.records) {
    const purposes = Object.entries(r.purposes)
      .map(([p, b]) => `${p}=${b}`)
      .join(';');
    const value = typeof r.value === 'string' ? r.value : canonicalize(r.value);
    rows.push([r.record, r.category, r.source, purposes, value, r.salt]);
  }
  return `${rows.map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
