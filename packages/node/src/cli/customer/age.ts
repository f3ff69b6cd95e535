/**
 * `custos age`: the customer records their age band at an org (a band, never a birth date), and may
 * name a parent's or guardian's key, whose signature on a consent counts as the parent's (GDPR Art. 8,
 * CCPA 1798.120(c)).
 */
import { isDidKey } from '@custos/protocol/crypto';
import { AGE_BANDS, type AgeBand, ART8_AGES } from '@custos/protocol/ledger';
import { type Command, Option } from 'commander';
import { NodeError } from '../../errors.js';
import { output } from '../output.js';
import { actAs, finish, submitAs } from './chain.js';
import { type ChainFlags, chainOptions } from './session.js';

interface AgeFlags extends ChainFlags {
  org: string;
  band: AgeBand;
  memberState?: string;
  guardian?: string;
}

export function registerAgeCommands(program: Command): void {
  chainOptions(
    program
      .command('age')
      .description(
        'record your age band at an org (under13, 13-15, 16-17, adult), and a guardian key if you are a child',
      )
      .requiredOption('--org <id>', 'the org')
      .addOption(new Option('--band <band>', 'your age band').choices([...AGE_BANDS]).makeOptionMandatory())
      .addOption(
        new Option(
          '--member-state <code>',
          'the EU member state whose age of digital consent applies (default 16)',
        ).choices(Object.keys(ART8_AGES)),
      )
      .option(
        '--guardian <did>',
        "your parent's or guardian's key (did:key): their signature on a consent counts as theirs",
      ),
  ).action(async (flags: AgeFlags) => {
    const out = output(flags.json === true);
    if (flags.guardian !== undefined && !isDidKey(flags.guardian)) {
      throw new NodeError('BAD_REQUEST', "expected --guardian as a did:key (your parent's or guardian's key)");
    }
    const { ctx, org, me } = await actAs(flags, flags.org);
    const args = {
      org,
      band: flags.band,
      ...(flags.memberState === undefined ? {} : { memberState: flags.memberState }),
      ...(flags.guardian === undefined ? {} : { guardian: flags.guardian }),
    };
    const r = await submitAs(ctx, me, 'age.set', args);
    finish(out, r, r, `Recorded your age band at ${org}: ${flags.band} (block ${r.height}).`, 'Age band');
  });
}
