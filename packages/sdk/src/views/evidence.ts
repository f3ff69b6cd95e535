/**
 * The evidence of a request's execution, as the customer reads it (issue 16, point 3): for one
 * request, each system's step the org recorded on the ledger (`request.step`), from the customer's
 * own verified history, so every step shown is a proven event: the outcome, how many rows, when,
 * the transaction and the salted digest of what was exported or erased. "Erased in 3 of 3
 * systems": a fulfilled request counts the systems whose step is done or kept under an exception
 * (the ledger accepts the fulfilment only when every system of the map in force is); an open one
 * counts against the systems of the map in force, when the caller knows them.
 */
import { sha256 } from '@custos/protocol/crypto';
import { concatBytes, fromHex, toHex, utf8 } from '@custos/protocol/encoding';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import type { DataRequest } from '@custos/protocol/ledger';
import type { EventView } from './company.js';

export type StepKind = 'export' | 'erase' | 'rectify';

export interface StepEvidence {
  system: string;
  step: StepKind;
  outcome: 'done' | 'exception' | 'failed';
  rows: number;
  digest: string | null;
  exception: string | null;
  error: string | null;
  /** The block time of the step (proven by its log entry). */
  at: number;
  txId: string;
  height: number;
}

export interface RequestEvidence {
  request: string;
  step: StepKind;
  /** The latest step of each system, in the order they were first recorded. */
  steps: StepEvidence[];
  /** Systems done or kept under a legal exception. */
  complete: number;
  /** Systems the request must reach, when known (fulfilled: all complete; open: the map in force). */
  total: number | undefined;
  /** "Erased in 3 of 3 systems", "Exported in 1 of 3 systems so far", "Erasure paused: failed in crm". */
  summary: string;
}

const PAST: Record<StepKind, string> = { export: 'Exported', erase: 'Erased', rectify: 'Corrected' };

/** The step a request of `kind` runs in each system, or undefined. */
export function requestStepKind(kind: string): StepKind | undefined {
  if (kind === 'access' || kind === 'export') return 'export';
  if (kind === 'erase') return 'erase';
  if (kind === 'rectify') return 'rectify';
  return undefined;
}

/**
 * The evidence of `request` from the company's verified events (`CompanyView.events`), or undefined
 * when it runs no step or none was recorded yet. `systemsInForce`: the ids of the systems of the
 * data map in force, for an open request's total.
 */
export function requestEvidence(
  request: Pick<DataRequest, 'id' | 'kind' | 'status'>,
  events: readonly Pick<EventView, 'type' | 'code' | 'tx' | 'at' | 'txId' | 'height' | 'index'>[],
  systemsInForce?: readonly string[],
): RequestEvidence | undefined {
  const step = requestStepKind(request.kind);
  if (step === undefined) return undefined;
  const mine = events
    .filter((e) => e.type === 'request.step' && e.code === 'OK' && e.tx.body.args.request === request.id)
    .sort((a, b) => a.height - b.height || a.index - b.index);
  if (mine.length === 0) return undefined;
  const bySystem = new Map<string, StepEvidence>();
  for (const e of mine) {
    const a = e.tx.body.args as Record<string, unknown>;
    const str = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : null);
    const outcome = str('outcome');
    const system = str('system');
    if (system === null || (outcome !== 'done' && outcome !== 'exception' && outcome !== 'failed')) continue;
    bySystem.set(system, {
      system,
      step,
      outcome,
      rows: typeof a.rows === 'number' ? a.rows : 0,
      digest: str('digest'),
      exception: str('exception'),
      error: str('error'),
      at: e.at,
      txId: e.txId,
      height: e.height,
    });
  }
  const steps = [...bySystem.values()];
  const complete = steps.filter((s) => s.outcome !== 'failed').length;
  const failed = steps.filter((s) => s.outcome === 'failed').map((s) => s.system);
  const total =
    request.status === 'fulfilled' ? complete : systemsInForce === undefined ? undefined : systemsInForce.length;
  const verb = PAST[step];
  let summary: string;
  if (request.status === 'fulfilled') {
    summary = `${verb} in ${complete} of ${complete} system${complete === 1 ? '' : 's'}`;
  } else if (failed.length > 0) {
    summary = `${verb} in ${complete}${total === undefined ? '' : ` of ${total}`} system${(total ?? complete) === 1 ? '' : 's'} so far; paused: it failed in ${failed.join(', ')} and will be run again`;
  } else {
    summary = `${verb} in ${complete}${total === undefined ? '' : ` of ${total}`} system${(total ?? complete) === 1 ? '' : 's'} so far`;
  }
  const kept = steps.filter((s) => s.outcome === 'exception').length;
  if (kept > 0) summary += ` (${kept} kept under a legal exception)`;
  return { request: request.id, step, steps, complete, total, summary };
}

