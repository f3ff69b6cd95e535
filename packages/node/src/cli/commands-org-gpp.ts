/**
 * `custos org gpp record | emit`, `custos org age set` and `custos org gpc-evidence` (issue 17): a GPP string the org's
 * consent banner collected, recorded on the ledger (its opt-outs apply at once); the GPP string
 * for the org's ad stack from the customer's current choices; the org's evidence log of Global
 * Privacy Control.
 */

import { createHash } from 'node:crypto';
import { isDidKey } from '@custos/protocol/crypto';
import { AGE_BANDS, AGE_EVIDENCE, type AgeBand, type AgeEvidence, ART8_AGES } from '@custos/protocol/ledger';
import { type Command, Option } from 'commander';
import { readBoundedFile } from '../files.js';
import type { OrgCommandKit } from './commands-org-steps.js';
import { output, TX_FAILED_EXIT, table } from './output.js';

const choiceText = (c: 'out' | 'in' | null) =>
  c === 'out' ? 'opted out' : c === 'in' ? 'not opted out' : 'not stated';

export function registerGppCommands<F extends { org: string; json?: boolean }>(
  org: Command,
  { orgCommand, orgClient, orgId, bad }: OrgCommandKit<F>,
): void {
  type OrgFlags = F;
  const subjectOf = (s: string): string => {
    if (!isDidKey(s)) throw bad("expected --subject as the customer's pairwise did:key towards this org");
    return s;
  };
  const gppOf = async (flags: { gpp?: string; gppFile?: string }): Promise<string> => {
    // The GPP codec loads only for this command, not with every `custos org` command.
    const { MAX_GPP_LENGTH } = await import('@custos/protocol/gpp');
    const text =
      flags.gppFile !== undefined
        ? readBoundedFile(flags.gppFile, { maxBytes: MAX_GPP_LENGTH + 2, what: 'GPP string file' })
            .toString('utf8')
            .trim()
        : flags.gpp;
    if (text === undefined || text === '') throw bad('expected --gpp STRING or --gpp-file FILE (- for standard input)');
    return text;
  };
  const gpp = org
    .command('gpp')
    .description("IAB Global Privacy Platform strings: record a banner's, emit the ad stack's");

  orgCommand(gpp, 'record', "record a GPP string the org's banner collected: its opt-outs apply at once")
    .requiredOption('--subject <did>', "the customer's pairwise did:key towards this org")
    .option('--gpp <string>', 'the GPP string')
    .option('--gpp-file <file>', 'a file holding the GPP string (- for standard input)')
    .action(async (flags: OrgFlags & { subject: string; gpp?: string; gppFile?: string }) => {
      const r = await orgClient(flags).run(async (sdk) =>
        sdk.recordGpp(orgId(flags.org), subjectOf(flags.subject), await gppOf(flags)),
      );
      const c = r.choices;
      const purposes = Object.entries(c.purposes ?? {}).map(
        ([p, yes]) => `${p} ${yes ? 'consented' : 'not consented'}`,
      );
      output(flags.json === true).result(r, [
        r.code === 'OK'
          ? `Recorded the GPP string (${r.sections.join(', ')}) at block ${r.height} (tx ${r.txId}).`
          : `The ledger refused the GPP string: ${r.code}.`,
        ...table([
          ['sale', choiceText(c.sale)],
          ['sharing', choiceText(c.share)],
          ['targeted advertising', choiceText(c.targeted)],
          ['sensitive data', c.sensitive === 'out' ? 'limited' : choiceText(c.sensitive)],
          ...(purposes.length > 0 ? [['TCF purposes', purposes.join(', ')] as [string, string]] : []),
        ]),
        ...(r.needsCustomer
          ? [
              "The string also allows more than is in force (an opt-in or a consent): only the customer's wallet can sign that (the SDK's gppRecordTx).",
            ]
          : []),
      ]);
      if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
    });

  orgCommand(gpp, 'emit', "the GPP string for the org's ad stack from the customer's current choices")
    .requiredOption('--subject <did>', "the customer's pairwise did:key towards this org")
    .action(async (flags: OrgFlags & { subject: string }) => {
      const r = await orgClient(flags).run((sdk) => sdk.emittedGpp(orgId(flags.org), subjectOf(flags.subject)));
      output(flags.json === true).result(r, [
        r.gpp,
        ...(r.age === null
          ? []
          : [
              `age band ${r.age.band} (recorded by the ${r.age.by}${r.age.memberState === null ? '' : `, ${r.age.memberState}`})`,
            ]),
      ]);
    });

  const age = org.command('age').description("a customer's age band, as the org verified it (no birth date)");
  orgCommand(age, 'set', 'record the age band the org verified for a customer, with its evidence')
    .requiredOption('--subject <did>', "the customer's pairwise did:key towards this org")
    .addOption(new Option('--band <band>', 'the age band').choices([...AGE_BANDS]).makeOptionMandatory())
    .addOption(
      new Option('--evidence-method <code>', 'how the org verified the age')
        .choices([...AGE_EVIDENCE])
        .makeOptionMandatory(),
    )
    .requiredOption('--evidence-file <file>', 'what the org keeps of the verification (only its SHA-256 is recorded)')
    .addOption(
      new Option('--member-state <code>', 'the EU member state whose GDPR Art. 8 age applies').choices(
        Object.keys(ART8_AGES),
      ),
    )
    .action(
      async (
        flags: OrgFlags & {
          subject: string;
          band: AgeBand;
          evidenceMethod: AgeEvidence;
          evidenceFile: string;
          memberState?: string;
        },
      ) => {
        const digest = createHash('sha256')
          .update(readBoundedFile(flags.evidenceFile, { maxBytes: 10 * 1024 * 1024, what: 'evidence file' }))
          .digest('hex');
        const body = {
          subject: subjectOf(flags.subject),
          band: flags.band,
          evidence: { method: flags.evidenceMethod, digest },
          ...(flags.memberState === undefined ? {} : { memberState: flags.memberState }),
        };
        const r = await orgClient(flags).run((sdk) => sdk.recordAge(orgId(flags.org), body));
        output(flags.json === true).result(r, [
          r.code === 'OK'
            ? `Recorded the age band ${flags.band} at block ${r.height} (tx ${r.txId}).`
            : `The ledger refused the age band: ${r.code}${r.detail === undefined ? '' : ` (${r.detail})`}.`,
        ]);
        if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
      },
    );

  orgCommand(org, 'gpc-evidence', 'every Global Privacy Control opt-out the node accepted for the org, newest first')
    .option('--after <seq>', "the previous page's next")
    .action(async (flags: OrgFlags & { after?: string }) => {
      const r = await orgClient(flags).run((sdk) =>
        sdk.gpcEvidence(orgId(flags.org), flags.after === undefined ? {} : { after: flags.after }),
      );
      output(flags.json === true).result(r, [
        `${r.evidence.length} GPC signal(s) applied at ${flags.org}${r.next === null ? '' : ` (more: --after ${r.next})`}.`,
        ...table(
          r.evidence.map((e): [string, string] => [
            new Date(e.at).toISOString(),
            `${e.kinds.join(' and ')} opted out by ${e.subject}: request ${e.requestId} on ${e.route}, tx ${e.txId}`,
          ]),
        ),
      ]);
    });
}
