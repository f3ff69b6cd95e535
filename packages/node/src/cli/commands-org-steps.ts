/**
 * `custos org request steps | execute` (issue 16): a request's steps in the systems of the org's data
 * map, and running it across them through the org's node (its connectors), each step recorded on the
 * ledger (`request.step`).
 */
import { ERASURE_EXCEPTIONS } from '@custos/protocol/ledger';
import type { ExecuteBody, RectificationInput, RequestStepState, RequestSteps } from '@custos/sdk';
import type { Command } from 'commander';
import { readBoundedFile } from '../files.js';
import { DATAMAP_SYSTEM_ID } from '../modules/datamap.js';
import { parsePositiveInt, parseRecordId } from './args.js';
import type { NodeClient } from './client.js';
import { day, deadlineText, output, TX_FAILED_EXIT, table } from './output.js';

const EXCEPTION_CODES: readonly string[] = [...ERASURE_EXCEPTIONS.GDPR, ...ERASURE_EXCEPTIONS.CCPA];

/** The deadline line of a request's steps: when it is due, and whether a failed step puts it at risk. */
function deadlineLine(s: RequestSteps): string {
  const extended = s.originalDeadline === null ? '' : ` (extended from ${day(s.originalDeadline)})`;
  const flag = s.atRisk
    ? ' AT RISK: a failed step keeps it open near or past its deadline.'
    : s.paused
      ? ' Paused on a failed step.'
      : '';
  if (s.status !== 'open')
    return `Legal deadline ${day(s.deadline)}${extended} (${s.jurisdiction}); the request is ${s.status}.`;
  return `Legal deadline ${day(s.deadline)}${extended} (${s.jurisdiction}): ${deadlineText({ status: 'open', deadline: s.deadline, closedAt: null }, s.now)}.${flag}`;
}

/** Most bytes of a --changes file: the API's body limit. */
const MAX_CHANGES_BYTES = 64 * 1024;

/** The corrected values of a rectification from a JSON file; errors never quote its content. */
function readChanges(file: string, bad: (m: string) => Error): Record<string, RectificationInput[]> {
  const text = readBoundedFile(file, { what: 'the corrected values (JSON)', maxBytes: MAX_CHANGES_BYTES }).toString(
    'utf8',
  );
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad(
      `expected JSON in ${file === '-' ? 'stdin' : file}, e.g. {"crm": [{"table": "public.customers", "field": "email", "value": "new@example.org"}]}`,
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw bad('expected --changes as an object of system id -> [{table, field, value}]');
  }
  return doc as Record<string, RectificationInput[]>;
}

/** The SDK's sentences (with the GPP and HPKE code they use), loaded by the commands that print them. */
const views = () => import('@custos/sdk/views');

/** One system's step as the CLI tells it. */
function stepText(x: RequestStepState, erasureExceptionText: (code: string) => string): string {
  const journalled =
    x.journalled === true ? ' (a stopped run left its outcome in the step journal: run execute to record it)' : '';
  if (x.outcome === 'pending') return `pending${journalled}`;
  if (x.outcome === 'exception') {
    return `kept under the legal exception ${x.exception ?? ''}: ${erasureExceptionText(x.exception ?? '')}`;
  }
  if (x.outcome === 'failed') {
    const attempts = x.attempts === undefined ? '' : `, ${x.attempts} attempt(s)`;
    const why = x.message === undefined ? (x.error ?? '') : x.message;
    return `FAILED (${x.failures ?? 1} run(s)${attempts}): ${why}; fix the system and run execute again, or record a legal exception (except)${journalled}`;
  }
  return `${x.step} done ${day(x.time ?? 0)}: ${x.rows ?? 0} row(s), digest ${x.digest ?? ''}, tx ${x.txId ?? ''}`;
}

/** What `custos org` commands share, passed in by commands-org.ts (which registers these). */
export interface OrgCommandKit<F extends { org: string; json?: boolean }> {
  orgCommand(parent: Command, name: string, description: string): Command;
  orgClient(flags: F): NodeClient;
  orgId(org: string): string;
  bad(message: string): Error;
}

