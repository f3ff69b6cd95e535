/**
 * A customer's correction carried into every system of the org that holds it (GDPR Art. 16, issues
 * 16 and 17). When the org's node applies a correction into its vault, `correctionSystems` names the
 * systems of the data map in force that hold the record's category (the vault, and each system with a
 * mapped field of that category); `rectify.apply` records them. `runCorrection` then updates each
 * system with its connector's rectify step (the value from the vault, written into every mapped field
 * of that category of the subject's rows) and records `rectify.step` per system: the outcome, the
 * rows, the salted digest of the rows as they were, the time. A step already done is skipped, so a
 * run that stopped or failed is run again from where it stopped; a failing step is retried with
 * backoff and then recorded with its error code. The step journal closes the crash window as for
 * requests (step-attempt.ts). Never logs or records a value.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type { Rectification as Correction } from '@custos/protocol/ledger';
import { errorCode, NodeError } from '../errors.js';
import type { DataRecord } from '../modules/data.js';
import { rectificationKey } from '../modules/rectify.js';
import { rectifyStepKey } from '../modules/rectify-steps.js';
import type { RequestStep } from '../modules/request-steps.js';
import type { OrgService } from '../orgs/org-service.js';
import { type Connector, evidenceDigest, MAX_IDENTITY_VALUES, newEvidenceSalt, type SubjectRef } from './connector.js';
import { type MappedField, rectificationsOf } from './correction-values.js';
import type { DataMapTable } from './datamap.js';
import { stepIdempotencyKey } from './execute.js';
import { attemptStep, defaultSleep, retryStep, type StepOutcome, stepErrorText } from './step-attempt.js';
import { stepErrorsOf } from './step-errors.js';
import { stepJournalOf } from './step-journal.js';
import { VAULT_TABLE } from './vault-connector.js';

export interface CorrectionRunOptions {
  /** Attempts per step before it is recorded as failed (default 3). */
  attempts?: number;
  /** First backoff (ms), doubled after each failed attempt (default 500). */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface CorrectionStepReport {
  system: string;
  outcome: 'done' | 'failed' | 'skipped';
  rows: number;
  digest: string | null;
  txId: string | null;
  attempts: number;
  /** A failed step's message (systems, tables, SQLSTATEs: never a value). */
  error?: string;
}

export interface CorrectionRunReport {
  item: string;
  /** Systems done, of `total`. */
  complete: number;
  total: number;
  steps: CorrectionStepReport[];
}

/** The mapped fields of `category` in a system's tables, as the connector's rectifications name them. */
function fieldsOf(tables: readonly DataMapTable[], category: string): MappedField[] {
  return tables.flatMap((t) =>
    t.fields
      .filter((f) => f.category === category)
      .map((f) => ({
        table: `${t.schema ?? 'public'}.${t.name}`,
        field: f.name,
        ...(f.json === true ? { json: true } : {}),
        ...(f.key === undefined ? {} : { key: f.key }),
      })),
  );
}

/** Whether `c` holds data of `category`: the vault always does (it holds the record). */
function holds(c: Connector, category: string): boolean {
  return c.kind === 'vault' || fieldsOf(c.tables ?? [], category).length > 0;
}

/**
 * The systems of the org's data map in force, run by this node's connectors, that hold `category`,
 * in the map's order; undefined when the node runs no connectors for the org or none holds it.
 */
export function correctionSystems(orgs: OrgService, org: string, category: string): string[] | undefined {
  const connectors = orgs.connectorsOf(org);
  const map = orgs.dataMap(org);
  if (connectors === undefined || map === undefined) return undefined;
  const systems = map.systems.filter((s) => {
    const c = connectors.find((x) => x.system === s);
    return c !== undefined && holds(c, category);
  });
  return systems.length === 0 ? undefined : systems;
}

/** The org's recorded step of a correction in one system. */
export function correctionStep(orgs: OrgService, org: string, item: string, system: string): RequestStep | undefined {
  const text = orgs.node.store.getState(rectifyStepKey(org, item, system));
  return text === undefined ? undefined : (JSON.parse(text) as RequestStep);
}

/** The org's applied correction `item` with its systems, or NOT_FOUND / BAD_REQUEST saying why not. */
export function appliedCorrection(orgs: OrgService, org: string, item: string): Correction & { systems: string[] } {
  const text = orgs.node.store.getState(rectificationKey(org, item));
  const r = text === undefined ? undefined : (JSON.parse(text) as Correction);
  if (r === undefined) throw new NodeError('NOT_FOUND', `no correction ${item} sent to ${org}`);
  if (r.status !== 'applied' || r.systems === undefined) {
    throw new NodeError(
      'BAD_REQUEST',
      r.status === 'applied'
        ? `correction ${item} was applied without systems to run in: there is nothing to run`
        : `expected an applied correction; ${item} is ${r.status}`,
    );
  }
  return r as Correction & { systems: string[] };
}

/** Values the vault holds for the subject that tables linked through a vault identity match on. */
function vaultIdentities(orgs: OrgService, org: string, subject: string, tables: readonly DataMapTable[]) {
  const out: Record<string, string[]> = {};
  const vault = orgs.vaultOf(org);
  for (const t of tables) {
    const id = t.identity;
    if (id.kind !== 'vault' || id.category === undefined) continue;
    const key = id.key === undefined ? id.category : `${id.category}#${id.key}`;
    if (out[key] !== undefined) continue;
    const values: string[] = [];
    for (const rec of orgs.recordsOf(org, subject)) {
      if (rec.erasedAt !== null || rec.category !== id.category || values.length >= MAX_IDENTITY_VALUES) continue;
      const v = vault.readForSubject(rec.vaultRef).value;
      const x =
        id.key === undefined ? v : typeof v === 'object' && v !== null && !Array.isArray(v) ? v[id.key] : undefined;
      if (typeof x === 'string') values.push(x);
    }
    out[key] = values;
  }
  return out;
}

