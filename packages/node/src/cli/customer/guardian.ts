/**
 * A parent's or guardian's consent for a child, from the command line (GDPR Art. 8, CCPA
 * 1798.120(c); docs/customer-data.md, "Children"):
 * - `custos guardian key`: the guardian's did:key, from the guardian's own wallet, for the child's `custos age --guardian`;
 * - `custos guardian ask`: the child's wallet writes the consent's terms for the guardian;
 * - `custos guardian approve`: the guardian's wallet reads them, says them in words and signs them;
 * - `custos guardian grant`: the child's wallet records the consent with the guardian's signature;
 * - `custos guardian withdraw`: the guardian withdraws the consents they signed for a child.
 */
import { writeFileSync } from 'node:fs';
import { isDpvCategory, isDpvPurpose } from '@custos/protocol/consent';
import { didFromPublicKey, isDidKey } from '@custos/protocol/crypto';
import {
  approveParental,
  checkParentalApproval,
  checkParentalRequest,
  GUARDIAN_RELATIONSHIP,
  guardianWithdrawTx,
  MAX_PARENTAL_BYTES,
  type ParentalApproval,
  type ParentalRequest,
  parentalGrantTx,
} from '@custos/sdk';
import { lowerLabels } from '@custos/sdk/views';
import { type Command, Option } from 'commander';
import { NodeError } from '../../errors.js';
import { JURISDICTIONS } from '../../modules/common.js';
import { parsePositiveInt, parseRecordId } from '../args.js';
import { readJson } from '../commands-contract-check.js';
import { day, output } from '../output.js';
import { actAs, chainContext, finish, memberOrg } from './chain.js';
import { MAX_CONSENT_DAYS, noticeHash, parseCodes } from './consent.js';
import { type ChainFlags, chainOptions, openWallet } from './session.js';

const DAY = 86_400_000;

interface AskFlags extends ChainFlags {
  org: string;
  purposes: string;
  categories: string;
  days: string;
  share?: boolean;
  sale?: boolean;
  explicit?: boolean;
  jurisdiction: 'GDPR' | 'CCPA';
  noticeFile: string;
  out: string;
}

function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new NodeError('BAD_REQUEST', (e as Error).message);
  }
}

/** The terms in one sentence, as the guardian reads them before signing. */
export function termsText(r: ParentalRequest): string {
  const extra = r.share ? `, and share it${r.sale ? ' or sell it' : ''}` : '';
  return `${r.org} may use the child's ${lowerLabels(r.categories)} for ${lowerLabels(r.purposes)} until ${day(r.expiresAt)}${extra} (${r.jurisdiction})`;
}

async function guardianSigner(flags: ChainFlags, chainId: string) {
  const session = await openWallet(flags);
  const signer = session.wallet.relationship(chainId, GUARDIAN_RELATIONSHIP).signer;
  await session.save();
  return signer;
}

function write(file: string, doc: unknown): void {
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
}

