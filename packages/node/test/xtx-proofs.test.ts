/**
 * What the light clients refuse: forged, replayed, stale and cross-chain-confused proofs of votes
 * and decisions; registrations without a quorum of this chain's members; member updates not signed
 * by the old set; and a forked chain, whose conflicting certificates freeze its client for good.
 */
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { toHex, utf8 } from '@custos/protocol/encoding';
import { signMemberUpdate, signRegistration, type VoteProof, xtxIdOf, xtxVoteKey } from '@custos/protocol/interop';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { type Checkpoint, type QuorumCertificate, signCheckpoint } from '@custos/protocol/ledger';
import { encodeStateProof, MemoryStateNodeStore, StateTree } from '@custos/protocol/state';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { memberSetOf } from '../src/genesis.js';
import { stateProof } from '../src/proofs.js';
import {
  type Chain,
  connect,
  decideTx,
  decisionOf,
  decisionProof,
  finalizeTx,
  freshKey,
  kvXtx,
  openChain,
  prepareTx,
  register,
  remoteOf,
  restart,
  send,
  stop,
  submit,
  tick,
  voteOf,
  voteProof,
} from './xtx-helpers.js';

let tmp: ReturnType<typeof tempDir>;
let alpha: Chain;
let beta: Chain;
let gamma: Chain;
const owner = nativeSigner(randomSecretKey());
const outsider = nativeSigner(randomSecretKey());

beforeAll(async () => {
  tmp = tempDir('custos-xtx-proofs-');
  alpha = await openChain(tmp.dir, 'alpha');
  beta = await openChain(tmp.dir, 'beta', ['b1', 'b2']); // threshold 2 of 2
  gamma = await openChain(tmp.dir, 'gamma', ['g1', 'g2', 'g3']); // threshold 2 of 3
  await connect([alpha, beta, gamma]);
});

afterAll(async () => {
  for (const c of [alpha, beta, gamma]) await c.node.close().catch(() => {});
  tmp.cleanup();
});

