/**
 * The contract runtime's host API and gas (issue 14, part 1): what a contract reads and writes, what
 * a call costs, and what it may be given. Determinism across runtimes is in
 * contracts-determinism.test.ts.
 */

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CONTRACT_LIMITS,
  ContractRuntime,
  type ContractSystemHost,
  codeProblem,
  GAS,
  isGranted,
  ManifestError,
  parseManifest,
} from '../src/contracts/index.js';
import { COUNTERS, callOf, MANIFEST, run, seeded } from './contracts-helpers.js';

let a: ContractRuntime;

describe('contract runtime', () => {
  beforeAll(async () => {
    a = await ContractRuntime.create();
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

  it("ends a call whose gas runs out in the runtime's own first steps OUT_OF_GAS, and stays usable", () => {
    // A member picks the gas of a call: no limit may turn into an engine fault (which halts a block
    // on every peer). Limits around the up-front charge and the prelude's first interpreter tick.
    const code = 'exports.run = function () { return 1; };';
    const codes = new Set<string>();
    for (let gas = 1; gas <= 3 * GAS.tick; gas += Math.floor(GAS.tick / 7)) {
      const r = run(a, code, seeded(), {}, { gasLimit: gas });
      expect(['OK', 'OUT_OF_GAS']).toContain(r.code);
      if (r.code === 'OUT_OF_GAS') expect(r.gasUsed).toBe(gas);
      codes.add(r.code);
      expect(a.usable).toBe(true);
    }
    expect(codes.has('OUT_OF_GAS')).toBe(true);
    expect(run(a, code, seeded()).code).toBe('OK');
  });
});
