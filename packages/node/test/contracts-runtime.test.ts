/**
 * The contract runtime's host API, gas and determinism (issue 14, part 1): what a contract reads
 * and writes, what a call costs, and that the same calls on the same state give the same results
 * and gas on independent runtimes with different histories (a property test with random calls).
 */

import { readFileSync } from 'node:fs';
import type { JsonValue } from '@custos/protocol/jcs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CONTRACT_LIMITS,
  type ContractResult,
  ContractRuntime,
  type ContractSystemHost,
  codeProblem,
  GAS,
  isGranted,
  ManifestError,
  parseManifest,
} from '../src/contracts/index.js';
import { callOf, MANIFEST, MemoryState, run, seeded } from './contracts-helpers.js';

/** A small ledger of counters, with the kinds of work a random call sequence exercises. */
const COUNTERS = `
exports.add = function (args, call) {
  const key = 'main/c/' + args.name;
  const cur = host.get(key) || { n: 0, by: [] };
  cur.n += args.n;
  cur.by.push(call.caller);
  if (cur.by.length > 5) cur.by.shift();
  host.put(key, cur);
  host.emit({ type: 'added', name: args.name, n: args.n });
  return cur.n;
};
exports.remove = function (args) { host.del('main/c/' + args.name); return null; };
exports.list = function () { return host.range('main/c/', null, 20).map((e) => [e.key, e.value.n]); };
exports.work = function (args) {
  let x = 0;
  for (let i = 0; i < args.n * 1000; i++) x = (x * 31 + i) % 1000003;
  const keep = [];
  for (let i = 0; i < args.n * 100; i++) keep.push({ i, s: 'v' + i });
  host.put('aux/result', { x, kept: keep.length });
  return keep.length;
};
exports.fail = function (args) { host.put('main/c/' + args.name, { n: -1 }); throw new Error('refused ' + args.n); };
exports.spin = function () { for (;;) {} };
`;

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

