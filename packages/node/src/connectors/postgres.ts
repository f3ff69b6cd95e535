/**
 * The PostgreSQL connector (client `pg`, ADR 0015): the tables of one `postgres` system of the data
 * map. Values only ever travel as query parameters; table and column names come from the checked map
 * and are quoted as identifiers. Each operation is one SQL transaction: an erasure that fails half
 * way (the server stops, a constraint refuses a mask) leaves every row as it was, so re-running it
 * erases everything once. Errors name the SQLSTATE, the table and the column, never a value (a
 * PostgreSQL error's detail can quote a row: it is dropped).
 */
import type { JsonValue } from '@custos/protocol/jcs';
import pg from 'pg';
import { NodeError } from '../errors.js';
import {
  type CallOptions,
  type Connector,
  type ConnectorResult,
  checkRectifications,
  MAX_IDENTITY_VALUES,
  type Rectification,
  type Settlement,
  type SubjectRef,
  sortRows,
  type TableRows,
} from './connector.js';
import type { DataMapTable } from './datamap.js';

/** Most rows one subject may have in one table before an operation refuses (memory bound of an export). */
export const MAX_SUBJECT_ROWS = 100_000;
const DAY = 86_400_000;
const ignore = (): void => {};

export interface PostgresConnectorOptions {
  system: string;
  /** A libpq connection URL (postgres://user:password@host:port/db). Never logged. */
  url: string;
  tables: readonly DataMapTable[];
  /** Longest a statement may run (ms); default 30 s. */
  statementTimeoutMs?: number;
  /** Longest wait for a connection (ms); default 10 s. */
  connectTimeoutMs?: number;
  maxSubjectRows?: number;
}

/** SQLSTATE codes an operator meets, by name; others are shown as their code. */
const SQLSTATES: Record<string, string> = {
  '23502': 'not_null_violation',
  '23503': 'foreign_key_violation',
  '23505': 'unique_violation',
  '23514': 'check_violation',
  '42P01': 'undefined_table',
  '42703': 'undefined_column',
  '42501': 'insufficient_privilege',
  '22P02': 'invalid_text_representation',
  '57014': 'query_canceled',
  '57P01': 'admin_shutdown',
  '08006': 'connection_failure',
  '28P01': 'invalid_password',
  '3D000': 'invalid_catalog_name',
};

/** A connector failure without any value from the rows: the SQLSTATE and the names involved. */
function failure(system: string, table: string | undefined, e: unknown): NodeError {
  if (e instanceof NodeError) return e;
  const err = e as { code?: unknown; column?: unknown; constraint?: unknown };
  const code = typeof err.code === 'string' ? err.code : undefined;
  const where = table === undefined ? '' : ` on ${table}`;
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    const name = SQLSTATES[code] ?? 'error';
    const column = typeof err.column === 'string' ? `, column ${err.column}` : '';
    const constraint = typeof err.constraint === 'string' ? `, constraint ${err.constraint}` : '';
    return new NodeError('CONNECTOR_FAILED', `${system}: PostgreSQL ${code} (${name})${where}${column}${constraint}`);
  }
  // Connection errors from the client (ECONNREFUSED, a reset, a timeout): their messages hold no row data.
  const sys = typeof err.code === 'string' ? `${err.code}: ` : '';
  const message = e instanceof Error ? e.message.slice(0, 200) : 'unknown error';
  return new NodeError('CONNECTOR_FAILED', `${system}: cannot reach PostgreSQL${where} (${sys}${message})`);
}

function quoteIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

/** A value from PostgreSQL as JSON: dates as ISO 8601, bytes as base64, the rest as `pg` parsed it. */
function jsonOf(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (Buffer.isBuffer(v)) return `base64:${v.toString('base64')}`;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return v.map(jsonOf);
  if (typeof v === 'object') {
    const out: { [k: string]: JsonValue } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = jsonOf(x);
    return out;
  }
  return v as JsonValue;
}

