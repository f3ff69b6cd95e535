/**
 * `custos org incident open | authority | affected | notify | close` and `custos org incidents`: the
 * org's register of personal data breaches (GDPR Arts. 33-34) through the org's node.
 */
import { createHash } from 'node:crypto';
import {
  INCIDENT_DELAY_REASONS,
  INCIDENT_NATURES,
  INCIDENT_RISKS,
  type IncidentDelayReason,
  type IncidentNature,
  type IncidentRisk,
} from '@custos/protocol/ledger';
import { type Command, Option } from 'commander';
import { readBoundedFile } from '../files.js';
import { parseRecordId } from './args.js';
import type { OrgRequestKit } from './commands-org-requests.js';
import { output } from './output.js';

/** The notification sent to the authority is hashed here: only its SHA-256 leaves this machine. */
const MAX_REPORT_BYTES = 1024 * 1024;

function when(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

export function registerIncidentCommands<F extends { org: string; json?: boolean }>(
  org: Command,
  { orgCommand, orgClient, orgId, bad, commitResult }: OrgRequestKit<F>,
): void {
  type Flags = F;
  orgCommand(org, 'incidents', "the org's data breaches, open ones first by the authority's 72-hour deadline").action(
    async (flags: Flags) => {
      const doc = await orgClient(flags).run((sdk) => sdk.orgIncidents(orgId(flags.org)));
      output(flags.json === true).result(doc, [
        `${doc.incidents.length} incident(s) of ${flags.org}.`,
        ...doc.incidents.map((i) => {
          const state =
            i.closedAt !== null
              ? `closed ${when(i.closedAt)}`
              : i.authorityNotifiedAt !== null
                ? `authority told ${when(i.authorityNotifiedAt)}`
                : i.authorityOverdue
                  ? `AUTHORITY NOT TOLD: due ${when(i.authorityDeadline)}`
                  : `tell the authority by ${when(i.authorityDeadline)}`;
          return `  ${i.id}  ${i.nature.join('+')} of ${i.categories.join(', ')}, risk ${i.risk}, detected ${when(i.detectedAt)}: ${state}; ${i.notified} customer(s) notified`;
        }),
      ]);
    },
  );

  const incident = org.command('incident').description('register and handle a personal data breach (GDPR Arts. 33-34)');
  orgCommand(incident, 'open', 'register a breach: the authority must be told within 72 hours of its detection')
    .requiredOption('--detected <time>', 'when the org became aware of it (ISO 8601, e.g. 2026-12-06T09:30Z)')
    .requiredOption('--categories <list>', 'comma-separated DPV categories concerned, e.g. pd:EmailAddress')
    .addOption(new Option('--nature <list>', `comma-separated: ${INCIDENT_NATURES.join(', ')}`).makeOptionMandatory())
    .addOption(new Option('--risk <risk>', 'the risk to people').choices([...INCIDENT_RISKS]).makeOptionMandatory())
    .action(async (flags: Flags & { detected: string; categories: string; nature: string; risk: string }) => {
      const detectedAt = Date.parse(flags.detected);
      if (!Number.isFinite(detectedAt))
        throw bad(`expected --detected as an ISO 8601 time, got '${flags.detected.slice(0, 40)}'`);
      const nature = flags.nature.split(',').map((n) => n.trim());
      if (!nature.every((n) => (INCIDENT_NATURES as readonly string[]).includes(n))) {
        throw bad(`expected --nature among ${INCIDENT_NATURES.join(', ')}`);
      }
      const input = {
        detectedAt,
        nature: nature as IncidentNature[],
        categories: flags.categories.split(',').map((c) => c.trim()),
        risk: flags.risk as IncidentRisk,
      };
      const r = await orgClient(flags).run((sdk) => sdk.openIncident(orgId(flags.org), input));
      commitResult(output(flags.json === true), r, `Registered incident ${r.txId}`);
    });

  orgCommand(incident, 'authority', 'record that the supervisory authority was told: the SHA-256 of what was sent')
    .argument('<id>', 'incident id')
    .requiredOption(
      '--report-file <file>',
      "the notification sent to the authority ('-' for stdin); only its hash is sent",
    )
    .addOption(
      new Option('--delay-reason <code>', 'after the 72 hours: why (GDPR Art. 33(1))').choices([
        ...INCIDENT_DELAY_REASONS,
      ]),
    )
    .action(async (id: string, flags: Flags & { reportFile: string; delayReason?: string }) => {
      const bytes = readBoundedFile(flags.reportFile, { what: 'the notification', maxBytes: MAX_REPORT_BYTES });
      const digest = createHash('sha256').update(bytes).digest('hex');
      const body = {
        digest,
        ...(flags.delayReason === undefined ? {} : { delayReason: flags.delayReason as IncidentDelayReason }),
      };
      const r = await orgClient(flags).run((sdk) => sdk.notifyAuthority(orgId(flags.org), parseRecordId(id), body));
      commitResult(output(flags.json === true), r, `Recorded the notification to the authority (sha256 ${digest})`);
    });

  orgCommand(incident, 'affected', 'the customers the breach may affect, from the records in its categories')
    .argument('<id>', 'incident id')
    .action(async (id: string, flags: Flags) => {
      const doc = await orgClient(flags).run((sdk) => sdk.affectedSubjects(orgId(flags.org), parseRecordId(id)));
      const waiting = doc.subjects.filter((s) => !s.notified).length;
      output(flags.json === true).result(doc, [
        `${doc.subjects.length} customer(s) may be affected${doc.truncated ? ' (list truncated)' : ''}, ${waiting} not notified yet.`,
        ...doc.subjects.map((s) => `  ${s.subject}  ${s.records} record(s)${s.notified ? '  notified' : ''}`),
      ]);
    });

  orgCommand(incident, 'notify', 'notify every affected customer not yet notified, in their portal (GDPR Art. 34)')
    .argument('<id>', 'incident id')
    .action(async (id: string, flags: Flags) => {
      const doc = await orgClient(flags).run((sdk) => sdk.notifySubjects(orgId(flags.org), parseRecordId(id)));
      const failed = doc.results.filter((r) => r.code !== 'OK');
      output(flags.json === true).result(doc, [
        `Notified ${doc.results.length - failed.length} customer(s)${failed.length > 0 ? `; ${failed.length} refused` : ''}.`,
        ...failed.map((r) => `  ${r.subject}: ${r.code}`),
      ]);
      if (failed.length > 0) process.exitCode = 1;
    });

  orgCommand(incident, 'close', 'close the incident (the authority must have been told unless a risk was unlikely)')
    .argument('<id>', 'incident id')
    .action(async (id: string, flags: Flags) => {
      const r = await orgClient(flags).run((sdk) => sdk.closeIncident(orgId(flags.org), parseRecordId(id)));
      commitResult(output(flags.json === true), r, `Closed incident ${id}`);
    });
}
