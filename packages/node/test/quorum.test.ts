/**
 * QuorumTracker with signatures verified beforehand in a batch (what FinalityTracker does with the
 * worker pool): `unchecked` names exactly what `receive` would verify, and a result given in
 * `known` is used instead of verifying again, for a height committed here and for one that waits.
 */
import { didFromPublicKey, randomSecretKey } from '@custos/protocol/crypto';
import { canonicalize } from '@custos/protocol/jcs';
import { type Checkpoint, type MemberSet, signCheckpoint } from '@custos/protocol/ledger';
import { describe, expect, it, vi } from 'vitest';
import { nativeSigner, nativeVerifier } from '../src/crypto/native.js';
import { QuorumTracker, verifiedKey } from '../src/peer/quorum.js';

const keys = ['a', 'b', 'c'].map((id) => ({ id, signer: nativeSigner(randomSecretKey()) }));
const members: MemberSet = {
  members: keys.map((k) => ({ id: k.id, keys: [didFromPublicKey(k.signer.publicKey)] })),
  threshold: 2,
};
const outsider = nativeSigner(randomSecretKey());
const cp = (height: number, stateRoot = '11'.repeat(32)): Checkpoint => ({
  chainId: 'q',
  height,
  logSize: height,
  logRoot: '22'.repeat(32),
  stateRoot,
});
const signed = (c: Checkpoint, ...who: number[]) => ({
  checkpoint: c,
  signatures: who.map((i) => signCheckpoint(c, i < 0 ? outsider : keys[i]!.signer)),
});

function tracker() {
  const verifier = { verify: vi.fn(nativeVerifier.verify) };
  return { q: new QuorumTracker(verifier, 'q'), verifier };
}

describe('QuorumTracker with signatures verified beforehand', () => {
  it('unchecked: members not recorded yet at a tracked height, everything above the head, nothing below', () => {
    const { q } = tracker();
    const own = signed(cp(5), 0);
    q.open(cp(5), members, own.signatures);
    const sigs = signed(cp(5), 0, 1, -1);
    expect(q.unchecked(sigs, 5)).toEqual([sigs.signatures[1]]);
    const other = signed(cp(5, '33'.repeat(32)), 0, 2);
    expect(q.unchecked(other, 5)).toEqual(other.signatures);
    const early = signed(cp(9), 1, -1);
    expect(q.unchecked(early, 5)).toEqual(early.signatures);
    expect(q.unchecked(signed(cp(3), 1), 5)).toEqual([]);
  });

  it('counts what `known` says is valid without verifying it, and ignores what it says is not', () => {
    const { q, verifier } = tracker();
    q.open(cp(5), members, signed(cp(5), 0).signatures);
    const b = signed(cp(5), 1);
    const key = verifiedKey(canonicalize(cp(5) as never), b.signatures[0]!);
    expect(q.receive(b, 5, new Map([[key, false]]))).toEqual([]);
    expect(verifier.verify).not.toHaveBeenCalled();
    const events = q.receive(b, 5, new Map([[key, true]]));
    expect(events.map((e) => e.kind)).toEqual(['final']);
    expect(verifier.verify).not.toHaveBeenCalled();
  });

  it('keeps `known` with signatures that arrive before their height is committed', () => {
    const { q, verifier } = tracker();
    const other = signed(cp(7, '44'.repeat(32)), 1, 2);
    const known = new Map(other.signatures.map((s) => [verifiedKey(canonicalize(other.checkpoint as never), s), true]));
    expect(q.receive(other, 6, known)).toEqual([]);
    const events = q.open(cp(7), members, signed(cp(7), 0).signatures);
    expect(events.map((e) => e.kind)).toEqual(['conflict', 'diverged']);
    expect(verifier.verify).not.toHaveBeenCalled();
  });

  it('verifies what `known` does not hold, as without it', () => {
    const { q, verifier } = tracker();
    q.open(cp(5), members, signed(cp(5), 0).signatures);
    const forged = {
      ...signed(cp(5), 1),
      signatures: [{ ...signed(cp(5), 1).signatures[0]!, sig: signed(cp(6), 1).signatures[0]!.sig }],
    };
    expect(q.receive(forged, 5, new Map())).toEqual([]);
    expect(q.receive(signed(cp(5), 2), 5)).toEqual([expect.objectContaining({ kind: 'final', height: 5 })]);
    expect(verifier.verify).toHaveBeenCalledTimes(2);
  });
});
