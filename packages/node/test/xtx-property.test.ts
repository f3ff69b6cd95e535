/**
 * Atomicity under any schedule (fast-check): overlapping cross-chain transactions over three
 * chains, with prepares, decisions (with any subset of the votes available), timeouts, finalizes,
 * relayer passes and blocks in random order, repeated or left out. After every step no transaction
 * is committed on one chain and aborted on another; once everything has been relayed, each one is
 * committed everywhere or aborted everywhere, no lock is left, and every key holds the value of a
 * committed transaction or nothing.
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import type { SignedTx } from '@custos/protocol/ledger';
import { tempDir } from '@custos/test-utils/node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import {
  type Chain,
  connect,
  decideTx,
  decisionOf,
  decisionProof,
  finalizeTx,
  kvValue,
  kvXtx,
  locksOf,
  openChain,
  prepareTx,
  relayer,
  settle,
  submit,
  tick,
  timeoutTx,
  voteOf,
  voteProof,
} from './xtx-helpers.js';

let tmp: ReturnType<typeof tempDir>;
let chains: Chain[];
const owner = nativeSigner(randomSecretKey());
let run = 0;
const outcomes = { COMMIT: 0, ABORT: 0 };

beforeAll(async () => {
  tmp = tempDir('custos-xtx-prop-');
  chains = [
    await openChain(tmp.dir, 'alpha', ['a1']),
    await openChain(tmp.dir, 'beta', ['b1', 'b2', 'b3']),
    await openChain(tmp.dir, 'gamma', ['g1', 'g2']),
  ];
  await connect(chains);
});

afterAll(async () => {
  for (const c of chains) await c.node.close();
  tmp.cleanup();
});

const xtxArb = fc.record({
  participants: fc.subarray([0, 1, 2], { minLength: 2 }),
  decision: fc.nat(2),
  keys: fc.array(fc.nat(2), { minLength: 1, maxLength: 2 }),
  deadlineIn: fc.integer({ min: 2, max: 8 }),
});

const actionArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('prepare' as const), x: fc.nat(2), chain: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('decide' as const), x: fc.nat(2), subset: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('timeout' as const), x: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('finalize' as const), x: fc.nat(2), chain: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), chain: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('relay' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const) }) },
);

const scenarioArb = fc.record({
  xtxs: fc.array(xtxArb, { minLength: 1, maxLength: 3 }),
  actions: fc.array(actionArb, { maxLength: 24 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

async function play(s: Scenario): Promise<void> {
  run++;
  const made = s.xtxs.map((spec, i) => {
    const parts = spec.participants.map((p) => chains[p]!);
    const decision = parts[spec.decision % parts.length]!;
    const keys = Object.fromEntries(parts.map((c) => [c.chainId, [...new Set(spec.keys)].map((k) => `r${run}-k${k}`)]));
    const value = `r${run}-x${i}`;
    const t = kvXtx(parts, {
      decision,
      deadlineHeight: decision.node.latest().height + spec.deadlineIn,
      keys,
      owner,
      value,
    });
    return { ...t, parts, decision, keys, value };
  });
  const atomic = () => {
    for (const m of made) {
      const states = m.parts.map((c) => voteOf(c, m.xtxId)?.status);
      expect(states.includes('committed') && states.includes('aborted'), `xtx ${m.xtxId}: ${states}`).toBe(false);
    }
  };

  // `repeat`: the same step again in a new transaction (another relayer); `replay`: the very same
  // transaction again (a duplicated message), which admission refuses.
  let last: (() => Promise<unknown>) | undefined;
  let lastSent: { chain: Chain; tx: SignedTx } | undefined;
  const send = (c: Chain, make: () => SignedTx) => async () => {
    const tx = make();
    lastSent = { chain: c, tx };
    return submit(c, tx);
  };
  for (const a of s.actions) {
    let step: (() => Promise<unknown>) | undefined;
    if (a.kind === 'repeat') {
      step = last;
    } else if (a.kind === 'replay') {
      if (lastSent !== undefined) {
        const { chain, tx } = lastSent;
        await expect(submit(chain, tx)).rejects.toMatchObject({ code: 'TX_REPLAYED' });
      }
      continue;
    } else if (a.kind === 'tick') {
      step = () => tick(chains[a.chain]!);
    } else if (a.kind === 'relay') {
      step = () => relayer(chains).step();
    } else {
      const m = made[a.x % made.length]!;
      if (a.kind === 'prepare') {
        const c = m.parts[a.chain % m.parts.length]!;
        step = send(c, () => prepareTx(c, m.xtx));
      } else if (a.kind === 'timeout') {
        step = send(m.decision, () => timeoutTx(m.decision, m.xtx));
      } else if (a.kind === 'decide') {
        // Any subset of the votes that exist at the time.
        step = send(m.decision, () => {
          const voters = m.parts.filter(
            (c, i) => c !== m.decision && (a.subset >> i) & 1 && voteOf(c, m.xtxId)?.vote != null,
          );
          return decideTx(
            m.decision,
            m.xtx,
            voters.map((c) => voteProof(c, m.xtxId)),
          );
        });
      } else {
        const c = m.parts[a.chain % m.parts.length]!;
        if (c === m.decision) step = send(c, () => finalizeTx(c, m.xtx));
        else if (decisionOf(m.decision, m.xtxId) !== null) {
          step = send(c, () => finalizeTx(c, m.xtx, decisionProof(m.decision, m.xtxId)));
        }
      }
    }
    if (step === undefined) continue;
    await step();
    last = step;
    atomic();
  }

  // Drain: every deadline passes, relayers carry everything.
  for (const c of chains) await tick(c, 8);
  await settle(relayer(chains), 30);
  atomic();
  for (const m of made) {
    const d = decisionOf(m.decision, m.xtxId);
    const prepared = m.parts.some((c) => voteOf(c, m.xtxId) !== null);
    if (!prepared) continue; // never handed to any chain: nothing to decide
    expect(d, `xtx ${m.xtxId} decided`).not.toBeNull();
    outcomes[d!.decision]++;
    const final = d!.decision === 'COMMIT' ? 'committed' : 'aborted';
    for (const c of m.parts) {
      const v = voteOf(c, m.xtxId);
      if (v === null) expect(final).toBe('aborted');
      else expect(v.status).toBe(final);
    }
  }
  for (const c of chains) expect(locksOf(c)).toEqual([]);
  for (const c of chains) {
    for (const key of new Set(made.flatMap((m) => m.keys[c.chainId] ?? []))) {
      const writers = made.filter(
        (m) => (m.keys[c.chainId] ?? []).includes(key) && voteOf(c, m.xtxId)?.status === 'committed',
      );
      const v = kvValue(c, key);
      if (writers.length === 0) expect(v).toBeUndefined();
      else expect(writers.map((w) => w.value)).toContain(v);
    }
  }
}

describe('atomicity over random schedules', () => {
  it('never commits on one chain and aborts on another; leaves no lock once relayed', async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, play), { numRuns: 80, endOnFailure: true });
    // The schedules exercise both outcomes, not just one. (How many of each depends on the random
    // seed; a handful in 80 runs is normal, so only their presence is required.)
    expect(outcomes.COMMIT).toBeGreaterThan(0);
    expect(outcomes.ABORT).toBeGreaterThan(0);
  }, 90_000);
});
