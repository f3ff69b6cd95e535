/**
 * The trusted script run in every fresh context before the contract: it removes ambient authority,
 * bounds the builtins that recurse natively on nested data, and builds the frozen `host` object.
 * It evaluates to a function taking the native host function; that function returns the helpers
 * the runtime keeps (the original JSON.parse and the bounded JSON.stringify), captured before any
 * contract code could replace them.
 *
 * Removed capabilities are replaced, not deleted: calling, constructing or reading a property of one
 * reports CONTRACT_FORBIDDEN to the host, which ends the call with that code even if the contract
 * catches the error. (`typeof` and identity comparisons do not count as uses.)
 *
 * QuickJS lets a script redefine even non-configurable properties of the global object, so nothing
 * here relies on a global binding staying put: the host functions and helpers the runtime uses are
 * captured in this closure before the contract runs, and a contract that rebinds `host` or `JSON`
 * only changes what its own code sees.
 */
import { CONTRACT_LIMITS } from './limits.js';

/** Globals replaced by a stub that reports CONTRACT_FORBIDDEN when called or constructed. */
export const FORBIDDEN_GLOBALS = [
  // clock and time zone
  'Date',
  // dynamic code
  'eval',
  'Function',
  // garbage-collection timing is observable through these
  'WeakRef',
  'FinalizationRegistry',
  // binary buffers: NaN bit patterns written through them differ between CPUs
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  // absent from this build; stubbed so that code probing for them gets the same answer everywhere
  'WebAssembly',
  'Atomics',
] as const;

export const PRELUDE = `(function (native) {
  'use strict';
  const G = globalThis;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const getPrototypeOf = Object.getPrototypeOf;
  const hasOwnProperty = Object.prototype.hasOwnProperty;
  const apply = Reflect.apply;
  const isArray = Array.isArray;
  const arraySome = Array.prototype.some;
  const StringC = String;
  const NumberC = Number;
  const RangeErrorC = RangeError;
  const WeakMapC = WeakMap;
  const wmGet = WeakMap.prototype.get;
  const wmSet = WeakMap.prototype.set;
  const origParse = JSON.parse;
  const origStringify = JSON.stringify;
  const MAX = ${CONTRACT_LIMITS.sandboxJsonDepth};

  function lock(obj, key, value) {
    defineProperty(obj, key, { value: value, writable: false, enumerable: false, configurable: false });
  }
  const ProxyC = Proxy;
  const StringOf = String;
  // A stub that reports any use: a call, construction or property access (Date.now, WebAssembly.Module).
  // For Function, \`Function.prototype\` and \`x instanceof Function\` keep working (the real
  // prototype, whose constructor is poisoned too).
  const FunctionProto = getPrototypeOf(function () {});
  const hasInstance = Symbol.hasInstance;
  function poisoned(name) {
    const f = function () { return native('forbid', name); };
    defineProperty(f, 'name', { value: name });
    const touch = function (t, k) { return native('forbid', k === undefined ? name : name + '.' + StringOf(k)); };
    const get = function (t, k) {
      if (name === 'Function' && k === 'prototype') return FunctionProto;
      if (name === 'Function' && k === hasInstance) return undefined;
      return touch(t, k);
    };
    return new ProxyC(f, {
      get: get, set: touch, has: touch, deleteProperty: touch, defineProperty: touch,
      getOwnPropertyDescriptor: touch, ownKeys: touch, getPrototypeOf: touch, setPrototypeOf: touch,
    });
  }

  const forbidden = ${JSON.stringify(FORBIDDEN_GLOBALS)};
  for (let i = 0; i < forbidden.length; i++) lock(G, forbidden[i], poisoned(forbidden[i]));
  lock(Math, 'random', poisoned('Math.random'));
  const fnProtos = [
    getPrototypeOf(function () {}),
    getPrototypeOf(async function () {}),
    getPrototypeOf(function* () {}),
    getPrototypeOf(async function* () {}),
  ];
  for (let i = 0; i < fnProtos.length; i++) lock(fnProtos[i], 'constructor', G.Function);

  // Builtins that recurse in C on nested data use the host's native stack, which QuickJS does not
  // bound: JSON.parse and JSON.stringify refuse nesting beyond MAX, flat flattens at most MAX
  // levels, and join / toString / toLocaleString run through a JavaScript frame per level so that
  // QuickJS's own stack limit stops a deep structure.
  const parse = function parse(text, reviver) {
    const s = StringC(text);
    if (native('jsondepth', s) > MAX) throw new RangeErrorC('JSON.parse: nesting deeper than ' + MAX + ' levels');
    return reviver === undefined ? origParse(s) : origParse(s, reviver);
  };
  const stringify = function stringify(value, replacer, space) {
    const depths = new WeakMapC();
    const user = typeof replacer === 'function' ? replacer : undefined;
    let allow;
    if (isArray(replacer)) {
      allow = [];
      for (let i = 0; i < replacer.length; i++) {
        const k = replacer[i];
        if (typeof k === 'string' || typeof k === 'number') allow[allow.length] = StringC(k);
      }
    }
    const bounded = function (key, v) {
      if (allow !== undefined && key !== '' && !isArray(this) && allow.indexOf(key) < 0) return undefined;
      if (user !== undefined) v = apply(user, this, [key, v]);
      if (typeof v === 'object' && v !== null) {
        const d = (apply(wmGet, depths, [this]) || 0) + 1;
        if (d > MAX) throw new RangeErrorC('JSON.stringify: nesting deeper than ' + MAX + ' levels');
        apply(wmSet, depths, [v, d]);
      }
      return v;
    };
    return origStringify(value, bounded, space);
  };
  lock(JSON, 'parse', parse);
  lock(JSON, 'stringify', stringify);

  const AP = Array.prototype;
  const origFlat = AP.flat;
  AP.flat = { flat(depth) {
    const n = depth === undefined ? 1 : NumberC(depth);
    if (n > MAX) {
      const r = apply(origFlat, this, [MAX]);
      if (apply(arraySome, r, [isArray])) throw new RangeErrorC('Array.prototype.flat: nesting deeper than ' + MAX + ' levels');
      return r;
    }
    return apply(origFlat, this, [n]);
  } }.flat;
  const origJoin = AP.join;
  const origToString = AP.toString;
  const origToLocale = AP.toLocaleString;
  AP.join = { join(sep) { return apply(origJoin, this, [sep]); } }.join;
  AP.toString = { toString() { return apply(origToString, this, []); } }.toString;
  AP.toLocaleString = { toLocaleString() { return apply(origToLocale, this, []); } }.toLocaleString;

  const host = freeze({
    get: function get(key) { return native('get', key); },
    put: function put(key, value) { native('put', key, value); },
    del: function del(key) { native('del', key); },
    range: function range(prefix, after, limit) { return native('range', prefix, after, limit); },
    emit: function emit(event) { native('emit', event); },
    system: function system(action, args) { return native('system', action, args); },
  });
  lock(G, 'host', host);
  G.exports = {};
  return freeze({
    parse: origParse,
    stringify: stringify,
    hasOwn: function (o, k) { return apply(hasOwnProperty, o, [k]); },
  });
})`;
