/**
 * Light clients and cross-chain transactions
 * (docs/architecture.md#atomic-cross-chain-transactions): member sets, registration and update
 * signatures, certificates and state proofs of another chain, fork evidence; the body of a
 * cross-chain transaction, the binding of its operations to the plan, vote and decision proofs.
 * Golden values in test/golden/xtx.json (a format change shows up as a diff); fast-check checks
 * that the parser of untrusted bodies throws nothing but ProtocolError.
 */

import { expectGolden, goldenJson } from '@custos/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../src/bytes.js';
import { didFromPublicKey } from '../src/crypto/didkey.js';
import { nobleSigner, nobleVerifier, type Signer } from '../src/crypto/ed25519.js';
import { ProtocolError, type ProtocolErrorCode } from '../src/errors.js';
import {
  applyMemberUpdate,
  checkEquivocation,
  freezeLightClient,
  type LightClientState,
  memberUpdateSigningBytes,
  newLightClient,
  parseMemberSet,
  parseRemoteChain,
  type RemoteChain,
  registrationSigningBytes,
  signMemberUpdate,
  signRegistration,
  verifyCosignatures,
  verifyRemoteState,
} from '../src/interop/light-client.js';
import {
  type CrossChainTx,
  opsHashOf,
  parseCrossChainTx,
  planOf,
  verifyDecisionProof,
  verifyVoteProof,
  withoutBinding,
  XTX_BINDING_ARG,
  type XtxPlan,
  xtxDecisionKey,
  xtxIdOf,
  xtxPlanHash,
  xtxVoteKey,
} from '../src/interop/xtx.js';
import { canonicalize, type JsonValue } from '../src/jcs.js';
import { type Checkpoint, type QuorumCertificate, signCheckpoint } from '../src/ledger/checkpoint.js';
import { signTx } from '../src/ledger/tx.js';
import { MemoryStateNodeStore } from '../src/state/memory-node-store.js';
import { encodeStateProof } from '../src/state/proof.js';
import { StateTree } from '../src/state/smt.js';

const key = (n: number): Signer => nobleSigner(new Uint8Array(32).fill(n));
const did = (s: Signer) => didFromPublicKey(s.publicKey);
const [m1, m2, m3, outsider, user] = [key(1), key(2), key(3), key(9), key(7)];
const remote: RemoteChain = {
  chainId: 'beta',
  members: {
    members: [
      { id: 'm1', keys: [did(m1)] },
      { id: 'm2', keys: [did(m2)] },
      { id: 'm3', keys: [did(m3)] },
    ],
    threshold: 2,
  },
};
const NOW = 1_767_225_600_000;

function code(f: () => unknown): ProtocolErrorCode | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return undefined;
}

/** A certified state of chain `chainId` holding `entries`, with a proof function. */
function certifiedState(chainId: string, height: number, entries: [string, JsonValue][], signers: Signer[]) {
  const tree = new StateTree(new MemoryStateNodeStore());
  const { root } = tree.apply(entries.map(([k, v]) => [utf8(k), utf8(canonicalize(v))] as const));
  const checkpoint: Checkpoint = { chainId, height, logSize: 0, logRoot: '00'.repeat(32), stateRoot: toHex(root) };
  const certificate: QuorumCertificate = { checkpoint, signatures: signers.map((s) => signCheckpoint(checkpoint, s)) };
  return { certificate, prove: (k: string) => encodeStateProof(tree.prove(utf8(k))) };
}

describe('member sets', () => {
  it('accepts a well-formed set and rejects every malformed one', () => {
    expect(parseMemberSet(remote.members)).toEqual(remote.members);
    const bad: unknown[] = [
      null,
      { members: [], threshold: 1 },
      { members: remote.members.members, threshold: 1 }, // under a majority
      { members: remote.members.members, threshold: 4 },
      { members: remote.members.members, threshold: 2, extra: true },
      {
        members: [
          { id: 'm1', keys: [did(m1)] },
          { id: 'm1', keys: [did(m2)] },
        ],
        threshold: 2,
      },
      {
        members: [
          { id: 'm1', keys: [did(m1)] },
          { id: 'm2', keys: [did(m1)] },
        ],
        threshold: 2,
      },
      { members: [{ id: 'M1', keys: [did(m1)] }], threshold: 1 },
      { members: [{ id: 'm1', keys: ['did:key:nope'] }], threshold: 1 },
      { members: [{ id: 'm1', keys: [] }], threshold: 1 },
    ];
    for (const b of bad)
      expect(
        code(() => parseMemberSet(b)),
        JSON.stringify(b),
      ).toBe('BAD_CERTIFICATE');
    expect(code(() => parseRemoteChain({ chainId: 'Beta!', members: remote.members }))).toBe('BAD_CERTIFICATE');
  });
});