describe('contract runtime', () => {
  beforeAll(async () => {
    [a, b] = await Promise.all([ContractRuntime.create(), ContractRuntime.create()]);
  });

  it('reads, writes, deletes, ranges over its own state through the call overlay, and emits events', () => {
    const state = seeded();
    const r = run(
      a,
      `exports.run = function (args, call) {
        host.put('main/a', { v: 1 }); host.put('main/b', 2); host.put('aux/x', true); host.del('main/seed');
        return { seed: host.get('main/seed') === undefined, r: host.range('main/', null, 10), after: host.range('main/', 'main/a', 10), call };
      };`,
      state,
    );
    expect(r.code).toBe('OK');
    expect(r.returnValue).toEqual({
      seed: true,
      r: [
        { key: 'main/a', value: { v: 1 } },
        { key: 'main/b', value: 2 },
      ],
      after: [{ key: 'main/b', value: 2 }],
      call: { caller: 'bank', contract: 'test', height: 10, method: 'run', time: 1_700_000_000_000 },
    });
    expect([...r.writes]).toEqual([
      ['contract/test/main/a', '{"v":1}'],
      ['contract/test/main/b', '2'],
      ['contract/test/aux/x', 'true'],
      ['contract/test/main/seed', null],
    ]);
    state.apply(r);
    expect(state.get('contract/test/main/seed')).toBeUndefined();
    expect(state.get('member/bank')).toBe('{"id":"bank"}');
  });

  it('runs a granted system action through the hook, whose writes are part of the call', () => {
    const seen: string[] = [];
    const hook: ContractSystemHost = {
      call(action, args, ctx) {
        seen.push(`${action} ${JSON.stringify(args)} ${ctx.caller} ${ctx.contract}`);
        ctx.state.put('data/use/1', { by: ctx.contract });
        return { granted: true };
      },
    };
    const ok = run(
      a,
      "exports.run = () => host.system('data.access', { record: 'r1' });",
      seeded(),
      {},
      { system: hook },
    );
    expect(ok.code).toBe('OK');
    expect(ok.returnValue).toEqual({ granted: true });
    expect(ok.writes.get('data/use/1')).toBe('{"by":"test"}');
    expect(seen).toEqual(['data.access {"record":"r1"} bank test']);
    const failed = run(
      a,
      "exports.run = () => { host.system('data.access', {}); throw 'no'; };",
      seeded(),
      {},
      { system: hook },
    );
    expect(failed.code).toBe('CONTRACT_ERROR');
    expect(failed.writes.size).toBe(0);
  });

  it('charges gas by the schedule: more work, more memory kept and more bytes cost more', () => {
    const state = seeded();
    const small = run(a, COUNTERS.replace('exports.add', 'exports.run'), state, { name: 'a', n: 1 });
    expect(small.code).toBe('OK');
    const floor = GAS.call + GAS.codeByte * Buffer.byteLength(COUNTERS.replace('exports.add', 'exports.run'));
    expect(small.gasUsed).toBeGreaterThan(floor);
    const work = (n: number) => a.call(callOf(COUNTERS, seeded(), 'work', { n }, { gasLimit: 5_000_000 }));
    const [w1, w10, w30] = [work(1), work(10), work(30)];
    expect(w1.gasUsed).toBeLessThan(w10.gasUsed);
    expect(w10.gasUsed).toBeLessThan(w30.gasUsed);
    const keep = (n: number) =>
      run(a, `exports.run = function () { globalThis.kept = new Array(${n}).fill(1); return 1; };`, seeded());
    // 200,000 elements kept alive at the end of the call: at least 1.6 MB, over 24 pages.
    expect(keep(200_000).gasUsed - keep(10).gasUsed).toBeGreaterThanOrEqual(24 * GAS.memoryPage);
  });

  it('caps the gas limit by the manifest and by the runtime limit, and reports the whole limit when it runs out', () => {
    const manifest = { ...MANIFEST, maxGas: 250_000 };
    const r = a.call(callOf(COUNTERS, seeded(), 'spin', {}, { manifest, gasLimit: 10_000_000 }));
    expect(r).toMatchObject({ code: 'OUT_OF_GAS', gasLimit: 250_000, gasUsed: 250_000 });
    const cap = a.call(
      callOf(COUNTERS, seeded(), 'list', {}, { manifest: { ...MANIFEST, maxGas: 1e9 }, gasLimit: 1e9 }),
    );
    expect(cap.gasLimit).toBe(CONTRACT_LIMITS.maxGasPerCall);
    const tiny = a.call(callOf(COUNTERS, seeded(), 'list', {}, { gasLimit: 100 }));
    expect(tiny).toMatchObject({ code: 'OUT_OF_GAS', gasUsed: 100 });
  });

  it('refuses bad input before running, saying what was expected', () => {
    expect(a.call(callOf(COUNTERS, seeded(), '1bad')).error).toContain('expected a method name');
    expect(a.call(callOf(COUNTERS, seeded(), 'missing')).error).toBe('the contract exports no missing');
    expect(a.call(callOf(COUNTERS, seeded(), 'toString')).code).toBe('CONTRACT_ERROR');
    expect(a.call(callOf('exports.run = (', seeded())).error).toContain('SyntaxError');
    expect(codeProblem('x'.repeat(CONTRACT_LIMITS.codeBytes + 1))).toContain('at most 65536 bytes');
    expect(codeProblem(`/${'('.repeat(70)}${')'.repeat(70)}/`)).toContain('nested deeper than 64');
    expect(
      codeProblem('const s = "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("; // (((((((('),
    ).toBeNull();
  });

  it('publishes the gas schedule and the limits in docs/contracts.md as they are in code', () => {
    const doc = readFileSync(new URL('../../../docs/contracts.md', import.meta.url), 'utf8');
    const rows = [...Object.entries(GAS), ...Object.entries(CONTRACT_LIMITS).filter(([k]) => k !== 'errorChars')];
    for (const [k, v] of rows) expect(doc, k).toContain(`| \`${k}\` | ${v.toLocaleString('en-US')}`);
    expect(doc).toContain(`cut to ${CONTRACT_LIMITS.errorChars} characters`);
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

  it('parses manifests strictly and checks grants exactly', () => {
    const m = parseManifest({
      name: 'loyalty',
      version: '1.2.3',
      namespaces: ['points'],
      grants: ['data.access'],
      maxGas: 1000,
    });
    expect(m).toMatchObject({ name: 'loyalty', grants: ['data.access'], categories: [], purposes: [] });
    expect(isGranted(m, 'data.access')).toBe(true);
    expect(isGranted(m, 'data.share')).toBe(false);
    expect(() => parseManifest({ ...m, maxGas: 1e12 })).toThrow(ManifestError);
    expect(() => parseManifest({ ...m, namespaces: [] })).toThrow('manifest.namespaces');
    expect(() => parseManifest({ ...m, extra: 1 })).toThrow('unexpected manifest.extra');
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
