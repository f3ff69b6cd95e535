/**
 * Atomic cross-chain transactions (docs/architecture.md#atomic-cross-chain-transactions) between
 * chains in one process: the happy path over two and three chains, conflicting transactions on the
 * same keys, relayers that die, participants and the decision chain that stop, and messages
 * dropped, duplicated and reordered.
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import { XTX_LOCK_TTL_MS, XTX_MAX_DEADLINE_BLOCKS } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { type ChainEndpoint, nodeEndpoint } from '../src/interop/endpoint.js';
import { Relayer } from '../src/interop/relayer.js';
import { xtxStatus } from '../src/interop/xtx-status.js';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';
import { auditChain } from '../src/peer/audit.js';
import {
  type Chain,
  connect,
  decideTx,
  decisionOf,
  decisionProof,
  finalizeTx,
  freshKey,
  kvValue,
  kvXtx,
  locksOf,
  openChain,
  prepareTx,
  relayer,
  restart,
  settle,
  stop,
  submit,
  tick,
  timeoutTx,
  voteOf,
  voteProof,
} from './xtx-helpers.js';

let tmp: ReturnType<typeof tempDir>;
let alpha: Chain;
let beta: Chain;
let gamma: Chain;
const owner = nativeSigner(randomSecretKey());

beforeAll(async () => {
  tmp = tempDir('custos-xtx-');
  alpha = await openChain(tmp.dir, 'alpha');
  beta = await openChain(tmp.dir, 'beta', ['b1', 'b2']);
  gamma = await openChain(tmp.dir, 'gamma', ['g1']);
  await connect([alpha, beta, gamma]);
});

afterAll(async () => {
  for (const c of [alpha, beta, gamma]) await c.node.close().catch(() => {});
  tmp.cleanup();
});

function all(): Chain[] {
  return [alpha, beta, gamma];
}

/** Keys for each of `chains`, one per chain. */
function keysFor(chains: Chain[]): Record<string, string[]> {
  return Object.fromEntries(chains.map((c) => [c.chainId, [freshKey()]]));
}

function expectFinal(chains: Chain[], xtxId: string, status: 'committed' | 'aborted'): void {
  for (const c of chains) {
    const v = voteOf(c, xtxId);
    if (status === 'aborted' && v === null) continue;
    expect(v?.status, `${c.chainId}`).toBe(status);
    expect(locksOf(c, xtxId)).toEqual([]);
    expect(c.node.store.getState(`xtxopen/${xtxId}`)).toBeUndefined();
    expect(c.node.store.getState(`xtxw/${xtxId}`)).toBeUndefined();
  }
}

describe('the happy path', () => {
  it('commits over two chains: one prepare submitted, the relayer does the rest', async () => {
    const chains = [alpha, beta];
    const keys = keysFor(chains);
    const { xtx, xtxId } = kvXtx(chains, {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 50,
      keys,
      owner,
    });
    expect(await submit(beta, prepareTx(beta, xtx))).toBe('OK');
    expect(voteOf(beta, xtxId)).toMatchObject({ vote: 'YES', status: 'prepared' });
    // Prepared but not committed: the write is held back and its key locked.
    expect(kvValue(beta, keys.beta![0]!)).toBeUndefined();
    expect(locksOf(beta, xtxId)).toEqual([`lock/kv/x/${keys.beta![0]}`]);

    const actions = await settle(relayer(chains));
    expect(actions.map((a) => `${a.step}@${a.chainId}:${a.code}`).sort()).toEqual(
      ['prepare@alpha:OK', 'decide@alpha:OK', 'finalize@alpha:OK', 'finalize@beta:OK'].sort(),
    );
    expect(decisionOf(alpha, xtxId)).toMatchObject({ decision: 'COMMIT', reason: 'all-yes' });
    expectFinal(chains, xtxId, 'committed');
    expect(kvValue(alpha, keys.alpha![0]!)).toBe(keys.alpha![0]);
    expect(kvValue(beta, keys.beta![0]!)).toBe(keys.beta![0]);
    const status = await xtxStatus(
      chains.map((c) => nodeEndpoint(c.node)),
      xtxId,
    );
    expect(status).toMatchObject({ stage: 'committed', participants: ['alpha', 'beta'], decisionChain: 'alpha' });
  });

  it('commits over three chains with the middle one deciding', async () => {
    const keys = { alpha: [freshKey(), freshKey()], beta: [freshKey()], gamma: [freshKey()] };
    const { xtx, xtxId } = kvXtx(all(), {
      decision: beta,
      deadlineHeight: beta.node.latest().height + 50,
      keys,
      owner,
    });
    expect(await submit(gamma, prepareTx(gamma, xtx))).toBe('OK');
    await settle(relayer(all()));
    expect(decisionOf(beta, xtxId)?.decision).toBe('COMMIT');
    expectFinal(all(), xtxId, 'committed');
    for (const c of all()) for (const k of keys[c.chainId as 'alpha']) expect(kvValue(c, k)).toBe(k);
    // An auditor re-executing each chain from genesis (registrations, locks, decisions) gets the same roots.

    for (const c of all()) expect(auditChain(c.dbPath).problems).toEqual([]);
  });

  it('aborts everywhere when one operation fails its dry run, and releases the locks', async () => {
    // The key is owned by someone else on gamma: kv.put by `owner` is UNAUTHORIZED there.
    const taken = freshKey();
    const other = nativeSigner(randomSecretKey());
    expect(
      await submit(gamma, signTx({ chainId: 'gamma', type: 'kv.put', args: { ns: 'x', key: taken, value: 1 } }, other)),
    ).toBe('OK');
    const keys = { alpha: [freshKey()], beta: [freshKey()], gamma: [taken] };
    const { xtx, xtxId } = kvXtx(all(), {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 50,
      keys,
      owner,
    });
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK');
    await settle(relayer(all()));
    expect(voteOf(gamma, xtxId)).toMatchObject({ vote: 'NO', reason: 'operation 0: UNAUTHORIZED' });
    expect(decisionOf(alpha, xtxId)).toMatchObject({ decision: 'ABORT', reason: 'no:gamma' });
    expectFinal(all(), xtxId, 'aborted');
    expect(kvValue(alpha, keys.alpha[0]!)).toBeUndefined();
    expect(kvValue(gamma, taken)).toBe(1);
  });
});

