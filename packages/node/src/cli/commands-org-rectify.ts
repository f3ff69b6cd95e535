/**
 * `custos org hpke show | rotate` and `custos org corrections`, `custos org correction explain |
 * extend | correct` (issue 17, ADR 0018): the org's HPKE key on the ledger, and the customers' corrections
 * and flags sent to it, with their deadlines, to correct or explain with a reason code.
 */
import { EXPLAIN_REASONS, EXTEND_REASONS, type ExplainReason, type ExtendReason } from '@custos/protocol/ledger';
import { type Command, Option } from 'commander';
import { NodeError } from '../errors.js';
import { MEMBER_ID } from '../modules/member-state.js';
import { parseRecordId } from './args.js';
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
}
