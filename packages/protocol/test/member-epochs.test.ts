/**
 * Member-set epochs: a verifier follows certified member-set updates from genesis, and refuses
 * forged ones (certified by the wrong set, counting a removed member's key, skipping an epoch,
 * replaying an old update, or a set the certified state does not hold). Proof bundles are checked
 * against the set in force at their height.
 */
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../src/bytes.js';
import { didFromPublicKey } from '../src/crypto/didkey.js';
import { nobleSigner, nobleVerifier, type Signer } from '../src/crypto/ed25519.js';
import {
  applyCertifiedMemberSetUpdate,
  newLightClient,
  parseRemoteChain,
  verifyRemoteCertificate,
} from '../src/interop/light-client.js';
import { canonicalize, type JsonValue } from '../src/jcs.js';
import { type BlockHeader, headerHash, ZERO_HASH } from '../src/ledger/block.js';
import { checkpointOf, type MemberSet, type QuorumCertificate, signCheckpoint } from '../src/ledger/checkpoint.js';
import {
  followMemberSetUpdates,
  genesisMemberChain,
  MEMBER_SET_KEY,
  MEMBER_SET_UPDATE,
  type MemberEpoch,
  type MemberSetChain,
  type MemberSetUpdate,
  memberSetEntry,
  memberSetForHeight,
  verifyMemberSetUpdate,
} from '../src/ledger/member-epochs.js';
import { STATE_BUNDLE, STATE_BUNDLE_V1, verifyProofBundle } from '../src/ledger/proof-bundle.js';
import { MemoryStateNodeStore } from '../src/state/memory-node-store.js';
import { encodeStateProof } from '../src/state/proof.js';
import { StateTree } from '../src/state/smt.js';

const key = (n: number): Signer => nobleSigner(new Uint8Array(32).fill(n));
const did = (s: Signer): string => didFromPublicKey(s.publicKey);
const CHAIN = 'epochs';

const acme = key(11);
const acmeNew = key(12);
const bank = key(21);
const clinic = key(31);
const depot = key(41);
const erin = key(51);

// Epoch 0: acme, bank, clinic, depot (3 of 4). 1: erin admitted (3 of 5). 2: acme's key rotated.
// 3: depot removed (3 of 4).
const set0: MemberSet = {
  members: [
    { id: 'acme', keys: [did(acme)] },
    { id: 'bank', keys: [did(bank)] },
    { id: 'clinic', keys: [did(clinic)] },
    { id: 'depot', keys: [did(depot)] },
  ],
  threshold: 3,
};
const set1: MemberSet = { members: [...set0.members, { id: 'erin', keys: [did(erin)] }], threshold: 3 };
const set2: MemberSet = {
  members: set1.members.map((m) => (m.id === 'acme' ? { id: 'acme', keys: [did(acmeNew)] } : m)),
  threshold: 3,
};
const set3: MemberSet = { members: set2.members.filter((m) => m.id !== 'depot'), threshold: 3 };

/** A little chain: a state tree, a header per block, certificates by chosen signers. */
class Chain {
  readonly tree = new StateTree(new MemoryStateNodeStore());
  prev: BlockHeader | null = null;
  height = -1;

  block(writes: Record<string, JsonValue> = {}): BlockHeader {
    this.height++;
    const { root } = this.tree.apply(Object.entries(writes).map(([k, v]) => [utf8(k), utf8(canonicalize(v))]));
    const header: BlockHeader = {
      chainId: CHAIN,
      height: this.height,
      prevHash: this.prev === null ? ZERO_HASH : headerHash(this.prev),
      time: 1_000 + this.height,
      logSize: 0,
      logRoot: ZERO_HASH,
      stateRoot: toHex(root),
      proposer: 'solo',
      txCount: 0,
    };
    this.prev = header;
    return header;
  }

  /** The block at the next height changes the set to `members` as epoch `epoch`. */
  change(epoch: number, members: MemberSet, signers: Signer[]): MemberSetUpdate {
    const h = this.height + 1;
    const entry = memberSetEntry({ epoch, effectiveFrom: h + 1, members });
    const header = this.block({ [MEMBER_SET_KEY]: entry as unknown as JsonValue });
    return {
      type: MEMBER_SET_UPDATE,
      chainId: CHAIN,
      epoch,
      effectiveFrom: h + 1,
      members,
      header,
      certificate: certify(header, signers),
      proof: encodeStateProof(this.tree.prove(utf8(MEMBER_SET_KEY))),
    };
  }
}

function certify(header: BlockHeader, signers: Signer[]): QuorumCertificate {
  const cp = checkpointOf(header);
  return { checkpoint: cp, signatures: signers.map((s) => signCheckpoint(cp, s)) };
}

