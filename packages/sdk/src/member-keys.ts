/**
 * Builders for the actions that give a member org a new key: governance `admit`, `rotateKey` and
 * `setEvmKey` (an EVM key), and `member.addKey`. Each new key must come with its proof of possession (trust #4): the key
 * itself signs a statement binding the chain, the member, the action and the key, so an org can
 * never register someone else's key (a customer's, say) as its own.
 *
 * The party that holds the new key signs (`proveMemberKey`, or the builders below when one program
 * holds both); it hands `{key, proof}` to the member that submits the action.
 */
import type { Signer } from '@custos/protocol/crypto';
import { proveEvmKey } from '@custos/protocol/interop';
import { type MemberKeyAction, proveMemberKey } from '@custos/protocol/ledger';
import type { GovAction } from './actions/gov.js';

export { MEMBER_KEY_PROOF_DOMAIN, type MemberKeyAction, proveMemberKey } from '@custos/protocol/ledger';

/** A new key with its proof of possession, as `proveMemberKey` returns it. */
export interface ProvenKey {
  key: string;
  proof: string;
}

/** A member's EVM key (its address) with its proof of possession, as `proveEvmKey` returns it. */
export interface ProvenEvmKey {
  address: string;
  proof: string;
}

/** `key`: a 32-byte secp256k1 secret key (it signs its proof here) or a proof made by its holder. */
function provenEvm(chainId: string, member: string, key: Uint8Array | ProvenEvmKey): ProvenEvmKey {
  return key instanceof Uint8Array ? proveEvmKey(key, { chainId, member }) : key;
}

function proven(chainId: string, member: string, action: MemberKeyAction, k: Signer | ProvenKey): ProvenKey {
  return 'proof' in k ? k : proveMemberKey(k, { chainId, member, action });
}

/**
 * A governance `admit` action; each key is a `Signer` holding it (it signs its proof here) or a
 * `{key, proof}` the new member made with `proveMemberKey(signer, {chainId, member: id, action: 'admit'})`.
 * `evmKey`, optional: the new member's EVM key (docs/interop.md), a secret key or `{address, proof}`.
 */
export function admitAction(
  chainId: string,
  member: { id: string; name: string; endpoint: string },
  keys: readonly (Signer | ProvenKey)[],
  evmKey?: Uint8Array | ProvenEvmKey,
): Extract<GovAction, { kind: 'admit' }> {
  const p = keys.map((k) => proven(chainId, member.id, 'admit', k));
  const evm = evmKey === undefined ? undefined : provenEvm(chainId, member.id, evmKey);
  return {
    kind: 'admit',
    id: member.id,
    name: member.name,
    keys: p.map((x) => x.key),
    endpoint: member.endpoint,
    proofs: p.map((x) => x.proof),
    ...(evm === undefined ? {} : { evmKey: evm.address, evmKeyProof: evm.proof }),
  };
}

/**
 * A governance `setEvmKey` action: `member`'s EVM key set or replaced by vote (for a member that
 * cannot sign `member.setEvmKey` itself); `key` a secret key or `{address, proof}` made by its holder.
 */
export function setEvmKeyAction(
  chainId: string,
  member: string,
  key: Uint8Array | ProvenEvmKey,
): Extract<GovAction, { kind: 'setEvmKey' }> {
  const p = provenEvm(chainId, member, key);
  return { kind: 'setEvmKey', member, address: p.address, proof: p.proof };
}

/**
 * A governance `removeEvmKey` action: `member`'s EVM key taken out of the EVM member set by vote (a
 * compromised key with no replacement yet); refused while fewer keys than the threshold would remain.
 */
export function removeEvmKeyAction(member: string): Extract<GovAction, { kind: 'removeEvmKey' }> {
  return { kind: 'removeEvmKey', member };
}

/** A governance `rotateKey` action replacing `oldKey` of `member` with a new key and its proof. */
export function rotateKeyAction(
  chainId: string,
  member: string,
  oldKey: string,
  newKey: Signer | ProvenKey,
): Extract<GovAction, { kind: 'rotateKey' }> {
  const p = proven(chainId, member, 'rotateKey', newKey);
  return { kind: 'rotateKey', member, oldKey, newKey: p.key, proof: p.proof };
}

/** Arguments of `member.addKey` (signed by one of `member`'s current keys) for a new key and its proof. */
export function addKeyArgs(chainId: string, member: string, newKey: Signer | ProvenKey): ProvenKey {
  return proven(chainId, member, 'addKey', newKey);
}
