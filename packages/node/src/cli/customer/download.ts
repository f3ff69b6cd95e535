/**
 * `custos request download ID`: the customer fetches the export an org sealed to them when it
 * fulfilled their access or export request (ADR 0021), opens it with their wallet, checks every value
 * against its commitment in their verified history, and writes it as JSON or CSV. Prints
 * "complete: N of N records", or names each record that fails (and exits 1).
 */
import { writeFileSync } from 'node:fs';
import {
  type DataExport,
  dataExportToCsv,
  downloadDataExport,
  fetchHistory,
  signedBy,
  trustFromGenesis,
  verifyHistory,
} from '@custos/sdk';
import { type Command, Option } from 'commander';
import { nativeVerifier } from '../../crypto/native.js';
import { NodeError } from '../../errors.js';
import { memberSetOf } from '../../genesis.js';
import { parseRequestId } from '../args.js';
import { output, TX_FAILED_EXIT } from '../output.js';
import { chainContext, requireGenesis } from './chain.js';
import { type ChainFlags, chainOptions, openWallet } from './session.js';

interface DownloadFlags extends ChainFlags {
  org?: string;
  format: 'json' | 'csv';
  out?: string;
}

/** What the report states besides the values, in words. */
export function statementLines(data: DataExport): string[] {
  const s = data.statements;
  return [
    s.automated.length === 0
      ? 'Automated decisions: none recorded.'
      : `Automated decisions: ${s.automated.map((a) => `${a.category} for ${a.purposes.join(', ')}`).join('; ')} (you may ask a person to review them, GDPR Art. 22).`,
    s.transfers.length === 0
      ? 'Transfers outside the EEA: none recorded.'
      : `Transfers outside the EEA: ${s.transfers.map((t) => `${t.country} under ${t.safeguard}`).join('; ')}.`,
    ...s.complaints,
  ];
}

export function registerDownloadCommand(request: Command): void {
  chainOptions(
    request
      .command('download <id>')
      .description(
        'download the data an org sent for your access or export request, check it against the ledger, write it',
      )
      .option('--org <id>', 'the org the request went to (default: found in your histories)')
      .addOption(new Option('--format <format>', 'file format').choices(['json', 'csv']).default('json'))
      .option('--out <file>', 'file to write, must not exist (default custos-export-<first 12 of id>.<format>)'),
  ).action(async (id: string, flags: DownloadFlags) => {
    const out = output(flags.json === true);
    const requestId = parseRequestId(id);
    const ctx = await chainContext(flags, true);
    const genesis = requireGenesis(ctx);
    const { wallet } = await openWallet(flags);
    const rels = wallet
      .relationships()
      .filter((r) => r.chainId === genesis.chainId && (flags.org === undefined || r.orgId === flags.org));
    const epochs = await ctx.client.run((sdk) =>
      sdk.verifiedMemberSets(memberSetOf(genesis), { chainId: genesis.chainId, verifier: nativeVerifier }),
    );
    const trust = { ...trustFromGenesis(genesis), epochs };
    for (const rel of rels) {
      const me = wallet.relationship(rel.chainId, rel.orgId);
      const pages = await ctx.client.run((sdk) => fetchHistory(sdk, me.did, { sign: signedBy(me.signer) }));
      const history = verifyHistory(pages, trust, me.did, nativeVerifier);
      if (!history.facts.some((f) => f.key === `request/${rel.orgId}/${requestId}`)) continue;
      const got = await ctx.client.run((sdk) => downloadDataExport(sdk, wallet, history, rel.orgId, requestId));
      const file = flags.out ?? `custos-export-${requestId.slice(0, 12)}.${flags.format}`;
      const text = flags.format === 'csv' ? dataExportToCsv(got.data) : `${JSON.stringify(got.data, null, 2)}\n`;
      // The customer's own data: readable by them only, never over an existing file.
      writeFileSync(file, text, { flag: 'wx', mode: 0o600 });
      if (!got.check.complete) process.exitCode = TX_FAILED_EXIT;
      out.result({ file, org: rel.orgId, request: requestId, check: got.check, statements: got.data.statements }, [
        `Wrote ${file} (${got.data.records.length} records from ${rel.orgId}, ${flags.format}).`,
        got.check.complete ? got.check.summary : `Not complete: ${got.check.summary}`,
        ...statementLines(got.data),
      ]);
      return;
    }
    throw new NodeError(
      'NOT_FOUND',
      `no request ${requestId} in your verified histories${flags.org === undefined ? '' : ` with '${flags.org.slice(0, 40)}'`} on chain ${genesis.chainId}`,
    );
  });
}
