/**
 * The HTTP/webhook connector against a receiver on 127.0.0.1 (a stand-in for a SaaS system, with its
 * own store): the conformance suite; every request signed with the org's key (RFC 9421, checked by
 * the receiver) and carrying an idempotency key; a receiver that applies an erasure but answers too
 * late is retried with the same key and applies it once; answers outside the map are refused.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { verifyRequest } from '@custos/protocol/http';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { startApiNode, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableRows } from '../src/connectors/connector.js';
import { type DataMapTable, parseDataMap, publishArgs } from '../src/connectors/datamap.js';
import { executeRequest, stepIdempotencyKey } from '../src/connectors/execute.js';
import { HttpConnector } from '../src/connectors/http.js';
import { type ConformanceHarness, connectorConformance } from './connector-conformance.js';

const DAY = 86_400_000;
const TABLE = 'public.contacts';
type Row = { [k: string]: JsonValue };

function tables(): DataMapTable[] {
  const map = parseDataMap(
    JSON.stringify({
      custosDataMap: 1,
      org: 'bank',
      version: 1,
      systems: [
        {
          id: 'saas',
          kind: 'http',
          tables: [
            {
              name: 'contacts',
              identity: { field: 'custos_subject', kind: 'pseudonym' },
              erasure: 'delete',
              timestampField: 'created_at',
              fields: [{ name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:Marketing'], retentionDays: 30 }],
            },
          ],
        },
      ],
    }),
  );
  return map.systems[0]!.tables!;
}

/** The receiver: checks each request's signature against the org's did:key and applies each idempotency key once. */
class Receiver {
  rows: Row[] = [];
  readonly applied = new Map<string, number>();
  readonly answers = new Map<string, string>();
  readonly keys: string[] = [];
  refusedSignatures = 0;
  /** Answer the next call this many ms late (after applying it). */
  delayNext = 0;
  /** Answer with this document instead. */
  override: unknown;
  server!: Server;
  url = '';