describe('registration and member updates', () => {
  const local = {
    members: [
      { id: 'a', keys: [did(m1)] },
      { id: 'b', keys: [did(m2)] },
      { id: 'c', keys: [did(m3)] },
    ],
    threshold: 2,
  };

  it('counts co-signatures of distinct members over a message bound to the registering chain', () => {
    const msg = registrationSigningBytes('alpha', remote);
    expect(
      verifyCosignatures(
        msg,
        [signRegistration('alpha', remote, m1), signRegistration('alpha', remote, m3)],
        local,
        nobleVerifier,
      ),
    ).toEqual(['a', 'c']);
    const forGamma = [signRegistration('gamma', remote, m1), signRegistration('gamma', remote, m2)];
    expect(code(() => verifyCosignatures(msg, forGamma, local, nobleVerifier))).toBe('BAD_CERTIFICATE');
    const one = signRegistration('alpha', remote, m1);
    expect(code(() => verifyCosignatures(msg, [one, one], local, nobleVerifier))).toBe('BAD_CERTIFICATE');
    expect(code(() => verifyCosignatures(msg, [one], local, nobleVerifier))).toBe('BAD_CERTIFICATE');
    expect(
      code(() => verifyCosignatures(msg, [one, signRegistration('alpha', remote, outsider)], local, nobleVerifier)),
    ).toBe('BAD_CERTIFICATE');
    expect(code(() => verifyCosignatures(msg, 'nope', local, nobleVerifier))).toBe('BAD_CERTIFICATE');
  });

  it('hands over to a new set only with a quorum of the old one, one epoch at a time', () => {
    const lc = newLightClient(remote);
    const n = [key(21), key(22), key(23)];
    const update = {
      chainId: 'beta',
      epoch: 1,
      members: { members: n.map((s, i) => ({ id: `n${i}`, keys: [did(s)] })), threshold: 2 },
    };
    const byOld = [signMemberUpdate(update, m1), signMemberUpdate(update, m2)];
    const next = applyMemberUpdate(lc, update, byOld, nobleVerifier);
    expect(next).toMatchObject({ epoch: 1, members: update.members, frozen: null });
    const byNew = n.map((s) => signMemberUpdate(update, s));
    expect(code(() => applyMemberUpdate(lc, update, byNew, nobleVerifier))).toBe('BAD_CERTIFICATE');
    expect(code(() => applyMemberUpdate(next, update, byOld, nobleVerifier))).toBe('BAD_CERTIFICATE'); // replay
    expect(code(() => applyMemberUpdate(lc, { ...update, chainId: 'gamma' }, byOld, nobleVerifier))).toBe(
      'BAD_CERTIFICATE',
    );
    expect(code(() => applyMemberUpdate(lc, { ...update, epoch: 2 }, byOld, nobleVerifier))).toBe('BAD_CERTIFICATE');
    expect(memberUpdateSigningBytes(update)).not.toEqual(registrationSigningBytes('beta', remote));
  });
});

describe('certificates, state proofs and forks of another chain', () => {
  const lc: LightClientState = newLightClient(remote);

  it('verifies a state proof against a quorum certificate of that chain only', () => {
    const s = certifiedState('beta', 5, [['k', { v: 1 }]], [m1, m2]);
    expect(verifyRemoteState(lc, s.certificate, 'k', { v: 1 }, s.prove('k'), nobleVerifier).height).toBe(5);
    expect(code(() => verifyRemoteState(lc, s.certificate, 'k', { v: 2 }, s.prove('k'), nobleVerifier))).toBe(
      'BAD_PROOF',
    );
    expect(code(() => verifyRemoteState(lc, s.certificate, 'j', { v: 1 }, s.prove('k'), nobleVerifier))).toBe(
      'BAD_PROOF',
    );
    const few = certifiedState('beta', 5, [['k', { v: 1 }]], [m1]);
    expect(code(() => verifyRemoteState(lc, few.certificate, 'k', { v: 1 }, few.prove('k'), nobleVerifier))).toBe(
      'BAD_CERTIFICATE',
    );
    const other = certifiedState('gamma', 5, [['k', { v: 1 }]], [m1, m2]);
    expect(code(() => verifyRemoteState(lc, other.certificate, 'k', { v: 1 }, other.prove('k'), nobleVerifier))).toBe(
      'BAD_CERTIFICATE',
    );
  });

  it('takes two valid certificates for one height as evidence, names the double signers, and then verifies nothing', () => {
    const a = certifiedState('beta', 7, [['k', 1]], [m1, m2]);
    const b = certifiedState('beta', 7, [['k', 2]], [m2, m3]);
    const ev = checkEquivocation(lc, a.certificate, b.certificate, nobleVerifier);
    expect(ev).toMatchObject({ chainId: 'beta', height: 7, signers: ['m2'] });
    expect(code(() => checkEquivocation(lc, a.certificate, a.certificate, nobleVerifier))).toBe('BAD_CERTIFICATE');
    const later = certifiedState('beta', 8, [['k', 2]], [m2, m3]);
    expect(code(() => checkEquivocation(lc, a.certificate, later.certificate, nobleVerifier))).toBe('BAD_CERTIFICATE');
    const frozen = freezeLightClient(lc, ev);
    expect(code(() => verifyRemoteState(frozen, a.certificate, 'k', 1, a.prove('k'), nobleVerifier))).toBe(
      'BAD_CERTIFICATE',
    );
  });
});

