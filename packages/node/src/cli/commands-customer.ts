/**
 * The customer's side of the CLI: `custos wallet` (a passphrase-protected wallet file), `consent`,
 * `optout` (also as a Global Privacy Control signal), `request open`, and `history`: everything the
 * ledger says about the customer, fetched per relationship and verified offline against the genesis
 * members before a word of it is printed. Each transaction is signed with the wallet's pairwise key
 * for that org (`wallet.relationship(chainId, org)`), so every org knows the customer by another did.
 */
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDpvCategory, isDpvPurpose, labelOf } from '@custos/protocol/consent';
import type { Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type MemberSetChain, type SignedTx, signTx } from '@custos/protocol/ledger';
import { type PairwiseIdentity, Wallet } from '@custos/protocol/wallet';
import { fetchHistory, signedBy, trustFromGenesis, type VerifiedHistory, verifyHistory } from '@custos/sdk';
import { type Command, Option } from 'commander';
import { nativeSigner, nativeVerifier } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { type Genesis, memberSetOf } from '../genesis.js';
import { GENESIS_FILE, isInitialized, readGenesisFile, resolveHome } from '../home.js';
import { JURISDICTIONS } from '../modules/common.js';
import type { Grant, OptOut, Preferences } from '../modules/consent.js';
import type { DataRecord, LawfulBasis } from '../modules/data.js';
import { type DataRequest, REQUEST_KINDS } from '../modules/request.js';
import { parsePositiveInt, parseRecordId } from './args.js';
import { type CommitResult, NodeClient } from './client.js';
import { cliCommand } from './invocation.js';
import { nodeOption } from './options.js';
import { day, deadlineText, type Output, output, TX_FAILED_EXIT } from './output.js';
import {
  type OpenedWallet,
  parseScryptCost,
  readWalletFile,
  WALLET_FILE,
  WALLET_PASSPHRASE_ENV,
  walletPassphrase,
  walletPath,
  writeWalletFile,
} from './wallet-file.js';

export const HISTORY_EXPORT = 'custos/history-export/v1';
const DAY = 86_400_000;
/** The ledger refuses consents longer than 10 years (of 366 days). */
const MAX_CONSENT_DAYS = 3660;
const MAX_NOTICE_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Options, wallet and chain

interface WalletFlags {
  wallet?: string;
  walletPassphraseFile?: string;
  home?: string;
  json?: boolean;
}

interface ChainFlags extends WalletFlags {
  genesis?: string;
  node: string;
}

function walletOptions(cmd: Command): Command {
  return cmd
    .option(
      '--wallet <file>',
      `your wallet file (default <home>/${WALLET_FILE}). A real customer's wallet is theirs, kept on their own device, not on an org's node; the default suits demos and tests`,
    )
    .option('--wallet-passphrase-file <file>', `file holding the wallet passphrase (else $${WALLET_PASSPHRASE_ENV})`)
    .option('--home <dir>', 'home directory (default $CUSTOS_HOME or ./.custos)')
    .option('--json', 'print one JSON document');
}

function chainOptions(cmd: Command): Command {
  return walletOptions(cmd)
    .option('--genesis <file>', "the chain's genesis.json, the only thing trusted (default <home>/genesis.json)")
    .addOption(nodeOption());
}

interface WalletSession extends OpenedWallet {
  path: string;
  passphrase: string;
  /** Rewrites the file if a relationship was added or relabelled. */
  save(): Promise<void>;
}

function snapshot(wallet: Wallet): string {
  return JSON.stringify(wallet.relationships().map((r) => [r.chainId, r.orgId, r.label ?? null]));
}

async function openWallet(flags: WalletFlags): Promise<WalletSession> {
  const path = walletPath(flags.wallet, resolveHome(flags.home));
  const passphrase = walletPassphrase(
    flags.walletPassphraseFile === undefined ? {} : { passphraseFile: flags.walletPassphraseFile },
  );
  const opened = await readWalletFile(path, passphrase);
  let saved = snapshot(opened.wallet);
  return {
    ...opened,
    path,
    passphrase,
    async save() {
      const now = snapshot(opened.wallet);
      if (now === saved) return;
      await writeWalletFile(path, opened.wallet, passphrase, { scryptN: opened.scryptN, overwrite: true });
      saved = now;
    },
  };
}

