/**
 * Governance on the wire: the changes a proposal can make (`gov.propose` args and the `action` of a
 * stored proposal), the block parameters it can set, and the votes each kind needs. Peers parse and
 * apply actions (the node's governance folder); clients build them and show them.
 */

/** Kinds of change a proposal can make. */
export const ACTION_KINDS = ['admit', 'remove', 'rotateKey', 'params'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/**
 * Kinds of change a proposal makes to a contract (docs/contracts.md#lifecycle). They need a majority
 * of the current members; they are not in the genesis policy (whose shape stays as it was).
 */
export const CONTRACT_ACTION_KINDS = ['contract.activate', 'contract.resume', 'contract.remove'] as const;
export type ContractActionKind = (typeof CONTRACT_ACTION_KINDS)[number];

/**
 * Kinds of change a proposal makes to a member's key for EVM chains (docs/interop.md): set or
 * replace it, or take a compromised one out without a replacement. They need the votes of the
 * genesis policy's `rotateKey` rule, being a key replaced by vote (the policy's shape stays as it was).
 */
export const EVM_ACTION_KINDS = ['setEvmKey', 'removeEvmKey'] as const;
export type EvmActionKind = (typeof EVM_ACTION_KINDS)[number];

/** Quorum threshold and block parameters in force (state `gov/params`; the genesis ones until governance writes it). */
export interface GovParams {
  /** Members whose signatures make a quorum certificate. */
  threshold: number;
  blockMaxTxs: number;
  blockMaxMs: number;
}

/**
 * A change a governance proposal makes.
 *
 * - `admit`: a new member org with 1-8 unused keys, each with its proof of possession
 *   (`proveMemberKey`), and its peer's URL; optionally its EVM key with that key's proof.
 * - `remove`: a member and its keys.
 * - `rotateKey`: replaces one key of a member (a lost or stolen one).
 * - `params`: quorum threshold and block parameters.
 */
export type GovAction =
  | {
      kind: 'admit';
      id: string;
      name: string;
      keys: string[];
      endpoint: string;
      /** Proof of possession of each key, in order (`proveMemberKey`). */
      proofs: string[];
      /** The new member's secp256k1 key for EVM chains, as its lower-case EVM address (with `evmKeyProof`). */
      evmKey?: string;
      /** `evmKey`'s proof of possession for the new member on this chain (`proveEvmKey`). */
      evmKeyProof?: string;
    }
  | { kind: 'remove'; id: string }
  /** `proof`: the new key's proof of possession (`proveMemberKey`). */
  | { kind: 'rotateKey'; member: string; oldKey: string; newKey: string; proof: string }
  | ({ kind: 'params' } & GovParams)
  /**
   * Sets or replaces a member's EVM key by vote (a member that lost its Ed25519 keys cannot sign
   * `member.setEvmKey`); `proof`: the key's proof of possession for that member (`proveEvmKey`).
   */
  | { kind: 'setEvmKey'; member: string; address: string; proof: string }
  /**
   * Takes a member's EVM key out of the EVM member set (a compromised key, no replacement yet);
   * refused while it would leave fewer keys than the quorum threshold.
   */
  | { kind: 'removeEvmKey'; member: string }
  /**
   * Activates the proposed code `digest` (hex SHA-256 of the code) of contract `contract` from
   * height `at` (or the next height, whichever is later); on an active contract this is an upgrade.
   * `contract.propose` opens this proposal itself.
   */
  | { kind: 'contract.activate'; contract: string; digest: string; at: number }
  /** Ends an emergency pause. */
  | { kind: 'contract.resume'; contract: string }
  /** Removes a contract for good: no calls, its state stays readable. */
  | { kind: 'contract.remove'; contract: string };

/**
 * Yes votes a proposal needs: `'majority'` of the current members, or a fixed number of members
 * (all current members when fewer remain, so a smaller consortium is never deadlocked).
 */
export type VoteRule = 'majority' | number;

/** Votes each kind of proposal needs and how long a proposal stays open (genesis `policy`, state `gov/policy`). */
export interface GovPolicy {
  admit: VoteRule;
  remove: VoteRule;
  rotateKey: VoteRule;
  params: VoteRule;
  /** Blocks after its own height during which a proposal takes votes. */
  proposalTtlBlocks: number;
}
