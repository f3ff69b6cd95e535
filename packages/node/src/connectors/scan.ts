/**
 * Discovery aid (issue 16, point 5): lists the columns of a PostgreSQL database whose names or
 * sampled values look like personal data (emails, phone numbers, names, postal addresses, IBANs,
 * dates of birth) and that a data map does not cover. Read-only, in one read-only transaction; only
 * text columns are sampled, at most `sample` non-null values each; the answer names tables, columns,
 * the DPV category guessed and why (the name, or how many sampled values matched), never a value.
 */
import pg from 'pg';
import { NodeError } from '../errors.js';
import type { DataMap } from './datamap.js';

export const MAX_SCAN_COLUMNS = 5_000;
export const MAX_SCAN_SAMPLE = 1_000;

export interface ScanFinding {
  table: string;
  column: string;
  /** The DPV personal-data category it looks like. */
  category: string;
  /** `name`, or `values` (with how many of the sampled values matched). */
  by: 'name' | 'values';
  matched?: number;
  sampled?: number;
}

const BY_NAME: [RegExp, string][] = [
  [/e-?mail/i, 'pd:EmailAddress'],
  [/phone|mobile|^tel|_tel$|fax/i, 'pd:TelephoneNumber'],
  [/iban/i, 'pd:BankAccount'],
  [/birth|^dob$|_dob$/i, 'pd:BirthDate'],
  [/(first|last|full|given|family|middle|sur|maiden)_?name|^name$|customer_?name/i, 'pd:Name'],
  [/address|street|city|zip|post_?code|postal/i, 'pd:PhysicalAddress'],
];

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}\.[A-Za-z]{2,}$/;
const PHONE = /^\+?[0-9][0-9 ().-]{6,20}$/;
const IBAN = /^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/;

/** ISO 13616 check digits (mod 97 = 1). */
function isIban(v: string): boolean {
  const s = v.replace(/ /g, '').toUpperCase();
  if (!IBAN.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const d = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const c of d) rem = (rem * 10 + Number(c)) % 97;
  }
  return rem === 1;
}

function byValue(v: string): string | undefined {
  const t = v.trim();
  if (EMAIL.test(t)) return 'pd:EmailAddress';
  if (isIban(t)) return 'pd:BankAccount';
  const digits = t.replace(/[^0-9]/g, '').length;
  if (PHONE.test(t) && digits >= 7 && digits <= 15) return 'pd:TelephoneNumber';
  return undefined;
}

/** Columns the map names for `table` (`schema.name`), across its PostgreSQL systems. */
function covered(map: DataMap | undefined): Set<string> {
  const out = new Set<string>();
  for (const s of map?.systems ?? []) {
    if (s.kind !== 'postgres') continue;
    for (const t of s.tables ?? []) {
      const label = `${t.schema ?? 'public'}.${t.name}`;
      for (const c of [t.identity.field, t.timestampField, ...t.fields.map((f) => f.name)]) {
        if (c !== undefined) out.add(`${label}\u0000${c}`);
      }
    }
  }
  return out;
}

export async function scanPostgres(
  url: string,
  opts: { map?: DataMap; sample?: number; timeoutMs?: number } = {},
): Promise<{ columns: number; findings: ScanFinding[] }> {
  const sample = Math.min(Math.max(opts.sample ?? 50, 1), MAX_SCAN_SAMPLE);
  const skip = covered(opts.map);
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: opts.timeoutMs ?? 10_000,
    statement_timeout: opts.timeoutMs ?? 10_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    throw new NodeError('CONNECTOR_FAILED', `cannot reach PostgreSQL (${(e as { code?: string }).code ?? 'error'})`);
  }
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const cols = await client.query<{ s: string; t: string; c: string; type: string }>(
      `SELECT table_schema AS s, table_name AS t, column_name AS c, data_type AS type FROM information_schema.columns
       WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_toast%'
       ORDER BY table_schema, table_name, ordinal_position LIMIT $1`,
      [MAX_SCAN_COLUMNS + 1],
    );
    if (cols.rows.length > MAX_SCAN_COLUMNS) {
      throw new NodeError(
        'BAD_REQUEST',
        `the database has more than ${MAX_SCAN_COLUMNS} columns; scan it schema by schema`,
      );
    }
    const findings: ScanFinding[] = [];
    for (const col of cols.rows) {
      const table = `${col.s}.${col.t}`;
      if (skip.has(`${table}\u0000${col.c}`)) continue;
      const named = BY_NAME.find(([re]) => re.test(col.c));
      if (named !== undefined) {
        findings.push({ table, column: col.c, category: named[1], by: 'name' });
        continue;
      }
      if (!['text', 'character varying', 'character'].includes(col.type)) continue;
      const q = await client.query<{ v: string }>(
        `SELECT ${pg.escapeIdentifier(col.c)}::text AS v FROM ${pg.escapeIdentifier(col.s)}.${pg.escapeIdentifier(col.t)}
         WHERE ${pg.escapeIdentifier(col.c)} IS NOT NULL LIMIT $1`,
        [sample],
      );
      const counts = new Map<string, number>();
      for (const { v } of q.rows) {
        const k = byValue(v.slice(0, 300));
        if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      const best = [...counts].sort((a, b) => b[1] - a[1])[0];
      // Most of the sample, not a stray value in a free-text column.
      if (best !== undefined && best[1] * 2 > q.rows.length) {
        findings.push({
          table,
          column: col.c,
          category: best[0],
          by: 'values',
          matched: best[1],
          sampled: q.rows.length,
        });
      }
    }
    await client.query('COMMIT');
    return { columns: cols.rows.length, findings };
  } catch (e) {
    if (e instanceof NodeError) throw e;
    const code = (e as { code?: string }).code ?? 'error';
    throw new NodeError('CONNECTOR_FAILED', `PostgreSQL ${code} while scanning`);
  } finally {
    await client.end().catch(() => {});
  }
}
