/**
 * The org's side of the customer's data export (issue 19 item 4, ADR 0021). Answering an access or
 * export request, the node reads the subject's values from the org's vault, seals them with HPKE to
 * the customer's pairwise key (`@custos/protocol/data-export`), keeps the envelope off-chain in its
 * SQLite file and commits `request.fulfil` with the envelope's SHA-256 and the number of records.
 * The customer downloads it once, signed by their pseudonym; it is deleted then, or after
 * `EXPORT_TTL_MS`. Handed to another member's peer that relays it, it stays until the customer
 * confirms their download, so a relaying peer that fails them does not cost them their export. Never logs or returns a value or a subject: ids and counts only.
 */
import {
  complaintText,
  type DataExport,
  type ExportEnvelope,
  type ExportStatements,
  exportDigest,
  MAX_EXPORT_RECORDS,
  sealDataExport,
} from '@custos/protocol/data-export';
import type { JsonValue } from '@custos/protocol/jcs';
import type { DataRequest } from '@custos/protocol/ledger';
import type Database from 'better-sqlite3';
import { NodeError } from '../errors.js';
import type { DataRecord } from '../modules/data.js';
import type { CommitResult, CustosNode } from '../node.js';
import type { OrgLog, OrgService } from './org-service.js';
import { profileKey } from './receipts.js';

