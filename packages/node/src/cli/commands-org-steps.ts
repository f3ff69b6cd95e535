/**
 * `custos org request steps | execute` (issue 16): a request's steps in the systems of the org's data
 * map, and running it across them through the org's node (its connectors), each step recorded on the
 * ledger (`request.step`).
 */
import type { RequestStepState } from '@custos/sdk';
import type { Command } from 'commander';
import { parsePositiveInt, parseRecordId } from './args.js';
import type { NodeClient } from './client.js';
import { day, output, TX_FAILED_EXIT, table } from './output.js';

/** One system's step as the CLI tells it. */
function stepText(x: RequestStepState): string {
  if (x.outcome === 'pending') return 'pending';
  if (x.outcome === 'exception') return `kept under the legal exception ${x.exception ?? ''}`;
  if (x.outcome === 'failed') return `FAILED (${x.failures ?? 1} time(s)): ${x.error ?? ''}`;
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
      const map = s.map === null ? 'no data map in force' : `data map version ${s.map.version}`;
      output(flags.json === true).result(s, [
        `Request ${id} (${s.kind}, ${s.status}): complete in ${s.complete} of ${s.systems} system(s) (${map}).`,
        ...table(s.steps.map((x) => [x.system, stepText(x)])),
      ]);
    });

  orgCommand(
    request,
    'execute',
    "run the request in every system of the org's data map, each step recorded on the ledger",
  )
    .argument('<id>', 'request id')
    .option('--attempts <n>', 'attempts per step before it is recorded as failed (1-10, default 3)')
    .action(async (id: string, flags: OrgFlags & { attempts?: string }) => {
      const attempts = flags.attempts === undefined ? undefined : parsePositiveInt(flags.attempts, '--attempts');
      if (attempts !== undefined && attempts > 10) throw bad('expected --attempts from 1 to 10');
      const r = await orgClient(flags).run((sdk) =>
        sdk.executeRequest(orgId(flags.org), parseRecordId(id), attempts === undefined ? {} : { attempts }),
      );
      const lines = r.steps.map((x) =>
        x.outcome === 'failed'
          ? `  ${x.system}: FAILED after ${x.attempts} attempt(s): ${x.error ?? ''}`
          : `  ${x.system}: ${x.outcome === 'skipped' ? 'done before' : 'done'}, ${x.rows} row(s), digest ${x.digest ?? '-'}`,
      );
      const head =
        r.status === 'fulfilled'
          ? `Request ${id} fulfilled in ${r.steps.length} system(s) (tx ${r.fulfilTxId ?? ''}).`
          : `Request ${id} PAUSED: fix the failed system, then run this again to resume from it.`;
      output(flags.json === true).result(r, [head, ...lines]);
      if (r.status !== 'fulfilled') process.exitCode = TX_FAILED_EXIT;
    });
}
