/**
 * Proof of possession for member keys. Before a key becomes a member org's key (governance
 * `admit`, `rotateKey`, or `member.addKey`), the key itself signs a domain-separated statement
 * binding the chain, the member, the action and the key. Every peer checks it in execution, so an
 * org cannot register someone else's key (a customer's pairwise did:key, say) as its own: only the
 * party holding the new key can produce the proof.
 *
 * Signed bytes: UTF-8 of `custos/member-key-proof/v1` followed by one 0x00 byte, then the RFC 8785
 * canonical JSON of `{action, chainId, key, member}`.
 */
import { fromBase64url, toBase64url } from '../b64.js';
import { concatBytes, utf8 } from '../bytes.js';
import { didFromPublicKey, publicKeyFromDid } from '../crypto/didkey.js';
import { SIGNATURE_LENGTH, type Signer, type Verifier } from '../crypto/ed25519.js';
import { canonicalBytes } from '../jcs.js';

export const MEMBER_KEY_PROOF_DOMAIN = 'custos/member-key-proof/v1';

/** Where a new member key comes in: a new member's keys, a rotated key, a key a member adds. */
export const MEMBER_KEY_ACTIONS = ['admit', 'rotateKey', 'addKey'] as const;
export type MemberKeyAction = (typeof MEMBER_KEY_ACTIONS)[number];

export interface MemberKeyStatement {
  chainId: string;
  /** Id of the member org the key is for (the new member's id for `admit`). */
  member: string;
  action: MemberKeyAction;
  /** The new key's did:key. */
  key: string;
}

/** The bytes the new key signs. */
export function memberKeyProofBytes(s: MemberKeyStatement): Uint8Array {
  return concatBytes(
    utf8(MEMBER_KEY_PROOF_DOMAIN),
    new Uint8Array([0]),
    canonicalBytes({ action: s.action, chainId: s.chainId, key: s.key, member: s.member }),
  );
}

/**
 * Signs the statement with the new key (`signer` holds it): returns the key's did:key and the proof
 * (base64url Ed25519 signature) to send with the action.
 *
 * @example
 * const { key, proof } = proveMemberKey(newKeySigner, { chainId, member: 'bank', action: 'addKey' });
 * signTx({ chainId, type: 'member.addKey', args: { key, proof } }, bankSigner);
 */
export function proveMemberKey(signer: Signer, s: Omit<MemberKeyStatement, 'key'>): { key: string; proof: string } {
  const key = didFromPublicKey(signer.publicKey);
  return { key, proof: toBase64url(signer.sign(memberKeyProofBytes({ ...s, key }))) };
}

/** True when `proof` is the signature of `s.key` over the statement; false for any bad input. */
export function verifyMemberKeyProof(s: MemberKeyStatement, proof: unknown, verifier: Verifier): boolean {
  if (typeof proof !== 'string' || proof.length > 128) return false;
  try {
    const sig = fromBase64url(proof, SIGNATURE_LENGTH);
    return verifier.verify(publicKeyFromDid(s.key), memberKeyProofBytes(s), sig);
  } catch {
    return false;
  }
}