describe('conflicts', () => {
  it('gives NO to the second of two transactions on the same keys, even in crossed order, and never deadlocks', async () => {
    const chains = [alpha, beta];
    const k = { alpha: [freshKey()], beta: [freshKey()] };
    const deadlineHeight = alpha.node.latest().height + 50;
    const one = kvXtx(chains, { decision: alpha, deadlineHeight, keys: k, owner, value: 'one' });
    const two = kvXtx(chains, {
      decision: beta,
      deadlineHeight: beta.node.latest().height + 50,
      keys: k,
      owner,
      value: 'two',
    });
    // Crossed: each takes its lock on a different chain first (the classic 2PC deadlock).
    expect(await submit(alpha, prepareTx(alpha, one.xtx))).toBe('OK');
    expect(await submit(beta, prepareTx(beta, two.xtx))).toBe('OK');
    // A plain transaction cannot write a locked key meanwhile.
    const plain = signTx(
      { chainId: 'alpha', type: 'kv.put', args: { ns: 'x', key: k.alpha[0]!, value: 'plain' } },
      owner,
    );
    expect(await submit(alpha, plain)).toBe('CONFLICT');
    await settle(relayer(chains));
    expect(voteOf(beta, one.xtxId)).toMatchObject({ vote: 'NO' });
    expect(voteOf(beta, one.xtxId)?.reason).toMatch(/CONFLICT/);
    expect(voteOf(alpha, two.xtxId)).toMatchObject({ vote: 'NO' });
    expect(decisionOf(alpha, one.xtxId)?.decision).toBe('ABORT');
    expect(decisionOf(beta, two.xtxId)?.decision).toBe('ABORT');
    expectFinal(chains, one.xtxId, 'aborted');
    expectFinal(chains, two.xtxId, 'aborted');
    // Nothing is stuck: a fresh attempt on the same keys commits.
    const three = kvXtx(chains, {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 50,
      keys: k,
      owner,
      value: 'three',
    });
    expect(await submit(alpha, prepareTx(alpha, three.xtx))).toBe('OK');
    await settle(relayer(chains));
    expectFinal(chains, three.xtxId, 'committed');
    expect(kvValue(alpha, k.alpha[0]!)).toBe('three');
    expect(kvValue(beta, k.beta[0]!)).toBe('three');
  });

  it('lets the first of many concurrent transactions on one key commit and the others abort', async () => {
    const chains = [alpha, beta];
    const shared = freshKey();
    const deadlineHeight = alpha.node.latest().height + 50;
    const many = Array.from({ length: 6 }, (_, i) =>
      kvXtx(chains, {
        decision: alpha,
        deadlineHeight,
        keys: { alpha: [shared], beta: [freshKey()] },
        owner,
        value: i,
      }),
    );
    // All prepares in one block of alpha.
    const codes = await Promise.all(many.map((m) => submit(alpha, prepareTx(alpha, m.xtx))));
    expect(codes.every((c) => c === 'OK')).toBe(true);
    await settle(relayer(chains));
    const outcomes = many.map((m) => decisionOf(alpha, m.xtxId)?.decision);
    expect(outcomes.filter((o) => o === 'COMMIT')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'ABORT')).toHaveLength(5);
    const winner = outcomes.indexOf('COMMIT');
    expect(kvValue(alpha, shared)).toBe(winner);
    expect(locksOf(alpha)).toEqual([]);
    expect(locksOf(beta)).toEqual([]);
  });
});

