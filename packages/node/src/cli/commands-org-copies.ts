/**
 * `custos org copies [--overdue]` and `custos org copy restricted ID...`: what the sources'
 * erasures, rectifications and restrictions ask of the copies the org holds, with their due dates,
 * and how the org's own recipients complied (GDPR Art. 19), through the org's node.
 */
import type { Command } from 'commander';
import { parseRecordId } from './args.js';
import type { OrgRequestKit } from './commands-org-requests.js';
import { day, output } from './output.js';

/** How a copy's obligation reads: "erase", "correct", "restrict". */
const VERB = { erase: 'erase', rectify: 'correct', restrict: 'restrict' } as const;

export function registerCopyCommands<F extends { org: string; json?: boolean }>(
  org: Command,
  { orgCommand, orgClient, orgId, bad, commitResult }: OrgRequestKit<F>,
): void {
  type Flags = F;
  orgCommand(
    org,
    'copies',
    "copies the org must erase, correct or restrict as their sources did, with due dates; and its recipients' compliance",
  )
    .option('--overdue', 'only those past their due date')
    .action(async (flags: Flags & { overdue?: boolean }) => {
      const c = await orgClient(flags).run((sdk) =>
        sdk.orgCopies(orgId(flags.org), flags.overdue === true ? { overdue: true } : {}),
      );
      const pending = c.held.filter((h) => h.doneAt === null);
      output(flags.json === true).result(c, [
        `${pending.length} cop${pending.length === 1 ? 'y' : 'ies'} to act on at ${flags.org}, ${pending.filter((h) => h.overdue).length} overdue.`,
        ...c.held.map(
          (h) =>
            `  ${h.record}  ${VERB[h.kind]} (${h.category}, from ${h.source}): ${
              h.doneAt !== null
                ? `done ${day(h.doneAt)}${h.doneAt > h.due ? ', late' : ''}`
                : `${h.overdue ? 'OVERDUE, was due' : 'due'} ${day(h.due)}`
            }`,
        ),
        `Recipients of ${flags.org}'s shares:${c.recipients.length === 0 ? ' nothing asked of them.' : ''}`,
        ...c.recipients.map(
          (r) =>
            `  ${r.recipient}: ${r.done} done (${r.late} late), ${r.pending} pending${r.overdue > 0 ? `, ${r.overdue} OVERDUE` : ''}${r.nextDue === null ? '' : `; next due ${day(r.nextDue)}`}`,
        ),
        ...(c.truncated ? ['(more than one answer lists: use --json with --overdue to narrow)'] : []),
      ]);
    });

  const copy = org.command('copy').description("act on a copy the org received, as its source's change asks");
  orgCommand(copy, 'restricted', "record that the org restricted these copies as their sources' restrictions ask")
    .argument('<ids...>', "the copies (the org's record ids, at most 256)")
    .action(async (ids: string[], flags: Flags) => {
      if (ids.length > 256) throw bad(`expected at most 256 record ids, got ${ids.length}`);
      const records = ids.map(parseRecordId);
      const r = await orgClient(flags).run((sdk) => sdk.restrictCopies(orgId(flags.org), records));
      commitResult(
        output(flags.json === true),
        r,
        `Recorded ${records.length} cop${records.length === 1 ? 'y' : 'ies'} restricted`,
      );
    });
}
