/**
 * Custos-side certificates for an EVM participant contract (docs/interop.md): each member signs
 * with its secp256k1 key (kept encrypted at rest, keys/keystore.ts) the digest the contract checks;
 * anyone assembles a quorum of those signatures into what `decide` or `updateMembers` takes.
 * Assembly checks every signature against the EVM member set recorded on the ledger
 * (`gov/evm-memberset`), so a certificate that would revert on chain is refused here first.
 */
import {
  type EvmDecisionCertificate,
  type EvmDomain,
  evmDecisionDigest,
  evmMembersDigest,
  evmRecover,
  evmSign,
  verifyEvmCertificate,
} from '@custos/protocol/interop';
import { NodeError } from '../../errors.js';
import type { EvmMemberSetEntry } from '../../governance/evm-member-set.js';

/** One member's signature of a decision for the leg `legHash` of `xtxId` under the EVM member-set `epoch`. */
export function signEvmDecision(
  secretKey: Uint8Array,
  domain: EvmDomain,
  decision: { xtxId: string; legHash: string; commit: boolean; epoch: number },
): `0x${string}` {
  return evmSign(
    evmDecisionDigest(domain, decision.xtxId, decision.legHash, decision.commit, decision.epoch),
    secretKey,
  );
}

/**
 * A decision certificate from members' signatures: duplicates dropped, signatures of non-members
 * refused, sorted by signer; `BAD_REQUEST` when the set is not ready or the signatures fall short
 * of its threshold.
 */
export function assembleEvmDecision(
  domain: EvmDomain,
  set: EvmMemberSetEntry,
  decision: { xtxId: string; legHash: string; commit: boolean },
  signatures: string[],
): EvmDecisionCertificate {
  const digest = evmDecisionDigest(domain, decision.xtxId, decision.legHash, decision.commit, set.epoch);
  const cert: EvmDecisionCertificate = {
    xtxId: decision.xtxId,
    legHash: decision.legHash,
    commit: decision.commit,
    epoch: set.epoch,
    signatures: bySigner(digest, set, signatures),
  };
  ready(set);
  try {
    verifyEvmCertificate(domain, cert, { epoch: set.epoch, addresses: set.addresses, threshold: set.threshold });
  } catch (e) {
    throw new NodeError('BAD_REQUEST', `cannot certify the decision: ${(e as Error).message}`, { cause: e });
  }
  return cert;
}

/** One member's signature of the member set `next`, for a contract that holds an earlier one. */
export function signEvmMemberUpdate(secretKey: Uint8Array, domain: EvmDomain, next: EvmMemberSetEntry): `0x${string}` {
  ready(next);
  return evmSign(evmMembersDigest(domain, next.epoch, next.addresses, next.threshold), secretKey);
}

/**
 * The arguments of `updateMembers` moving a contract from the set `current` to `next`: signatures
 * of a quorum of `current` over `next`.
 */
export function assembleEvmMemberUpdate(
  domain: EvmDomain,
  current: EvmMemberSetEntry,
  next: EvmMemberSetEntry,
  signatures: string[],
): { epoch: number; addresses: string[]; threshold: number; signatures: `0x${string}`[] } {
  ready(next);
  if (next.epoch <= current.epoch) {
    throw new NodeError('BAD_REQUEST', `expected a set later than epoch ${current.epoch}, got epoch ${next.epoch}`);
  }
  const sorted = bySigner(evmMembersDigest(domain, next.epoch, next.addresses, next.threshold), current, signatures);
  if (sorted.length < current.threshold) {
    throw new NodeError(
      'BAD_REQUEST',
      `cannot certify the member update: ${sorted.length} signatures of a threshold of ${current.threshold}`,
    );
  }
  return { epoch: next.epoch, addresses: next.addresses, threshold: next.threshold, signatures: sorted };
}

function ready(set: EvmMemberSetEntry): void {
  if (!set.ready) {
    throw new NodeError(
      'BAD_REQUEST',
      `EVM member set ${set.epoch} is not ready: ${set.addresses.length} members have EVM keys, the threshold is ${set.threshold}`,
    );
  }
}

/** Signatures by distinct members of `set`, sorted by signer address; a non-member's is refused. */
function bySigner(digest: Uint8Array, set: EvmMemberSetEntry, signatures: string[]): `0x${string}`[] {
  if (!Array.isArray(signatures) || signatures.length > 64) {
    throw new NodeError('BAD_REQUEST', 'expected at most 64 signatures');
  }
  const members = new Set(set.addresses);
  const out = new Map<string, `0x${string}`>();
  for (const [i, s] of signatures.entries()) {
    let signer: string;
    try {
      signer = evmRecover(digest, s);
    } catch (e) {
      throw new NodeError('BAD_REQUEST', `signatures[${i}]: ${(e as Error).message}`, { cause: e });
    }
    if (!members.has(signer)) {
      throw new NodeError('BAD_REQUEST', `signatures[${i}]: ${signer} is not in EVM member set ${set.epoch}`);
    }
    out.set(signer, s.toLowerCase() as `0x${string}`);
  }
  return [...out.keys()].sort().map((a) => out.get(a)!);
}