describe('relayers that die', () => {
  /** Endpoints that stop answering after `budget` submissions, as if the relayer's process were killed. */
  function dying(chains: Chain[], budget: number): ChainEndpoint[] {
    let left = budget;
    return chains.map((c) => {
      const ep = nodeEndpoint(c.node);
      const dead = () => Promise.reject(new Error('relayer killed'));
      return {
        ...ep,
        info: () => (left > 0 ? ep.info() : dead()),
        submit: (tx) => {
          if (left <= 0) return dead();
          left--;
          return ep.submit(tx);
        },
      };
    });
  }

  it('completes with a fresh relayer after a kill at every point: after some prepares, after decide, mid-finalize', async () => {
    // Three chains, one prepare from the client: 2 prepares, 1 decide, 3 finalizes by the relayer.
    for (let budget = 1; budget <= 5; budget++) {
      const keys = keysFor(all());
      const { xtx, xtxId } = kvXtx(all(), {
        decision: gamma,
        deadlineHeight: gamma.node.latest().height + 50,
        keys,
        owner,
      });
      expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK');
      const doomed = new Relayer({ chains: dying(all(), budget), signer: nativeSigner(randomSecretKey()) });
      for (let i = 0; i < 5; i++) await doomed.step();
      const done = all().filter((c) => voteOf(c, xtxId)?.status === 'committed').length;
      expect(done, `budget ${budget}`).toBeLessThan(3);
      // A new relayer with nothing but the chains finishes the job.
      await settle(relayer(all()));
      expectFinal(all(), xtxId, 'committed');
    }
  });

  it('lets several relayers run at once: every outcome is applied once', async () => {
    const keys = keysFor(all());
    const { xtx, xtxId } = kvXtx(all(), {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 50,
      keys,
      owner,
    });
    expect(await submit(beta, prepareTx(beta, xtx))).toBe('OK');
    const rs = [relayer(all()), relayer(all()), relayer(all())];
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) codes.push(...(await Promise.all(rs.map((r) => r.step()))).flat().map((a) => a.code));
    expect(codes.filter((c) => c !== 'OK' && c !== 'CONFLICT' && c !== 'DUPLICATE_TX')).toEqual([]);
    expectFinal(all(), xtxId, 'committed');
    for (const c of all()) expect(kvValue(c, keys[c.chainId]![0]!)).toBe(keys[c.chainId]![0]);
  });
});

