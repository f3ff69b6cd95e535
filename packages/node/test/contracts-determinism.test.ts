/**
 * The contract runtime's determinism (issue 14, part 1): the same calls on the same state give the
 * same results and gas on independent runtimes with different histories, from any depth of the
 * host's stack (a property test with random calls; in the integration tier for its run time).
 */

import type { JsonValue } from '@custos/protocol/jcs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ContractResult, ContractRuntime } from '../src/contracts/index.js';
import { COUNTERS, callOf, MemoryState, run, seeded } from './contracts-helpers.js';

type Op = { method: 'add' | 'remove' | 'list' | 'work' | 'fail' | 'spin'; args: JsonValue; caller: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    method: fc.constant('add' as const),
    args: fc.record({ name: fc.constantFrom('a', 'b', 'c'), n: fc.integer({ min: -5, max: 50 }) }),
    caller: fc.constantFrom('bank', 'insurer'),
  }),
  fc.record({
    method: fc.constant('remove' as const),
    args: fc.record({ name: fc.constantFrom('a', 'b') }),
    caller: fc.constant('bank'),
  }),
  fc.record({ method: fc.constant('list' as const), args: fc.constant({}), caller: fc.constant('retailer') }),
  fc.record({
    method: fc.constant('work' as const),
    args: fc.record({ n: fc.integer({ min: 0, max: 30 }) }),
    caller: fc.constant('bank'),
  }),
  fc.record({
    method: fc.constant('fail' as const),
    args: fc.record({ name: fc.constant('a'), n: fc.nat(9) }),
    caller: fc.constant('bank'),
  }),
  fc.record({ method: fc.constant('spin' as const), args: fc.constant({}), caller: fc.constant('bank') }),
);

function replay(rt: ContractRuntime, ops: Op[], noise?: ContractRuntime): { results: string[]; state: string } {
  const state = new MemoryState();
  const results: string[] = [];
  for (const [i, op] of ops.entries()) {
    // A different history on this runtime: a memory-hungry call between every two calls.
    if (noise !== undefined) noise.call(callOf(NOISE, new MemoryState(), 'run', { i }));
    const r = rt.call(
      callOf(COUNTERS, state, op.method, op.args, { caller: op.caller, height: i + 1, gasLimit: 400_000 }),
    );
    if (r.ok) state.apply(r);
    results.push(JSON.stringify({ ...r, writes: [...r.writes] }));
  }
  return { results, state: state.snapshot() };
}

const NOISE = `exports.run = function (args) {
  const m = new Map(); for (let i = 0; i < 2000 + args.i * 37; i++) m.set('k' + i, { i, a: [i, i + 1] });
  let s = ''; for (let i = 0; i < 300; i++) s += String(i);
  return m.size + s.length;
};`;

let a: ContractRuntime;
let b: ContractRuntime;

describe('contract runtime determinism', () => {
  beforeAll(async () => {
    [a, b] = await Promise.all([ContractRuntime.create(), ContractRuntime.create()]);
  });

  it('gives the same codes when called from deep in the host stack (native recursion stays bounded)', () => {
    const nested = (body: string) =>
      `exports.run = function () { let a = []; for (let i = 0; i < 100000; i++) a = [a]; globalThis.keep = a; ${body} };`;
    const cases = [
      nested('return JSON.stringify(a).length;'),
      nested('return String(a).length;'),
      nested('return a.flat(Infinity).length;'),
      nested("return JSON.parse('['.repeat(100000)).length;"),
      nested('return a.join().length;'),
      nested('throw new Error("kept 100000 levels");'),
      `exports.run = function () { function r() { return r() } return r(); };`,
      `exports.run = function () { return new RegExp('(?:'.repeat(20000) + ')'.repeat(20000)).source.length; };`,
    ];
    const deep = <T>(n: number, f: () => T): T => (n === 0 ? f() : deep(n - 1, f));
    for (const code of cases) {
      const shallow = run(a, code, seeded());
      const fromDeep = deep(8000, () => run(a, code, seeded()));
      expect(shallow.ok).toBe(false);
      expect(JSON.stringify({ ...fromDeep, writes: [] })).toBe(JSON.stringify({ ...shallow, writes: [] }));
    }
  });

  it('gives the same results and gas on a fresh module instance and on one with another history', async () => {
    const ops: Op[] = [
      { method: 'add', args: { name: 'a', n: 3 }, caller: 'bank' },
      { method: 'work', args: { n: 25 }, caller: 'bank' },
      { method: 'fail', args: { name: 'a', n: 1 }, caller: 'bank' },
      { method: 'list', args: {}, caller: 'insurer' },
    ];
    const fresh = await ContractRuntime.create();
    const once = replay(fresh, ops);
    expect(replay(a, ops, a)).toEqual(once);
    expect(replay(b, ops)).toEqual(once);
    // Out of memory at the hard bound falls at the same point whatever ran before.
    const bomb =
      "exports.run = function () { const k = []; try { for (;;) k.push('x'.repeat(1000000) + k.length); } catch (e) { return [k.length, String(e)]; } };";
    const r1 = run(fresh, bomb, seeded());
    run(fresh, NOISE, seeded(), { i: 3 });
    const r2 = run(fresh, bomb, seeded());
    expect(r1).toMatchObject({ code: 'OK', returnValue: [expect.any(Number), 'InternalError: out of memory'] });
    expect(JSON.stringify({ ...r2, writes: [...r2.writes] })).toBe(JSON.stringify({ ...r1, writes: [...r1.writes] }));
  });

  it('property: random call sequences give identical results, gas and state on two runtimes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 6 }), (ops) => {
        const left = replay(a, ops);
        const right = replay(b, ops, b);
        expect(right).toEqual(left);
        const gas = left.results.map((t) => (JSON.parse(t) as ContractResult).gasUsed);
        expect(gas.every((g) => g > 0 && g <= 400_000)).toBe(true);
      }),
      { numRuns: 15, seed: 14 },
    );
  });
});