/** A transaction over alpha (deciding) and `other`, prepared on both. */
async function preparedPair(other: Chain) {
  const chains = [alpha, other];
  const keys = { alpha: [freshKey()], [other.chainId]: [freshKey()] };
  const t = kvXtx(chains, { decision: alpha, deadlineHeight: alpha.node.latest().height + 100, keys, owner });
  expect(await submit(alpha, prepareTx(alpha, t.xtx))).toBe('OK');
  expect(await submit(other, prepareTx(other, t.xtx))).toBe('OK');
  return { ...t, chains };
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function flipHex(h: string): string {
  return (h[0] === '0' ? '1' : '0') + h.slice(1);
}

/** Decides with `votes` and expects `code` and no decision recorded. */
async function refused(xtx: Parameters<typeof decideTx>[1], xtxId: string, votes: unknown[], code: string) {
  expect(await submit(alpha, decideTx(alpha, xtx, votes))).toBe(code);
  expect(decisionOf(alpha, xtxId)).toBeNull();
}

describe('forged vote proofs are refused by the decision chain', () => {
  it('rejects a changed sibling, a changed value, a wrong key and a proof of another transaction', async () => {
    const t = await preparedPair(gamma);
    const good = voteProof(gamma, t.xtxId);
    expect(good.proof.siblings.length).toBeGreaterThan(0);

    const sibling = clone(good);
    (sibling.proof.siblings as string[])[0] = flipHex(sibling.proof.siblings[0]!);
    await refused(t.xtx, t.xtxId, [sibling], 'UNAUTHORIZED');

    const value = clone(good);
    (value.value as { reason: JsonValue }).reason = 'forged';
    await refused(t.xtx, t.xtxId, [value], 'UNAUTHORIZED');

    // The same chain's proof of another key (its open-index entry), passed off as the vote.
    const other = gamma.node.store.getState(`xtxopen/${t.xtxId}`)!;
    const b = stateProof(gamma.node, `xtxopen/${t.xtxId}`);
    const wrongKey: VoteProof = {
      chainId: 'gamma',
      certificate: b.certificate,
      proof: b.proof,
      value: JSON.parse(other),
    };
    await refused(t.xtx, t.xtxId, [wrongKey], 'UNAUTHORIZED');

    // A genuine YES of another cross-chain transaction between the same chains.
    const u = await preparedPair(gamma);
    await refused(t.xtx, t.xtxId, [voteProof(gamma, u.xtxId)], 'UNAUTHORIZED');

    // Untouched, the proof works.
    expect(await submit(alpha, decideTx(alpha, t.xtx, [good]))).toBe('OK');
    expect(decisionOf(alpha, t.xtxId)?.decision).toBe('COMMIT');
  });

  it('rejects too few signatures, duplicate signers, a non-member signer and a forged checkpoint', async () => {
    const t = await preparedPair(beta); // beta: 2 members, both must sign
    const good = voteProof(beta, t.xtxId);
    expect(good.certificate.signatures).toHaveLength(2);

    const few = clone(good);
    few.certificate.signatures = few.certificate.signatures.slice(0, 1);
    await refused(t.xtx, t.xtxId, [few], 'UNAUTHORIZED');

    const dup = clone(good);
    dup.certificate.signatures = [good.certificate.signatures[0]!, good.certificate.signatures[0]!];
    await refused(t.xtx, t.xtxId, [dup], 'UNAUTHORIZED');

    const stranger = clone(good);
    stranger.certificate.signatures[1] = signCheckpoint(good.certificate.checkpoint, outsider);
    await refused(t.xtx, t.xtxId, [stranger], 'UNAUTHORIZED');

    const moved = clone(good);
    moved.certificate.checkpoint.height += 1;
    await refused(t.xtx, t.xtxId, [moved], 'UNAUTHORIZED');

    expect(await submit(alpha, decideTx(alpha, t.xtx, [good]))).toBe('OK');
  });

  it("rejects one chain's proof passed off as another's, and votes of non-participants", async () => {
    const t = await preparedPair(beta);
    // gamma is not a participant; its genuine proof of another transaction, relabelled as beta's.
    const u = await preparedPair(gamma);
    const relabelled = { ...voteProof(gamma, u.xtxId), chainId: 'beta' };
    await refused(t.xtx, t.xtxId, [relabelled], 'UNAUTHORIZED');
    // A gamma certificate renamed to beta: its signatures no longer verify, and they are not beta's.
    const renamed = clone(voteProof(gamma, u.xtxId));
    renamed.chainId = 'beta';
    renamed.certificate.checkpoint.chainId = 'beta';
    await refused(t.xtx, t.xtxId, [renamed], 'UNAUTHORIZED');
    await refused(t.xtx, t.xtxId, [voteProof(gamma, u.xtxId)], 'INVALID_ARGS');
    // Two votes of one chain.
    await refused(t.xtx, t.xtxId, [voteProof(beta, t.xtxId), voteProof(beta, t.xtxId)], 'INVALID_ARGS');
    expect(await submit(alpha, decideTx(alpha, t.xtx, [voteProof(beta, t.xtxId)]))).toBe('OK');
  });

  it('rejects a forged decision at finalize', async () => {
    const t = await preparedPair(gamma);
    // A genuine COMMIT, altered; then a genuine decision of another transaction.
    expect(await submit(alpha, decideTx(alpha, t.xtx, [voteProof(gamma, t.xtxId)]))).toBe('OK');
    const good = decisionProof(alpha, t.xtxId);
    const flipped = clone(good);
    (flipped.value as { decision: string }).decision = 'ABORT';
    expect(await submit(gamma, finalizeTx(gamma, t.xtx, flipped))).toBe('UNAUTHORIZED');
    const u = await preparedPair(gamma);
    expect(await submit(alpha, decideTx(alpha, u.xtx, [voteProof(gamma, u.xtxId)]))).toBe('OK');
    expect(await submit(gamma, finalizeTx(gamma, t.xtx, decisionProof(alpha, u.xtxId)))).toBe('UNAUTHORIZED');
    // A decision proof from a chain that is not the decision chain (gamma proving its own vote key).
    const g = voteProof(gamma, t.xtxId);
    expect(
      await submit(gamma, finalizeTx(gamma, t.xtx, { certificate: g.certificate, proof: g.proof, value: g.value })),
    ).toBe('UNAUTHORIZED');
    expect(voteOf(gamma, t.xtxId)?.status).toBe('prepared');
    expect(await submit(gamma, finalizeTx(gamma, t.xtx, good))).toBe('OK');
    expect(voteOf(gamma, t.xtxId)?.status).toBe('committed');
  });
});

describe('operations and prepares', () => {
  it('never runs an operation alone, nor one bound to another plan, nor one with a bad signature', async () => {
    const t = kvXtx([alpha, gamma], {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 100,
      keys: { alpha: [freshKey()], gamma: [freshKey()] },
      owner,
    });
    // Submitted on its own, an operation of the transaction is refused.
    expect(await submit(alpha, t.xtx.ops.alpha![0]!)).toBe('INVALID_ARGS');
    // Swapping in an operation of another plan breaks the binding: the body is malformed.
    const u = kvXtx([alpha, gamma], {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 100,
      keys: { alpha: [freshKey()], gamma: [freshKey()] },
      owner,
    });
    const mixed = clone(t.xtx);
    mixed.ops.gamma = u.xtx.ops.gamma!;
    expect(await submit(gamma, prepareTx(gamma, mixed))).toBe('INVALID_ARGS');
    // A bad signature on this chain's operation: recorded as a NO.
    const forged = clone(t.xtx);
    const sig = forged.ops.gamma![0]!.sig;
    forged.ops.gamma![0]!.sig = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    const fid = xtxIdOf(forged);
    expect(await submit(gamma, prepareTx(gamma, forged))).toBe('OK');
    expect(voteOf(gamma, fid)).toMatchObject({ vote: 'NO', reason: 'operation 0: BAD_SIGNATURE' });
  });

  it('votes NO without a light client of the decision chain', async () => {
    const lone = await openChain(tmp.dir, 'lone', ['l1']);
    try {
      expect(await register(alpha, lone)).toBe('OK');
      const t = kvXtx([alpha, lone], {
        decision: alpha,
        deadlineHeight: alpha.node.latest().height + 100,
        keys: { alpha: [freshKey()], lone: [freshKey()] },
        owner,
      });
      expect(await submit(lone, prepareTx(lone, t.xtx))).toBe('OK');
      expect(voteOf(lone, t.xtxId)).toMatchObject({ vote: 'NO', reason: "no light client of chain 'alpha'" });
    } finally {
      await lone.node.close();
    }
  });
});

describe('registration needs a quorum of this chain’s members', () => {
  it('refuses too few co-signatures, a non-member sender, co-signatures for another chain, and a second registration', async () => {
    const far = await openChain(tmp.dir, 'far', ['f1']);
    try {
      const r = remoteOf(far);
      const orgs = Object.values(alpha.orgs); // 3 members: 2 make a quorum
      const reg = (sender: Signer, cos: unknown[]) =>
        send(alpha, sender, 'interop.register', { chain: r as unknown as JsonValue, cosignatures: cos as JsonValue });
      expect(await reg(orgs[0]!, [signRegistration('alpha', r, orgs[0]!)])).toBe('UNAUTHORIZED');
      expect(
        await reg(
          outsider,
          orgs.map((s) => signRegistration('alpha', r, s)),
        ),
      ).toBe('UNAUTHORIZED');
      expect(
        await reg(
          orgs[0]!,
          orgs.map((s) => signRegistration('beta', r, s)),
        ),
      ).toBe('UNAUTHORIZED');
      const dup = signRegistration('alpha', r, orgs[0]!);
      expect(await reg(orgs[0]!, [dup, dup])).toBe('UNAUTHORIZED');
      expect(
        await reg(orgs[0]!, [signRegistration('alpha', r, orgs[0]!), signRegistration('alpha', r, outsider)]),
      ).toBe('UNAUTHORIZED');
      // A member set with a threshold under a majority could fork without anyone signing twice.
      const weak = { chainId: 'far', members: { ...r.members, threshold: 0 } };
      expect(
        await send(alpha, orgs[0]!, 'interop.register', {
          chain: weak as unknown as JsonValue,
          cosignatures: orgs.map((s) => signRegistration('alpha', weak, s)) as unknown as JsonValue,
        }),
      ).toBe('INVALID_ARGS');
      expect(
        await reg(
          orgs[1]!,
          orgs.slice(1).map((s) => signRegistration('alpha', r, s)),
        ),
      ).toBe('OK');
      expect(
        await reg(
          orgs[1]!,
          orgs.slice(1).map((s) => signRegistration('alpha', r, s)),
        ),
      ).toBe('CONFLICT');
    } finally {
      await far.node.close();
    }
  });
});

describe('a forked chain freezes its light client', () => {
  /** A certificate of `c` for `height` over a made-up state holding `entries`, signed by `signers`. */
  function forgedCertificate(c: Chain, height: number, entries: [string, JsonValue][], signers: Signer[]) {
    const tree = new StateTree(new MemoryStateNodeStore());
    const { root } = tree.apply(entries.map(([k, v]) => [utf8(k), utf8(canonicalize(v))] as const));
    const checkpoint: Checkpoint = {
      chainId: c.chainId,
      height,
      logSize: 0,
      logRoot: toHex(new Uint8Array(32)),
      stateRoot: toHex(root),
    };
    const certificate: QuorumCertificate = {
      checkpoint,
      signatures: signers.map((s) => signCheckpoint(checkpoint, s)),
    };
    return { certificate, prove: (k: string) => encodeStateProof(tree.prove(utf8(k))) };
  }

  it('refuses a conflicting certificate, takes the evidence, and then refuses every proof of that chain', async () => {
    const t = await preparedPair(beta);
    const good = voteProof(beta, t.xtxId);
    const u = await preparedPair(beta);
    // First, a genuine proof at some height is accepted (and remembered)...
    const h = good.certificate.checkpoint.height;
    expect(await submit(alpha, decideTx(alpha, t.xtx, [good]))).toBe('OK');
    // ...then beta's members sign a different state for the same height: a fork, with a valid proof.
    const value = { ...voteOf(beta, u.xtxId)!, reason: null } as unknown as JsonValue;
    const fork = forgedCertificate(beta, h, [[xtxVoteKey(u.xtxId), value]], Object.values(beta.orgs));
    const forged: VoteProof = {
      chainId: 'beta',
      certificate: fork.certificate,
      proof: fork.prove(xtxVoteKey(u.xtxId)),
      value,
    };
    expect(await submit(alpha, decideTx(alpha, u.xtx, [forged]))).toBe('CONFLICT');
    expect(decisionOf(alpha, u.xtxId)).toBeNull();
    // Anyone submits the evidence: the client freezes, the evidence names who signed both.
    const r = await send(alpha, outsider, 'interop.evidence', {
      chainId: 'beta',
      certificates: [fork.certificate as unknown as JsonValue],
    });
    expect(r).toBe('OK');
    const ev = JSON.parse(alpha.node.store.getState('lcev/beta')!) as { height: number; signers: string[] };
    expect(ev).toMatchObject({ height: h, signers: ['b1', 'b2'] });
    expect(JSON.parse(alpha.node.store.getState('lc/beta')!).frozen).toMatchObject({ height: h });
    // From now on even genuine proofs of beta are refused.
    expect(await submit(alpha, decideTx(alpha, u.xtx, [voteProof(beta, u.xtxId)]))).toBe('UNAUTHORIZED');
    expect(await send(alpha, outsider, 'interop.evidence', { chainId: 'beta', certificates: [] })).not.toBe('OK');
    // Two copies of one certificate are no evidence.
    expect(
      await send(alpha, outsider, 'interop.evidence', {
        chainId: 'gamma',
        certificates: [good.certificate, good.certificate] as unknown as JsonValue,
      }),
    ).toBe('UNAUTHORIZED');
  });
});

describe('member-set changes of the other chain', () => {
  it('follows an update signed by the old set; certificates of the old set are then stale', async () => {
    const t = await preparedPair(gamma);
    const staleVote = voteProof(gamma, t.xtxId);
    const newKeys = [nativeSigner(randomSecretKey()), nativeSigner(randomSecretKey()), nativeSigner(randomSecretKey())];
    const update = {
      chainId: 'gamma',
      epoch: 1,
      members: {
        members: ['g1', 'g2', 'g3'].map((id, i) => ({ id, keys: [didFromPublicKey(newKeys[i]!.publicKey)] })),
        threshold: 2,
      },
    };
    const old = Object.values(gamma.orgs);
    const upd = (signers: Signer[], u: typeof update = update) =>
      send(alpha, outsider, 'interop.updateMembers', {
        update: u as unknown as JsonValue,
        signatures: signers.map((s) => signMemberUpdate(u, s)) as unknown as JsonValue,
      });
    expect(await upd(newKeys)).toBe('UNAUTHORIZED'); // the new set cannot appoint itself
    expect(await upd(old.slice(0, 1))).toBe('UNAUTHORIZED'); // 1 of 3 is no quorum
    expect(await upd(old, { ...update, epoch: 2 })).toBe('UNAUTHORIZED'); // skips an epoch
    expect(await upd(old.slice(1))).toBe('OK');
    expect(await upd(old.slice(1))).toBe('UNAUTHORIZED'); // replayed: epoch 1 is past
    expect(JSON.parse(alpha.node.store.getState('lc/gamma')!)).toMatchObject({ epoch: 1 });
    // gamma's peers still sign with the old keys: stale for alpha now.
    await refused(t.xtx, t.xtxId, [staleVote], 'UNAUTHORIZED');
    // Once gamma's peers sign with the new keys, its proofs count again.
    await stop(gamma);
    await restart(gamma, newKeys);
    await tick(gamma); // its latest block, certified by the new keys
    expect(await submit(alpha, decideTx(alpha, t.xtx, [voteProof(gamma, t.xtxId)]))).toBe('OK');
    expect(decisionOf(alpha, t.xtxId)?.decision).toBe('COMMIT');
    expect(memberSetOf(gamma.genesis).threshold).toBe(2);
  });
});
