/**
 * Proofs fetched and verified here, against the member set the caller trusts (never against what
 * the node says the members are): the answer is what a quorum of members signed, or a
 * `ProtocolError` from the protocol's verifier.
 */
import type { Signer, Verifier } from '@custos/protocol/crypto';
import {
  type MemberSet,
  type SignedTx,
  type TrustedMembers,
  type VerifiedFact,
  type VerifiedSubjectReport,
  verifyProofBundle,
  verifySubjectReport,
} from '@custos/protocol/ledger';
import { subjectReport } from '../actions/customers.js';
import { consistencyProof, inclusionProof, stateProof } from '../actions/proofs.js';
import { type SubmitOptions, type SubmitResult, submitAndWait } from '../actions/txs.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { signedBy } from '../transport/signing.js';

/** How a proof is checked: the chain it must be for, and the signature verifier (default noble). */
export interface VerifyOptions {
  chainId?: string;
  verifier?: Verifier;
}

/** Which checkpoint an inclusion proof is against (default the latest), and how it is checked. */
export interface InclusionQuery extends VerifyOptions {
  height?: number;
}

/** Which page of a report (as `subjectReport`), and how it is checked. */
export interface ReportQuery extends VerifyOptions {
  after?: number;
  limit?: number;
}

/** A transaction's inclusion proof, verified against `members`. */
export async function verifiedInclusion(
  t: Transport,
  txId: string,
  members: TrustedMembers,
  q: InclusionQuery = {},
  opts?: CallOptions,
): Promise<VerifiedFact> {
  const bundle = await inclusionProof(t, txId, q.height === undefined ? {} : { height: q.height }, opts);
  return verifyProofBundle(bundle, members, q.verifier, q.chainId);
}

/** A state key's value (or absence), verified against `members`. */
export async function verifiedState(
  t: Transport,
  key: string,
  members: TrustedMembers,
  q: VerifyOptions = {},
  opts?: CallOptions,
): Promise<VerifiedFact> {
  return verifyProofBundle(await stateProof(t, key, opts), members, q.verifier, q.chainId);
}

/** The log at `to` extends the log at `from`, verified against `members`. */
export async function verifiedConsistency(
  t: Transport,
  from: number,
  to: number,
  members: TrustedMembers,
  q: VerifyOptions = {},
  opts?: CallOptions,
): Promise<VerifiedFact> {
  return verifyProofBundle(await consistencyProof(t, from, to, opts), members, q.verifier, q.chainId);
}

/** One page of a subject's report, requested with `signer`'s signature and verified against `members`. */
export async function verifiedSubjectReport(
  t: Transport,
  did: string,
  signer: Signer,
  members: MemberSet,
  q: ReportQuery = {},
  opts: CallOptions = {},
): Promise<VerifiedSubjectReport> {
  const page = {
    ...(q.after === undefined ? {} : { after: q.after }),
    ...(q.limit === undefined ? {} : { limit: q.limit }),
  };
  const report = await subjectReport(t, did, page, { ...opts, sign: signedBy(signer) });
  return verifySubjectReport(report, members, q.verifier, q.chainId);
}

/** Submits, waits for the commit, and verifies the result's inclusion proof against `members`. */
export async function submitAndProve(
  t: Transport,
  signed: SignedTx,
  members: MemberSet,
  q: VerifyOptions = {},
  opts?: SubmitOptions,
): Promise<SubmitResult & { proof: VerifiedFact }> {
  const r = await submitAndWait(t, signed, opts);
  return { ...r, proof: await verifiedInclusion(t, r.txId, members, q, opts) };
}