export function registerRequestStepCommands<F extends { org: string; json?: boolean }>(
  request: Command,
  { orgCommand, orgClient, orgId, bad }: OrgCommandKit<F>,
): void {
  type OrgFlags = F;
  orgCommand(request, 'steps', "each step of the request in the systems of the org's data map, or pending")
    .argument('<id>', 'request id')
    .action(async (id: string, flags: OrgFlags) => {
      const s = await orgClient(flags).run((sdk) => sdk.requestSteps(orgId(flags.org), parseRecordId(id)));
      const { erasureExceptionText } = await views();
      const map = s.map === null ? 'no data map in force' : `data map version ${s.map.version}`;
      output(flags.json === true).result(s, [
        `Request ${id} (${s.kind}, ${s.status}): complete in ${s.complete} of ${s.systems} system(s) (${map}).`,
        deadlineLine(s),
        ...table(s.steps.map((x) => [x.system, stepText(x, erasureExceptionText)])),
      ]);
    });

  orgCommand(
    request,
    'execute',
    "run the request in every system of the org's data map, each step recorded on the ledger",
  )
    .argument('<id>', 'request id')
    .option('--attempts <n>', 'attempts per step before it is recorded as failed (1-10, default 3)')
    .option(
      '--changes <file>',
      'a rectification\'s corrected values (JSON, - for stdin): {"<system>": [{"table": "schema.name", "field": "...", "value": ...}]}; sent to the connectors only, never to the ledger',
    )
    .action(async (id: string, flags: OrgFlags & { attempts?: string; changes?: string }) => {
      const attempts = flags.attempts === undefined ? undefined : parsePositiveInt(flags.attempts, '--attempts');
      if (attempts !== undefined && attempts > 10) throw bad('expected --attempts from 1 to 10');
      const rectifications = flags.changes === undefined ? undefined : readChanges(flags.changes, bad);
      const body: ExecuteBody = {
        ...(attempts === undefined ? {} : { attempts }),
        ...(rectifications === undefined ? {} : { rectifications }),
      };
      const r = await orgClient(flags).run((sdk) => sdk.executeRequest(orgId(flags.org), parseRecordId(id), body));
      const lines = r.steps.map((x) =>
        x.outcome === 'failed'
          ? `  ${x.system}: FAILED after ${x.attempts} attempt(s): ${x.error ?? ''}`
          : `  ${x.system}: ${x.outcome === 'skipped' ? 'done before' : x.recovered === true ? 'done (recorded from the step journal after a restart)' : 'done'}, ${x.rows} row(s), digest ${x.digest ?? '-'}`,
      );
      const head =
        r.status === 'fulfilled'
          ? `Request ${id} fulfilled in ${r.steps.length} system(s) (tx ${r.fulfilTxId ?? ''}).`
          : `Request ${id} PAUSED: fix the failed system, then run this again to resume from it.`;
      output(flags.json === true).result(r, [head, ...lines]);
      if (r.status !== 'fulfilled') process.exitCode = TX_FAILED_EXIT;
    });

  orgCommand(
    request,
    'except',
    "record that one system keeps the subject's data under a legal exception (an erasure): the step counts as complete",
  )
    .argument('<id>', 'request id')
    .requiredOption('--system <id>', "a system of the org's data map in force")
    .requiredOption('--code <code>', `the legal exception of the request's jurisdiction: ${EXCEPTION_CODES.join(', ')}`)
    .action(async (id: string, flags: OrgFlags & { system: string; code: string }) => {
      if (!DATAMAP_SYSTEM_ID.test(flags.system))
        throw bad('expected --system as a system id of the data map, like crm');
      if (!EXCEPTION_CODES.includes(flags.code)) {
        throw bad(`expected --code as one of ${EXCEPTION_CODES.join(', ')}`);
      }
      const r = await orgClient(flags).run((sdk) =>
        sdk.exceptRequestStep(orgId(flags.org), parseRecordId(id), flags.system, flags.code),
      );
      const where = `block ${r.height}, tx ${r.txId}`;
      const { erasureExceptionText } = await views();
      output(flags.json === true).result(
        r,
        r.code === 'OK'
          ? `Request ${id}: system ${flags.system} keeps the data under ${flags.code}, ${erasureExceptionText(flags.code)} (${where}).`
          : `Request ${id}: the exception was refused, ${r.code}${r.detail === undefined ? '' : `: ${r.detail}`} (recorded in ${where}).`,
      );
      if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
    });
}
