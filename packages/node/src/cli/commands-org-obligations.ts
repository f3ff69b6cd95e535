/**
 * `custos org profile show|set`, `custos org ropa` and `custos org dpia`: the org's own obligations
 * as a controller (GDPR Arts. 26, 27, 30, 35, 37) through the org's node.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { MemberProfileInput } from '@custos/protocol/ledger';
import type { Command } from 'commander';
import { readBoundedFile } from '../files.js';
import type { OrgRequestKit } from './commands-org-requests.js';
import { dpiaHtml, ropaCells, ropaCsv, ropaHead } from './obligations-report.js';
import { output } from './output.js';

/** The joint-controller arrangement is hashed here: only its SHA-256 leaves this machine. */
const MAX_ARRANGEMENT_BYTES = 16 * 1024 * 1024;

interface ProfileFlags {
  legalName: string;
  registration: string;
  dpo?: string;
  euRepresentative?: string;
  regions: string;
  arrangementFile: string;
}

export function registerObligationCommands<F extends { org: string; json?: boolean }>(
  org: Command,
  { orgCommand, orgClient, orgId, bad, commitResult }: OrgRequestKit<F>,
): void {
  type Flags = F;
  const profile = org
    .command('profile')
    .description("the org's member profile as a controller (GDPR Arts. 26, 27, 37): needed before it records data");
  orgCommand(profile, 'show', 'the profile in force, with its version').action(async (flags: Flags) => {
    const p = await orgClient(flags).run((sdk) => sdk.orgProfile(orgId(flags.org)));
    output(flags.json === true).result(p, [
      `${p.legalName} (${p.registration}), profile version ${p.version} since height ${p.height}.`,
      `  DPO: ${p.dpo ?? '-'}; EU representative: ${p.euRepresentative ?? '-'}`,
      `  Regions: ${p.regions.join(', ')}`,
      `  Joint-controller arrangement (Art. 26): sha256 ${p.arrangementDigest}`,
    ]);
  });
  orgCommand(profile, 'set', 'set or change the profile (the next version)')
    .requiredOption('--legal-name <name>', "the controller's legal name")
    .requiredOption('--registration <id>', 'an LEI, register and number, or VAT id')
    .option('--dpo <address>', "the DPO's role address: mailto:dpo@company.example or https://...")
    .option('--eu-representative <address>', "the EU representative's role address (Art. 27)")
    .requiredOption('--regions <list>', 'comma-separated ISO 3166-1 alpha-2 codes where its peers run, e.g. DE,IE')
    .requiredOption(
      '--arrangement-file <file>',
      "the signed Art. 26 arrangement ('-' for stdin); only its hash is sent",
    )
    .action(async (flags: Flags & ProfileFlags) => {
      if (flags.dpo === undefined && flags.euRepresentative === undefined) {
        throw bad('expected --dpo or --eu-representative (or both)');
      }
      const bytes = readBoundedFile(flags.arrangementFile, {
        what: 'the arrangement',
        maxBytes: MAX_ARRANGEMENT_BYTES,
      });
      const input: MemberProfileInput = {
        legalName: flags.legalName,
        registration: flags.registration,
        ...(flags.dpo === undefined ? {} : { dpo: flags.dpo }),
        ...(flags.euRepresentative === undefined ? {} : { euRepresentative: flags.euRepresentative }),
        regions: flags.regions.split(',').map((r) => r.trim().toUpperCase()),
        arrangementDigest: createHash('sha256').update(bytes).digest('hex'),
      };
      const r = await orgClient(flags).run((sdk) => sdk.setOrgProfile(orgId(flags.org), input));
      commitResult(output(flags.json === true), r, `Set the profile of ${flags.org}`);
    });

  orgCommand(org, 'ropa', 'records of processing activities (GDPR Art. 30), from ledger facts')
    .option('--csv', 'one CSV row per processing activity')
    .action(async (flags: Flags & { csv?: boolean }) => {
      const r = await orgClient(flags).run((sdk) => sdk.orgRopa(orgId(flags.org)));
      if (flags.csv === true) {
        process.stdout.write(ropaCsv(r));
        return;
      }
      output(flags.json === true).result(r, [
        ...ropaHead(r),
        `${r.activities.length} processing activit${r.activities.length === 1 ? 'y' : 'ies'}:`,
        ...r.activities.map((a) => {
          const [purpose, categories, , subjects, bases, recipients, transfers, days, records] = ropaCells(a);
          return `  ${purpose}: ${categories} of ${subjects}; ${bases}; kept ${days} days; ${records} record(s); recipients ${recipients || 'none'}; transfers outside the EEA ${transfers || 'none'}`;
        }),
      ]);
    });

  orgCommand(org, 'dpia', 'a DPIA draft (GDPR Art. 35) filled from ledger facts, for the DPO to complete')
    .option('--out <file>', 'write the draft to FILE (.html)')
    .action(async (flags: Flags & { out?: string }) => {
      if (flags.out !== undefined && extname(flags.out).toLowerCase() !== '.html') {
        throw bad(`expected --out as a file name ending in .html, got '${flags.out.slice(0, 80)}'`);
      }
      const d = await orgClient(flags).run((sdk) => sdk.orgDpia(orgId(flags.org)));
      const out = output(flags.json === true);
      if (flags.out !== undefined) {
        writeFileSync(flags.out, dpiaHtml(d));
        out.note(`Wrote ${flags.out}.`);
      }
      out.result(d, [
        `DPIA DRAFT of ${d.org} at height ${d.height}, for the DPO to complete.`,
        `${d.description.activities.length} processing activit${d.description.activities.length === 1 ? 'y' : 'ies'}.`,
        'Risks from the ledger:',
        ...d.risks.flatMap((x) => [`  ${x.present ? '!' : ' '} ${x.text}: ${x.count}`, `      from ${x.source}`]),
      ]);
    });
}