interface ChainContext {
  chainId: string;
  members: { id: string; name: string }[];
  genesis: Genesis | undefined;
  client: NodeClient;
}

function genesisOf(flags: ChainFlags): Genesis | undefined {
  if (flags.genesis !== undefined) return readGenesisFile(flags.genesis);
  const home = resolveHome(flags.home);
  return isInitialized(home) ? readGenesisFile(join(home, GENESIS_FILE)) : undefined;
}

/**
 * The chain: its id from the genesis when there is one (checked against the node when `useNode`),
 * else from the node; its members as the node lists them now (admitted since genesis too), else
 * from the genesis. A genesis is required wherever trust matters (`history`).
 */
async function chainContext(flags: ChainFlags, useNode: boolean): Promise<ChainContext> {
  const client = new NodeClient(flags.node);
  const genesis = genesisOf(flags);
  const info = useNode || genesis === undefined ? await client.chain() : undefined;
  if (genesis !== undefined && info !== undefined && info.chainId !== genesis.chainId) {
    throw new NodeError(
      'BAD_REQUEST',
      `the node serves chain '${info.chainId}', but the genesis is for '${genesis.chainId}'`,
    );
  }
  const names = new Map(genesis?.members.map((m) => [m.id, m.name]));
  const ids = info?.members.map((m) => m.id) ?? genesis?.members.map((m) => m.id) ?? [];
  return {
    chainId: genesis?.chainId ?? info!.chainId,
    members: ids.map((id) => ({ id, name: names.get(id) ?? id })),
    genesis,
    client,
  };
}

function requireGenesis(ctx: ChainContext): Genesis {
  if (ctx.genesis === undefined) {
    throw new NodeError(
      'BAD_REQUEST',
      'expected --genesis GENESIS.json or --home DIR: a history is verified against the genesis members, never against what the node says',
    );
  }
  return ctx.genesis;
}

function memberOrg(ctx: ChainContext, org: string | undefined): string {
  if (org === undefined || org.length === 0) throw new NodeError('BAD_REQUEST', 'expected --org ID');
  if (!ctx.members.some((m) => m.id === org)) {
    throw new NodeError(
      'NOT_FOUND',
      `no member org '${org.slice(0, 40)}' on chain ${ctx.chainId} (members: ${ctx.members.map((m) => m.id).join(', ')})`,
    );
  }
  return org;
}

/** Signs with the pairwise key and waits for the block; `gpc` sends the request with `Sec-GPC: 1`. */
async function submitAs(
  ctx: ChainContext,
  who: PairwiseIdentity,
  type: string,
  args: { [key: string]: JsonValue },
  gpc = false,
): Promise<CommitResult> {
  const tx = signTx({ chainId: ctx.chainId, type, args }, who.signer);
  // The SDK sends `Sec-GPC: 1` for `gpc`.
  return ctx.client.run((sdk) => sdk.submitAndWait(tx, gpc ? { gpc: true } : {}));
}

function finish(out: Output, r: CommitResult, doc: unknown, ok: string | string[], what: string): void {
  if (r.code === 'OK') {
    out.result(doc, ok);
    return;
  }
  out.result(doc, `${what}: refused, ${r.code} (recorded in block ${r.height}, tx ${r.txId}).`);
  process.exitCode = TX_FAILED_EXIT;
}