function build() {
  const c = new Chain();
  c.block(); // genesis
  c.block({ 'kv/a': 1 });
  const u1 = c.change(1, set1, [acme, bank, clinic]);
  c.block({ 'kv/b': 2 });
  const u2 = c.change(2, set2, [bank, clinic, erin]);
  const u3 = c.change(3, set3, [acmeNew, bank, depot]);
  const after = c.block({ 'kv/c': 3 });
  return { c, u1, u2, u3, after };
}

const genesis = (): MemberSetChain => genesisMemberChain(CHAIN, set0);
const epoch0: MemberEpoch = { epoch: 0, effectiveFrom: 0, members: set0 };

describe('member-set updates', () => {
  it('walks from genesis to the current set, and picks the set in force at each height', () => {
    const { u1, u2, u3 } = build();
    const chain = followMemberSetUpdates(genesis(), [u1, u2, u3], nobleVerifier);
    expect(chain.epochs.map((e) => [e.epoch, e.effectiveFrom])).toEqual([
      [0, 0],
      [1, u1.header.height + 1],
      [2, u2.header.height + 1],
      [3, u3.header.height + 1],
    ]);
    expect(memberSetForHeight(chain, u1.header.height).epoch).toBe(0);
    expect(memberSetForHeight(chain, u3.header.height).epoch).toBe(2);
    expect(memberSetForHeight(chain, u3.header.height + 5).members).toEqual(set3);
    // A verifier that already trusts epoch 1 continues from there; re-sent epochs it holds are skipped.
    const from1 = followMemberSetUpdates(
      followMemberSetUpdates(genesis(), [u1], nobleVerifier),
      [u1, u2, u3],
      nobleVerifier,
    );
    expect(from1.epochs).toEqual(chain.epochs);
  });

  it('trust #3: refuses an update certified by the wrong set (the new set certifying itself)', () => {
    const c = new Chain();
    c.block();
    const forged = c.change(1, set1, [bank, clinic, erin]); // erin is not a member of epoch 0
    expect(() => verifyMemberSetUpdate(epoch0, forged, nobleVerifier, CHAIN)).toThrow(
      /not certified by a quorum of epoch 0.*not a member key/,
    );
  });

  it("trust #3: a removed member's key no longer counts in the certificate of a later update", () => {
    const { c, u1, u2, u3 } = build();
    const chain = followMemberSetUpdates(genesis(), [u1, u2, u3], nobleVerifier);
    // depot was removed in epoch 3: an epoch-4 update signed with its key (and two current members) fails.
    const set4: MemberSet = { members: set3.members, threshold: 4 };
    const forged = c.change(4, set4, [bank, clinic, depot]);
    expect(() => verifyMemberSetUpdate(chain.epochs[3]!, forged, nobleVerifier, CHAIN)).toThrow(/not a member key/);
    // acme's rotated-out key does not count either.
    const forged2 = c.change(4, set4, [acme, bank, clinic]);
    expect(() => verifyMemberSetUpdate(chain.epochs[3]!, forged2, nobleVerifier, CHAIN)).toThrow(/not a member key/);
    const good = c.change(4, set4, [acmeNew, bank, clinic]);
    expect(verifyMemberSetUpdate(chain.epochs[3]!, good, nobleVerifier, CHAIN).members).toEqual(set4);
  });

  it('trust #3: refuses skipping an epoch and a replayed old update', () => {
    const { u1, u2, u3 } = build();
    expect(() => followMemberSetUpdates(genesis(), [u1, u3], nobleVerifier)).toThrow(/epoch cannot be skipped/);
    const e1 = verifyMemberSetUpdate(epoch0, u1, nobleVerifier, CHAIN);
    expect(() => verifyMemberSetUpdate(e1, u1, nobleVerifier, CHAIN)).toThrow(/stale.*replay/);
    // An old update dressed up as the next epoch fails its certificate or its state proof.
    expect(() => verifyMemberSetUpdate(e1, { ...u1, epoch: 2 }, nobleVerifier, CHAIN)).toThrow(
      /effectiveFrom|before epoch/,
    );
    expect(() => verifyMemberSetUpdate(epoch0, { ...u2, epoch: 1 }, nobleVerifier, CHAIN)).toThrow(
      /not certified|state at height/,
    );
  });

  it('trust #3: refuses a set that is not what the certified state holds, another chain, a loose header', () => {
    const { u1 } = build();
    expect(() => verifyMemberSetUpdate(epoch0, { ...u1, members: set0 }, nobleVerifier, CHAIN)).toThrow(
      /state at height .* does not hold this member set/,
    );
    expect(() => verifyMemberSetUpdate(epoch0, u1, nobleVerifier, 'other')).toThrow(/another chain/);
    expect(() =>
      verifyMemberSetUpdate(epoch0, { ...u1, effectiveFrom: u1.effectiveFrom + 1 }, nobleVerifier, CHAIN),
    ).toThrow(/effectiveFrom/);
    const otherHeader = { ...u1.header, stateRoot: '11'.repeat(32) };
    expect(() => verifyMemberSetUpdate(epoch0, { ...u1, header: otherHeader }, nobleVerifier, CHAIN)).toThrow(
      /not over the header/,
    );
    // A sub-majority threshold is refused (two such sets could certify conflicting blocks).
    const c = new Chain();
    c.block();
    const weak = c.change(1, { members: set1.members, threshold: 2 }, [acme, bank, clinic]);
    expect(() => verifyMemberSetUpdate(epoch0, weak, nobleVerifier, CHAIN)).toThrow(/at least a majority/);
  });
});

