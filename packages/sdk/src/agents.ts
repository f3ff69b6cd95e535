/**
 * Authorised agents and account links, the customer's and the agent's side (docs/customer-data.md,
 * "Authorised agents", "Linking an account"): the wallet signs a delegation credential for an
 * agent's key at one org, and revokes it on the ledger; the agent opens requests with it, signing
 * with its own key; and the wallet answers an org's link challenge with its pairwise key.
 */

import { type DelegationCredential, delegationId, issueDelegation, linkMessage } from '@custos/protocol/consent';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { toBase64url } from '@custos/protocol/encoding';
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signTx } from '@custos/protocol/ledger';
import type { Wallet } from '@custos/protocol/wallet';
import { customerTx } from './customer-tx.js';
import type { CallOptions, Transport } from './transport/http.js';
import { seg } from './transport/url.js';

export {
  AGENT_REQUEST_KINDS,
  type AgentRequestKind,
  type Delegation,
  type DelegationCredential,
  DelegationError,
  delegationId,
  linkMessage,
  verifyDelegation,
} from '@custos/protocol/consent';

const DAY = 86_400_000;

/**
 * The customer's delegation credential for `agent` (its did:key) at `org`: the request kinds it may
 * open, for `days` days (default 30). Signed with the wallet's pairwise key for the org; hand it to the agent.
 *
 * @example
 * const vc = grantAgent(wallet, 'demo', 'bank', agentDid, ['access', 'erase']);
 */
export function grantAgent(
  wallet: Wallet,
  chainId: string,
  org: string,
  agent: string,
  kinds: readonly string[],
  opts: { days?: number; now?: number } = {},
): DelegationCredential {
  const now = opts.now ?? Date.now();
  const { signer } = wallet.relationship(chainId, org);
  return issueDelegation({ signer, chainId, org, agent, kinds, now, validUntil: now + (opts.days ?? 30) * DAY });
}

/** `agent.revoke` of a delegation (its credential, or its id), signed by the customer's pseudonym towards `org`. */
export function revokeAgentTx(
  wallet: Wallet,
  chainId: string,
  org: string,
  delegation: DelegationCredential | string,
  opts: { now?: number } = {},
): SignedTx {
  const id = typeof delegation === 'string' ? delegation : delegationId(delegation);
  return customerTx(wallet, chainId, org, 'agent.revoke', { org, delegation: id }, opts);
}

/**
 * The agent's `request.open` on the customer's behalf, signed with the agent's own key and carrying
 * the customer's credential; every peer checks the credential when it executes.
 */
export function agentRequestTx(
  agent: Signer,
  chainId: string,
  delegation: DelegationCredential,
  req: { kind: string; jurisdiction: 'GDPR' | 'CCPA'; records?: string[] },
  opts: { now?: number } = {},
): SignedTx {
  const org = delegation.credentialSubject.org;
  const args: { [k: string]: JsonValue } = {
    org,
    kind: req.kind,
    jurisdiction: req.jurisdiction,
    delegation: delegation as unknown as JsonValue,
    ...(req.records === undefined ? {} : { records: req.records }),
  };
  return signTx({ chainId, type: 'request.open', args, ...opts }, agent);
}

/** What the org's node gives for one of its accounts: `POST /v1/orgs/{org}/links/challenge`. */
export interface LinkChallenge {
  org: string;
  chainId: string;
  challenge: string;
  expiresAt: number;
}

/** The wallet's answer to a link challenge: the pseudonym and its signature over `linkMessage`. */
export function answerLinkChallenge(
  wallet: Wallet,
  chainId: string,
  org: string,
  challenge: string,
): { challenge: string; subject: string; signature: string } {
  const { signer } = wallet.relationship(chainId, org);
  const subject = didFromPublicKey(signer.publicKey);
  const signature = toBase64url(signer.sign(linkMessage({ chainId, org, subject, challenge })));
  return { challenge, subject, signature };
}

/** `POST /v1/orgs/{org}/links/challenge` (org key or token). */
export function linkChallenge(t: Transport, org: string, account: string, opts?: CallOptions): Promise<LinkChallenge> {
  return t.json('POST', `/v1/orgs/${seg(org)}/links/challenge`, { account }, opts);
}

/** `POST /v1/orgs/{org}/links`: no credentials, the signature is the proof. */
export function answerLink(
  t: Transport,
  org: string,
  answer: { challenge: string; subject: string; signature: string },
  opts?: CallOptions,
): Promise<{ org: string; subject: string; linkedAt: number }> {
  return t.json('POST', `/v1/orgs/${seg(org)}/links`, answer, opts);
}

/** `GET /v1/orgs/{org}/links/{account}` (org key or token). */
export function linkedAccount(
  t: Transport,
  org: string,
  account: string,
  opts?: CallOptions,
): Promise<{ org: string; account: string; subject: string; linkedAt: number }> {
  return t.json('GET', `/v1/orgs/${seg(org)}/links/${seg(account)}`, undefined, opts);
}
