/**
 * `custos org hpke show | rotate` and `custos org corrections`, `custos org correction explain |
 * extend | correct | steps | run` (issue 17, ADR 0018): the org's HPKE key on the ledger, and the
 * customers' corrections and flags sent to it, with their deadlines, to correct or explain with a
 * reason code; an applied correction in each of the org's systems, and its failed steps run again.
 */
import { EXPLAIN_REASONS, EXTEND_REASONS, type ExplainReason, type ExtendReason } from '@custos/protocol/ledger';
import type { RequestStepState } from '@custos/sdk';
import { type Command, Option } from 'commander';
import { NodeError } from '../errors.js';
import { MEMBER_ID } from '../modules/member-state.js';
import { parsePositiveInt, parseRecordId } from './args.js';
import { type OrgFlags, orgClient, orgCommand, readValueFile } from './commands-org.js';
import { day, output, TX_FAILED_EXIT, table } from './output.js';

function orgOf(flags: OrgFlags): string {
  if (!MEMBER_ID.test(flags.org)) {
    throw new NodeError('BAD_REQUEST', `expected --org as 1-32 characters [a-z0-9-], got '${flags.org.slice(0, 40)}'`);
  }
  return flags.org;
}

function done(flags: OrgFlags, r: { code: string; height: number; txId: string }, what: string): void {
  output(flags.json === true).result(
    r,
    r.code === 'OK' ? `${what}: OK (block ${r.height}, tx ${r.txId}).` : `${what}: refused, ${r.code} (tx ${r.txId}).`,
  );
  if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
}

/** One system's step of a correction in a few words. */
function stepLine(x: RequestStepState): string {
  if (x.outcome === 'pending') return 'pending: run it with `custos org correction run`';
  if (x.outcome === 'failed') {
    return `FAILED (${x.failures ?? 1} run(s), ${x.attempts ?? 0} attempt(s)): ${x.message ?? x.error ?? ''}; fix the system and run it again`;
  }
  return `corrected ${day(x.time ?? 0)}: ${x.rows ?? 0} row(s), digest ${x.digest ?? ''}, tx ${x.txId ?? ''}`;
}

