/**
 * Authorised agents (CCPA regulations 7063; docs/customer-data.md, "Authorised agents"): an agent
 * opens a request with the customer's delegation credential, checked here at execution by every
 * peer (the pseudonym's signature, the chain, org, agent key, kind, validity period, revocation);
 * the customer revokes a credential with `agent.revoke`.
 *
 * State: `agentrev/<org>/<subject>/<delegation id>` -> {at, txId}: only the credential's issuer
 * (the pseudonym) can write it.
 */
import { DelegationError, verifyDelegation } from '@custos/protocol/consent';
import { nativeVerifier } from '../crypto/native.js';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { orgArg, signerSubject } from './common.js';

export function agentRevocationKey(org: string, subject: string, delegation: string): string {
  return `agentrev/${org}/${subject}/${delegation}`;
}

/**
 * The customer an agent acts for, from the delegation credential in `args.delegation`, or an
 * ExecFailure saying why the credential does not cover this request. The agent is the signer.
 */
export function agentSubject(
  ctx: ExecContext,
  raw: unknown,
  org: string,
  kind: string,
): { subject: string; agent: { key: string; delegation: string } } {
  const agent = signerSubject(ctx);
  let d: ReturnType<typeof verifyDelegation>;
  try {
    d = verifyDelegation(raw, {
      verifier: nativeVerifier,
      chainId: ctx.chainId,
      org,
      agent,
      kind,
      now: ctx.time,
    });
  } catch (e) {
    if (e instanceof DelegationError) throw new ExecFailure(e.result, e.message);
    throw e;
  }
  if (d.subject === agent) throw new ExecFailure('INVALID_ARGS', 'expected an agent key other than the customer key');
  if (ctx.get(agentRevocationKey(org, d.subject, d.id)) !== undefined) {
    throw new ExecFailure('UNAUTHORIZED', 'the customer revoked this delegation');
  }
  return { subject: d.subject, agent: { key: agent, delegation: d.id } };
}

export const agentModule: Module = {
  name: 'agent',
  actions: {
    /** The customer revokes a delegation credential they issued: no agent request under it executes from here on. */
    revoke(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'delegation']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const id = arg.str(args, 'delegation', 64, /^[0-9a-f]{64}$/);
      const key = agentRevocationKey(org, subject, id);
      if (ctx.get(key) !== undefined) throw new ExecFailure('CONFLICT', 'the delegation was already revoked');
      ctx.index(subject);
      ctx.put(key, { at: ctx.time, txId: ctx.txId });
      return 'OK';
    },
  },
};