describe('chains that stop', () => {
  it('a participant that stops after its YES was carried: the others commit, it commits when it returns', async () => {
    const keys = keysFor(all());
    const { xtx, xtxId } = kvXtx(all(), {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 50,
      keys,
      owner,
    });
    for (const c of all()) expect(await submit(c, prepareTx(c, xtx))).toBe('OK');
    const votes = [voteProof(beta, xtxId), voteProof(gamma, xtxId)];
    await stop(gamma);
    expect(await submit(alpha, decideTx(alpha, xtx, votes))).toBe('OK');
    await settle(relayer([alpha, beta]));
    expect(voteOf(alpha, xtxId)?.status).toBe('committed');
    expect(voteOf(beta, xtxId)?.status).toBe('committed');
    await restart(gamma);
    expect(voteOf(gamma, xtxId)?.status).toBe('prepared');
    expect(locksOf(gamma, xtxId)).toHaveLength(1);
    await settle(relayer(all()));
    expectFinal(all(), xtxId, 'committed');
    expect(kvValue(gamma, keys.gamma![0]!)).toBe(keys.gamma![0]);
  });

  it('a participant that stops before its vote is carried: the deadline aborts, it aborts when it returns', async () => {
    const keys = keysFor(all());
    const { xtx, xtxId } = kvXtx(all(), {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 4,
      keys,
      owner,
    });
    for (const c of all()) expect(await submit(c, prepareTx(c, xtx))).toBe('OK');
    await stop(gamma);
    const r = relayer(all());
    await settle(r);
    expect(decisionOf(alpha, xtxId)).toBeNull();
    await tick(alpha, 4);
    await settle(r);
    expect(decisionOf(alpha, xtxId)).toMatchObject({ decision: 'ABORT', reason: 'timeout' });
    expect(voteOf(alpha, xtxId)?.status).toBe('aborted');
    expect(voteOf(beta, xtxId)?.status).toBe('aborted');
    await restart(gamma);
    await settle(relayer(all()));
    expectFinal(all(), xtxId, 'aborted');
    expect(kvValue(gamma, keys.gamma![0]!)).toBeUndefined();
  });

  it('the decision chain stops: nobody commits or aborts alone; all completes when it returns', async () => {
    const keys = keysFor(all());
    const { xtx, xtxId } = kvXtx(all(), {
      decision: beta,
      deadlineHeight: beta.node.latest().height + 50,
      keys,
      owner,
    });
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK');
    expect(await submit(gamma, prepareTx(gamma, xtx))).toBe('OK');
    await stop(beta);
    const r = relayer(all());
    for (let i = 0; i < 4; i++) await r.step();
    for (const c of [alpha, gamma]) {
      expect(voteOf(c, xtxId)?.status).toBe('prepared');
      expect(locksOf(c, xtxId)).toHaveLength(1);
    }
    await restart(beta);
    await settle(relayer(all()));
    expectFinal(all(), xtxId, 'committed');
  });
});

describe('messages dropped, duplicated and reordered', () => {
  it('a finalize before the prepare leaves a tombstone that refuses the late prepare', async () => {
    const chains = [alpha, beta];
    const keys = keysFor(chains);
    const { xtx, xtxId } = kvXtx(chains, {
      decision: alpha,
      deadlineHeight: alpha.node.latest().height + 3,
      keys,
      owner,
    });
    // Every transaction below is one block of alpha: its height is the clock.
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK'); // deadline - 2
    // beta's prepare is lost; a decide is refused (a vote is missing), and so is an early timeout.
    expect(await submit(alpha, decideTx(alpha, xtx, []))).toBe('NOT_FOUND'); // deadline - 1
    expect(await submit(alpha, timeoutTx(alpha, xtx))).toBe('CONFLICT'); // deadline
    expect(await submit(alpha, timeoutTx(alpha, xtx))).toBe('OK'); // deadline + 1
    expect(await submit(alpha, timeoutTx(alpha, xtx))).toBe('CONFLICT');
    const proof = decisionProof(alpha, xtxId);
    expect(await submit(beta, finalizeTx(beta, xtx, proof))).toBe('OK');
    expect(voteOf(beta, xtxId)).toMatchObject({ vote: null, status: 'aborted' });
    expect(await submit(beta, prepareTx(beta, xtx))).toBe('CONFLICT');
    expect(await submit(beta, finalizeTx(beta, xtx, proof))).toBe('CONFLICT');
    expect(await submit(alpha, finalizeTx(alpha, xtx))).toBe('OK');
    expect(await submit(alpha, finalizeTx(alpha, xtx))).toBe('CONFLICT');
    expectFinal(chains, xtxId, 'aborted');
    expect(kvValue(beta, keys.beta![0]!)).toBeUndefined();
  });

  it('duplicated and reordered steps change nothing after the first', async () => {
    const chains = [alpha, beta];
    const keys = keysFor(chains);
    const { xtx, xtxId } = kvXtx(chains, {
      decision: beta,
      deadlineHeight: beta.node.latest().height + 50,
      keys,
      owner,
    });
    expect(await submit(alpha, finalizeTx(alpha, xtx))).toBe('INVALID_ARGS'); // no decision proof
    expect(await submit(beta, finalizeTx(beta, xtx))).toBe('NOT_FOUND'); // not decided
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK');
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('CONFLICT');
    expect(await submit(beta, prepareTx(beta, xtx))).toBe('OK');
    const vote = voteProof(alpha, xtxId);
    const [first, second] = await Promise.all([
      submit(beta, decideTx(beta, xtx, [vote])),
      submit(beta, decideTx(beta, xtx, [vote])),
    ]);
    expect([first, second].sort()).toEqual(['CONFLICT', 'OK']);
    const proof = decisionProof(beta, xtxId);
    const f = await Promise.all([
      submit(alpha, finalizeTx(alpha, xtx, proof)),
      submit(alpha, finalizeTx(alpha, xtx, proof)),
    ]);
    expect(f.sort()).toEqual(['CONFLICT', 'OK']);
    expect(await submit(beta, finalizeTx(beta, xtx))).toBe('OK');
    expectFinal(chains, xtxId, 'committed');
    expect(kvValue(alpha, keys.alpha![0]!)).toBe(keys.alpha![0]);
  });
});

