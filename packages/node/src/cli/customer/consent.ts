/**
 * `custos consent grant|withdraw` and `custos optout [clear]`: what the customer allows an org,
 * signed with the customer's pairwise key for that org. An opt-out can go as a Global Privacy
 * Control signal (`--gpc`: header `Sec-GPC: 1`, source 'gpc').
 */
import { createHash } from 'node:crypto';
import { isDpvCategory, isDpvPurpose } from '@custos/protocol/consent';
import { AGE_EVIDENCE, DIRECT_MARKETING_PURPOSES } from '@custos/protocol/ledger';
import { lowerLabels } from '@custos/sdk/views';
import { type Command, Option } from 'commander';
import { NodeError } from '../../errors.js';
import { readBoundedFile } from '../../files.js';
import { JURISDICTIONS } from '../../modules/common.js';
import { parsePositiveInt, parseRecordId } from '../args.js';
import { day, output } from '../output.js';
import { actAs, finish, submitAs } from './chain.js';
import { type ChainFlags, chainOptions } from './session.js';

const DAY = 86_400_000;
/** The ledger refuses consents longer than 10 years (of 366 days). */
export const MAX_CONSENT_DAYS = 3660;
const MAX_NOTICE_BYTES = 1024 * 1024;

interface GrantFlags extends ChainFlags {
  org: string;
  purposes: string;
  categories: string;
  days: string;
  share?: boolean;
  sale?: boolean;
  jurisdiction: string;
  explicit?: boolean;
  noticeFile: string;
  parentalMethod?: string;
  parentalEvidenceFile?: string;
}

interface OptOutFlags extends ChainFlags {
  org?: string;
  sale?: boolean;
  share?: boolean;
  sensitive?: boolean;
}

export function parseCodes(text: string, what: string, known: (c: string) => boolean, example: string): string[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0 || list.length > 16)
    throw new NodeError('BAD_REQUEST', `expected ${what} as 1-16 codes, e.g. ${example}`);
  for (const c of list) {
    if (!known(c)) {
      throw new NodeError(
        'BAD_REQUEST',
        `expected each of ${what} from the DPV vocabulary (e.g. ${example}), got '${c.slice(0, 80)}'`,
      );
    }
  }
  if (new Set(list).size !== list.length) throw new NodeError('BAD_REQUEST', `expected ${what} without repeats`);
  return list;
}

export function noticeHash(file: string, what = 'a privacy notice'): string {
  const bytes = readBoundedFile(file, { what, maxBytes: MAX_NOTICE_BYTES });
  return createHash('sha256').update(bytes).digest('hex');
}

function optoutKinds(flags: Omit<OptOutFlags, keyof ChainFlags>): ('sale' | 'share' | 'sensitive')[] {
  const kinds = [
    ...(flags.sale === true ? (['sale'] as const) : []),
    ...(flags.share === true ? (['share'] as const) : []),
    ...(flags.sensitive === true ? (['sensitive'] as const) : []),
  ];
  if (kinds.length === 0) throw new NodeError('BAD_REQUEST', 'expected --sale, --share and/or --sensitive');
  return kinds;
}

const KIND_WORDS = { sale: 'sale', share: 'sharing', sensitive: 'the use of your sensitive data' } as const;