/** One system's step in a few words: "erased 2 rows", "kept under gdpr-17-3-b", "failed (CONNECTOR_FAILED)". */
export function stepText(s: StepEvidence): string {
  if (s.outcome === 'exception') return `kept under a legal exception (${s.exception ?? ''})`;
  if (s.outcome === 'failed') return `failed (${s.error ?? 'error'}); it will be run again`;
  return `${PAST[s.step].toLowerCase()} ${s.rows} row${s.rows === 1 ? '' : 's'}`;
}

/** What an org hands the customer with an access export: per system, the rows and the salt of the recorded digest. */
export interface ExportedSystemFile {
  system: string;
  salt: string;
  digest?: string;
  tables: { table: string; rows: { [column: string]: JsonValue }[] }[];
}

/** Bounds of an export file the customer checks: systems and bytes. */
export const MAX_EXPORT_SYSTEMS = 64;
export const MAX_EXPORT_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Parses an export package (`{request, systems: [{system, salt, tables}]}`), or throws an Error
 * saying what was expected. The digest is recomputed by `exportDigest`, never taken from the file.
 */
export function parseExportPackage(text: string): { request: string; systems: ExportedSystemFile[] } {
  if (text.length > MAX_EXPORT_FILE_BYTES)
    throw new Error(`expected an export file of at most ${MAX_EXPORT_FILE_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('expected a JSON export file');
  }
  const d = doc as { request?: unknown; systems?: unknown };
  if (typeof d !== 'object' || d === null || typeof d.request !== 'string' || !/^[0-9a-f]{64}$/.test(d.request)) {
    throw new Error('expected {"request": "<64 hex digits>", "systems": [...]}');
  }
  if (!Array.isArray(d.systems) || d.systems.length > MAX_EXPORT_SYSTEMS) {
    throw new Error(`expected "systems" as a list of at most ${MAX_EXPORT_SYSTEMS} systems`);
  }
  const systems = d.systems.map((s: unknown, i: number) => {
    const x = s as Partial<ExportedSystemFile>;
    if (
      typeof x !== 'object' ||
      x === null ||
      typeof x.system !== 'string' ||
      typeof x.salt !== 'string' ||
      !/^[0-9a-f]{64}$/.test(x.salt) ||
      !Array.isArray(x.tables)
    ) {
      throw new Error(`systems[${i}]: expected {"system", "salt" (64 hex digits), "tables": [...]}`);
    }
    return { system: x.system, salt: x.salt, tables: x.tables } as ExportedSystemFile;
  });
  return { request: d.request, systems };
}

/**
 * The digest the ledger holds for one system's step, recomputed from what the org handed over:
 * SHA-256(salt || canonical JSON {system, tables}) (connectors/connector.ts `evidenceDigest`).
 */
export function exportDigest(s: ExportedSystemFile): string {
  const body = utf8(canonicalize({ system: s.system, tables: s.tables } as unknown as JsonValue));
  return toHex(sha256(concatBytes(fromHex(s.salt), body)));
}