export function registerGuardianCommands(program: Command): void {
  const g = program
    .command('guardian')
    .description("a parent's or guardian's consent for a child: ask for it, approve it, record it, withdraw it");
  chainOptions(
    g.command('key').description("print your key as a parent or guardian (did:key), for the child's `custos age`"),
  ).action(async (flags: ChainFlags) => {
    const out = output(flags.json === true);
    const ctx = await chainContext(flags, false);
    const key = didFromPublicKey((await guardianSigner(flags, ctx.chainId)).publicKey);
    out.result({ guardian: key }, key);
  });

  chainOptions(
    g
      .command('ask')
      .description('as the child: write the terms of a consent for your parent or guardian to approve')
      .requiredOption('--org <id>', 'the org')
      .requiredOption('--purposes <list>', 'DPV purposes, e.g. dpv:Marketing')
      .requiredOption('--categories <list>', 'DPV personal-data categories, e.g. pd:EmailAddress')
      .requiredOption('--days <n>', `how long the consent lasts, in days (at most ${MAX_CONSENT_DAYS})`)
      .option('--share', 'allow the org to share this data')
      .option('--sale', 'allow the org to sell this data (with --share)')
      .option('--explicit', 'explicit consent, for special categories (GDPR Art. 9(2)(a))')
      .addOption(new Option('--jurisdiction <law>', 'the law').choices([...JURISDICTIONS]).default('GDPR'))
      .requiredOption('--notice-file <file>', 'the privacy notice shown (its SHA-256 is recorded)')
      .requiredOption('--out <file>', 'where to write the request to hand to your parent or guardian'),
  ).action(async (flags: AskFlags) => {
    const out = output(flags.json === true);
    const days = parsePositiveInt(flags.days, '--days');
    if (days > MAX_CONSENT_DAYS) throw new NodeError('BAD_REQUEST', `expected --days of at most ${MAX_CONSENT_DAYS}`);
    if (flags.sale === true && flags.share !== true) {
      throw new NodeError('BAD_REQUEST', 'expected --share with --sale: a sale is a kind of sharing');
    }
    const purposes = parseCodes(flags.purposes, '--purposes', isDpvPurpose, 'dpv:Marketing');
    const categories = parseCodes(flags.categories, '--categories', isDpvCategory, 'pd:EmailAddress');
    const notice = noticeHash(flags.noticeFile);
    const { ctx, org, me } = await actAs(flags, flags.org);
    const request: ParentalRequest = {
      chainId: ctx.chainId,
      org,
      subject: me.did,
      purposes,
      categories,
      expiresAt: Date.now() + days * DAY,
      share: flags.share === true,
      sale: flags.sale === true,
      jurisdiction: flags.jurisdiction,
      notice,
      ...(flags.explicit === true ? { explicit: true as const } : {}),
    };
    write(flags.out, request);
    out.result({ request, file: flags.out }, [
      `Request written to ${flags.out}: ${termsText(request)}.`,
      `  Your parent or guardian approves it with: custos guardian approve --request ${flags.out} --out approval.json`,
    ]);
  });

  chainOptions(
    g
      .command('approve')
      .description("as the parent or guardian: sign a child's request with your guardian key")
      .requiredOption('--request <file>', "the child's request")
      .requiredOption('--out <file>', 'where to write the approval to hand back to the child'),
  ).action(async (flags: ChainFlags & { request: string; out: string }) => {
    const out = output(flags.json === true);
    const request = checked(() =>
      checkParentalRequest(readJson(flags.request, 'a parental consent request', MAX_PARENTAL_BYTES)),
    );
    const ctx = await chainContext(flags, false);
    if (request.chainId !== ctx.chainId) {
      throw new NodeError('BAD_REQUEST', `expected a request for chain ${ctx.chainId}, got one for ${request.chainId}`);
    }
    memberOrg(ctx, request.org);
    if (request.expiresAt <= Date.now()) throw new NodeError('BAD_REQUEST', 'expected a request that has not expired');
    const approval = approveParental(await guardianSigner(flags, ctx.chainId), request);
    write(flags.out, approval);
    out.result({ approval, file: flags.out }, [
      `You approved, as ${approval.parental.guardian}: ${termsText(request)}.`,
      `  Approval written to ${flags.out}; the child records it with: custos guardian grant --approval ${flags.out}`,
    ]);
  });

  chainOptions(
    g
      .command('grant')
      .description(
        'as the child: record the consent your parent or guardian approved (the ledger checks their signature)',
      )
      .requiredOption('--approval <file>', "your parent's or guardian's approval"),
  ).action(async (flags: ChainFlags & { approval: string }) => {
    const out = output(flags.json === true);
    const approval: ParentalApproval = checked(() =>
      checkParentalApproval(readJson(flags.approval, 'a parental consent approval', MAX_PARENTAL_BYTES)),
    );
    const { ctx, org, me } = await actAs(flags, approval.request.org);
    if (approval.request.chainId !== ctx.chainId) {
      throw new NodeError('BAD_REQUEST', `expected an approval for chain ${ctx.chainId}`);
    }
    const tx = checked(() => parentalGrantTx(me.signer, approval));
    const r = await ctx.client.run((sdk) => sdk.submitAndWait(tx));
    finish(
      out,
      r,
      { ...r, consent: { id: r.txId, did: me.did, ...approval.request, parental: approval.parental } },
      [
        `Consent recorded with your parent's or guardian's approval: ${termsText(approval.request)}.`,
        `  consent id ${r.txId} (block ${r.height}) at ${org}`,
      ],
      'Consent',
    );
  });

  chainOptions(
    g
      .command('withdraw')
      .description('as the parent or guardian: withdraw the consents you approved for a child at an org')
      .requiredOption('--org <id>', 'the org')
      .requiredOption('--child <did>', "the child's pseudonym towards the org (in the request you approved)")
      .option('--consent <id>', 'the consent to withdraw (default: every one you approved there)'),
  ).action(async (flags: ChainFlags & { org: string; child: string; consent?: string }) => {
    const out = output(flags.json === true);
    if (!isDidKey(flags.child)) throw new NodeError('BAD_REQUEST', "expected --child as the child's did:key");
    const consent = flags.consent === undefined ? undefined : parseRecordId(flags.consent);
    const ctx = await chainContext(flags, true);
    const org = memberOrg(ctx, flags.org);
    const tx = guardianWithdrawTx(await guardianSigner(flags, ctx.chainId), ctx.chainId, org, flags.child, consent);
    const r = await ctx.client.run((sdk) => sdk.submitAndWait(tx));
    finish(
      out,
      r,
      r,
      `Withdrawn: ${consent === undefined ? 'every consent you approved for the child' : `consent ${consent}`} at ${org} (block ${r.height}). Uses that relied on it are refused from now on.`,
      'Withdrawal',
    );
  });
}
