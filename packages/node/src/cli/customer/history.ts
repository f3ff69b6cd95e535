/**
 * `custos history [export]`: everything the ledger says about the customer, fetched per
 * relationship with requests signed by that pseudonym, and verified offline against the genesis
 * members (and the member sets certified since) before a word of it is printed.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { Signer } from '@custos/protocol/crypto';
import type { MemberSetChain } from '@custos/protocol/ledger';
import { fetchHistory, signedBy, trustFromGenesis, verifyHistory } from '@custos/sdk';
import type { Command } from 'commander';
import { nativeVerifier } from '../../crypto/native.js';
import { NodeError } from '../../errors.js';
import { type Genesis, memberSetOf } from '../../genesis.js';
import type { NodeClient } from '../client.js';
import { output } from '../output.js';
import { chainContext, requireGenesis } from './chain.js';
import { companyViews, type MergedReport, orgDoc, type RelationshipHistory, renderOrg } from './history-view.js';
import { type ChainFlags, chainOptions, openWallet } from './session.js';

export const HISTORY_EXPORT = 'custos/history-export/v1';

interface HistoryFlags extends ChainFlags {
  org?: string;
}

/** Every page of a subject's report; each request signed with that subject's pairwise key. */
function fetchReports(node: NodeClient, did: string, signer: Signer): Promise<unknown[]> {
  return node.run((sdk) => fetchHistory(sdk, did, { sign: signedBy(signer) }));
}

/**
 * Verifies every page of one subject's report against the genesis members and merges them, with the
 * SDK's `verifyHistory`: the report must prove it is complete, hold exactly the proven number of
 * events, and every event must concern this subject: signed by it, or naming it or one of its
 * records or requests.
 */
export function verifyReportPages(
  pages: readonly unknown[],
  genesis: Genesis,
  did: string,
  epochs?: MemberSetChain,
): MergedReport {
  const trust = { ...trustFromGenesis(genesis), ...(epochs === undefined ? {} : { epochs }) };
  const h = verifyHistory(pages, trust, did, nativeVerifier);
  return { height: h.height, complete: true, historyCount: h.historyCount, facts: h.facts, events: h.events };
}

/** Fetches and verifies the history of every relationship (or one org's) of the wallet on this chain. */
async function loadHistory(flags: HistoryFlags) {
  const ctx = await chainContext(flags, true);
  const genesis = requireGenesis(ctx);
  const session = await openWallet(flags);
  const rels = session.wallet
    .relationships()
    .filter((r) => r.chainId === genesis.chainId && (flags.org === undefined || r.orgId === flags.org));
  if (rels.length === 0) {
    throw new NodeError(
      'NOT_FOUND',
      flags.org === undefined
        ? `your wallet has no relationship on chain ${genesis.chainId} yet`
        : `your wallet has no relationship with '${flags.org.slice(0, 40)}' on chain ${genesis.chainId}`,
    );
  }
  const histories: RelationshipHistory[] = [];
  // The member sets since genesis, each certified update verified here (reports made after a
  // member-set change are certified by the set in force then).
  const epochs = await ctx.client.run((sdk) =>
    sdk.verifiedMemberSets(memberSetOf(genesis), { chainId: genesis.chainId, verifier: nativeVerifier }),
  );
  for (const r of rels) {
    const pages = await fetchReports(ctx.client, r.did, session.wallet.relationship(r.chainId, r.orgId).signer);
    histories.push({
      org: r.orgId,
      did: r.did,
      ...(r.label === undefined ? {} : { label: r.label }),
      pages,
      verified: verifyReportPages(pages, genesis, r.did, epochs),
    });
  }
  const now = Date.now();
  // Who signed what is read against the verified member sets: a key rotated in since genesis too.
  const trust = { ...trustFromGenesis(genesis), epochs };
  const views = companyViews(trust, histories, now);
  return { genesis, trust, histories, now, views, orgs: views.map(orgDoc) };
}

function relationshipDoc(h: RelationshipHistory) {
  return { org: h.org, did: h.did, ...(h.label === undefined ? {} : { label: h.label }), ...h.verified };
}

export function registerHistoryCommands(program: Command): void {
  const history = chainOptions(
    program
      .command('history')
      .description(
        'what every org holds on you and did with it, verified offline against the genesis (or `history export`)',
      )
      .enablePositionalOptions()
      .option('--org <id>', 'only your relationship with this org'),
  ).action(async (flags: HistoryFlags) => {
    const out = output(flags.json === true);
    const h = await loadHistory(flags);
    const height = Math.max(...h.histories.map((x) => x.verified.height));
    out.result(
      {
        chainId: h.genesis.chainId,
        verified: true,
        height,
        genesis: { members: h.genesis.members.map((m) => m.id), threshold: h.genesis.threshold },
        relationships: h.histories.map(relationshipDoc),
        orgs: h.orgs,
      },
      [
        `Your data on chain ${h.genesis.chainId}, verified at height ${height} against the genesis (${h.genesis.members.length} members, quorum ${h.genesis.threshold}).`,
        '✓ = verified: proven by a quorum certificate of the genesis members; nothing was left out.',
        '',
        ...h.views.flatMap((v) => [...renderOrg(v, h.now, h.trust), '']),
      ],
    );
  });

  chainOptions(
    history
      .command('export')
      .description('write your verified history with its raw proofs to a file anyone can re-verify')
      .requiredOption('--out <file>', 'file to write (refuses to overwrite)')
      .option('--org <id>', 'only your relationship with this org'),
  ).action(async (flags: HistoryFlags & { out: string }) => {
    const out = output(flags.json === true);
    if (existsSync(flags.out)) throw new NodeError('BAD_REQUEST', `${flags.out} exists; refusing to overwrite it`);
    const h = await loadHistory(flags);
    const doc = {
      type: HISTORY_EXPORT,
      exportedAt: new Date(h.now).toISOString(),
      chainId: h.genesis.chainId,
      // For reference only: whoever re-verifies must use a genesis they trust, not this copy.
      genesis: h.genesis,
      howToVerify:
        'Each relationships[].reports[] page verifies with verifySubjectReport(page, members of a trusted genesis) from @custos/protocol.',
      relationships: h.histories.map((x) => ({ ...relationshipDoc(x), reports: x.pages })),
      orgs: h.orgs,
    };
    // It links all your pseudonyms: owner-only, like the wallet.
    writeFileSync(flags.out, `${JSON.stringify(doc, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    const events = h.histories.reduce((n, x) => n + x.verified.events.length, 0);
    out.result({ file: flags.out, relationships: h.histories.length, events }, [
      `Wrote ${flags.out}: ${h.histories.length} relationship(s), ${events} event(s), with the proofs to re-verify them.`,
      'It links all your pseudonyms: share it only with whom you choose.',
    ]);
  });
}
