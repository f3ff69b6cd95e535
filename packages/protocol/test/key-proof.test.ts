/** Proof of possession for member keys (issue 11, trust #4): what the new key signs, and what verifies. */
import { describe, expect, it } from 'vitest';
import {
  fromBase64url,
  memberKeyProofBytes,
  nobleSigner,
  nobleVerifier,
  proveMemberKey,
  randomSecretKey,
  toBase64url,
  utf8,
  verifyMemberKeyProof,
} from '../src/index.js';

describe('member key proofs', () => {
  it('trust #4: verifies only for the key that signed, for exactly the chain, member and action it names', () => {
    const key = nobleSigner(randomSecretKey());
    const other = nobleSigner(randomSecretKey());
    const st = { chainId: 'c1', member: 'bank', action: 'addKey' as const };
    const p = proveMemberKey(key, st);
    expect(verifyMemberKeyProof({ ...st, key: p.key }, p.proof, nobleVerifier)).toBe(true);
    // Another key's signature over the same statement, or the statement for anything else, fails.
    expect(verifyMemberKeyProof({ ...st, key: p.key }, proveMemberKey(other, st).proof, nobleVerifier)).toBe(false);
    for (const s of [
      { ...st, chainId: 'c2' },
      { ...st, member: 'insurer' },
      { ...st, action: 'rotateKey' as const },
      { ...st, action: 'admit' as const },
    ]) {
      expect(verifyMemberKeyProof({ ...s, key: p.key }, p.proof, nobleVerifier)).toBe(false);
    }
    // Domain separation: a signature of the bare canonical statement (without the prefix) does not count.
    const bytes = memberKeyProofBytes({ ...st, key: p.key });
    const bare = bytes.subarray(utf8('custos/member-key-proof/v1').length + 1);
    expect(verifyMemberKeyProof({ ...st, key: p.key }, toBase64url(key.sign(bare)), nobleVerifier)).toBe(false);
    // Bad input is false, never a throw.
    for (const bad of [undefined, 42, '', 'x'.repeat(500), toBase64url(new Uint8Array(63))]) {
      expect(verifyMemberKeyProof({ ...st, key: p.key }, bad, nobleVerifier)).toBe(false);
    }
    expect(fromBase64url(p.proof)).toHaveLength(64);
  });
});
