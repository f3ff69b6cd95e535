/**
 * Authorised agents (CCPA regulations 7063; GDPR Art. 80 and recital 59 style representation): the
 * customer signs a delegation credential, a W3C Verifiable Credential 2.0 secured with
 * `eddsa-jcs-2022` by their pairwise pseudonym towards one org, naming the agent's key, that org,
 * the request kinds the agent may open and an expiry. Nothing in it identifies the customer beyond
 * that pseudonym. Every peer checks it when an agent's `request.open` executes
 * (`packages/node/src/modules/request.ts`); the customer revokes it on the ledger (`agent.revoke`).
 *
 * The binding challenge: an org's node issues a one-time challenge for one of its customer
 * accounts; the customer's wallet signs `linkMessage` with the pairwise key, proving that the
 * pseudonym is theirs without anyone pasting an identifier.
 */
import { describe, toHex, utf8 } from '../bytes.js';
import { isDidKey } from '../crypto/didkey.js';
import type { Signer, Verifier } from '../crypto/ed25519.js';
import { sha256 } from '../hash.js';
import { canonicalBytes, canonicalize } from '../jcs.js';
import {
  controllerOf,
  createProof,
  type DataIntegrityProof,
  signerVerificationMethod,
  verifyProof,
} from './eddsa-jcs-2022.js';
import { CUSTOS_CONSENT_CONTEXT, VC_V2_CONTEXT } from './receipt.js';
import { parseXsdDateTime, toXsdDateTime } from './xsd-datetime.js';

export const AGENT_DELEGATION_TYPE = 'AgentDelegation';
/** The request kinds an authorised agent may open: access, erasure, correction, opt-out. */
export const AGENT_REQUEST_KINDS = ['access', 'erase', 'rectify', 'optout'] as const;
export type AgentRequestKind = (typeof AGENT_REQUEST_KINDS)[number];
/** Longest a delegation may last: one year (the customer grants again). */
export const MAX_DELEGATION_MS = 366 * 86_400_000;
/** Largest canonical delegation credential accepted; a real one is under 1 KB. */
export const MAX_DELEGATION_BYTES = 4096;
const ORG_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const CHAIN_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** What a delegation grants, as signed. */
export interface Delegation {
  /** SHA-256 (hex) of the canonical signed credential: what `agent.revoke` names. */
  id: string;
  /** The customer's pairwise pseudonym towards `org`: the issuer. */
  subject: string;
  /** The agent's did:key. */
  agent: string;
  chainId: string;
  org: string;
  kinds: AgentRequestKind[];
  validFrom: number;
  validUntil: number;
}

export type DelegationCredential = {
  '@context': string[];
  type: string[];
  issuer: string;
  validFrom: string;
  validUntil: string;
  credentialSubject: { id: string; chainId: string; org: string; requestKinds: string[] };
  proof: DataIntegrityProof;
};

export interface IssueDelegationOptions {
  /** The customer's pairwise key towards `org` (`wallet.relationship(chainId, org).signer`). */
  signer: Signer;
  chainId: string;
  org: string;
  agent: string;
  kinds: readonly string[];
  /** When it starts (ms since the epoch). */
  now: number;
  /** When it ends (ms since the epoch), at most MAX_DELEGATION_MS after `now`. */
  validUntil: number;
}

/** Why a delegation is refused: `INVALID_ARGS` (malformed) or `UNAUTHORIZED` (forged, or not covering the request). */
export class DelegationError extends Error {
  readonly result: 'INVALID_ARGS' | 'UNAUTHORIZED';
  constructor(result: 'INVALID_ARGS' | 'UNAUTHORIZED', message: string) {
    super(message);
    this.name = 'DelegationError';
    this.result = result;
  }
}

function bad(message: string): never {
  throw new DelegationError('INVALID_ARGS', message);
}

/** The kinds, checked: 1-4 distinct kinds of AGENT_REQUEST_KINDS. */
function checkKinds(kinds: unknown): AgentRequestKind[] {
  const ok =
    Array.isArray(kinds) &&
    kinds.length > 0 &&
    kinds.length <= AGENT_REQUEST_KINDS.length &&
    new Set(kinds).size === kinds.length &&
    kinds.every((k) => (AGENT_REQUEST_KINDS as readonly unknown[]).includes(k));
  if (!ok) bad(`expected request kinds as 1-4 distinct of ${AGENT_REQUEST_KINDS.join(', ')}`);
  return kinds as AgentRequestKind[];
}

/**
 * The customer's delegation credential for `agent` at `org`, signed with the pairwise key.
 *
 * @example
 * const vc = issueDelegation({ signer, chainId, org: 'bank', agent, kinds: ['access'], now, validUntil });
 */
