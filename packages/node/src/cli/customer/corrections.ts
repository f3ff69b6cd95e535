/**
 * `custos correct`: the customer updates a fact once (a new address, a corrected email) at every org
 * they name; the wallet seals it with HPKE to each org's published key, under that org's pseudonym,
 * commits its digest (`rectify.send`) and delivers it to the org's inbox (ADR 0018).
 * `custos flag`: the customer says a record is wrong, with a reason code (`rectify.flag`).
 */
import { FLAG_REASONS, type Rectification } from '@custos/protocol/ledger';
import { sendCorrections, signedBy, trustFromGenesis } from '@custos/sdk';
import { type Command, Option } from 'commander';
import { NodeError } from '../../errors.js';
import { JURISDICTIONS, type Jurisdiction } from '../../modules/common.js';
import { parseRecordId } from '../args.js';
import { readValueFile } from '../commands-org.js';
import { day, output } from '../output.js';
import { actAs, chainContext, finish, memberOrg, submitAs } from './chain.js';
import { type ChainFlags, chainOptions, openWallet } from './session.js';

/** `ORG:RECORD`, comma-separated. */
function parseTargets(s: string): { org: string; record: string }[] {
  const list = s
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (list.length === 0 || list.length > 32) {
    throw new NodeError('BAD_REQUEST', 'expected --records ORG:RECORD[,ORG:RECORD...], 1-32 of them');
  }
  return list.map((t) => {
    const i = t.indexOf(':');
    if (i <= 0) throw new NodeError('BAD_REQUEST', `expected ORG:RECORD, got '${t.slice(0, 80)}'`);
    return { org: t.slice(0, i), record: parseRecordId(t.slice(i + 1)) };
  });
}

export function registerCorrectionCommands(program: Command): void {
  chainOptions(
    program
      .command('correct')
      .description(
        'update a fact once at every org you name: sealed with HPKE to each, under your pseudonym towards each',
      )
      .requiredOption('--records <org:id,...>', 'the records to correct, as ORG:RECORD, comma-separated')
      .requiredOption('--value-file <file>', "the new value as JSON, from a file or '-' for stdin")
      .addOption(
        new Option('--jurisdiction <law>', 'the law you ask under').choices([...JURISDICTIONS]).default('GDPR'),
      ),
  ).action(async (flags: ChainFlags & { records: string; valueFile: string; jurisdiction: Jurisdiction }) => {
    const out = output(flags.json === true);
    const targets = parseTargets(flags.records);
    const value = readValueFile(flags.valueFile);
    const ctx = await chainContext(flags, true);
    for (const t of targets) memberOrg(ctx, t.org);
    const session = await openWallet(flags);
    for (const t of targets) session.wallet.relationship(ctx.chainId, t.org);
    await session.save();
    const outcomes = await ctx.client.run((sdk) =>
      sendCorrections(sdk, session.wallet, {
        chainId: ctx.chainId,
        targets,
        value,
        jurisdiction: flags.jurisdiction,
        // Each org's key is checked with a state proof against the genesis members, when there is one.
        ...(ctx.genesis === undefined ? {} : { trust: trustFromGenesis(ctx.genesis) }),
      }),
    );
    const lines = outcomes.map((o) => {
      const applied = o.applied as { code?: string; error?: string } | undefined;
      if (o.sent !== 'OK') return `${o.org}: refused by the ledger, ${o.sent}.`;
      if (applied?.code === 'OK') return `${o.org}: applied (correction ${o.item}).`;
      if (applied?.code === 'RELAYED') {
        return `${o.org}: sent (correction ${o.item}) through this peer; ${o.org}'s own node fetches and applies it.`;
      }
      return `${o.org}: sent (correction ${o.item}), not applied yet: ${applied?.code ?? applied?.error}.`;
    });
    out.result({ outcomes }, lines);
    if (outcomes.some((o) => o.sent !== 'OK')) process.exitCode = 1;
  });
  chainOptions(
    program
      .command('flag')
      .description(
        'tell an org a record is wrong, with a reason code; it must correct it or explain within the deadline',
      )
      .requiredOption('--org <id>', 'the org')
      .requiredOption('--record <id>', 'the record')
      .addOption(new Option('--reason <code>', 'why it is wrong').choices([...FLAG_REASONS]).makeOptionMandatory())
      .addOption(
        new Option('--jurisdiction <law>', 'the law you ask under').choices([...JURISDICTIONS]).default('GDPR'),
      ),
  ).action(async (flags: ChainFlags & { org: string; record: string; reason: string; jurisdiction: string }) => {
    const out = output(flags.json === true);
    const record = parseRecordId(flags.record);
    const { ctx, org, me } = await actAs(flags, flags.org);
    const r = await submitAs(ctx, me, 'rectify.flag', {
      org,
      record,
      reason: flags.reason,
      jurisdiction: flags.jurisdiction,
    });
    if (r.code !== 'OK') {
      finish(out, r, r, '', 'Flag');
      return;
    }
    const { value } = await ctx.client.run((sdk) =>
      sdk.stateEntry(`rectify/${org}/${r.txId}`, { sign: signedBy(me.signer) }),
    );
    const item = value as unknown as Rectification;
    out.result({ ...r, item }, [
      `Flagged record ${record} at ${org} as ${flags.reason} (block ${r.height}).`,
      `  ${org} must correct it or explain by ${day(item.deadline)} (${flags.jurisdiction}).`,
    ]);
  });
}