export function registerOrgRectifyCommands(org: Command): void {
  const hpke = org.command('hpke').description("the org's HPKE key, to which customers seal their corrections");
  orgCommand(hpke, 'show', 'the key in force on the ledger and the key ids the node holds').action(
    async (flags: OrgFlags) => {
      const k = await orgClient(flags).run((sdk) => sdk.orgHpkeKey(orgOf(flags)));
      output(flags.json === true).result(k, [
        k.published === null
          ? 'No HPKE key published yet: `custos org hpke rotate` makes one.'
          : `Key ${k.published.kid} in force since ${day(k.published.since)} (tx ${k.published.txId}).`,
        `The node holds ${k.held.length} key(s): ${k.held.map((h) => h.kid).join(', ')}`,
      ]);
    },
  );
  orgCommand(hpke, 'rotate', 'make a new key, keep it wrapped by the org KMS and publish it').action(
    async (flags: OrgFlags) => {
      const r = await orgClient(flags).run((sdk) => sdk.rotateHpkeKey(orgOf(flags)));
      done(flags, r, `HPKE key ${r.kid} published`);
    },
  );

  orgCommand(org, 'corrections', "customers' corrections and flags sent to the org, with their deadlines").action(
    async (flags: OrgFlags) => {
      const page = await orgClient(flags).run((sdk) => sdk.rectifications(orgOf(flags)));
      output(flags.json === true).result(page, [
        `${page.items.length} correction(s) and flag(s):`,
        ...table(
          page.items.map((r): [string, string] => [
            r.id,
            [
              r.kind === 'flag' ? `flag (${r.reason ?? ''})` : 'update',
              `record ${r.record}`,
              r.status === 'pending'
                ? `${r.overdue ? 'OVERDUE' : 'pending'}, due ${day(r.deadline)}${r.extensionReason === undefined ? '' : ` (extended: ${r.extensionReason})`}`
                : `${r.status} ${day(r.closedAt ?? 0)}${r.answer === undefined ? '' : ` (${r.answer})`}`,
            ].join('  '),
          ]),
        ),
      ]);
    },
  );
  const correction = org.command('correction').description("answer a customer's flag or correction");
  orgCommand(correction, 'explain', 'keep the record as it is, for a reason code')
    .argument('<id>', 'the correction or flag')
    .addOption(new Option('--reason <code>', 'why').choices([...EXPLAIN_REASONS]).makeOptionMandatory())
    .action(async (id: string, flags: OrgFlags & { reason: ExplainReason }) => {
      const r = await orgClient(flags).run((sdk) =>
        sdk.explainRectification(orgOf(flags), parseRecordId(id), flags.reason),
      );
      done(flags, r, `Explained ${id} (${flags.reason})`);
    });
  orgCommand(correction, 'extend', 'extend the deadline once, for a reason code (GDPR Art. 12(3))')
    .argument('<id>', 'the correction or flag')
    .addOption(new Option('--reason <code>', 'why').choices([...EXTEND_REASONS]).makeOptionMandatory())
    .action(async (id: string, flags: OrgFlags & { reason: ExtendReason }) => {
      const r = await orgClient(flags).run((sdk) =>
        sdk.extendRectification(orgOf(flags), parseRecordId(id), flags.reason),
      );
      done(flags, r, `Extended the deadline of ${id} (${flags.reason})`);
    });
  orgCommand(correction, 'correct', 'correct a flagged record: the value to the vault, the commitment to the ledger')
    .argument('<id>', 'the flag')
    .requiredOption('--value-file <file>', "the corrected value as JSON, from a file or '-' for stdin")
    .action(async (id: string, flags: OrgFlags & { valueFile: string }) => {
      const value = readValueFile(flags.valueFile);
      const r = await orgClient(flags).run((sdk) => sdk.correctFlagged(orgOf(flags), parseRecordId(id), value));
      done(flags, r, `Corrected the record of ${id}`);
    });
  orgCommand(correction, 'steps', "an applied correction in each of the org's systems that hold its category")
    .argument('<id>', 'the correction')
    .action(async (id: string, flags: OrgFlags) => {
      const s = await orgClient(flags).run((sdk) => sdk.correctionSteps(orgOf(flags), parseRecordId(id)));
      const extended = s.originalDeadline === null ? '' : ` (extended from ${day(s.originalDeadline)})`;
      output(flags.json === true).result(s, [
        s.systems === 0
          ? `Correction ${id} (${s.status}): not run in any system of the org.`
          : `Correction ${id} (${s.status}): corrected in ${s.complete} of ${s.systems} system(s)${s.paused ? '; PAUSED on a failed step' : ''}.`,
        `Legal deadline ${day(s.deadline)}${extended} (${s.jurisdiction})${s.overdue || s.late ? ': PAST' : ''}.`,
        ...table(s.steps.map((x): [string, string] => [x.system, stepLine(x)])),
      ]);
    });
  orgCommand(correction, 'run', "run an applied correction's failed or missing steps in the org's systems again")
    .argument('<id>', 'the correction')
    .option('--attempts <n>', 'attempts per step before it is recorded as failed (1-10, default 3)')
    .action(async (id: string, flags: OrgFlags & { attempts?: string }) => {
      const attempts = flags.attempts === undefined ? undefined : parsePositiveInt(flags.attempts, '--attempts');
      if (attempts !== undefined && attempts > 10)
        throw new NodeError('BAD_REQUEST', 'expected --attempts from 1 to 10');
      const r = await orgClient(flags).run((sdk) =>
        sdk.runCorrection(orgOf(flags), parseRecordId(id), attempts === undefined ? {} : { attempts }),
      );
      output(flags.json === true).result(r, [
        `Correction ${id}: corrected in ${r.complete} of ${r.total} system(s).`,
        ...r.steps.map((x) =>
          x.outcome === 'failed'
            ? `  ${x.system}: FAILED after ${x.attempts} attempt(s): ${x.error ?? ''}`
            : `  ${x.system}: ${x.outcome === 'skipped' ? 'done before' : 'done'}, ${x.rows} row(s), digest ${x.digest ?? '-'}`,
        ),
      ]);
      if (r.complete < r.total) process.exitCode = TX_FAILED_EXIT;
    });
}