export function issueDelegation(o: IssueDelegationOptions): DelegationCredential {
  if (!isDidKey(o.agent)) bad(`expected the agent as a did:key, got ${describe(o.agent)}`);
  if (!ORG_ID.test(o.org)) bad(`expected an org id, got ${describe(o.org)}`);
  if (!CHAIN_ID.test(o.chainId)) bad(`expected a chain id, got ${describe(o.chainId)}`);
  const kinds = checkKinds(o.kinds);
  if (!(o.validUntil > o.now && o.validUntil - o.now <= MAX_DELEGATION_MS)) {
    bad('expected the delegation to end after it starts and within 366 days');
  }
  const unsigned = {
    '@context': [VC_V2_CONTEXT, CUSTOS_CONSENT_CONTEXT],
    type: ['VerifiableCredential', AGENT_DELEGATION_TYPE],
    issuer: controllerOf(signerVerificationMethod(o.signer)),
    validFrom: toXsdDateTime(o.now),
    validUntil: toXsdDateTime(o.validUntil),
    credentialSubject: { id: o.agent, chainId: o.chainId, org: o.org, requestKinds: [...kinds] },
  };
  return createProof(unsigned, {
    signer: o.signer,
    verificationMethod: signerVerificationMethod(o.signer),
    created: o.now,
  }) as DelegationCredential;
}

/** The id `agent.revoke` names: SHA-256 (hex) of the canonical signed credential. */
export function delegationId(vc: unknown): string {
  return toHex(sha256(canonicalBytes(vc as never)));
}

/** What an agent's request is checked against at execution. */
export interface DelegationCheck {
  verifier: Verifier;
  chainId: string;
  org: string;
  /** The key that signed the agent's transaction. */
  agent: string;
  kind: string;
  /** Block time (ms). */
  now: number;
}

/**
 * Verifies a delegation credential for one request: the pseudonym's signature, the chain, the org,
 * the agent, the kind and the validity period. Throws a DelegationError: `INVALID_ARGS` on a
 * malformed credential, `UNAUTHORIZED` on a forged one or one that does not cover the request.
 * Revocation is the ledger's to check (`agentrev/`).
 */
export function verifyDelegation(vc: unknown, c: DelegationCheck): Delegation {
  let size = 0;
  try {
    size = utf8(canonicalize(vc)).length;
  } catch {
    bad('expected the delegation as a JSON object');
  }
  if (size > MAX_DELEGATION_BYTES) bad(`expected a delegation of at most ${MAX_DELEGATION_BYTES} bytes`);
  const v = verifyProof(vc, { verifier: c.verifier, expectedProofPurpose: 'assertionMethod' });
  if (!v.verified || v.verifiedDocument === null) {
    throw new DelegationError('UNAUTHORIZED', `the delegation does not verify: ${v.problems.join('; ')}`);
  }
  const d = v.verifiedDocument as unknown as Omit<DelegationCredential, 'proof'>;
  const cs = d.credentialSubject;
  if (
    !Array.isArray(d.type) ||
    !d.type.includes(AGENT_DELEGATION_TYPE) ||
    typeof cs !== 'object' ||
    cs === null ||
    typeof d.issuer !== 'string'
  ) {
    bad('expected an AgentDelegation credential with an issuer and a credentialSubject');
  }
  const vm = (vc as { proof: { verificationMethod: string } }).proof.verificationMethod;
  if (controllerOf(vm) !== d.issuer || !isDidKey(d.issuer)) {
    throw new DelegationError('UNAUTHORIZED', "expected the delegation signed by its issuer's own key");
  }
  const from = parseXsdDateTime(d.validFrom);
  const until = parseXsdDateTime(d.validUntil);
  if (from === null || until === null) bad('expected validFrom and validUntil as XML Schema dateTimeStamps');
  const kinds = checkKinds(cs.requestKinds);
  const no = (why: string): never => {
    throw new DelegationError('UNAUTHORIZED', `the delegation does not cover this request: ${why}`);
  };
  if (cs.chainId !== c.chainId) no('another chain');
  if (cs.org !== c.org) no(`it is for another org, not ${c.org}`);
  if (cs.id !== c.agent) no('it names another agent key');
  if (!(kinds as string[]).includes(c.kind)) no(`it allows ${kinds.join(', ')}, not ${c.kind}`);
  if (c.now < from) no('not valid yet');
  if (c.now >= until) no('expired');
  return {
    id: delegationId(vc),
    subject: d.issuer,
    agent: cs.id,
    chainId: cs.chainId,
    org: cs.org,
    kinds,
    validFrom: from,
    validUntil: until,
  };
}

/** The bytes a wallet signs to link its pseudonym to an account at `org` (`challenge` from the org's node). */
export function linkMessage(m: { chainId: string; org: string; subject: string; challenge: string }): Uint8Array {
  return canonicalBytes({
    purpose: 'custos.link.v1',
    chainId: m.chainId,
    org: m.org,
    subject: m.subject,
    challenge: m.challenge,
  });
}
