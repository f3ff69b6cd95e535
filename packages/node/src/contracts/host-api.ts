/**
 * The native side of the `host` object the prelude builds: one function taking the operation's
 * name and its arguments as sandbox values. Values cross as JSON text only: out of the sandbox
 * through the bounded JSON.stringify the prelude captured, into it through the original JSON.parse.
 * A host operation is not re-entrant: contract code it runs (a getter met while serializing a
 * value) may not start another one.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import type { QuickJSContext, QuickJSHandle, VmCallResult } from 'quickjs-emscripten-core';
import { CONTRACT_LIMITS } from './limits.js';
import { type CallSession, jsonTextDepth } from './session.js';

export interface Internals {
  parse: QuickJSHandle;
  stringify: QuickJSHandle;
  hasOwn: QuickJSHandle;
}

/** Operations that run no contract code and change nothing: allowed while another is in progress. */
const PURE = new Set(['forbid', 'jsondepth']);

export function nativeHost(
  ctx: QuickJSContext,
  s: CallSession,
  internals: Internals,
  args: QuickJSHandle[],
): QuickJSHandle | VmCallResult<QuickJSHandle> {
  const op = args[0] === undefined || ctx.typeof(args[0]) !== 'string' ? '' : ctx.getString(args[0]);
  if (s.failure === undefined && s.inHost !== undefined && !PURE.has(op)) {
    s.fail(
      'CONTRACT_FORBIDDEN',
      `host.${op} called from contract code run by host.${s.inHost}: the host API is not re-entrant`,
    );
  }
  if (s.failure === undefined) {
    try {
      const out = dispatch(ctx, s, internals, op, args.slice(1));
      if (s.failure === undefined) return out;
      out.dispose();
    } catch (e) {
      s.fault = e;
      s.fail('CONTRACT_ERROR', `host.${op} failed in the node`);
    }
  }
  return { error: ctx.newError({ name: 'HostError', message: s.failure?.message ?? 'refused' }) };
}

function dispatch(
  ctx: QuickJSContext,
  s: CallSession,
  internals: Internals,
  op: string,
  a: QuickJSHandle[],
): QuickJSHandle {
  const str = (h: QuickJSHandle | undefined): string | undefined =>
    h !== undefined && ctx.typeof(h) === 'string' ? ctx.getString(h) : undefined;
  const plain = (h: QuickJSHandle | undefined): unknown => {
    if (h === undefined) return undefined;
    const t = ctx.typeof(h);
    if (t === 'string') return ctx.getString(h);
    if (t === 'number') return ctx.getNumber(h);
    if (t === 'undefined') return undefined;
    if (t === 'object' && ctx.sameValue(h, ctx.null)) return null;
    return NaN; // a type no key, prefix or limit has: refused by the session's checks
  };
  switch (op) {
    case 'forbid': {
      const what = str(a[0]) ?? 'a capability';
      s.fail(
        'CONTRACT_FORBIDDEN',
        `${what} is not available to contracts (no clock, randomness, dynamic code, GC timing or binary buffers)`,
      );
      return ctx.undefined;
    }
    case 'jsondepth': {
      const text = str(a[0]) ?? '';
      s.charge(Math.ceil(text.length / 100));
      return ctx.newNumber(jsonTextDepth(text));
    }
    case 'get': {
      const text = s.get(plain(a[0]));
      return text === undefined ? ctx.undefined : parseIn(ctx, s, internals, text);
    }
    case 'put': {
      const value = fromSandbox(ctx, s, internals, op, a[1]);
      if (value !== undefined) s.write('put', plain(a[0]), value);
      return ctx.undefined;
    }
    case 'del':
      s.write('del', plain(a[0]), null);
      return ctx.undefined;
    case 'range': {
      const entries = s.range(plain(a[0]), plain(a[1]), plain(a[2]));
      if (entries === undefined) return ctx.undefined;
      const text = `[${entries.map((e) => `{"key":${JSON.stringify(e.key)},"value":${e.value}}`).join(',')}]`;
      return parseIn(ctx, s, internals, text);
    }
    case 'emit': {
      const text = fromSandbox(ctx, s, internals, op, a[0]);
      if (text !== undefined) s.emit(JSON.parse(text) as JsonValue);
      return ctx.undefined;
    }
    case 'system': {
      const action = plain(a[0]);
      const text =
        a[1] === undefined || ctx.typeof(a[1]) === 'undefined' ? 'null' : fromSandbox(ctx, s, internals, op, a[1]);
      if (text === undefined) return ctx.undefined;
      const result = s.system(action, JSON.parse(text) as JsonValue);
      if (result === undefined) return ctx.undefined;
      return parseIn(ctx, s, internals, JSON.stringify(result));
    }
    default:
      s.fail('CONTRACT_ERROR', 'unknown host operation');
      return ctx.undefined;
  }
}