function parseCodes(text: string, what: string, known: (c: string) => boolean, example: string): string[] {
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

function noticeHash(file: string): string {
  const bytes = readBoundedFile(file, { what: 'a privacy notice', maxBytes: MAX_NOTICE_BYTES });
  return createHash('sha256').update(bytes).digest('hex');
}

const labelled = (codes: readonly string[]) => codes.map((c) => labelOf(c)).join(', ');

// ---------------------------------------------------------------------------------------------
// History: fetch every page, verify, interpret

interface MergedReport {
  height: number;
  complete: boolean;
  historyCount: number;
  facts: VerifiedHistory['facts'];
  events: VerifiedHistory['events'];
}

interface RelationshipHistory {
  org: string;
  did: string;
  label?: string;
  /** The raw pages as the node sent them, proofs included. */
  pages: unknown[];
  verified: MergedReport;
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

const BASIS_TEXT: Record<LawfulBasis, string> = {
  consent: 'your consent',
  contract: 'contract',
  'legal-obligation': 'legal obligation',
  'vital-interests': 'vital interests',
  'public-task': 'public task',
  'legitimate-interest': 'legitimate interest',
};

const KIND_TEXT: Record<string, string> = {
  access: 'a copy of your data',
  export: 'your data in a portable format',
  rectify: 'a correction',
  erase: 'erasure',
  restrict: 'restriction of processing',
  object: 'an objection to processing',
  optout: 'an opt-out',
};

/** `erasure (erase, GDPR)`. */
function kindText(kind: string, jurisdiction: string): string {
  return `${KIND_TEXT[kind] ?? kind} (${kind}, ${jurisdiction})`;
}

/** What a result code means to the customer. */
export function resultText(code: string): string {
  switch (code) {
    case 'OK':
      return 'done';
    case 'NO_LAWFUL_BASIS':
      return 'refused: no lawful basis';
    case 'OPTED_OUT':
      return 'refused: you opted out';
    case 'ERASED':
      return 'refused: the data was erased';
    case 'RESTRICTED':
      return 'refused: processing restricted';
    default:
      return `failed: ${code}`;
  }
}

export interface RecordView {
  id: string;
  did: string;
  category: string;
  categoryLabel: string;
  purposes: { code: string; label: string; basis: LawfulBasis }[];
  source: string;
  sourceText: string;
  registeredAt: number;
  updatedAt: number;
  retentionUntil: number;
  erased: boolean;
  erasedAt: number | null;
  erasureRequestedAt: number | null;
  restricted: boolean;
  sourceRecord: { org: string; id: string } | null;
  copies: { org: string; id: string }[];
}

export interface ConsentView extends Grant {
  did: string;
  state: 'live' | 'withdrawn' | 'expired';
}

export interface RequestView extends DataRequest {
  overdue: boolean;
}

export interface TimelineEntry {
  txId: string;
  height: number;
  index: number;
  /** When the signer created the transaction (signed, so it is part of the proof). */
  date: string;
  by: string;
  type: string;
  text: string;
  code: string;
  result: string;
  verified: true;
}

export interface OrgView {
  org: string;
  name: string;
  /** Your pseudonyms towards this org (in your wallet). */
  dids: string[];
  records: RecordView[];
  consents: ConsentView[];
  optouts: { sale: OptOut | null; share: OptOut | null };
  requests: RequestView[];
  timeline: TimelineEntry[];
}

/** Turns verified facts and events into one plain view per org. */
export function summarize(genesis: Genesis, rels: readonly RelationshipHistory[], now: number): OrgView[] {
  const names = new Map(genesis.members.map((m) => [m.id, m.name]));
  const orgOfKey = new Map(genesis.members.flatMap((m) => m.keys.map((k) => [k, m.id] as const)));
  const views = new Map<string, OrgView>();
  const view = (org: string): OrgView => {
    let v = views.get(org);
    if (v === undefined) {
      v = {
        org,
        name: names.get(org) ?? org,
        dids: [],
        records: [],
        consents: [],
        optouts: { sale: null, share: null },
        requests: [],
        timeline: [],
      };
      views.set(org, v);
    }
    return v;
  };
  const records = new Map<string, DataRecord>();
  const requests = new Map<string, DataRequest>();
  for (const rel of rels) {
    view(rel.org).dids.push(rel.did);
    for (const { key, value } of rel.verified.facts) {
      if (value === null) continue;
      const [kind, org = '', subject] = key.split('/');
      if ((kind === 'consent' || kind === 'pref') && subject !== rel.did) continue;
      if (kind === 'consent') {
        for (const g of (value as unknown as { grants: Grant[] }).grants) {
          const state = g.withdrawnAt !== null ? 'withdrawn' : g.expiresAt <= now ? 'expired' : 'live';
          view(org).consents.push({ ...g, did: rel.did, state });
        }
      } else if (kind === 'pref') {
        const p = value as unknown as Preferences;
        const v = view(org);
        v.optouts = { sale: v.optouts.sale ?? p.sale, share: v.optouts.share ?? p.share };
      } else if (kind === 'record') {
        const r = value as unknown as DataRecord;
        // A proven fact, but only this subject's records belong in its report.
        if (r.subject !== rel.did || records.has(r.id)) continue;
        records.set(r.id, r);
        const from = r.sourceRecord === null ? undefined : (names.get(r.sourceRecord.org) ?? r.sourceRecord.org);
        const sourceText =
          from !== undefined
            ? `shared by ${from}`
            : ({
                subject: 'from you',
                public: 'from public sources',
                'third-party': 'from a third party',
                derived: 'worked out from other data',
              }[r.source] ?? r.source);
        view(r.org).records.push({
          id: r.id,
          did: r.subject,
          category: r.category,
          categoryLabel: labelOf(r.category),
          purposes: Object.entries(r.purposes).map(([code, basis]) => ({ code, label: labelOf(code), basis })),
          source: r.source,
          sourceText,
          registeredAt: r.registeredAt,
          updatedAt: r.updatedAt,
          retentionUntil: r.retentionUntil,
          erased: r.erasedAt !== null,
          erasedAt: r.erasedAt,
          erasureRequestedAt: r.erasureRequestedAt,
          restricted: r.restricted,
          sourceRecord: r.sourceRecord,
          copies: r.copies,
        });
      } else if (kind === 'request') {
        const r = value as unknown as DataRequest;
        if (r.subject !== rel.did || requests.has(r.id)) continue;
        requests.set(r.id, r);
        view(r.org).requests.push({ ...r, overdue: r.status === 'open' && now > r.deadline });
      }
    }
  }
  const seen = new Set<string>();
  for (const rel of rels) {
    for (const e of rel.verified.events) {
      if (seen.has(e.entry.txId)) continue;
      seen.add(e.entry.txId);
      const b = e.tx.body;
      const ref = (k: string) => (typeof b.args[k] === 'string' ? (b.args[k] as string) : '');
      // An org's key, even one rotated in after genesis: the org of the record or request it acted on.
      const actor =
        b.signer === rel.did
          ? undefined
          : (orgOfKey.get(b.signer) ??
            records.get(ref('record') || e.entry.txId)?.org ??
            requests.get(ref('request'))?.org ??
            'a member');
      const org = actor ?? (ref('org') || rel.org);
      view(org).timeline.push({
        txId: e.entry.txId,
        height: e.entry.height,
        index: e.entry.index,
        date: new Date(e.entry.time).toISOString(),
        by: actor ?? 'you',
        type: b.type,
        text: eventText(e.tx, e.entry.txId, actor, { names, records, requests }),
        code: e.entry.code,
        result: b.type === 'data.access' && e.entry.code === 'OK' ? 'allowed' : resultText(e.entry.code),
        verified: true,
      });
    }
  }
  const order = new Map(genesis.members.map((m, i) => [m.id, i]));
  const out = [...views.values()].sort((a, b) => (order.get(a.org) ?? 1e9) - (order.get(b.org) ?? 1e9));
  for (const v of out) {
    v.timeline.sort((a, b) => a.height - b.height || a.index - b.index);
    v.requests.sort((a, b) => Number(b.status === 'open') - Number(a.status === 'open') || a.deadline - b.deadline);
  }
  return out;
}

function eventText(
  tx: SignedTx,
  txId: string,
  actor: string | undefined,
  ctx: { names: Map<string, string>; records: Map<string, DataRecord>; requests: Map<string, DataRequest> },
): string {
  const a = tx.body.args as Record<string, JsonValue>;
  const str = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : '');
  const reason = () => str('reason').replace(/[.\s]+$/, '');
  const list = (k: string) =>
    Array.isArray(a[k]) ? (a[k] as JsonValue[]).filter((x): x is string => typeof x === 'string') : [];
  const who = actor === undefined ? 'you' : (ctx.names.get(actor) ?? actor);
  const cat = (id: string) => {
    const r = ctx.records.get(id);
    return r === undefined ? `record ${id.slice(0, 12)}` : labelOf(r.category);
  };
  const kinds = list('kinds')
    .map((k) => (k === 'share' ? 'sharing' : k))
    .join(' and ');
  const requestKind = () => ctx.requests.get(str('request'))?.kind ?? 'data';
  switch (tx.body.type) {
    case 'consent.grant': {
      const extra = [a.share === true ? 'sharing allowed' : '', a.sale === true ? 'sale allowed' : ''].filter(
        (s) => s.length > 0,
      );
      const until = typeof a.expiresAt === 'number' ? `, until ${day(a.expiresAt)}` : '';
      return `you consented to ${labelled(list('purposes'))} using your ${labelled(list('categories'))}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}${until}`;
    }
    case 'consent.withdraw':
      return str('consent') === ''
        ? 'you withdrew every consent you had given them'
        : `you withdrew consent ${str('consent').slice(0, 12)}`;
    case 'optout.set':
      return `you opted out of ${kinds}${str('source') === 'gpc' ? ' (Global Privacy Control signal)' : ''}`;
    case 'optout.clear':
      return `you allowed ${kinds} again`;
    case 'request.open':
      return `you asked for ${kindText(str('kind'), str('jurisdiction'))}`;
    case 'request.extend':
      return `${who} extended the deadline of your ${requestKind()} request ("${reason()}")`;
    case 'request.fulfil':
      return `${who} fulfilled your ${requestKind()} request`;
    case 'request.reject':
      return `${who} rejected your ${requestKind()} request ("${reason()}")`;
    case 'data.register': {
      const src = a.sourceRecord as { org?: unknown } | undefined;
      if (src !== undefined && typeof src.org === 'string') {
        return `${who} registered a copy of your ${cat(txId)} received from ${ctx.names.get(src.org) ?? src.org}`;
      }
      const purposes = typeof a.purposes === 'object' && a.purposes !== null ? Object.keys(a.purposes) : [];
      return `${who} registered your ${cat(txId)} for ${labelled(purposes)}`;
    }
    case 'data.access':
      return `${who} used your ${cat(str('record'))} for ${labelOf(str('purpose'))} (${BASIS_TEXT[str('basis') as LawfulBasis] ?? str('basis')})`;
    case 'data.share': {
      const to = ctx.names.get(str('recipient')) ?? str('recipient');
      return `${who} ${a.sale === true ? 'sold' : 'shared'} your ${cat(str('record'))} to ${to} for ${labelOf(str('purpose'))}`;
    }
    case 'data.update':
      return `${who} corrected your ${cat(str('record'))}`;
    case 'data.erased': {
      const mine = list('records').filter((id) => ctx.records.has(id));
      return `${who} erased your ${mine.map(cat).join(', ') || 'data'} (reason: ${str('reason') === 'request' ? 'your request' : str('reason')})`;
    }
    default:
      return `${who}: ${tx.body.type}`;
  }
}

function time(t: number | string): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

function optoutText(kind: string, o: OptOut | null): string {
  if (o === null) return `${kind}: not opted out`;
  return `${kind}: opted out ${day(o.at)}${o.source === 'gpc' ? ' by Global Privacy Control' : ''}`;
}

/** The plain-language page of one org. Every line with ✓ was checked against the quorum certificate. */
function renderOrg(v: OrgView, now: number, names: Map<string, string>): string[] {
  const lines = [`${v.name} (${v.org})${v.dids.length > 0 ? `: knows you as ${v.dids.join(', ')}` : ''}`];
  lines.push('  What they hold:');
  if (v.records.length === 0) lines.push('    nothing');
  for (const r of v.records) {
    const state = r.erased
      ? `ERASED ${day(r.erasedAt!)}`
      : r.erasureRequestedAt !== null
        ? `must be erased (source erased ${day(r.erasureRequestedAt)})`
        : r.retentionUntil <= now
          ? `kept PAST its retention end ${day(r.retentionUntil)}`
          : `kept until ${day(r.retentionUntil)}`;
    lines.push(
      `    ✓ ${r.categoryLabel} (${r.category}), ${r.sourceText}, ${state}${r.restricted ? ', restricted' : ''}`,
    );
    for (const p of r.purposes) lines.push(`        for ${p.label} (${p.code}): ${BASIS_TEXT[p.basis]}`);
    if (r.copies.length > 0)
      lines.push(`        copied to ${r.copies.map((c) => names.get(c.org) ?? c.org).join(', ')}`);
  }
  lines.push('  Consent:');
  if (v.consents.length === 0) lines.push('    none given');
  for (const c of v.consents) {
    const state =
      c.state === 'live'
        ? `live until ${day(c.expiresAt)}`
        : c.state === 'withdrawn'
          ? `withdrawn ${day(c.withdrawnAt!)}`
          : `expired ${day(c.expiresAt)}`;
    const extra = [c.share ? 'sharing allowed' : 'no sharing', c.sale ? 'sale allowed' : 'no sale'].join(', ');
    lines.push(
      `    ✓ ${labelled(c.purposes)} using your ${labelled(c.categories)} (${c.jurisdiction}; ${extra}): ${state}`,
    );
  }
  lines.push(`  Opt-outs: ✓ ${optoutText('sale', v.optouts.sale)}; ${optoutText('sharing', v.optouts.share)}`);
  lines.push('  Requests:');
  if (v.requests.length === 0) lines.push('    none');
  for (const r of v.requests) {
    const extended =
      r.originalDeadline === null ? '' : ` (extended from ${day(r.originalDeadline)}: ${r.extensionReason})`;
    const closed = r.reason === null ? '' : `: ${r.reason}`;
    lines.push(
      `    ✓ ${kindText(r.kind, r.jurisdiction)}, asked ${day(r.openedAt)}, due ${day(r.deadline)}${extended}: ${deadlineText(r, now)}${closed}`,
    );
  }
  lines.push('  Timeline:');
  if (v.timeline.length === 0) lines.push('    nothing yet');
  for (const e of v.timeline) lines.push(`    ✓ ${time(e.date)}  ${e.text}: ${e.result}`);
  return lines;
}

interface HistoryFlags extends ChainFlags {
  org?: string;
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
  return { genesis, histories, now, orgs: summarize(genesis, histories, now) };
}

function relationshipDoc(h: RelationshipHistory) {
  return { org: h.org, did: h.did, ...(h.label === undefined ? {} : { label: h.label }), ...h.verified };
}

// ---------------------------------------------------------------------------------------------
// Commands

export function registerCustomerCommands(program: Command): void {
  registerWalletCommands(program);

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
      .addOption(
        new Option('--jurisdiction <law>', 'the law the consent is given under')
          .choices([...JURISDICTIONS])
          .default('GDPR'),
      )
      .requiredOption('--notice-file <file>', 'the privacy notice you were shown (its SHA-256 is recorded)'),
  ).action(
    async (
      flags: ChainFlags & {
        org: string;
        purposes: string;
        categories: string;
        days: string;
        share?: boolean;
        sale?: boolean;
        jurisdiction: string;
        noticeFile: string;
      },
    ) => {
      const out = output(flags.json === true);
      const purposes = parseCodes(flags.purposes, '--purposes', isDpvPurpose, 'dpv:Marketing');
      const categories = parseCodes(flags.categories, '--categories', isDpvCategory, 'pd:EmailAddress');
      const days = parsePositiveInt(flags.days, '--days');
      if (days > MAX_CONSENT_DAYS) throw new NodeError('BAD_REQUEST', `expected --days of at most ${MAX_CONSENT_DAYS}`);
      if (flags.sale === true && flags.share !== true) {
        throw new NodeError('BAD_REQUEST', 'expected --share with --sale: a sale is a kind of sharing');
      }
      const notice = noticeHash(flags.noticeFile);
      const ctx = await chainContext(flags, true);
      const org = memberOrg(ctx, flags.org);
      const session = await openWallet(flags);
      const me = session.wallet.relationship(ctx.chainId, org);
      await session.save();
      const args = {
        org,
        purposes,
        categories,
        expiresAt: Date.now() + days * DAY,
        share: flags.share === true,
        sale: flags.sale === true,
        jurisdiction: flags.jurisdiction,
        notice,
      };
      const r = await submitAs(ctx, me, 'consent.grant', args);
      finish(
        out,
        r,
        { ...r, consent: { id: r.txId, did: me.did, ...args } },
        [
          `You consented: ${org} may use your ${labelled(categories)} for ${labelled(purposes)} until ${day(args.expiresAt)}${args.share ? `, and share it${args.sale ? ' or sell it' : ''}` : ''}.`,
          `  consent id ${r.txId} (block ${r.height}), signed as ${me.did}`,
        ],
        'Consent',
      );
    },
  );

  chainOptions(
    consent
      .command('withdraw')
      .description('withdraw one consent, or every consent you gave an org')
      .requiredOption('--org <id>', 'the org')
      .option('--consent <id>', 'the consent to withdraw (default: all of them)'),
  ).action(async (flags: ChainFlags & { org: string; consent?: string }) => {
    const out = output(flags.json === true);
    const ctx = await chainContext(flags, true);
    const org = memberOrg(ctx, flags.org);
    const session = await openWallet(flags);
    const me = session.wallet.relationship(ctx.chainId, org);
    await session.save();
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
      .description('opt out of the sale and/or sharing of your data by an org (or `optout clear`)')
      .enablePositionalOptions()
      .option('--org <id>', 'the org')
      .option('--sale', 'opt out of sale')
      .option('--share', 'opt out of sharing')
      .option('--gpc', "send it as a Global Privacy Control signal (header Sec-GPC: 1, source 'gpc')"),
  ).action(async (flags: ChainFlags & { org?: string; sale?: boolean; share?: boolean; gpc?: boolean }) => {
    const out = output(flags.json === true);
    const kinds = optoutKinds(flags);
    const ctx = await chainContext(flags, true);
    const org = memberOrg(ctx, flags.org);
    const session = await openWallet(flags);
    const me = session.wallet.relationship(ctx.chainId, org);
    await session.save();
    const gpc = flags.gpc === true;
    const r = await submitAs(ctx, me, 'optout.set', { org, kinds, ...(gpc ? { source: 'gpc' } : {}) }, gpc);
    finish(
      out,
      r,
      r,
      `You opted out of ${kinds.map((k) => (k === 'share' ? 'sharing' : k)).join(' and ')} at ${org}${gpc ? ' (Global Privacy Control)' : ''} (block ${r.height}).`,
      'Opt-out',
    );
  });

  chainOptions(
    optout
      .command('clear')
      .description('withdraw an opt-out: allow sale and/or sharing again (consent is still needed)')
      .option('--org <id>', 'the org')
      .option('--sale', 'allow sale again')
      .option('--share', 'allow sharing again'),
  ).action(async (flags: ChainFlags & { org?: string; sale?: boolean; share?: boolean }) => {
    const out = output(flags.json === true);
    const kinds = optoutKinds(flags);
    const ctx = await chainContext(flags, true);
    const org = memberOrg(ctx, flags.org);
    const session = await openWallet(flags);
    const me = session.wallet.relationship(ctx.chainId, org);
    await session.save();
    const r = await submitAs(ctx, me, 'optout.clear', { org, kinds });
    finish(
      out,
      r,
      r,
      `Cleared your opt-out of ${kinds.join(' and ')} at ${org} (block ${r.height}).`,
      'Clearing the opt-out',
    );
  });

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
    const ctx = await chainContext(flags, true);
    const org = memberOrg(ctx, flags.org);
    const session = await openWallet(flags);
    const me = session.wallet.relationship(ctx.chainId, org);
    await session.save();
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
    out.result({ ...r, request: req }, [
      `Request ${r.txId} for ${kindText(flags.kind, flags.jurisdiction)} sent to ${org} (block ${r.height}).`,
      `  The ledger set its deadline to ${day(req.deadline)} (${flags.jurisdiction}); \`${cliCommand(`history --org ${org}`)}\` shows its progress.`,
    ]);
  });

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
        ...h.orgs.flatMap((v) => [...renderOrg(v, h.now, new Map(h.genesis.members.map((m) => [m.id, m.name]))), '']),
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

