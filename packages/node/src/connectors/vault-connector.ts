/**
 * The org's own vault as a connector (the `vault` system of a data map): the subject's registered
 * records, through the org service, so every step is also a signed ledger step. Its rows are the
 * records' ledger facts (id, category, commitment, retention), never a decrypted value: the vault
 * decrypts only for a `data.access` the ledger accepted, and an export of values goes through that
 * route. Erasure crypto-shreds the subject key and commits `data.erased`; retention is the org
 * service's own sweep; rectification replaces one record's value and commits `data.update`.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import { NodeError } from '../errors.js';
import type { DataRecord } from '../modules/data.js';
import type { OrgService } from '../orgs/org-service.js';
import {
  type Connector,
  type ConnectorResult,
  checkRectifications,
  type Rectification,
  type SubjectRef,
  sortRows,
} from './connector.js';

/** The table name a vault connector's evidence uses. */
export const VAULT_TABLE = 'records';

function rowOf(r: DataRecord): { [k: string]: JsonValue } {
  return { record: r.id, category: r.category, commitment: r.commitment, retentionUntil: r.retentionUntil };
}

export class VaultConnector implements Connector {
  readonly kind = 'vault' as const;

  constructor(
    readonly system: string,
    private readonly orgs: OrgService,
    private readonly org: string,
  ) {}

  private live(subject: SubjectRef): DataRecord[] {
    return this.orgs.recordsOf(this.org, subject.did).filter((r) => r.erasedAt === null);
  }

  private result(records: DataRecord[]): ConnectorResult {
    return {
      system: this.system,
      rows: records.length,
      tables: [{ table: VAULT_TABLE, rows: sortRows(records.map(rowOf)) }],
    };
  }

  async find(subject: SubjectRef): Promise<ConnectorResult> {
    return this.result(this.live(subject));
  }

  async export(subject: SubjectRef): Promise<ConnectorResult> {
    return this.result(this.live(subject));
  }

  async erase(subject: SubjectRef): Promise<ConnectorResult> {
    const before = this.live(subject);
    const results = await this.orgs.eraseSubject(this.org, subject.did, 'request');
    const refused = results.find((r) => r.code !== 'OK');
    if (refused !== undefined) {
      throw new NodeError('CONNECTOR_FAILED', `${this.system}: data.erased ${refused.txId} ended ${refused.code}`);
    }
    return this.result(before);
  }

  async expire(now: number): Promise<ConnectorResult> {
    const due = this.orgs.pastRetention(this.org, now);
    const results = await this.orgs.erase(
      this.org,
      due.map((r) => r.id),
      'retention',
    );
    const refused = results.find((r) => r.code !== 'OK');
    if (refused !== undefined) {
      throw new NodeError('CONNECTOR_FAILED', `${this.system}: data.erased ${refused.txId} ended ${refused.code}`);
    }
    return this.result(due);
  }

  /** `table` is "records", `field` a record id of the subject, `value` its new value. */
  async rectify(subject: SubjectRef, changes: readonly Rectification[]): Promise<ConnectorResult> {
    checkRectifications(changes);
    const live = new Map(this.live(subject).map((r) => [r.id, r]));
    const targets = changes.map((c, i) => {
      const rec = c.table === VAULT_TABLE ? live.get(c.field) : undefined;
      if (rec === undefined) {
        throw new NodeError(
          'BAD_REQUEST',
          `rectification ${i}: expected table "records" and a live record id of the subject`,
        );
      }
      return { rec, value: c.value };
    });
    for (const { rec, value } of targets) {
      const r = await this.orgs.rectify(this.org, rec.id, value);
      if (r.code !== 'OK')
        throw new NodeError('CONNECTOR_FAILED', `${this.system}: data.update ${r.txId} ended ${r.code}`);
    }
    return this.result(targets.map((t) => t.rec));
  }

  async close(): Promise<void> {}
}