/** Canonical JSON text of a sandbox value, bounded; undefined (failure recorded) if it is not JSON. */
function fromSandbox(
  ctx: QuickJSContext,
  s: CallSession,
  internals: Internals,
  op: string,
  h: QuickJSHandle | undefined,
): string | undefined {
  if (h === undefined) {
    s.fail('CONTRACT_ERROR', `host.${op}: expected a JSON value`);
    return undefined;
  }
  s.inHost = `host.${op}`;
  let r: VmCallResult<QuickJSHandle>;
  try {
    r = ctx.callFunction(internals.stringify, ctx.undefined, h);
  } finally {
    s.inHost = undefined;
  }
  if (r.error !== undefined) {
    r.error.dispose();
    s.fail(
      'CONTRACT_ERROR',
      `host.${op}: expected a JSON value (no cycles, BigInt or nesting beyond ${CONTRACT_LIMITS.sandboxJsonDepth})`,
    );
    return undefined;
  }
  const text = r.value.consume((v) => (ctx.typeof(v) === 'string' ? ctx.getString(v) : undefined));
  if (s.failure !== undefined) return undefined;
  if (text === undefined) {
    s.fail('CONTRACT_ERROR', `host.${op}: expected a JSON value, got undefined, a function or a symbol`);
    return undefined;
  }
  if (text.length > Math.max(CONTRACT_LIMITS.valueBytes, CONTRACT_LIMITS.eventBytes) * 4) {
    s.fail('LIMIT_EXCEEDED', `host.${op}: expected a value of at most ${CONTRACT_LIMITS.valueBytes} bytes`);
    return undefined;
  }
  if (jsonTextDepth(text) > CONTRACT_LIMITS.jsonDepth) {
    s.fail('LIMIT_EXCEEDED', `host.${op}: expected a value nested at most ${CONTRACT_LIMITS.jsonDepth} levels deep`);
    return undefined;
  }
  try {
    // Canonical form: the same bytes on every peer whatever the key order the contract built.
    return canonicalize(JSON.parse(text));
  } catch {
    s.fail('CONTRACT_ERROR', `host.${op}: expected JSON without lone surrogates`);
    return undefined;
  }
}

/** A sandbox value parsed from JSON text by the original JSON.parse (the text's depth is bounded). */
function parseIn(ctx: QuickJSContext, s: CallSession, internals: Internals, text: string): QuickJSHandle {
  const textH = ctx.newString(text);
  const r = ctx.callFunction(internals.parse, ctx.undefined, textH);
  textH.dispose();
  if (r.error !== undefined) {
    r.error.dispose();
    if (s.failure === undefined) s.fail('CONTRACT_ERROR', 'the host could not pass a value into the sandbox');
    return ctx.undefined;
  }
  return r.value;
}

/** Records why the contract stopped, from the value it threw (unless a failure is already recorded). */
export function failWith(ctx: QuickJSContext, s: CallSession, err: QuickJSHandle, context: string): void {
  if (s.failure !== undefined) return;
  const t = ctx.typeof(err);
  let name = '';
  let message = '';
  if (t === 'object' && !ctx.sameValue(err, ctx.null)) {
    try {
      const n = ctx.getProp(err, 'name');
      const m = ctx.getProp(err, 'message');
      name = ctx.typeof(n) === 'string' ? ctx.getString(n) : '';
      message = ctx.typeof(m) === 'string' ? ctx.getString(m) : '';
      n.dispose();
      m.dispose();
    } catch {
      // a getter or proxy that throws: the generic message below
    }
  } else if (t === 'string') {
    message = ctx.getString(err);
  }
  if (s.failure !== undefined) return;
  if (/^(InternalError|RangeError)$/.test(name) && /^out of memory$/.test(message)) {
    s.fail('LIMIT_EXCEEDED', `the contract ran out of memory (limit ${CONTRACT_LIMITS.memoryBytes} bytes)`);
  } else if (name === 'InternalError' && message === 'string too long') {
    s.fail('LIMIT_EXCEEDED', 'the contract built a string longer than the engine allows (2^30 - 1 characters)');
  } else if (/stack overflow/.test(message) && /^(InternalError|RangeError|SyntaxError)$/.test(name)) {
    s.fail('LIMIT_EXCEEDED', `the contract exceeded the stack limit (${CONTRACT_LIMITS.stackBytes} bytes)`);
  } else if (t === 'object' && (name !== '' || message !== '')) {
    s.fail('CONTRACT_ERROR', `${context}: ${name || 'Error'}: ${message}`);
  } else if (t === 'string') {
    s.fail('CONTRACT_ERROR', `${context}: a string: ${message}`);
  } else {
    s.fail('CONTRACT_ERROR', `${context}: a value of type ${t}, not an Error`);
  }
}