/** How long an export waits for its download. */
export const EXPORT_TTL_MS = 30 * 24 * 3600 * 1000;
/** Most exports waiting on one node; beyond, answering with the data is refused until some are fetched or expire. */
export const MAX_WAITING_EXPORTS = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS data_exports (
  org TEXT NOT NULL,
  request TEXT NOT NULL,
  subject TEXT NOT NULL,
  envelope TEXT NOT NULL,
  digest TEXT NOT NULL,
  records INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (org, request)
) STRICT;
CREATE INDEX IF NOT EXISTS data_exports_expiry ON data_exports (expires_at);
`;

/** What the customer downloads. */
export interface WaitingExport {
  org: string;
  request: string;
  digest: string;
  records: number;
  createdAt: number;
  expiresAt: number;
  envelope: ExportEnvelope;
}

interface Row {
  org: string;
  request: string;
  envelope: string;
  digest: string;
  records: number;
  created_at: number;
  expires_at: number;
}

const notWaiting = (requestId: string) =>
  new NodeError(
    'NOT_FOUND',
    `no export waiting for request ${requestId}: downloaded already, expired, or not answered with one`,
  );

const waitingOf = (row: Row): WaitingExport => ({
  org: row.org,
  request: row.request,
  digest: row.digest,
  records: row.records,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  envelope: JSON.parse(row.envelope) as ExportEnvelope,
});

const isCountry = (c: unknown): c is string => typeof c === 'string' && /^[A-Z]{2}$/.test(c);

export class ExportService {
  private readonly db: Database.Database;
  private readonly node: CustosNode;

  constructor(
    private readonly orgs: OrgService,
    private readonly log: OrgLog = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.node = orgs.node;
    this.db = this.node.store.db;
    this.db.exec(SCHEMA);
  }

  /**
   * Fulfils a request: an open access or export request goes with the data itself, sealed to the
   * customer (`args.export` on the ledger); any other request as it is.
   */
  async fulfil(org: string, requestId: string, args: { [k: string]: JsonValue } = {}): Promise<CommitResult> {
    const r = this.orgs.request(org, requestId);
    if (r === undefined || r.status !== 'open' || (r.kind !== 'access' && r.kind !== 'export')) {
      return this.orgs.submit(org, 'request.fulfil', { ...args, request: requestId });
    }
    const { digest, records } = await this.prepare(org, r);
    const result = await this.orgs.submit(org, 'request.fulfil', {
      ...args,
      request: requestId,
      export: { digest, records },
    });
    if (result.code !== 'OK') this.drop(org, requestId);
    else this.log({ event: 'export.sealed', org, request: requestId, records });
    return result;
  }

  /** Seals the subject's values of the org's vault for request `r` and keeps the envelope. */
  private async prepare(org: string, r: DataRequest): Promise<{ digest: string; records: number }> {
    this.sweep();
    const waiting = (this.db.prepare('SELECT count(*) AS n FROM data_exports').get() as { n: number }).n;
    if (waiting >= MAX_WAITING_EXPORTS) {
      throw new NodeError(
        'RATE_LIMITED',
        `${waiting} exports are waiting for download on this node (at most ${MAX_WAITING_EXPORTS})`,
      );
    }
    const vault = this.orgs.vaultOf(org);
    const wanted = new Set(r.records);
    const held = this.orgs
      .recordsOf(org, r.subject)
      .filter((rec) => rec.erasedAt === null && (wanted.size === 0 || wanted.has(rec.id)));
    if (held.length > MAX_EXPORT_RECORDS) {
      throw new NodeError(
        'BAD_REQUEST',
        `the subject has ${held.length} records at ${org}; one export carries at most ${MAX_EXPORT_RECORDS}`,
      );
    }
    const records: DataExport['records'] = [];
    for (const rec of held) {
      // A record the vault does not hold (registered elsewhere) stays out: the customer's check names it missing.
      if (vault.status(rec.vaultRef) !== 'live') continue;
      const { salt, value } = vault.readForSubject(rec.vaultRef);
      records.push({ record: rec.id, category: rec.category, purposes: rec.purposes, source: rec.source, salt, value });
    }
    const ctx = { chainId: this.node.chainId, org, subject: r.subject, request: r.id };
    const data: DataExport = {
      v: 1,
      ...ctx,
      kind: r.kind as 'access' | 'export',
      jurisdiction: r.jurisdiction,
      createdAt: this.now(),
      records,
      statements: this.statements(org, r, held),
    };
    const envelope = await sealDataExport(ctx, data);
    const digest = exportDigest(envelope);
    this.db
      .prepare('INSERT OR REPLACE INTO data_exports VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        org,
        r.id,
        r.subject,
        JSON.stringify(envelope),
        digest,
        records.length,
        data.createdAt,
        data.createdAt + EXPORT_TTL_MS,
      );
    return { digest, records: records.length };
  }

  /** Automated decisions from the records, transfers outside the EEA from the org's profile, complaints by law. */
  private statements(org: string, r: DataRequest, held: DataRecord[]): ExportStatements {
    const automated = held
      .filter((rec) => (rec.automated?.length ?? 0) > 0)
      .map((rec) => ({ record: rec.id, category: rec.category, purposes: rec.automated ?? [] }));
    const text = this.node.store.getState(profileKey(org));
    const profile =
      text === undefined
        ? undefined
        : (JSON.parse(text) as { value?: { transfers?: unknown; controller?: { name?: unknown; email?: unknown } } })
            .value;
    const transfers = Array.isArray(profile?.transfers)
      ? profile.transfers
          .filter(
            (t): t is { country: string; safeguard: string } =>
              isCountry(t?.country) && typeof t?.safeguard === 'string',
          )
          .slice(0, 64)
          .map((t) => ({ country: t.country, safeguard: t.safeguard.slice(0, 200) }))
      : [];
    const ctl = profile?.controller;
    const contact =
      typeof ctl?.name === 'string' && typeof ctl.email === 'string'
        ? [`You can first ask ${ctl.name.slice(0, 200)} (${ctl.email.slice(0, 200)}).`]
        : [];
    return { automated, transfers, complaints: [...contact, complaintText(r.jurisdiction)] };
  }

  /** Hands the subject the export of their request, once: it is deleted as it is read. */
  download(subject: string, requestId: string): WaitingExport {
    this.sweep();
    const row = this.db
      .prepare('DELETE FROM data_exports WHERE subject = ? AND request = ? RETURNING *')
      .get(subject, requestId) as Row | undefined;
    if (row === undefined) throw notWaiting(requestId);
    this.log({ event: 'export.downloaded', org: row.org, request: requestId, records: row.records });
    return waitingOf(row);
  }

  /**
   * Hands the export to a member's peer relaying it to the subject, and keeps it: the relay may fail
   * the customer, who then downloads again through any peer until they confirm (`confirm`) or it expires.
   */
  handOver(subject: string, requestId: string): WaitingExport {
    this.sweep();
    const row = this.db
      .prepare('SELECT * FROM data_exports WHERE subject = ? AND request = ?')
      .get(subject, requestId) as Row | undefined;
    if (row === undefined) throw notWaiting(requestId);
    this.log({ event: 'export.relayed', org: row.org, request: requestId, records: row.records });
    return waitingOf(row);
  }

  /** The subject confirms they have their export: it is deleted. False when none was waiting (served or expired). */
  confirm(subject: string, requestId: string): boolean {
    const row = this.db
      .prepare('DELETE FROM data_exports WHERE subject = ? AND request = ? RETURNING org, records')
      .get(subject, requestId) as { org: string; records: number } | undefined;
    if (row !== undefined)
      this.log({ event: 'export.confirmed', org: row.org, request: requestId, records: row.records });
    return row !== undefined;
  }

  private drop(org: string, requestId: string): void {
    this.db.prepare('DELETE FROM data_exports WHERE org = ? AND request = ?').run(org, requestId);
  }

  /** Deletes the exports past their expiry; returns how many. */
  sweep(): number {
    return this.db.prepare('DELETE FROM data_exports WHERE expires_at < ?').run(this.now()).changes;
  }
}

const services = new WeakMap<OrgService, ExportService>();

/** The one ExportService of an OrgService (its table lives in the node's SQLite file). */
export function exportServiceOf(orgs: OrgService, log?: OrgLog): ExportService {
  let s = services.get(orgs);
  if (s === undefined) {
    s = new ExportService(orgs, log);
    services.set(orgs, s);
  }
  return s;
}