export function registerConsentCommands(program: Command): void {
  const consent = program.command('consent').description('give or withdraw consent, signed with your key for that org');
  chainOptions(
    consent
      .command('grant')
      .description('consent to an org using some categories of your data for some purposes, for a time')
      .requiredOption('--org <id>', 'the org')
      .requiredOption('--purposes <list>', 'DPV purposes, e.g. dpv:Marketing,dpv:Personalisation')
      .requiredOption('--categories <list>', 'DPV personal-data categories, e.g. pd:EmailAddress,pd:Name')
      .requiredOption('--days <n>', `how long the consent lasts, in days (at most ${MAX_CONSENT_DAYS})`)
      .option('--share', 'allow the org to share this data with other members for these purposes')
      .option('--sale', 'allow the org to sell this data (with --share)')
      .option(
        '--explicit',
        'explicit consent, needed for special categories such as health data (GDPR Art. 9(2)(a)): you affirm the notice names them',
      )
      .addOption(
        new Option('--jurisdiction <law>', 'the law the consent is given under')
          .choices([...JURISDICTIONS])
          .default('GDPR'),
      )
      .requiredOption('--notice-file <file>', 'the privacy notice you were shown (its SHA-256 is recorded)')
      .addOption(
        new Option(
          '--parental-method <code>',
          "a parent's or guardian's consent the org verified, and how (GDPR Art. 8, CCPA under 13)",
        ).choices([...AGE_EVIDENCE]),
      )
      .option('--parental-evidence-file <file>', "the org's record of that verification (its SHA-256 is recorded)"),
  ).action(async (flags: GrantFlags) => {
    const out = output(flags.json === true);
    const purposes = parseCodes(flags.purposes, '--purposes', isDpvPurpose, 'dpv:Marketing');
    const categories = parseCodes(flags.categories, '--categories', isDpvCategory, 'pd:EmailAddress');
    const days = parsePositiveInt(flags.days, '--days');
    if (days > MAX_CONSENT_DAYS) throw new NodeError('BAD_REQUEST', `expected --days of at most ${MAX_CONSENT_DAYS}`);
    if (flags.sale === true && flags.share !== true) {
      throw new NodeError('BAD_REQUEST', 'expected --share with --sale: a sale is a kind of sharing');
    }
    const notice = noticeHash(flags.noticeFile);
    if ((flags.parentalMethod === undefined) !== (flags.parentalEvidenceFile === undefined)) {
      throw new NodeError('BAD_REQUEST', 'expected --parental-method and --parental-evidence-file together');
    }
    const parental =
      flags.parentalMethod === undefined || flags.parentalEvidenceFile === undefined
        ? undefined
        : {
            method: flags.parentalMethod,
            digest: noticeHash(flags.parentalEvidenceFile, 'the evidence of parental consent'),
          };
    const { ctx, org, me } = await actAs(flags, flags.org);
    const args = {
      org,
      purposes,
      categories,
      expiresAt: Date.now() + days * DAY,
      share: flags.share === true,
      sale: flags.sale === true,
      jurisdiction: flags.jurisdiction,
      notice,
      ...(flags.explicit === true ? { explicit: true } : {}),
      ...(parental === undefined ? {} : { parental }),
    };
    const r = await submitAs(ctx, me, 'consent.grant', args);
    finish(
      out,
      r,
      { ...r, consent: { id: r.txId, did: me.did, ...args } },
      [
        `You consented: ${org} may use your ${lowerLabels(categories)} for ${lowerLabels(purposes)} until ${day(args.expiresAt)}${args.share ? `, and share it${args.sale ? ' or sell it' : ''}` : ''}.`,
        `  consent id ${r.txId} (block ${r.height}), signed as ${me.did}`,
      ],
      'Consent',
    );
  });

  chainOptions(
    consent
      .command('withdraw')
      .description('withdraw one consent, or every consent you gave an org')
      .requiredOption('--org <id>', 'the org')
      .option('--consent <id>', 'the consent to withdraw (default: all of them)'),
  ).action(async (flags: ChainFlags & { org: string; consent?: string }) => {
    const out = output(flags.json === true);
    const { ctx, org, me } = await actAs(flags, flags.org);
    const args = { org, ...(flags.consent === undefined ? {} : { consent: parseRecordId(flags.consent) }) };
    const r = await submitAs(ctx, me, 'consent.withdraw', args);
    finish(
      out,
      r,
      r,
      `Withdrawn: ${flags.consent === undefined ? `every consent you gave ${org}` : `consent ${flags.consent}`} (block ${r.height}). Uses that relied on it are refused from now on.`,
      'Withdrawal',
    );
  });

  const optout = chainOptions(
    program
      .command('optout')
      .description(
        'opt out of the sale and/or sharing of your data by an org, or limit the use of your sensitive data (or `optout clear`)',
      )
      .enablePositionalOptions()
      .option('--org <id>', 'the org')
      .option('--sale', 'opt out of sale')
      .option('--share', 'opt out of sharing')
      .option('--sensitive', 'limit the use of your sensitive data to what serving you needs (CCPA 1798.121)')
      .option('--gpc', "send it as a Global Privacy Control signal (header Sec-GPC: 1, source 'gpc')"),
  ).action(async (flags: OptOutFlags & { gpc?: boolean }) => {
    const out = output(flags.json === true);
    const kinds = optoutKinds(flags);
    const { ctx, org, me } = await actAs(flags, flags.org);
    const gpc = flags.gpc === true;
    if (gpc && flags.sensitive === true) {
      throw new NodeError('BAD_REQUEST', 'expected --gpc without --sensitive: GPC opts out of sale and sharing');
    }
    const r = await submitAs(ctx, me, 'optout.set', { org, kinds, ...(gpc ? { source: 'gpc' } : {}) }, gpc);
    finish(
      out,
      r,
      r,
      `You opted out of ${kinds.map((k) => KIND_WORDS[k]).join(' and ')} at ${org}${gpc ? ' (Global Privacy Control)' : ''} (block ${r.height}).`,
      'Opt-out',
    );
  });

  chainOptions(
    optout
      .command('clear')
      .description(
        'withdraw an opt-out: allow sale, sharing or the use of sensitive data again (consent is still needed)',
      )
      .option('--org <id>', 'the org')
      .option('--sale', 'allow sale again')
      .option('--share', 'allow sharing again')
      .option('--sensitive', 'lift the limit on the use of your sensitive data'),
  ).action(async (flags: OptOutFlags) => {
    const out = output(flags.json === true);
    const kinds = optoutKinds(flags);
    const { ctx, org, me } = await actAs(flags, flags.org);
    const r = await submitAs(ctx, me, 'optout.clear', { org, kinds });
    finish(
      out,
      r,
      r,
      `Cleared your opt-out of ${kinds.map((k) => KIND_WORDS[k]).join(' and ')} at ${org} (block ${r.height}).`,
      'Clearing the opt-out',
    );
  });

  // GDPR Art. 21(2)-(3): absolute, at once; objections to other purposes are requests (`request open --kind object`).
  chainOptions(
    program
      .command('object')
      .description(
        'object to direct marketing (and the profiling for it) by an org: refused at once whatever its lawful basis',
      )
      .requiredOption('--org <id>', 'the org')
      .option(
        '--purposes <list>',
        `comma-separated, among ${DIRECT_MARKETING_PURPOSES.join(', ')} (default: all of them)`,
      )
      .option('--withdraw', 'withdraw the objection instead'),
  ).action(async (flags: ChainFlags & { org: string; purposes?: string; withdraw?: boolean }) => {
    const out = output(flags.json === true);
    const known: readonly string[] = DIRECT_MARKETING_PURPOSES;
    const purposes =
      flags.purposes === undefined
        ? [...DIRECT_MARKETING_PURPOSES]
        : flags.purposes
            .split(',')
            .map((p) => p.trim())
            .filter((p) => p.length > 0);
    if (purposes.length === 0 || !purposes.every((p) => known.includes(p))) {
      throw new NodeError(
        'BAD_REQUEST',
        `expected --purposes among ${DIRECT_MARKETING_PURPOSES.join(', ')} (other objections: request open --kind object)`,
      );
    }
    const { ctx, org, me } = await actAs(flags, flags.org);
    const withdraw = flags.withdraw === true;
    const r = await submitAs(ctx, me, withdraw ? 'objection.clear' : 'objection.set', { org, purposes });
    finish(
      out,
      r,
      r,
      withdraw
        ? `Objection withdrawn at ${org} (block ${r.height}): ${purposes.join(', ')} need their lawful basis again.`
        : `You objected at ${org} (block ${r.height}): it may no longer use your data for ${purposes.join(', ')}, whatever its lawful basis.`,
      withdraw ? 'Withdrawing the objection' : 'Objection',
    );
  });
}
