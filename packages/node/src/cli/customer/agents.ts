/**
 * Authorised agents and account links, from the command line (docs/customer-data.md):
 * - `custos agent grant`: the customer signs a delegation credential for an agent's key at one org;
 * - `custos agent revoke`: the customer revokes it on the ledger (`agent.revoke`);
 * - `custos agent key`: the agent's did:key, from the agent's own wallet, to give to customers;
 * - `custos agent request`: the agent opens a request with a customer's credential;
 * - `custos link`: the customer's wallet answers an org's one-time link challenge.
 */
import { writeFileSync } from 'node:fs';
import { issueDelegation, linkMessage, MAX_DELEGATION_BYTES } from '@custos/protocol/consent';
import { didFromPublicKey } from '@custos/protocol/crypto';
import { toBase64url } from '@custos/protocol/encoding';
import { AGENT_REQUEST_KINDS, agentRequestTx, type DelegationCredential, delegationId } from '@custos/sdk';
import { requestNoun } from '@custos/sdk/views';
import { type Command, Option } from 'commander';
import { NodeError } from '../../errors.js';
import { JURISDICTIONS } from '../../modules/common.js';
import { readJson } from '../commands-contract-check.js';
import { output } from '../output.js';
import { actAs, chainContext, finish, memberOrg, submitAs } from './chain.js';
import { type ChainFlags, chainOptions, openWallet } from './session.js';

/** The wallet relationship whose key is the agent's own (the same towards every customer and org). */
const AGENT_KEY = 'authorised-agent';

function kindsOf(s: string): string[] {
  const kinds = s
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  if (kinds.length === 0 || kinds.some((k) => !(AGENT_REQUEST_KINDS as readonly string[]).includes(k))) {
    throw new NodeError(
      'BAD_REQUEST',
      `expected --kinds as a comma-separated list of ${AGENT_REQUEST_KINDS.join(', ')}`,
    );
  }
  return kinds;
}

function delegationArg(s: string): string {
  if (/^[0-9a-f]{64}$/.test(s)) return s;
  return delegationId(readJson(s, 'a delegation credential', MAX_DELEGATION_BYTES));
}

