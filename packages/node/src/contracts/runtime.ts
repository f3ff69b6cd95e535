/**
 * The contract runtime: runs one method of a contract in a fresh QuickJS runtime and context,
 * metered by the gas schedule, and returns its writes, events and return value, or a failure
 * code with nothing kept. Synchronous, so a system module can call it inside block execution.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, VmCallResult } from 'quickjs-emscripten-core';
import { codeProblem } from './code-check.js';
import { ContractEngineFault, QuickJSEngine } from './engine.js';
import { failWith, type Internals, nativeHost } from './host-api.js';
import { CONTRACT_LIMITS, GAS, MEMORY_PAGE_BYTES } from './limits.js';
import { PRELUDE } from './prelude.js';
import { CallSession, jsonDepth, jsonTextDepth } from './session.js';
import type { ContractCall, ContractResult } from './types.js';

let shared: Promise<ContractRuntime> | undefined;
let loaded: ContractRuntime | undefined;

/**
 * The process's contract runtime, loaded once (every peer of a process shares it: each call starts
 * from the same module state). A runtime whose engine failed is replaced by a fresh one.
 */
export function loadContractRuntime(): Promise<ContractRuntime> {
  if (loaded !== undefined && !loaded.usable) shared = undefined;
  shared ??= ContractRuntime.create().then((r) => {
    loaded = r;
    return r;
  });
  return shared;
}

/** The runtime `loadContractRuntime` loaded, if it did (for synchronous readers such as the audit). */
export function loadedContractRuntime(): ContractRuntime | undefined {
  return loaded;
}

const METHOD = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

export class ContractRuntime {
  private constructor(private readonly engine: QuickJSEngine) {}

  /** False once the engine failed (then every call throws ContractEngineFault). */
  get usable(): boolean {
    return this.engine.usable;
  }

  /** Loads the WebAssembly module (once per process or per runtime; the only asynchronous step). */
  static async create(): Promise<ContractRuntime> {
    return new ContractRuntime(await QuickJSEngine.load());
  }