/** A two-chain cross-chain transaction of kv.put operations, built by hand (the SDK does this). */
function makeXtx(opts: { nonce?: string; deadlineHeight?: number } = {}): CrossChainTx {
  const ops: XtxPlan['ops'] = {
    alpha: [{ type: 'kv.put', signer: did(user), args: { ns: 'x', key: 'a', value: 1 } }],
    beta: [{ type: 'kv.put', signer: did(user), args: { ns: 'x', key: 'b', value: 2 } }],
  };
  const plan: XtxPlan = {
    participants: ['alpha', 'beta'],
    ops,
    decisionChain: 'alpha',
    deadlineHeight: opts.deadlineHeight ?? 100,
    nonce: opts.nonce ?? '00'.repeat(16),
  };
  const hash = xtxPlanHash(plan);
  const signed = (c: 'alpha' | 'beta') =>
    ops[c]!.map((o) =>
      signTx(
        { chainId: c, type: o.type, args: { ...o.args, [XTX_BINDING_ARG]: hash }, now: NOW, nonce: new Uint8Array(16) },
        user,
      ),
    );
  return { ...plan, ops: { alpha: signed('alpha'), beta: signed('beta') } };
}

describe('cross-chain transactions', () => {
  it('parses a well-formed body, whose plan is what the operations are bound to', () => {
    const xtx = makeXtx();
    expect(parseCrossChainTx(JSON.parse(JSON.stringify(xtx)))).toEqual(xtx);
    expect(planOf(xtx).ops.alpha![0]!.args).toEqual({ ns: 'x', key: 'a', value: 1 });
    expect(withoutBinding(xtx.ops.alpha![0]!.body.args)).toEqual({ ns: 'x', key: 'a', value: 1 });
    expect(xtxIdOf(makeXtx({ nonce: '01'.repeat(16) }))).not.toBe(xtxIdOf(xtx));
  });

  it('rejects every malformed body with BAD_TX', () => {
    const good = makeXtx();
    const other = makeXtx({ nonce: '02'.repeat(16) });
    const mutate = (f: (x: CrossChainTx) => void) => {
      const x = JSON.parse(JSON.stringify(good)) as CrossChainTx;
      f(x);
      return x;
    };
    const bad: unknown[] = [
      null,
      { ...good, extra: 1 },
      mutate((x) => {
        x.participants = ['alpha'];
      }),
      mutate((x) => {
        x.participants = ['beta', 'alpha'];
      }),
      mutate((x) => {
        x.participants = ['alpha', 'alpha'];
      }),
      mutate((x) => {
        x.decisionChain = 'gamma';
      }),
      mutate((x) => {
        x.deadlineHeight = 0;
      }),
      mutate((x) => {
        x.nonce = 'zz';
      }),
      mutate((x) => {
        x.ops = { alpha: x.ops.alpha! } as CrossChainTx['ops'];
      }),
      mutate((x) => {
        x.ops.beta = [];
      }),
      mutate((x) => {
        x.ops.beta = x.ops.alpha!; // signed for another chain
      }),
      mutate((x) => {
        x.ops.beta = other.ops.beta!; // bound to another plan
      }),
      mutate((x) => {
        delete x.ops.beta![0]!.body.args[XTX_BINDING_ARG];
      }),
      mutate((x) => {
        x.ops.beta = Array.from({ length: 17 }, () => x.ops.beta![0]!);
      }),
      mutate((x) => {
        x.ops.beta![0]!.body.type = 'xtx.prepare';
      }),
    ];
    for (const b of bad)
      expect(
        code(() => parseCrossChainTx(b)),
        JSON.stringify(b)?.slice(0, 120),
      ).toBe('BAD_TX');
  });

  it('throws nothing but ProtocolError on mutated bodies', () => {
    const base = JSON.parse(JSON.stringify(makeXtx())) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(base)), fc.jsonValue(), (k, v) => {
        const c = code(() => parseCrossChainTx({ ...base, [k]: v }));
        expect(c === undefined || c === 'BAD_TX').toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('verifies a vote only for this transaction, this chain and these operations', () => {
    const xtx = makeXtx();
    const id = xtxIdOf(xtx);
    const lc = newLightClient({ ...remote, chainId: 'beta' });
    const vote = { xtxId: id, chainId: 'beta', vote: 'YES', opsHash: opsHashOf(xtx, 'beta'), status: 'prepared' };
    const s = certifiedState('beta', 3, [[xtxVoteKey(id), vote]], [m1, m2]);
    const vp = { chainId: 'beta', certificate: s.certificate, proof: s.prove(xtxVoteKey(id)), value: vote };
    expect(verifyVoteProof(lc, xtx, id, vp, nobleVerifier).vote).toBe('YES');
    // The same proof offered for another transaction: the key embeds the id.
    const other = makeXtx({ nonce: '03'.repeat(16) });
    expect(code(() => verifyVoteProof(lc, other, xtxIdOf(other), vp, nobleVerifier))).toBe('BAD_PROOF');
    // A record under the right key that is about other operations or another chain.
    for (const v of [
      { ...vote, opsHash: opsHashOf(xtx, 'alpha') },
      { ...vote, chainId: 'alpha' },
    ]) {
      const t = certifiedState('beta', 3, [[xtxVoteKey(id), v]], [m1, m2]);
      const p = { chainId: 'beta', certificate: t.certificate, proof: t.prove(xtxVoteKey(id)), value: v };
      expect(code(() => verifyVoteProof(lc, xtx, id, p, nobleVerifier))).toBe('BAD_PROOF');
    }
    expect(code(() => verifyVoteProof(lc, xtx, id, { ...vp, chainId: 'alpha' }, nobleVerifier))).toBe('BAD_PROOF');
    expect(code(() => verifyVoteProof(lc, xtx, id, { ...vp, extra: 1 }, nobleVerifier))).toBe('BAD_PROOF');
  });

  it('verifies a decision only from the decision chain and for this transaction', () => {
    const xtx = makeXtx();
    const id = xtxIdOf(xtx);
    const lcAlpha = newLightClient({ ...remote, chainId: 'alpha' });
    const rec = { xtxId: id, decision: 'COMMIT', height: 9, reason: 'all-yes' };
    const s = certifiedState('alpha', 9, [[xtxDecisionKey(id), rec]], [m1, m3]);
    const dp = { certificate: s.certificate, proof: s.prove(xtxDecisionKey(id)), value: rec };
    expect(verifyDecisionProof(lcAlpha, xtx, id, dp, nobleVerifier).decision).toBe('COMMIT');
    expect(code(() => verifyDecisionProof(newLightClient(remote), xtx, id, dp, nobleVerifier))).toBe('BAD_PROOF');
    const weird = { ...rec, decision: 'MAYBE' };
    const w = certifiedState('alpha', 9, [[xtxDecisionKey(id), weird]], [m1, m3]);
    expect(
      code(() =>
        verifyDecisionProof(
          lcAlpha,
          xtx,
          id,
          { certificate: w.certificate, proof: w.prove(xtxDecisionKey(id)), value: weird },
          nobleVerifier,
        ),
      ),
    ).toBe('BAD_PROOF');
  });
});

describe('golden values (test/golden/xtx.json)', () => {
  const goldenUrl = new URL('./golden/xtx.json', import.meta.url);
  const golden = () => {
    const xtx = makeXtx();
    return {
      description:
        'A cross-chain transaction built by test/interop.test.ts (keys 32 x 0x07, fixed nonces and time), its plan hash and id, and the bytes members sign to register a chain and to hand over to a new member set. Regenerate with UPDATE_GOLDEN=1 only for an intended format change.',
      xtx,
      planHash: xtxPlanHash(planOf(xtx)),
      xtxId: xtxIdOf(xtx),
      registrationSigningBytes: new TextDecoder().decode(registrationSigningBytes('alpha', remote)),
      memberUpdateSigningBytes: new TextDecoder().decode(
        memberUpdateSigningBytes({ chainId: 'beta', epoch: 1, members: remote.members }),
      ),
    };
  };
  // A missing golden fails (it is never regenerated by the run that checks it): UPDATE_GOLDEN=1 writes it.
  it('matches', () => {
    expectGolden(goldenUrl, goldenJson(golden()));
  });
});