export function registerAgentCommands(program: Command): void {
  const agent = program
    .command('agent')
    .description('authorised agents: let someone make requests for you, or act as an agent');
  chainOptions(
    agent
      .command('grant')
      .description("sign a delegation credential for an agent's key at one org (nothing about you but your pseudonym)")
      .requiredOption('--org <id>', 'the org the agent may ask')
      .requiredOption('--agent <did>', "the agent's did:key (`custos agent key` on the agent's side)")
      .requiredOption('--kinds <list>', `what it may ask for, comma-separated: ${AGENT_REQUEST_KINDS.join(', ')}`)
      .option('--days <n>', 'how long it lasts (1-366)', '30')
      .requiredOption('--out <file>', 'where to write the credential to hand to the agent'),
  ).action(async (flags: ChainFlags & { org: string; agent: string; kinds: string; days: string; out: string }) => {
    const out = output(flags.json === true);
    const days = Number(flags.days);
    if (!Number.isInteger(days) || days < 1 || days > 366) throw new NodeError('BAD_REQUEST', 'expected --days 1-366');
    const { ctx, org, me } = await actAs(flags, flags.org);
    let vc: DelegationCredential;
    try {
      const now = Date.now();
      vc = issueDelegation({
        signer: me.signer,
        chainId: ctx.chainId,
        org,
        agent: flags.agent,
        kinds: kindsOf(flags.kinds),
        now,
        validUntil: now + days * 86_400_000,
      });
    } catch (e) {
      throw new NodeError('BAD_REQUEST', (e as Error).message);
    }
    writeFileSync(flags.out, `${JSON.stringify(vc, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    const id = delegationId(vc);
    out.result({ delegation: id, file: flags.out, credential: vc }, [
      `Delegation ${id} written to ${flags.out}: ${flags.agent} may ask ${org} for ${vc.credentialSubject.requestKinds.join(', ')} until ${vc.validUntil}.`,
      `  Revoke it at any time: custos agent revoke --org ${org} --delegation ${id}`,
    ]);
  });
  chainOptions(
    agent
      .command('revoke')
      .description('revoke a delegation on the ledger: no request under it executes from the next block')
      .requiredOption('--org <id>', 'the org')
      .requiredOption('--delegation <id|file>', 'the delegation id, or the credential file'),
  ).action(async (flags: ChainFlags & { org: string; delegation: string }) => {
    const out = output(flags.json === true);
    const id = delegationArg(flags.delegation);
    const { ctx, org, me } = await actAs(flags, flags.org);
    const r = await submitAs(ctx, me, 'agent.revoke', { org, delegation: id });
    finish(out, r, { ...r, delegation: id }, `Delegation ${id} revoked at ${org} (block ${r.height}).`, 'Revocation');
  });
  chainOptions(agent.command('key').description("print the agent's did:key, from the agent's own wallet")).action(
    async (flags: ChainFlags) => {
      const out = output(flags.json === true);
      const ctx = await chainContext(flags, false);
      const session = await openWallet(flags);
      const did = didFromPublicKey(session.wallet.relationship(ctx.chainId, AGENT_KEY).signer.publicKey);
      await session.save();
      out.result({ agent: did }, did);
    },
  );
  chainOptions(
    agent
      .command('request')
      .description("as an authorised agent: open a request with a customer's delegation credential")
      .requiredOption('--delegation <file>', "the customer's credential")
      .addOption(new Option('--kind <kind>', 'what to ask for').choices([...AGENT_REQUEST_KINDS]).makeOptionMandatory())
      .addOption(new Option('--jurisdiction <law>', 'the law').choices([...JURISDICTIONS]).default('GDPR')),
  ).action(async (flags: ChainFlags & { delegation: string; kind: string; jurisdiction: 'GDPR' | 'CCPA' }) => {
    const out = output(flags.json === true);
    const vc = readJson(flags.delegation, 'a delegation credential', MAX_DELEGATION_BYTES) as DelegationCredential;
    const ctx = await chainContext(flags, true);
    const org = memberOrg(ctx, vc?.credentialSubject?.org);
    const session = await openWallet(flags);
    const signer = session.wallet.relationship(ctx.chainId, AGENT_KEY).signer;
    await session.save();
    const tx = agentRequestTx(signer, ctx.chainId, vc, { kind: flags.kind, jurisdiction: flags.jurisdiction });
    const r = await ctx.client.run((sdk) => sdk.submitAndWait(tx));
    finish(
      out,
      r,
      r,
      `Request ${r.txId} for ${requestNoun(flags.kind)} sent to ${org} on the customer's behalf (block ${r.height}); the org sees it as made by an authorised agent.`,
      'Request',
    );
  });
  chainOptions(
    program
      .command('link')
      .description('link your account at an org: your wallet signs the one-time code the org gave you')
      .requiredOption('--org <id>', 'the org')
      .requiredOption('--challenge <code>', 'the one-time code from the org (43 characters)'),
  ).action(async (flags: ChainFlags & { org: string; challenge: string }) => {
    const out = output(flags.json === true);
    if (!/^[A-Za-z0-9_-]{43}$/.test(flags.challenge)) {
      throw new NodeError('BAD_REQUEST', 'expected --challenge as the 43-character code the org gave you');
    }
    const { ctx, org, me } = await actAs(flags, flags.org);
    const signature = toBase64url(
      me.signer.sign(linkMessage({ chainId: ctx.chainId, org, subject: me.did, challenge: flags.challenge })),
    );
    const answer = { challenge: flags.challenge, subject: me.did, signature };
    const r = await ctx.client.run((sdk) => sdk.answerLink(org, answer));
    out.result(r, `Linked: ${org} now knows your account by your pseudonym towards it (${r.subject}).`);
  });
}
