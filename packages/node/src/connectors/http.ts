/**
 * The HTTP/webhook connector (issue 16, point 2): a SaaS system, or a company's own service, that
 * holds customer data answers `POST <endpoint>/custos/v1/<operation>` (find, export, erase, expire,
 * rectify). Each request is signed with the org's member key (RFC 9421 with the RFC 9530 digest of
 * the body, the same signatures the Custos API takes: the receiver checks them against the org's
 * did:key on the ledger) and carries an `Idempotency-Key` (also in the signed body): a retry of the
 * same step, also after a timeout or a crash, sends the same key, so the receiver applies it once and
 * answers the same rows. Answers are bounded in size and time, checked against the map (only mapped
 * collections and columns), and never logged; an error names the system and the HTTP status only.
 */
import { randomBytes } from 'node:crypto';
import type { Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import type { JsonValue } from '@custos/protocol/jcs';
import { NodeError } from '../errors.js';
import {
  type CallOptions,
  type Connector,
  type ConnectorResult,
  checkRectifications,
  type Rectification,
  type SubjectRef,
  sortRows,
  type TableRows,
} from './connector.js';
import type { DataMapTable } from './datamap.js';

export const MAX_HTTP_RESPONSE_BYTES = 16 * 1024 * 1024;
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{16,128}$/;

export interface HttpConnectorOptions {
  system: string;
  /** Base URL of the receiver, e.g. https://crm.example/hooks/ (https outside tests). */
  endpoint: string;
  tables: readonly DataMapTable[];
  /** The org's member key: the receiver checks the signature against the org's did:key. */
  signer: Signer;
  /** Longest wait for an answer (ms); default 10 s. */
  timeoutMs?: number;
  maxResponseBytes?: number;
}

function fail(system: string, message: string, cause?: unknown): NodeError {
  return new NodeError('CONNECTOR_FAILED', `${system}: ${message}`, cause === undefined ? {} : { cause });
}

export class HttpConnector implements Connector {
  readonly kind = 'http' as const;
  readonly system: string;
  readonly tables: readonly DataMapTable[];
  private readonly base: URL;
  private readonly columns = new Map<string, Set<string>>();
  private readonly fields = new Map<string, Set<string>>();

  constructor(private readonly opts: HttpConnectorOptions) {
    this.system = opts.system;
    this.tables = opts.tables;
    try {
      this.base = new URL(opts.endpoint.endsWith('/') ? opts.endpoint : `${opts.endpoint}/`);
    } catch {
      throw new NodeError('BAD_REQUEST', `${opts.system}: expected an absolute endpoint URL`);
    }
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new NodeError('BAD_REQUEST', `${opts.system}: expected an http(s) endpoint`);
    }
    for (const t of opts.tables) {
      const label = `${t.schema ?? 'public'}.${t.name}`;
      const cols = [t.identity.field, ...(t.timestampField === undefined ? [] : [t.timestampField])];
      this.columns.set(label, new Set([...cols, ...t.fields.map((f) => f.name)]));
      this.fields.set(label, new Set(t.fields.map((f) => f.name)));
    }
  }

  /** The receiver's answer, bounded in bytes, as text. */
  private async readBounded(res: Response): Promise<string> {
    const max = this.opts.maxResponseBytes ?? MAX_HTTP_RESPONSE_BYTES;
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > max) throw fail(this.system, `the answer is ${declared} bytes; at most ${max} are accepted`);
    const reader = res.body?.getReader();
    if (reader === undefined) return '';
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => {});
        throw fail(this.system, `the answer exceeds ${max} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Checks the answer: `{tables: [{table, rows}]}` with mapped collections and columns only. */
  private resultOf(doc: unknown): ConnectorResult {
    const shape = 'expected an answer {"tables": [{"table": "<schema>.<name>", "rows": [{...}]}]}';
    if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { tables?: unknown }).tables)) {
      throw fail(this.system, shape);
    }
    const tables: TableRows[] = [];
    for (const t of (doc as { tables: unknown[] }).tables) {
      const { table, rows } = (t ?? {}) as { table?: unknown; rows?: unknown };
      const cols = typeof table === 'string' ? this.columns.get(table) : undefined;
      if (cols === undefined || !Array.isArray(rows)) throw fail(this.system, `${shape}, with tables of the data map`);
      for (const row of rows) {
        if (typeof row !== 'object' || row === null || Array.isArray(row)) throw fail(this.system, shape);
        for (const k of Object.keys(row)) {
          if (!cols.has(k))
            throw fail(this.system, `the answer has a column ${k.slice(0, 63)} the data map does not name in ${table}`);
        }
      }
      tables.push({ table: table as string, rows: sortRows(rows as { [k: string]: JsonValue }[]) });
    }
    return { system: this.system, rows: tables.reduce((n, t) => n + t.rows.length, 0), tables };
  }

  private async call(operation: string, body: { [k: string]: JsonValue }, key?: string): Promise<ConnectorResult> {
    const idempotencyKey = key ?? randomBytes(16).toString('base64url');
    if (!IDEMPOTENCY_KEY.test(idempotencyKey))
      throw new NodeError('BAD_REQUEST', 'expected an idempotency key of 16-128 characters A-Z a-z 0-9 _ -');
    const url = new URL(`custos/v1/${operation}`, this.base).href;
    const text = JSON.stringify({
      system: this.system,
      operation,
      idempotencyKey,
      collections: [...this.columns.keys()],
      ...body,
    });
    const headers = {
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey,
      ...signRequest({ method: 'POST', url, body: text }, this.opts.signer),
    };
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers,
        body: text,
        redirect: 'error',
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? 'no answer in time' : 'cannot reach the endpoint';
      throw fail(this.system, `${operation}: ${why}`, e);
    }
    const answer = await this.readBounded(res);
    // The status only: a receiver's error body may quote the data it was sent.
    if (!res.ok) throw fail(this.system, `${operation}: HTTP ${res.status}`);
    let doc: unknown;
    try {
      doc = JSON.parse(answer);
    } catch {
      throw fail(this.system, `${operation}: expected a JSON answer`);
    }
    return this.resultOf(doc);
  }

  private subjectBody(subject: SubjectRef): { [k: string]: JsonValue } {
    return {
      subject: {
        did: subject.did,
        vaultIdentities: (subject.vaultIdentities ?? {}) as unknown as JsonValue,
      },
    };
  }

  find(subject: SubjectRef, opts?: CallOptions): Promise<ConnectorResult> {
    return this.call('find', this.subjectBody(subject), opts?.idempotencyKey);
  }

  export(subject: SubjectRef, opts?: CallOptions): Promise<ConnectorResult> {
    return this.call('export', this.subjectBody(subject), opts?.idempotencyKey);
  }

  erase(subject: SubjectRef, opts?: CallOptions): Promise<ConnectorResult> {
    return this.call('erase', this.subjectBody(subject), opts?.idempotencyKey);
  }

  expire(now: number, opts?: CallOptions): Promise<ConnectorResult> {
    return this.call('expire', { now }, opts?.idempotencyKey);
  }

  async rectify(subject: SubjectRef, changes: readonly Rectification[], opts?: CallOptions): Promise<ConnectorResult> {
    checkRectifications(changes);
    changes.forEach((c, i) => {
      if (!this.fields.get(c.table)?.has(c.field)) {
        throw new NodeError(
          'BAD_REQUEST',
          `rectification ${i}: expected a mapped field of a collection of ${this.system}`,
        );
      }
    });
    return this.call(
      'rectify',
      { ...this.subjectBody(subject), changes: changes as unknown as JsonValue },
      opts?.idempotencyKey,
    );
  }

  async close(): Promise<void> {}
}