describe('proof bundles across epochs', () => {
  function stateBundle(c: Chain, header: BlockHeader, signers: Signer[], updates: MemberSetUpdate[]) {
    return {
      type: STATE_BUNDLE,
      key: 'kv/c',
      value: 3,
      proof: encodeStateProof(c.tree.prove(utf8('kv/c'))),
      certificate: certify(header, signers),
      memberSetUpdates: updates,
    };
  }

  it('trust #3: verifies against the current set from the genesis set alone; old keys no longer count', () => {
    const { c, u1, u2, u3, after } = build();
    const ok = stateBundle(c, after, [acmeNew, bank, erin], [u1, u2, u3]);
    expect(verifyProofBundle(ok, set0, nobleVerifier, CHAIN)).toMatchObject({ kind: 'state', value: 3 });
    // Before epochs, the genesis set was the only trust: this certificate would have been refused.
    expect(() => verifyProofBundle({ ...ok, type: STATE_BUNDLE_V1 }, set0, nobleVerifier, CHAIN)).toThrow(
      /not a member key/,
    );
    // ...and a quorum of old keys (removed depot, rotated-out acme) was accepted. Not any more:
    const old = stateBundle(c, after, [acme, bank, depot], [u1, u2, u3]);
    expect(() => verifyProofBundle(old, set0, nobleVerifier, CHAIN)).toThrow(/not a member key/);
    // A verifier that holds the current epochs refuses it even if the bundle leaves the updates out.
    const chain = followMemberSetUpdates(genesis(), [u1, u2, u3], nobleVerifier);
    expect(() => verifyProofBundle({ ...old, memberSetUpdates: [] }, chain, nobleVerifier)).toThrow(/not a member key/);
    expect(verifyProofBundle({ ...ok, memberSetUpdates: [] }, chain, nobleVerifier)).toMatchObject({ value: 3 });
    // A v1 bundle is still verified, against the epochs the verifier trusts.
    expect(verifyProofBundle({ ...ok, type: STATE_BUNDLE_V1 }, chain, nobleVerifier)).toMatchObject({ value: 3 });
    // A v2 bundle without its updates field is refused clearly.
    const { memberSetUpdates: _, ...bare } = ok;
    expect(() => verifyProofBundle(bare, set0, nobleVerifier, CHAIN)).toThrow(/memberSetUpdates/);
  });
});

describe('light clients follow certified updates', () => {
  it('trust #3: a counterparty follows epochs in order; old keys and old heights stop counting', () => {
    const { u1, u2, u3, after } = build();
    let lc = newLightClient({ chainId: CHAIN, members: set0 });
    // Before the updates, a quorum of old keys (removed depot, rotated-out acme) counts: the hole.
    expect(verifyRemoteCertificate(lc, certify(after, [acme, bank, depot]), nobleVerifier).height).toBe(after.height);
    expect(() => applyCertifiedMemberSetUpdate(lc, u2, nobleVerifier)).toThrow(/cannot be skipped/);
    for (const u of [u1, u2, u3]) lc = applyCertifiedMemberSetUpdate(lc, u, nobleVerifier);
    expect(lc).toMatchObject({ epoch: 3, effectiveFrom: u3.header.height + 1, members: set3 });
    expect(() => applyCertifiedMemberSetUpdate(lc, u3, nobleVerifier)).toThrow(/stale/);
    expect(() => verifyRemoteCertificate(lc, certify(after, [acme, bank, depot]), nobleVerifier)).toThrow(
      /not a member key/,
    );
    expect(verifyRemoteCertificate(lc, certify(after, [acmeNew, bank, erin]), nobleVerifier).height).toBe(after.height);
    // A certificate from before the epoch began is not checked against a set that did not certify it.
    expect(() => verifyRemoteCertificate(lc, u2.certificate, nobleVerifier)).toThrow(/predates its member set/);
    // A registration may start at a later epoch; updates then follow from there.
    const at2 = parseRemoteChain({ chainId: CHAIN, members: set2, epoch: 2, effectiveFrom: u2.effectiveFrom });
    expect(applyCertifiedMemberSetUpdate(newLightClient(at2), u3, nobleVerifier).epoch).toBe(3);
  });
});