  /**
   * Runs `call`. Never throws for anything the contract does; throws ContractEngineFault if the
   * engine itself failed (then this runtime refuses further calls), and rethrows an exception of
   * the system hook that is not a refusal.
   */
  call(call: ContractCall): ContractResult {
    const limit = Math.max(0, Math.min(call.gasLimit, call.manifest.maxGas, CONTRACT_LIMITS.maxGasPerCall));
    const s = new CallSession(call, limit);
    const argsText = this.checkInput(call, s);
    if (argsText === undefined) return s.result(null);
    let returnValue: JsonValue = null;
    this.engine.reset();
    let rt: QuickJSRuntime | undefined;
    let ctx: QuickJSContext | undefined;
    const handles: QuickJSHandle[] = [];
    try {
      rt = this.engine.module.newRuntime();
      rt.setMemoryLimit(CONTRACT_LIMITS.memoryBytes);
      rt.setMaxStackSize(CONTRACT_LIMITS.stackBytes);
      rt.setInterruptHandler(() => s.tick());
      ctx = rt.newContext();
      returnValue = run(rt, ctx, s, argsText, handles);
    } catch (e) {
      if (e instanceof ContractEngineFault) throw e;
      // Gas ran out (or another limit the session recorded) in the runtime's own steps, the prelude
      // or a conversion: QuickJS was interrupted, as the session asked; the call fails with that code.
      if (s.failure === undefined || s.fault !== undefined) {
        this.engine.markBroken(e instanceof Error ? e.message : String(e));
        throw new ContractEngineFault(`contract engine failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      returnValue = null;
    } finally {
      try {
        for (const h of handles) if (h.alive) h.dispose();
        ctx?.dispose();
        rt?.dispose();
      } catch (e) {
        this.engine.markBroken(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (!this.engine.usable) throw new ContractEngineFault('contract engine failed while freeing a call');
    if (s.fault !== undefined) throw s.fault;
    return s.result(returnValue);
  }

  /** Checks the call's input and charges the up-front gas; returns the arguments' JSON text. */
  private checkInput(call: ContractCall, s: CallSession): string | undefined {
    if (typeof call.method !== 'string' || !METHOD.test(call.method)) {
      s.fail('INVALID_ARGS', 'expected a method name of 1-64 characters A-Z a-z 0-9 _ $, not starting with a digit');
      return undefined;
    }
    let argsText: string;
    try {
      argsText = canonicalize(call.args);
    } catch {
      s.fail('INVALID_ARGS', 'expected the arguments as a JSON value');
      return undefined;
    }
    if (argsText.length > CONTRACT_LIMITS.argsBytes) {
      s.fail('INVALID_ARGS', `expected arguments of at most ${CONTRACT_LIMITS.argsBytes} bytes of canonical JSON`);
      return undefined;
    }
    if (jsonDepth(call.args) > CONTRACT_LIMITS.jsonDepth) {
      s.fail('INVALID_ARGS', `expected arguments nested at most ${CONTRACT_LIMITS.jsonDepth} levels deep`);
      return undefined;
    }
    const problem = codeProblem(call.code);
    if (problem !== null) {
      s.fail('CONTRACT_ERROR', problem);
      return undefined;
    }
    if (!s.charge(GAS.call + GAS.codeByte * Buffer.byteLength(call.code) + GAS.argsByte * argsText.length)) {
      return undefined;
    }
    return argsText;
  }
}

function run(
  rt: QuickJSRuntime,
  ctx: QuickJSContext,
  s: CallSession,
  argsText: string,
  handles: QuickJSHandle[],
): JsonValue {
  const keep = (h: QuickJSHandle): QuickJSHandle => {
    handles.push(h);
    return h;
  };
  const call = s.call;
  const prelude = keep(ctx.unwrapResult(ctx.evalCode(PRELUDE, 'custos-prelude.js', { strict: true })));
  const native = keep(ctx.newFunction('native', (...args) => nativeHost(ctx, s, internals, args)));
  const internalsH = keep(ctx.unwrapResult(ctx.callFunction(prelude, ctx.undefined, native)));
  const internals: Internals = {
    parse: keep(ctx.getProp(internalsH, 'parse')),
    stringify: keep(ctx.getProp(internalsH, 'stringify')),
    hasOwn: keep(ctx.getProp(internalsH, 'hasOwn')),
  };
  const memoryBefore = memoryUsed(rt, ctx);

  const loaded = ctx.evalCode(call.code, 'contract.js');
  if (loaded.error !== undefined) {
    failWith(ctx, s, keep(loaded.error), 'the contract failed while loading');
    return null;
  }
  keep(loaded.value);
  const exportsH = keep(ctx.getProp(ctx.global, 'exports'));
  const methodH = keep(ctx.newString(call.method));
  const own = ctx.callFunction(internals.hasOwn, ctx.undefined, exportsH, methodH);
  if (own.error !== undefined) {
    failWith(ctx, s, keep(own.error), 'the contract failed');
    return null;
  }
  if (ctx.typeof(keep(own.value)) !== 'boolean' || !ctx.dump(own.value)) {
    s.fail('CONTRACT_ERROR', `the contract exports no ${call.method}`);
    return null;
  }
  const fn = keep(ctx.getProp(exportsH, call.method));
  if (s.failure !== undefined) return null;
  if (ctx.typeof(fn) !== 'function') {
    s.fail('CONTRACT_ERROR', `expected exports.${call.method} to be a function`);
    return null;
  }
  const info = canonicalize({
    contract: call.contract,
    method: call.method,
    caller: call.caller,
    height: call.height,
    time: call.time,
  });
  const argsH = keep(ctx.unwrapResult(ctx.callFunction(internals.parse, ctx.undefined, keep(ctx.newString(argsText)))));
  const infoH = keep(ctx.unwrapResult(ctx.callFunction(internals.parse, ctx.undefined, keep(ctx.newString(info)))));
  const result = ctx.callFunction(fn, exportsH, argsH, infoH);
  if (result.error !== undefined) {
    failWith(ctx, s, keep(result.error), 'the contract threw');
    return null;
  }
  const text = toJsonText(ctx, s, internals, keep(result.value), 'return value');
  if (text === undefined) return null;
  if (rt.hasPendingJob()) {
    s.fail('CONTRACT_FORBIDDEN', 'the call left pending promise jobs: contracts run synchronously (no await or then)');
    return null;
  }
  const grown = Math.max(0, memoryUsed(rt, ctx) - memoryBefore);
  s.charge(GAS.memoryPage * Math.ceil(grown / MEMORY_PAGE_BYTES));
  if (text === null) return null;
  if (text.length > CONTRACT_LIMITS.returnBytes) {
    s.fail('LIMIT_EXCEEDED', `expected a return value of at most ${CONTRACT_LIMITS.returnBytes} bytes of JSON`);
    return null;
  }
  const value = checkedJson(s, text, 'return value');
  if (value === undefined) return null;
  s.charge(GAS.returnByte * text.length);
  return value;
}

/** The private parts of quickjs-emscripten-core 0.32 that `memoryUsed` reaches (pinned version). */
interface Internal {
  rt: { value: number };
  ffi: { QTS_RuntimeComputeMemoryUsage(rt: number, ctx: number): number };
}
interface InternalContext {
  getMemory(rt: number): { ctx: { value: number }; heapValueHandle(ptr: number): QuickJSHandle };
}

/**
 * The runtime's memory in use: QuickJS's estimate from its object graph (`memory_used_size`), the
 * same on every peer. Computed in the call's own context: the public `computeMemoryUsage` would
 * create a second "system" context in the runtime, which costs more than the rest of a small call.
 */
function memoryUsed(rt: QuickJSRuntime, ctx: QuickJSContext): number {
  const r = rt as unknown as Internal;
  const memory = (ctx as unknown as InternalContext).getMemory(r.rt.value);
  const usage = memory.heapValueHandle(r.ffi.QTS_RuntimeComputeMemoryUsage(r.rt.value, memory.ctx.value));
  try {
    const used = ctx.getProp(usage, 'memory_used_size');
    const n = ctx.getNumber(used);
    used.dispose();
    return n;
  } finally {
    usage.dispose();
  }
}

/** Parses JSON text from the sandbox and checks it is bounded, canonical JSON. */
function checkedJson(s: CallSession, text: string, what: string): JsonValue | undefined {
  if (jsonTextDepth(text) > CONTRACT_LIMITS.jsonDepth) {
    s.fail('LIMIT_EXCEEDED', `expected a ${what} nested at most ${CONTRACT_LIMITS.jsonDepth} levels deep`);
    return undefined;
  }
  try {
    const value = JSON.parse(text) as JsonValue;
    canonicalize(value);
    return value;
  } catch {
    s.fail('CONTRACT_ERROR', `expected a ${what} that is JSON (no lone surrogates)`);
    return undefined;
  }
}

/**
 * JSON text of a sandbox value through the bounded JSON.stringify (getters and toJSON run as
 * contract code, metered), null for undefined, undefined (failure recorded) if it has none.
 */
function toJsonText(
  ctx: QuickJSContext,
  s: CallSession,
  internals: Internals,
  value: QuickJSHandle,
  what: string,
): string | null | undefined {
  // Getters and toJSON run now, after the method returned: they may not use the host API.
  s.inHost = `the conversion of the ${what}`;
  let r: VmCallResult<QuickJSHandle>;
  try {
    r = ctx.callFunction(internals.stringify, ctx.undefined, value);
  } finally {
    s.inHost = undefined;
  }
  if (r.error !== undefined) {
    r.error.dispose();
    s.fail(
      'CONTRACT_ERROR',
      `expected a ${what} that converts to JSON (no cycles, BigInt or nesting beyond ${CONTRACT_LIMITS.sandboxJsonDepth})`,
    );
    return undefined;
  }
  try {
    if (s.failure !== undefined) return undefined;
    if (ctx.typeof(r.value) === 'undefined') return null;
    return ctx.getString(r.value);
  } finally {
    r.value.dispose();
  }
}