describe('the deadline', () => {
  async function prepared(deadlineIn: number) {
    const chains = [alpha, beta];
    const keys = keysFor(chains);
    const h = alpha.node.latest().height;
    const { xtx, xtxId } = kvXtx(chains, { decision: alpha, deadlineHeight: h + deadlineIn, keys, owner });
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK'); // alpha: h + 1
    expect(await submit(beta, prepareTx(beta, xtx))).toBe('OK');
    return { xtx, xtxId, chains, deadline: h + deadlineIn, vote: voteProof(beta, xtxId) };
  }

  async function race(t: Awaited<ReturnType<typeof prepared>>, order: 'commit-first' | 'timeout-first') {
    const decide = decideTx(alpha, t.xtx, [t.vote]);
    const timeout = timeoutTx(alpha, t.xtx);
    const txs = order === 'commit-first' ? [decide, timeout] : [timeout, decide];
    // Submitted together: one block, in this order.
    const subs = txs.map((x) => alpha.node.submit(x));
    const results = await Promise.all(subs.map((s) => s.committed));
    expect(results[0]!.height).toBe(results[1]!.height);
    return { height: results[0]!.height, codes: results.map((r) => r.code) };
  }

  it('COMMIT in the block at the deadline wins over a timeout in the same block', async () => {
    const t = await prepared(2);
    const r = await race(t, 'timeout-first');
    expect(r.height).toBe(t.deadline);
    expect(r.codes).toEqual(['CONFLICT', 'OK']);
    expect(decisionOf(alpha, t.xtxId)?.decision).toBe('COMMIT');
    await settle(relayer(t.chains));
    expectFinal(t.chains, t.xtxId, 'committed');
  });

  it('one block after the deadline only ABORT can be recorded, whichever comes first', async () => {
    const t = await prepared(2);
    await tick(alpha); // alpha at the deadline: the next block is past it
    const r = await race(t, 'commit-first');
    expect(r.height).toBe(t.deadline + 1);
    expect(r.codes).toEqual(['OK', 'CONFLICT']);
    expect(decisionOf(alpha, t.xtxId)).toMatchObject({ decision: 'ABORT', reason: 'timeout' });
    await settle(relayer(t.chains));
    expectFinal(t.chains, t.xtxId, 'aborted');
  });

  it('COMMIT proposed at deadline-1 racing ABORT at the deadline: exactly one outcome everywhere', async () => {
    const t = await prepared(3);
    const decide = alpha.node.submit(decideTx(alpha, t.xtx, [t.vote])); // block deadline - 1
    const early = alpha.node.submit(timeoutTx(alpha, t.xtx));
    const [d, e] = await Promise.all([decide.committed, early.committed]);
    expect(d.height).toBeLessThanOrEqual(t.deadline);
    expect([d.code, e.code]).toEqual(['OK', 'CONFLICT']);
    await tick(alpha, 2);
    expect(await submit(alpha, timeoutTx(alpha, t.xtx))).toBe('CONFLICT');
    await settle(relayer(t.chains));
    expectFinal(t.chains, t.xtxId, 'committed');
  });
});