/**
 * BAD_REQUEST if a table holding `category` links its rows through a vault value of that same
 * category: the vault already holds the new value, so the rows (keyed by the old one) would not be
 * found and the step would report 0 rows as done.
 */
function selfLinked(system: string, tables: readonly DataMapTable[], category: string): void {
  const t = tables.find(
    (x) =>
      x.identity.kind === 'vault' && x.identity.category === category && x.fields.some((f) => f.category === category),
  );
  if (t !== undefined) {
    throw new NodeError(
      'BAD_REQUEST',
      `${system}: table ${t.schema ?? 'public'}.${t.name} links its rows through the ${category} being corrected; map it by pseudonym, or correct it with custos org request execute`,
    );
  }
}

/** The vault's step: the value is already there (`rectify.apply`); its evidence is the record as it is now. */
function vaultOutcome(system: string, rec: DataRecord): StepOutcome {
  const row = {
    record: rec.id,
    category: rec.category,
    commitment: rec.commitment,
    retentionUntil: rec.retentionUntil,
  };
  const digest = evidenceDigest(newEvidenceSalt(), { system, tables: [{ table: VAULT_TABLE, rows: [row] }] });
  return { rows: 1, digest, recovered: false };
}

const running = new WeakMap<OrgService, Set<string>>();

/** Runs (or runs again) the correction's steps not yet done; one run per item at a time in this process. */
export async function runCorrection(
  orgs: OrgService,
  org: string,
  item: string,
  opts: CorrectionRunOptions = {},
): Promise<CorrectionRunReport> {
  let mine = running.get(orgs);
  if (mine === undefined) {
    mine = new Set();
    running.set(orgs, mine);
  }
  const key = `${org}/${item}`;
  if (mine.has(key)) throw new NodeError('BAD_REQUEST', `correction ${item} is already running; wait for it to end`);
  mine.add(key);
  try {
    return await runSteps(orgs, org, item, opts);
  } finally {
    mine.delete(key);
  }
}

async function runSteps(
  orgs: OrgService,
  org: string,
  item: string,
  opts: CorrectionRunOptions,
): Promise<CorrectionRunReport> {
  const r = appliedCorrection(orgs, org, item);
  const rec = orgs.record(org, r.record);
  if (rec === undefined || rec.erasedAt !== null) {
    throw new NodeError('ERASED', `record ${r.record} was erased: there is nothing left to correct`);
  }
  const attempts = Math.max(1, opts.attempts ?? 3);
  const backoff = opts.backoffMs ?? 500;
  const sleep = opts.sleep ?? defaultSleep;
  const journal = stepJournalOf(orgs.localDb());
  const errors = stepErrorsOf(orgs.localDb());
  const connectors = orgs.connectorsOf(org) ?? [];
  const report: CorrectionRunReport = { item, complete: 0, total: r.systems.length, steps: [] };
  let value: JsonValue | undefined;
  for (const system of r.systems) {
    const prior = correctionStep(orgs, org, item, system);
    if (prior !== undefined && prior.outcome === 'done') {
      journal.drop(org, item, system);
      report.complete++;
      report.steps.push({
        system,
        outcome: 'skipped',
        rows: prior.rows,
        digest: prior.digest,
        txId: prior.txId,
        attempts: 0,
      });
      continue;
    }
    const c = connectors.find((x) => x.system === system);
    const { outcome, lastError, tried } = await retryStep(
      async () => {
        if (c === undefined) throw new NodeError('CONNECTOR_FAILED', `${system}: this node runs no connector for it`);
        if (c.kind === 'vault') return vaultOutcome(system, rec);
        const tables = c.tables ?? [];
        selfLinked(system, tables, rec.category);
        value ??= orgs.vaultOf(org).readForSubject(rec.vaultRef).value;
        const changes = rectificationsOf(system, fieldsOf(tables, rec.category), value);
        const subject: SubjectRef = { did: r.subject, vaultIdentities: vaultIdentities(orgs, org, r.subject, tables) };
        return attemptStep(c, journal, {
          org,
          request: item,
          system,
          step: 'rectify',
          subject,
          changes,
          idempotencyKey: stepIdempotencyKey(org, item, system, 'rectify'),
        });
      },
      { attempts, backoffMs: backoff, sleep },
    );
    if (outcome === undefined) {
      const error = stepErrorText(lastError);
      const f = await orgs.submit(org, 'rectify.step', {
        item,
        system,
        outcome: 'failed',
        error: errorCode(lastError),
        attempts: tried,
      });
      errors.put(org, item, system, error);
      report.steps.push({ system, outcome: 'failed', rows: 0, digest: null, txId: f.txId, attempts: tried, error });
      continue;
    }
    const d = await orgs.submit(org, 'rectify.step', {
      item,
      system,
      outcome: 'done',
      rows: outcome.rows,
      digest: outcome.digest,
    });
    if (d.code !== 'OK') {
      throw new NodeError(
        'CONNECTOR_FAILED',
        `rectify.step for ${system} ended ${d.code}${d.detail ? `: ${d.detail}` : ''}`,
      );
    }
    journal.drop(org, item, system);
    errors.drop(org, item, system);
    report.complete++;
    report.steps.push({
      system,
      outcome: 'done',
      rows: outcome.rows,
      digest: outcome.digest,
      txId: d.txId,
      attempts: tried,
    });
  }
  return report;
}