function optoutKinds(flags: { sale?: boolean; share?: boolean }): ('sale' | 'share')[] {
  const kinds = [
    ...(flags.sale === true ? (['sale'] as const) : []),
    ...(flags.share === true ? (['share'] as const) : []),
  ];
  if (kinds.length === 0) throw new NodeError('BAD_REQUEST', 'expected --sale and/or --share');
  return kinds;
}

function registerWalletCommands(program: Command): void {
  const wallet = program
    .command('wallet')
    .description("your wallet: one secret, a different identifier for each org. It is yours, not the node's");

  walletOptions(
    wallet
      .command('create')
      .description('create a wallet file, encrypted with your passphrase')
      .option('--scrypt-cost <log2N>', 'scrypt cost as log2(N), 10-18 (default 17; lower only for tests)'),
  ).action(async (flags: WalletFlags & { scryptCost?: string }) => {
    const out = output(flags.json === true);
    const path = walletPath(flags.wallet, resolveHome(flags.home));
    const passphrase = walletPassphrase(
      flags.walletPassphraseFile === undefined ? {} : { passphraseFile: flags.walletPassphraseFile },
    );
    if (existsSync(path)) throw new NodeError('BAD_REQUEST', `${path} exists; refusing to overwrite a wallet`);
    const scryptN = flags.scryptCost === undefined ? undefined : parseScryptCost(flags.scryptCost);
    await writeWalletFile(
      path,
      Wallet.create({ signerFactory: nativeSigner }),
      passphrase,
      scryptN === undefined ? {} : { scryptN },
    );
    out.result({ file: path }, [
      `Created your wallet in ${path}.`,
      `It holds the secret behind all your identifiers: keep it, and a backup (\`${cliCommand('wallet export')}\`), on your own device.`,
    ]);
  });

  walletOptions(
    wallet.command('show').description('the orgs you have a relationship with, and the identifier each knows you by'),
  ).action(async (flags: WalletFlags) => {
    const out = output(flags.json === true);
    const { wallet: w, path } = await openWallet(flags);
    const rels = w.relationships().map((r) => ({
      chainId: r.chainId,
      org: r.orgId,
      did: r.did,
      ...(r.label === undefined ? {} : { label: r.label }),
      createdAt: r.createdAt,
    }));
    out.result({ file: path, relationships: rels }, [
      `Your wallet ${path}: ${rels.length} relationship(s); each org knows you by a different identifier.`,
      ...rels.map(
        (r) => `  ${r.org.padEnd(12)} ${r.did}  ${r.chainId}${r.label === undefined ? '' : `  "${r.label}"`}`,
      ),
    ]);
  });

  chainOptions(
    wallet
      .command('add')
      .description('start a relationship with an org: prints the identifier to give it (and no other)')
      .argument('<org>', 'member org id')
      .option('--label <text>', 'your own name for it (stays in your wallet)'),
  ).action(async (org: string, flags: ChainFlags & { label?: string }) => {
    const out = output(flags.json === true);
    const ctx = await chainContext(flags, false);
    memberOrg(ctx, org);
    const session = await openWallet(flags);
    const rel =
      flags.label === undefined
        ? session.wallet.relationship(ctx.chainId, org)
        : session.wallet.addRelationship(ctx.chainId, org, flags.label);
    await session.save();
    out.result(
      { chainId: ctx.chainId, org, did: rel.did, ...(rel.label === undefined ? {} : { label: rel.label }) },
      `${org} knows you as ${rel.did}`,
    );
  });

  walletOptions(
    wallet
      .command('export')
      .description('write an encrypted backup of your wallet (same passphrase)')
      .requiredOption('--out <file>', 'backup file to create')
      .option('--scrypt-cost <log2N>', "scrypt cost as log2(N), 10-18 (default: the wallet file's)"),
  ).action(async (flags: WalletFlags & { out: string; scryptCost?: string }) => {
    const out = output(flags.json === true);
    const session = await openWallet(flags);
    const scryptN = flags.scryptCost === undefined ? session.scryptN : parseScryptCost(flags.scryptCost);
    await writeWalletFile(flags.out, session.wallet, session.passphrase, { scryptN });
    out.result(
      { file: flags.out, relationships: session.wallet.relationships().length },
      `Wrote an encrypted backup of your wallet to ${flags.out}; restore it with: ${cliCommand(`wallet import ${flags.out}`)}`,
    );
  });

  walletOptions(
    wallet
      .command('import')
      .description('restore a wallet from a backup into --wallet (same passphrase)')
      .argument('<file>', 'backup from `custos wallet export`')
      .option('--force', 'replace an existing wallet file'),
  ).action(async (file: string, flags: WalletFlags & { force?: boolean }) => {
    const out = output(flags.json === true);
    const path = walletPath(flags.wallet, resolveHome(flags.home));
    const passphrase = walletPassphrase(
      flags.walletPassphraseFile === undefined ? {} : { passphraseFile: flags.walletPassphraseFile },
    );
    const { wallet: w, scryptN } = await readWalletFile(file, passphrase);
    await writeWalletFile(path, w, passphrase, { scryptN, overwrite: flags.force === true });
    out.result(
      { file: path, relationships: w.relationships().length },
      `Restored your wallet into ${path}: ${w.relationships().length} relationship(s).`,
    );
  });
}