describe('trust #7: lock deadlines', () => {
  it('trust #7: a deadline too far after the decision chain height gets a NO saying so, and aborts everywhere', async () => {
    const chains = [alpha, beta];
    const keys = keysFor(chains);
    const far = alpha.node.latest().height + XTX_MAX_DEADLINE_BLOCKS + 5;
    const { xtx, xtxId } = kvXtx(chains, { decision: alpha, deadlineHeight: far, keys, owner });
    expect(await submit(beta, prepareTx(beta, xtx))).toBe('OK');
    expect(locksOf(beta, xtxId)).toHaveLength(1);
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK');
    expect(voteOf(alpha, xtxId)).toMatchObject({ vote: 'NO', status: 'refused' });
    expect(voteOf(alpha, xtxId)!.reason).toMatch(
      new RegExp(`deadlineHeight ${far} is too far: expected at most \\d+ \\(${XTX_MAX_DEADLINE_BLOCKS} blocks after`),
    );
    await settle(relayer(chains));
    expect(decisionOf(alpha, xtxId)).toMatchObject({ decision: 'ABORT', reason: 'no:alpha' });
    expectFinal(chains, xtxId, 'aborted');
    expect(kvValue(beta, keys.beta![0]!)).toBeUndefined();
  });

  describe('with clocks that move on', () => {
    let delta: Chain;
    let epsilon: Chain;
    const HOUR = 3_600_000;

    beforeAll(async () => {
      delta = await openChain(tmp.dir, 'delta', ['d1']);
      epsilon = await openChain(tmp.dir, 'epsilon', ['e1']);
      await connect([delta, epsilon]);
    });

    afterAll(async () => {
      for (const c of [delta, epsilon]) await c.node.close().catch(() => {});
    });

    /** Reopens `c` with its clock (the node's and its orderer's) `aheadMs` ahead. */
    async function reopenAhead(c: Chain, aheadMs: number): Promise<() => number> {
      const now = () => Date.now() + aheadMs;
      await c.node.close();
      c.node = await CustosNode.open({
        dbPath: c.dbPath,
        genesis: c.genesis,
        signers: Object.values(c.orgs),
        verifyThreads: 1,
        now,
        orderer: new SoloOrderer({ maxWaitMs: 2, now }),
      });
      return now;
    }

    it('trust #7: the decision chain records ABORT, not COMMIT, when a participant lock lapses before the decision could reach it', async () => {
      const { xtx, xtxId } = kvXtx([delta, epsilon], {
        decision: delta,
        deadlineHeight: delta.node.latest().height + 100,
        keys: { delta: [freshKey()], epsilon: [freshKey()] },
        owner,
      });
      expect(await submit(epsilon, prepareTx(epsilon, xtx))).toBe('OK');
      expect(await submit(delta, prepareTx(delta, xtx))).toBe('OK');
      const vote = voteProof(epsilon, xtxId);
      // The decision chain's time is 50 minutes on: epsilon's locks lapse in under 15 minutes.
      const now = await reopenAhead(delta, 50 * 60_000);
      const decide = signTx(
        {
          chainId: 'delta',
          type: 'xtx.decide',
          args: { xtx: xtx as unknown as JsonValue, votes: [vote] as unknown as JsonValue },
          now: now(),
        },
        owner,
      );
      expect(await submit(delta, decide)).toBe('OK');
      expect(decisionOf(delta, xtxId)).toMatchObject({ decision: 'ABORT', reason: 'lock-deadline' });
    });

    it('trust #7: a participant whose decision never comes aborts by itself after its lock deadline; the next write to the key succeeds', async () => {
      const key = freshKey();
      const { xtx, xtxId } = kvXtx([delta, epsilon], {
        decision: delta,
        deadlineHeight: delta.node.latest().height + 100,
        keys: { delta: [freshKey()], epsilon: [key] },
        owner,
      });
      expect(await submit(epsilon, prepareTx(epsilon, xtx))).toBe('OK');
      const vote = voteOf(epsilon, xtxId)!;
      expect(vote).toMatchObject({ vote: 'YES', status: 'prepared' });
      expect(vote.lockedUntil).toBe(epsilon.node.latest().time + XTX_LOCK_TTL_MS);
      const write = (now?: number) =>
        submit(
          epsilon,
          signTx(
            { chainId: 'epsilon', type: 'kv.put', args: { ns: 'x', key, value: 'after' }, ...(now ? { now } : {}) },
            owner,
          ),
        );
      // Within the deadline the lock holds.
      expect(await write()).toBe('CONFLICT');
      expect(locksOf(epsilon, xtxId)).toEqual([`lock/kv/x/${key}`]);

      // No relayer ever carries a decision. An hour and more later, the write goes through: the
      // participant aborted the cross-chain transaction by itself and released its locks.
      const now = await reopenAhead(epsilon, HOUR + 60_000);
      expect(await write(now())).toBe('OK');
      expect(kvValue(epsilon, key)).toBe('after');
      expect(voteOf(epsilon, xtxId)).toMatchObject({ status: 'aborted', vote: 'YES' });
      expect(voteOf(epsilon, xtxId)!.reason).toMatch(/locks lapsed/);
      expectFinal([epsilon], xtxId, 'aborted');
      expect(auditChain(epsilon.dbPath).problems).toEqual([]);
    });
  });
});
