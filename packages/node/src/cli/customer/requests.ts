/**
 * `custos request open`: the customer asks an org to act on their rights; the ledger sets the deadline.
 * `custos request lift`: the customer lifts a restriction or withdraws an objection of theirs.
 * `custos request download ID`: the data an org sealed to the customer for an access or export request.
 */

import { type DataRequest, REQUEST_KINDS } from '@custos/protocol/ledger';
import { pseudonymsHeldBy, signedBy } from '@custos/sdk';
import { requestNoun } from '@custos/sdk/views';
import { type Command, Option } from 'commander';
import { cliCommand } from '../../invocation.js';
import { JURISDICTIONS } from '../../modules/common.js';
import { parseRecordId, parseRequestId } from '../args.js';
import { day, output } from '../output.js';
import { actAs, finish, submitAs } from './chain.js';
import { registerDownloadCommand } from './download.js';
import { type ChainFlags, chainOptions, openWallet } from './session.js';

/**
 * Opens the same request under each of the wallet's other pseudonyms under which `org` holds copies
 * (none when the customer named records: those are records under the pseudonym towards `org`).
 */
async function copyRequests(
  flags: ChainFlags & { kind: string; jurisdiction: string },
  ctx: Awaited<ReturnType<typeof actAs>>['ctx'],
  org: string,
  named: boolean,
): Promise<{ from: string; txId: string; code: string; records: number }[]> {
  if (named) return [];
  const { wallet } = await openWallet(flags);
  const held = await ctx.client.run((sdk) => pseudonymsHeldBy(sdk, wallet, ctx.chainId, org));
  const out: { from: string; txId: string; code: string; records: number }[] = [];
  for (const h of held) {
    const r = await submitAs(ctx, h.identity, 'request.open', {
      org,
      kind: flags.kind,
      jurisdiction: flags.jurisdiction,
    });
    out.push({ from: h.identity.orgId, txId: r.txId, code: r.code, records: h.records.length });
  }
  return out;
}

export function registerRequestCommands(program: Command): void {
  const request = program
    .command('request')
    .description('exercise your rights: access, export, correction, erasure...');
  chainOptions(
    request
      .command('open')
      .description('ask an org to act on your rights; the ledger sets the legal deadline')
      .requiredOption('--org <id>', 'the org')
      .addOption(new Option('--kind <kind>', 'what you ask for').choices([...REQUEST_KINDS]).makeOptionMandatory())
      .addOption(
        new Option('--jurisdiction <law>', 'the law you ask under').choices([...JURISDICTIONS]).default('GDPR'),
      )
      .option('--records <ids>', 'the records concerned, comma-separated (default: everything the org holds on you)'),
  ).action(async (flags: ChainFlags & { org: string; kind: string; jurisdiction: string; records?: string }) => {
    const out = output(flags.json === true);
    const records =
      flags.records === undefined
        ? []
        : flags.records
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
            .map(parseRecordId);
    const { ctx, org, me } = await actAs(flags, flags.org);
    const r = await submitAs(ctx, me, 'request.open', {
      org,
      kind: flags.kind,
      jurisdiction: flags.jurisdiction,
      ...(records.length === 0 ? {} : { records }),
    });
    if (r.code !== 'OK') {
      finish(out, r, r, '', 'Request');
      return;
    }
    // The deadline is the ledger's; `history` shows it verified.
    // Read as the subject: the request names her pseudonym, so it is not public (trust #5).
    const { value } = await ctx.client.run((sdk) =>
      sdk.stateEntry(`request/${org}/${r.txId}`, { sign: signedBy(me.signer) }),
    );
    const req = value as unknown as DataRequest;
    // Copies the org received sit under the pseudonym towards the org that shared them: the same
    // request goes under each such pseudonym too, signed by it (ADR 0019, "Copy-only erasure").
    const copies = flags.kind === 'optout' ? [] : await copyRequests(flags, ctx, org, records.length > 0);
    out.result({ ...r, request: req, ...(copies.length === 0 ? {} : { copies }) }, [
      `Request ${r.txId} for ${requestNoun(flags.kind)} (${flags.kind}, ${flags.jurisdiction}) sent to ${org} (block ${r.height}).`,
      `  The ledger set its deadline to ${day(req.deadline)} (${flags.jurisdiction}); \`${cliCommand(`history --org ${org}`)}\` shows its progress.`,
      ...copies.map(
        (c) =>
          `  ${org} also holds ${c.records} record(s) it received from ${c.from}: request ${c.txId} (${c.code}) covers them, under your pseudonym towards ${c.from}.`,
      ),
    ]);
  });
  registerDownloadCommand(request);
  chainOptions(
    request
      .command('lift')
      .description(
        'lift a restriction, or withdraw an objection, that the org fulfilled: its records may be used again',
      )
      .requiredOption('--org <id>', 'the org')
      .requiredOption('--request <id>', 'the restriction or objection request (its id, from `history`)'),
  ).action(async (flags: ChainFlags & { org: string; request: string }) => {
    const out = output(flags.json === true);
    const id = parseRequestId(flags.request);
    const { ctx, org, me } = await actAs(flags, flags.org);
    const r = await submitAs(ctx, me, 'request.lift', { org, request: id });
    finish(
      out,
      r,
      r,
      `Lifted at ${org} (block ${r.height}): the records it restricted may be used again under their lawful basis, unless another restriction of yours holds them.`,
      'Lift',
    );
  });
}