interface Plan {
  label: string;
  table: DataMapTable;
  from: string;
  ident: string;
  /** Mapped columns: identity, timestamp, fields (names as in the map). */
  columns: string[];
  select: string;
}

export class PostgresConnector implements Connector {
  readonly kind = 'postgres' as const;
  readonly system: string;
  readonly tables: readonly DataMapTable[];
  private readonly pool: pg.Pool;
  private readonly plans: Plan[];
  private readonly maxRows: number;

  constructor(opts: PostgresConnectorOptions) {
    this.system = opts.system;
    this.tables = opts.tables;
    this.maxRows = opts.maxSubjectRows ?? MAX_SUBJECT_ROWS;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: 2,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      idleTimeoutMillis: 10_000,
    });
    // An idle connection the server dropped is reported here; the next operation reconnects and
    // reports its own failure. Without a listener the process would exit.
    this.pool.on('error', ignore);
    this.plans = opts.tables.map((t) => {
      const schema = t.schema ?? 'public';
      const columns = [t.identity.field, ...(t.timestampField === undefined ? [] : [t.timestampField])];
      for (const f of t.fields) columns.push(f.name);
      return {
        label: `${schema}.${t.name}`,
        table: t,
        from: `${quoteIdent(schema)}.${quoteIdent(t.name)}`,
        ident: quoteIdent(t.identity.field),
        columns,
        select: columns.map(quoteIdent).join(', '),
      };
    });
  }

  /** The identity values that link `plan`'s rows to the subject. */
  private identities(plan: Plan, subject: SubjectRef): string[] {
    const id = plan.table.identity;
    if (id.kind === 'pseudonym') return [subject.did];
    const key = id.key === undefined ? `${id.category}` : `${id.category}#${id.key}`;
    const values = subject.vaultIdentities?.[key];
    if (values === undefined) {
      throw new NodeError(
        'BAD_REQUEST',
        `${this.system}: table ${plan.label} links rows through the subject's vault value ${key}; it was not resolved`,
      );
    }
    if (values.length > MAX_IDENTITY_VALUES) {
      throw new NodeError('BAD_REQUEST', `${this.system}: expected at most ${MAX_IDENTITY_VALUES} identity values`);
    }
    return [...values];
  }

  private rowsOf(plan: Plan, rows: Record<string, unknown>[]): TableRows {
    if (rows.length > this.maxRows) {
      throw new NodeError(
        'CONNECTOR_FAILED',
        `${this.system}: more than ${this.maxRows} rows of one subject in ${plan.label}; raise maxSubjectRows or split the request`,
      );
    }
    const out = rows.map((r) => {
      const row: { [c: string]: JsonValue } = {};
      plan.columns.forEach((c, i) => {
        row[c] = jsonOf(r[`c${i}`]);
      });
      return row;
    });
    return { table: plan.label, rows: sortRows(out) };
  }

  /** `"email" AS c0, ...`: result columns by position, so any column name maps back safely. */
  private aliased(plan: Plan, prefix = ''): string {
    return plan.columns.map((c, i) => `${prefix}${quoteIdent(c)} AS c${i}`).join(', ');
  }

  private async read(subject: SubjectRef): Promise<ConnectorResult> {
    const tables: TableRows[] = [];
    let current: string | undefined;
    const client = await this.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      for (const plan of this.plans) {
        current = plan.label;
        const ids = this.identities(plan, subject);
        const r = await client.query<Record<string, unknown>>(
          `SELECT ${this.aliased(plan)} FROM ${plan.from} WHERE ${plan.ident} = ANY($1::text[]) LIMIT ${this.maxRows + 1}`,
          [ids],
        );
        tables.push(this.rowsOf(plan, r.rows));
      }
      await client.query('COMMIT');
      this.release(client, false);
    } catch (e) {
      this.release(client, true);
      throw failure(this.system, current, e);
    }
    return this.result(tables);
  }

  private result(tables: TableRows[]): ConnectorResult {
    return { system: this.system, rows: tables.reduce((n, t) => n + t.rows.length, 0), tables };
  }

  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw failure(this.system, undefined, e);
    }
    // A connection lost while checked out is reported here and by the query in flight, which fails
    // the operation; without a listener the lost connection would end the process.
    client.on('error', ignore);
    return client;
  }

  private release(client: pg.PoolClient, destroy: boolean): void {
    client.removeListener('error', ignore);
    client.release(destroy);
  }

  /**
   * Runs `work` in one read-write transaction; any failure rolls everything back. With
   * `beforeCommit`, the transaction's id (`txid_current()`) is handed over with the result before
   * COMMIT, so whoever journals it can ask `settled` after a crash whether it committed.
   */
  private async transaction(
    work: (client: pg.PoolClient, at: (label: string) => void) => Promise<TableRows[]>,
    opts: CallOptions = {},
  ) {
    let current: string | undefined;
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      const tables = await work(client, (label) => {
        current = label;
      });
      const result = this.result(tables);
      if (opts.beforeCommit !== undefined) {
        current = undefined;
        const x = await client.query<{ xid: string }>('SELECT txid_current()::text AS xid');
        opts.beforeCommit(result, x.rows[0]!.xid);
      }
      await client.query('COMMIT');
      this.release(client, false);
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      this.release(client, true);
      throw failure(this.system, current, e);
    }
  }

  find(subject: SubjectRef): Promise<ConnectorResult> {
    return this.read(subject);
  }

  export(subject: SubjectRef): Promise<ConnectorResult> {
    return this.read(subject);
  }

  /**
   * `delete` tables lose the subject's rows; `mask` tables keep them with every mapped field and the
   * identity set to NULL (so they no longer link to anyone, and a re-run finds nothing).
   */
  erase(subject: SubjectRef, opts: CallOptions = {}): Promise<ConnectorResult> {
    return this.transaction(async (client, at) => {
      const out: TableRows[] = [];
      for (const plan of this.plans) {
        at(plan.label);
        const ids = this.identities(plan, subject);
        let sql: string;
        if (plan.table.erasure === 'delete') {
          sql = `DELETE FROM ${plan.from} WHERE ${plan.ident} = ANY($1::text[]) RETURNING ${this.aliased(plan)}`;
        } else {
          const cleared = [plan.table.identity.field, ...plan.table.fields.map((f) => f.name)]
            .map((c) => `${quoteIdent(c)} = NULL`)
            .join(', ');
          sql =
            `UPDATE ${plan.from} AS t SET ${cleared} FROM (SELECT ctid AS row_id, ${this.aliased(plan)} FROM ${plan.from} ` +
            `WHERE ${plan.ident} = ANY($1::text[]) FOR UPDATE) AS old WHERE t.ctid = old.row_id RETURNING ` +
            plan.columns.map((_, i) => `old.c${i} AS c${i}`).join(', ');
        }
        const r = await client.query<Record<string, unknown>>(sql, [ids]);
        out.push(this.rowsOf(plan, r.rows));
      }
      return out;
    }, opts);
  }

  /**
   * Retention at `now`: in a `delete` table, a row whose every field is past its retention (counted
   * from the timestamp field) is deleted; a field past its own shorter retention is set to NULL. In a
   * `mask` table, each field past its retention is set to NULL. Tables without a timestamp field are
   * left alone (`custos org datamap check` lists them).
   */
  expire(now: number): Promise<ConnectorResult> {
    return this.transaction(async (client, at) => {
      const out: TableRows[] = [];
      for (const plan of this.plans) {
        const t = plan.table;
        if (t.timestampField === undefined) continue;
        at(plan.label);
        const ts = quoteIdent(t.timestampField);
        const cutoff = (days: number) => new Date(now - days * DAY).toISOString();
        if (t.erasure === 'delete') {
          const longest = Math.max(...t.fields.map((f) => f.retentionDays));
          const r = await client.query<Record<string, unknown>>(
            `DELETE FROM ${plan.from} WHERE ${ts} < $1::timestamptz RETURNING ${this.aliased(plan)}`,
            [cutoff(longest)],
          );
          if (r.rows.length > 0) out.push(this.rowsOf(plan, r.rows));
        }
        for (const f of t.fields) {
          const col = quoteIdent(f.name);
          const idx = [t.identity.field, t.timestampField, f.name];
          const r = await client.query<Record<string, unknown>>(
            `UPDATE ${plan.from} AS t SET ${col} = NULL FROM (SELECT ctid AS row_id, ${idx.map((c, i) => `${quoteIdent(c)} AS c${i}`).join(', ')} ` +
              `FROM ${plan.from} WHERE ${ts} < $1::timestamptz AND ${col} IS NOT NULL FOR UPDATE) AS old ` +
              'WHERE t.ctid = old.row_id RETURNING old.c0 AS c0, old.c1 AS c1, old.c2 AS c2',
            [cutoff(f.retentionDays)],
          );
          if (r.rows.length > 0) {
            const rows = r.rows.map((x) => ({
              [idx[0]!]: jsonOf(x.c0),
              [idx[1]!]: jsonOf(x.c1),
              [idx[2]!]: jsonOf(x.c2),
            }));
            out.push({ table: `${plan.label}#${f.name}`, rows: sortRows(rows) });
          }
        }
      }
      return out;
    });
  }

  async rectify(
    subject: SubjectRef,
    changes: readonly Rectification[],
    opts: CallOptions = {},
  ): Promise<ConnectorResult> {
    checkRectifications(changes);
    const targets = changes.map((c, i) => {
      const plan = this.plans.find(
        (p) => p.label === c.table || (p.table.name === c.table && p.table.schema === undefined),
      );
      if (plan === undefined)
        throw new NodeError(
          'BAD_REQUEST',
          `rectification ${i}: no table ${c.table.slice(0, 80)} in system ${this.system}`,
        );
      if (!plan.table.fields.some((f) => f.name === c.field)) {
        throw new NodeError(
          'BAD_REQUEST',
          `rectification ${i}: expected a mapped field of ${plan.label}, not ${c.field.slice(0, 80)}`,
        );
      }
      return { plan, change: c };
    });
    const byTable = new Map<Plan, Rectification[]>();
    for (const { plan, change } of targets) byTable.set(plan, [...(byTable.get(plan) ?? []), change]);
    return this.transaction(async (client, at) => {
      const out: TableRows[] = [];
      for (const [plan, list] of byTable) {
        at(plan.label);
        const ids = this.identities(plan, subject);
        const sets = list.map((c, i) => `${quoteIdent(c.field)} = $${i + 2}`).join(', ');
        const r = await client.query<Record<string, unknown>>(
          `UPDATE ${plan.from} AS t SET ${sets} FROM (SELECT ctid AS row_id, ${this.aliased(plan)} FROM ${plan.from} ` +
            `WHERE ${plan.ident} = ANY($1::text[]) FOR UPDATE) AS old WHERE t.ctid = old.row_id RETURNING ` +
            plan.columns.map((_, i) => `old.c${i} AS c${i}`).join(', '),
          [ids, ...list.map((c) => c.value)],
        );
        out.push(this.rowsOf(plan, r.rows));
      }
      return out;
    }, opts);
  }

  /**
   * Whether the transaction `xid` (from `beforeCommit`) committed: PostgreSQL's `txid_status`, which
   * exists to answer this after a lost connection. A transaction too old for the server to remember
   * is `unknown`.
   */
  async settled(xid: string): Promise<Settlement> {
    if (!/^[0-9]{1,20}$/.test(xid)) throw new NodeError('BAD_REQUEST', `${this.system}: expected a transaction id`);
    const client = await this.connect();
    try {
      const r = await client.query<{ s: string | null }>('SELECT txid_status($1::bigint) AS s', [xid]);
      this.release(client, false);
      const s = r.rows[0]?.s;
      return s === 'committed'
        ? 'committed'
        : s === 'aborted'
          ? 'aborted'
          : s === 'in progress'
            ? 'in-progress'
            : 'unknown';
    } catch (e) {
      this.release(client, true);
      throw failure(this.system, undefined, e);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
