/**
 * Hostile contracts (issue 14): each is stopped with one exact result code, twice with the same
 * result and gas, keeps nothing it wrote, and leaves the runtime as it found it (a benign call
 * gives the same result and gas before and after the whole suite).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ContractCode,
  type ContractResult,
  ContractRuntime,
  type ContractSystemHost,
  SystemActionRefused,
} from '../src/contracts/index.js';
import { run, seeded } from './contracts-helpers.js';

interface Hostile {
  name: string;
  code: string;
  expect: ContractCode;
  /** Part of the error message expected. */
  says?: string;
  args?: unknown;
  gasLimit?: number;
  system?: ContractSystemHost;
}

const LOW_GAS = 300_000;
const m = (body: string) => `exports.run = function run(args, call) { ${body} };`;

const refusingHost: ContractSystemHost = {
  call(action) {
    throw new SystemActionRefused('NO_LAWFUL_BASIS', `no live consent covers ${action}`);
  },
};

const HOSTILE: Hostile[] = [
  // endless work
  { name: 'infinite loop', code: m('for (;;) {}'), expect: 'OUT_OF_GAS', gasLimit: LOW_GAS },
  {
    name: 'infinite loop that catches the interruption',
    code: m('for (;;) { try { for (;;) {} } catch (e) {} }'),
    expect: 'OUT_OF_GAS',
    gasLimit: LOW_GAS,
  },
  {
    name: 'writes, then loops: the writes are rolled back',
    code: m("host.put('main/a', 1); host.emit({ type: 'x' }); for (;;) {}"),
    expect: 'OUT_OF_GAS',
    gasLimit: LOW_GAS,
  },
  {
    name: 'regex catastrophic backtracking',
    code: m("return /(a+)+b/.test('a'.repeat(40));"),
    expect: 'OUT_OF_GAS',
    gasLimit: LOW_GAS,
  },
  {
    name: 'loop at top level, before any method',
    code: 'for (;;) {} exports.run = () => 1;',
    expect: 'OUT_OF_GAS',
    gasLimit: LOW_GAS,
  },
  // stack
  {
    name: 'deep recursion',
    code: m('function r() { return r() + 1 } return r();'),
    expect: 'LIMIT_EXCEEDED',
    says: 'stack',
  },
  {
    name: 'recursion caught and retried forever',
    code: m('function r() { r() } for (;;) { try { r() } catch (e) {} }'),
    expect: 'OUT_OF_GAS',
    gasLimit: 100_000,
  },
  {
    name: 'generator delegating to itself',
    code: m('function* g() { yield* g() } return [...g()];'),
    expect: 'LIMIT_EXCEEDED',
    says: 'stack',
  },
  {
    name: 'nested arrays turned into a string (native recursion)',
    code: m('let a = []; for (let i = 0; i < 100000; i++) a = [a]; return String(a).length;'),
    expect: 'LIMIT_EXCEEDED',
    says: 'stack',
  },
  {
    name: 'JSON bomb parsed inside the contract',
    code: m("return JSON.parse('['.repeat(100000));"),
    expect: 'CONTRACT_ERROR',
    says: 'nesting deeper than 64',
  },
  {
    name: 'source nested 600 brackets deep',
    code: m(`return ${'('.repeat(600)}1${')'.repeat(600)};`),
    expect: 'CONTRACT_ERROR',
    says: 'nested at most 64',
  },
  {
    name: 'regular-expression literal nested 5000 groups deep',
    code: m(`return /${'('.repeat(5000)}a${')'.repeat(5000)}/.test('a');`),
    expect: 'CONTRACT_ERROR',
    says: 'nested deeper than 64',
  },
  // memory
  {
    name: 'memory bomb: a megabyte per step, all kept',
    code: m("const keep = []; for (;;) keep.push('x'.repeat(1 << 20) + keep.length);"),
    expect: 'LIMIT_EXCEEDED',
    says: 'memory',
  },
  { name: 'string bomb', code: m("let s = 'xx'; for (;;) s += s;"), expect: 'LIMIT_EXCEEDED', says: 'string longer' },
  {
    name: 'string bomb flattened',
    code: m("let s = 'xx'; for (let i = 0; i < 26; i++) s += s; return s.indexOf('y');"),
    expect: 'LIMIT_EXCEEDED',
    says: 'memory',
  },
  {
    name: 'array bomb',
    code: m('return new Array(2 ** 30).fill(0).length;'),
    expect: 'LIMIT_EXCEEDED',
    says: 'memory',
  },
  // ambient authority
  { name: 'Date', code: m('return new Date().getTime();'), expect: 'CONTRACT_FORBIDDEN', says: 'Date' },
  {
    name: 'Date.now caught, then a write',
    code: m("try { Date.now() } catch (e) {} host.put('main/t', 1); return 1;"),
    expect: 'CONTRACT_FORBIDDEN',
    says: 'Date.now',
  },
  { name: 'Math.random', code: m('return Math.random();'), expect: 'CONTRACT_FORBIDDEN', says: 'Math.random' },
  { name: 'eval', code: m("return (0, eval)('1 + 1');"), expect: 'CONTRACT_FORBIDDEN', says: 'eval' },
  { name: 'direct eval', code: m("return eval('args');"), expect: 'CONTRACT_FORBIDDEN', says: 'eval' },
  { name: 'Function', code: m("return new Function('return 1')();"), expect: 'CONTRACT_FORBIDDEN', says: 'Function' },
  {
    name: 'Function.prototype and instanceof still work, its constructor does not',
    code: m(
      "if (!(run instanceof Function) || typeof Function.prototype.call !== 'function') throw 'broken'; return Function.prototype.constructor('1');",
    ),
    expect: 'CONTRACT_FORBIDDEN',
  },
  {
    name: 'constructor of a function',
    code: m("return (function () {}).constructor('return globalThis')();"),
    expect: 'CONTRACT_FORBIDDEN',
  },
  {
    name: 'constructor of async and generator functions',
    code: m(
      "const A = (async () => {}).constructor; const G = (function* () {}).constructor; return [A('1'), G('1')];",
    ),
    expect: 'CONTRACT_FORBIDDEN',
  },
  {
    name: 'WeakRef (observes garbage collection)',
    code: m('return new WeakRef({}).deref() === undefined;'),
    expect: 'CONTRACT_FORBIDDEN',
  },
  {
    name: 'typed arrays (NaN bit patterns differ between CPUs)',
    code: m('return new Uint8Array(new Float64Array([0 / 0]).buffer)[7];'),
    expect: 'CONTRACT_FORBIDDEN',
  },
  {
    name: 'WebAssembly',
    code: m('return WebAssembly.Module;'),
    expect: 'CONTRACT_FORBIDDEN',
    says: 'WebAssembly.Module',
  },
  { name: 'Date coerced to a string', code: m("return 'now: ' + Date;"), expect: 'CONTRACT_FORBIDDEN', says: 'Date.' },
  // tampering
  {
    name: 'replacing a host function (strict mode)',
    code: `'use strict'; ${m("host.put = function () {}; host.put('main/a', 1);")}`,
    expect: 'CONTRACT_ERROR',
    says: 'TypeError',
  },
  {
    name: 'rebinding the host object changes only what the contract sees',
    code: m(
      "Object.defineProperty(globalThis, 'host', { value: { get: () => 'fake' } }); throw new Error(host.get('main/seed') === 'fake' ? 'own view only' : 'kept');",
    ),
    expect: 'CONTRACT_ERROR',
    says: 'own view only',
  },
  {
    name: 'rebinding Date to reach a clock finds none',
    code: m(
      "Object.defineProperty(globalThis, 'Date', { value: 1 }); return Object.getPrototypeOf(function () {}).constructor('return Date')();",
    ),
    expect: 'CONTRACT_FORBIDDEN',
  },
  {
    name: 'setters on Object.prototype do not see values the host passes in',
    code: m(
      "let stolen; Object.defineProperty(Object.prototype, 'value', { set(v) { stolen = v }, configurable: true }); const r = host.range('main/', null, 10); throw new Error(stolen === undefined && r[0].value.n === 1 ? 'not stolen' : 'stolen');",
    ),
    expect: 'CONTRACT_ERROR',
    says: 'not stolen',
  },
  {
    name: 'tampered JSON, Array and Function prototypes do not change what the host stores',
    code: m(
      "Array.prototype.push = null; Function.prototype.call = null; Function.prototype.apply = null; Object.prototype.toJSON = undefined; host.put('main/v', { a: [1, 2] }); throw new Error(JSON.stringify(host.get('main/v')));",
    ),
    expect: 'CONTRACT_ERROR',
    says: '{"a":[1,2]}',
  },
  // what a contract throws
  { name: 'throws a string', code: m("throw 'boom';"), expect: 'CONTRACT_ERROR', says: 'a string: boom' },
  { name: 'throws an object', code: m('throw { code: 42 };'), expect: 'CONTRACT_ERROR', says: 'not an Error' },
  { name: 'throws a symbol', code: m("throw Symbol('s');"), expect: 'CONTRACT_ERROR', says: 'symbol' },
  {
    name: 'throws an error whose message getter loops',
    code: m("const e = new Error('x'); Object.defineProperty(e, 'message', { get() { for (;;) {} } }); throw e;"),
    expect: 'OUT_OF_GAS',
    gasLimit: LOW_GAS,
  },
  // return values
  { name: 'huge return value', code: m("return 'x'.repeat(100000);"), expect: 'LIMIT_EXCEEDED', says: 'return value' },
  { name: 'cyclic return value', code: m('const a = {}; a.a = a; return a;'), expect: 'CONTRACT_ERROR' },
  { name: 'BigInt return value', code: m('return 10n;'), expect: 'CONTRACT_ERROR' },
  {
    name: 'getter on the returned object uses the host',
    code: m("return { get x() { host.put('main/late', 1); return 1 } };"),
    expect: 'CONTRACT_FORBIDDEN',
    says: 'conversion of the return value',
  },
  {
    name: 'Proxy whose ownKeys trap loops',
    code: m('return new Proxy({}, { ownKeys() { for (;;) {} } });'),
    expect: 'OUT_OF_GAS',
    gasLimit: LOW_GAS,
  },
  {
    name: 'Proxy passed to host.put whose get trap re-enters the host',
    code: m("host.put('main/p', new Proxy({ a: 1 }, { get(t, k) { host.del('main/seed'); return t[k] } }));"),
    expect: 'CONTRACT_FORBIDDEN',
    says: 're-entrant',
  },
  {
    name: 're-entering the host from toJSON',
    code: m("host.put('main/a', { toJSON() { host.put('main/b', 2); return 1 } });"),
    expect: 'CONTRACT_FORBIDDEN',
    says: 're-entrant',
  },
  {
    name: 'promise jobs left pending',
    code: m("Promise.resolve().then(() => host.put('main/later', 1)); return 1;"),
    expect: 'CONTRACT_FORBIDDEN',
    says: 'pending',
  },
  {
    name: 'async method that awaits',
    code: 'exports.run = async function () { await 1; return 2; };',
    expect: 'CONTRACT_FORBIDDEN',
  },
  // namespaces and capabilities
  {
    name: 'reading another namespace',
    code: m(
      "if (host.get('main/../../other/main/secret') !== undefined) throw 'leak'; return host.get('other/secret');",
    ),
    expect: 'CONTRACT_FORBIDDEN',
    says: 'outside',
  },
  {
    name: 'ranging over a system prefix',
    code: m("return host.range('member/', null, 10);"),
    expect: 'CONTRACT_FORBIDDEN',
  },
  {
    name: 'calling a system action not granted',
    code: m("return host.system('data.share', { record: 'r' });"),
    expect: 'CONTRACT_FORBIDDEN',
    says: 'does not grant data.share',
  },
  {
    name: 'a granted system action refused (no consent) cannot be caught',
    code: m("try { host.system('data.access', { record: 'r' }) } catch (e) {} host.put('main/used', 1); return 1;"),
    expect: 'NO_LAWFUL_BASIS',
    system: refusingHost,
  },
  // bounds
  {
    name: 'too many keys written',
    code: m("for (let i = 0; i < 300; i++) host.put('main/k' + i, i);"),
    expect: 'LIMIT_EXCEEDED',
  },
  {
    name: 'too many events',
    code: m("for (let i = 0; i < 100; i++) host.emit({ type: 'e' });"),
    expect: 'LIMIT_EXCEEDED',
  },
  { name: 'value too large', code: m("host.put('main/big', 'x'.repeat(20000));"), expect: 'LIMIT_EXCEEDED' },
  { name: 'range limit too high', code: m("return host.range('main/', null, 100000);"), expect: 'LIMIT_EXCEEDED' },
  {
    name: 'JSON bomb in the arguments',
    code: m('return 1;'),
    args: JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`),
    expect: 'INVALID_ARGS',
  },
  { name: 'oversized arguments', code: m('return 1;'), args: { s: 'x'.repeat(20000) }, expect: 'INVALID_ARGS' },
  {
    name: 'exports replaced by a throwing getter',
    code: "Object.defineProperty(globalThis, 'exports', { get() { throw new Error('no') } });",
    expect: 'CONTRACT_ERROR',
  },
];

const BENIGN = m(
  "const s = host.get('main/seed'); host.put('main/out', { n: s.n + args.k }); host.emit({ type: 'done' }); return s.n;",
);

let rt: ContractRuntime;
let baseline: ContractResult;

describe('hostile contracts', () => {
  beforeAll(async () => {
    rt = await ContractRuntime.create();
    baseline = run(rt, BENIGN, seeded(), { k: 2 });
  });

  it(`has at least 25 hostile contracts (${HOSTILE.length})`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(25);
    expect(baseline.code).toBe('OK');
  });

  for (const h of HOSTILE) {
    it(`${h.name}: ${h.expect}`, () => {
      const state = seeded();
      const before = state.snapshot();
      const over = { gasLimit: h.gasLimit ?? 5_000_000, ...(h.system === undefined ? {} : { system: h.system }) };
      const first = run(rt, h.code, state, (h.args ?? {}) as never, over);
      const second = run(rt, h.code, state, (h.args ?? {}) as never, over);
      expect({ code: first.code, error: first.error }).toMatchObject({ code: h.expect });
      if (h.says !== undefined) expect(first.error).toContain(h.says);
      expect(first.ok).toBe(false);
      expect(first.writes.size).toBe(0);
      expect(first.events).toEqual([]);
      expect(first.returnValue).toBeNull();
      expect(first.gasUsed).toBeLessThanOrEqual(first.gasLimit);
      if (h.expect === 'OUT_OF_GAS') expect(first.gasUsed).toBe(first.gasLimit);
      expect(JSON.stringify({ ...second, writes: [...second.writes] })).toBe(
        JSON.stringify({ ...first, writes: [...first.writes] }),
      );
      state.apply(first);
      expect(state.snapshot()).toBe(before);
    });
  }

  it('leaves the runtime as it found it: the benign call gives the same result and gas', () => {
    const after = run(rt, BENIGN, seeded(), { k: 2 });
    expect(after.code).toBe('OK');
    expect(after.gasUsed).toBe(baseline.gasUsed);
    expect([...after.writes]).toEqual([...baseline.writes]);
    expect(after.returnValue).toEqual(1);
  });
});