  constructor(private readonly orgDid: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req).then(
        ([status, text]) => {
          const delay = this.delayNext;
          this.delayNext = 0;
          setTimeout(() => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(text);
          }, delay);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hooks/`;
  }

  private async handle(req: IncomingMessage): Promise<[number, string]> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const v = verifyRequest({
      method: req.method ?? '',
      url: `http://127.0.0.1:${(this.server.address() as { port: number }).port}${req.url}`,
      headers: req.headers as Record<string, string>,
      body,
    });
    if (!v.ok || v.value.keyid !== this.orgDid) {
      this.refusedSignatures++;
      return [401, '{}'];
    }
    const doc = JSON.parse(body) as {
      operation: string;
      idempotencyKey: string;
      subject?: { did: string };
      now?: number;
      changes?: { field: string; value: JsonValue }[];
    };
    if (req.headers['idempotency-key'] !== doc.idempotencyKey) return [400, '{}'];
    this.keys.push(doc.idempotencyKey);
    if (this.override !== undefined) return [200, JSON.stringify(this.override)];
    const seen = this.answers.get(doc.idempotencyKey);
    if (seen !== undefined) return [200, seen];
    const mine = (r: Row) => r.custos_subject === doc.subject?.did;
    let touched: Row[] = [];
    if (doc.operation === 'find' || doc.operation === 'export') touched = this.rows.filter(mine);
    if (doc.operation === 'erase') {
      touched = this.rows.filter(mine);
      this.rows = this.rows.filter((r) => !mine(r));
    }
    if (doc.operation === 'expire') {
      const old = (r: Row) => Date.parse(String(r.created_at)) < (doc.now ?? 0) - 30 * DAY;
      touched = this.rows.filter(old);
      this.rows = this.rows.filter((r) => !old(r));
    }
    if (doc.operation === 'rectify') {
      touched = this.rows.filter(mine).map((r) => ({ ...r }));
      for (const r of this.rows.filter(mine)) for (const c of doc.changes ?? []) r[c.field] = c.value;
    }
    this.applied.set(doc.idempotencyKey, (this.applied.get(doc.idempotencyKey) ?? 0) + 1);
    const text = JSON.stringify({ tables: [{ table: TABLE, rows: touched }] });
    this.answers.set(doc.idempotencyKey, text);
    return [200, text];
  }

  truth(did: string): TableRows[] {
    const rows = this.rows
      .filter((r) => r.custos_subject === did)
      .map((r) => ({ ...r }))
      .sort((a, b) => (canonicalize(a) < canonicalize(b) ? -1 : 1));
    return [{ table: TABLE, rows }];
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

function addRows(rx: Receiver, expired = false): string {
  const did = didFromPublicKey(userSigner().publicKey);
  const created_at = new Date(Date.now() - (expired ? 40 * DAY : 0)).toISOString();
  rx.rows.push({ custos_subject: did, created_at, email: `a.${did.slice(-6)}@example.org` });
  rx.rows.push({ custos_subject: did, created_at, email: `b.${did.slice(-6)}@example.org` });
  return did;
}

async function harness(signer: Signer): Promise<ConformanceHarness> {
  const rx = new Receiver(didFromPublicKey(signer.publicKey));
  await rx.start();
  const connector = new HttpConnector({ system: 'saas', endpoint: rx.url, tables: tables(), signer });
  return {
    connector,
    addSubject: async (opts = {}) => ({ did: addRows(rx, opts.expired) }),
    truth: async (s) => rx.truth(s.did),
    rectification: (s) => ({
      change: { table: TABLE, field: 'email', value: 'corrected@example.org' },
      readBack: async () => [...new Set(rx.truth(s.did)[0]!.rows.map((r) => r.email))].join(),
    }),
    expireAt: () => Date.now(),
    close: () => rx.close(),
  };
}

const orgSigner = userSigner();
connectorConformance('http', () => harness(orgSigner));

describe('the HTTP connector', () => {
  let rx: Receiver;
  const signer = userSigner();
  beforeAll(async () => {
    rx = new Receiver(didFromPublicKey(signer.publicKey));
    await rx.start();
  });
  afterAll(() => rx.close());

  it('is refused by a receiver that checks the signature against another key', async () => {
    const other = new HttpConnector({ system: 'saas', endpoint: rx.url, tables: tables(), signer: userSigner() });
    await expect(other.find({ did: 'did:key:z6Mk' })).rejects.toMatchObject({
      code: 'CONNECTOR_FAILED',
      message: 'saas: find: HTTP 401',
    });
    expect(rx.refusedSignatures).toBe(1);
  });

  it('refuses answers with collections or columns the map does not name, and oversized answers', async () => {
    const c = new HttpConnector({ system: 'saas', endpoint: rx.url, tables: tables(), signer, maxResponseBytes: 2000 });
    rx.override = { tables: [{ table: 'public.secrets', rows: [] }] };
    await expect(c.find({ did: 'x' })).rejects.toThrow(/tables of the data map/);
    rx.override = { tables: [{ table: TABLE, rows: [{ custos_subject: 'x', ssn: '1' }] }] };
    await expect(c.find({ did: 'x' })).rejects.toThrow(/a column ssn the data map does not name/);
    rx.override = { tables: [{ table: TABLE, rows: [{ email: 'x'.repeat(3000) }] }] };
    await expect(c.find({ did: 'x' })).rejects.toThrow(/exceeds 2000 bytes/);
    rx.override = undefined;
  });

  it('retries a step that timed out with the same idempotency key: the receiver applies it once', async () => {
    const api = await startApiNode({ members: ['bank'] });
    try {
      const bank = api.fx.orgs.bank!;
      const bankRx = new Receiver(didFromPublicKey(bank.publicKey));
      await bankRx.start();
      const map = parseDataMap(
        JSON.stringify({
          custosDataMap: 1,
          org: 'bank',
          version: 1,
          systems: [{ id: 'saas', kind: 'http', tables: tables() }],
        }),
      );
      expect((await api.orgs.submit('bank', 'datamap.publish', publishArgs(map))).code).toBe('OK');
      const ada = userSigner();
      const did = didFromPublicKey(ada.publicKey);
      bankRx.rows.push({ custos_subject: did, created_at: new Date().toISOString(), email: 'ada@example.org' });
      const canary = addRows(bankRx);
      const open = await api.node.submitAndWait(
        signTx(
          {
            chainId: api.node.chainId,
            type: 'request.open',
            args: { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' },
          },
          ada,
        ),
      );
      const connector = new HttpConnector({
        system: 'saas',
        endpoint: bankRx.url,
        tables: tables(),
        signer: bank,
        timeoutMs: 300,
      });
      // The receiver erases, then answers after the connector gave up waiting.
      bankRx.delayNext = 1000;
      const waits: number[] = [];
      const report = await executeRequest(api.orgs, 'bank', open.txId, [connector], {
        backoffMs: 50,
        sleep: async (ms) => {
          waits.push(ms);
        },
      });
      expect(report.status).toBe('fulfilled');
      expect(waits).toEqual([50]);
      const key = stepIdempotencyKey('bank', open.txId, 'saas', 'erase');
      expect(bankRx.keys).toEqual([key, key]);
      expect(bankRx.applied.get(key)).toBe(1);
      // The evidence is of the erasure itself (one row), not of the empty second look.
      expect(report.steps[0]).toMatchObject({ outcome: 'done', rows: 1, attempts: 2 });
      expect(bankRx.truth(did)[0]!.rows).toEqual([]);
      expect(bankRx.truth(canary)[0]!.rows).toHaveLength(2);
      await bankRx.close();
    } finally {
      await api.close();
    }
  });
});
