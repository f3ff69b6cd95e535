/**
 * One call's bookkeeping, independent of QuickJS: gas, the first failure, the overlay of writes,
 * events, and the host API's checks. Every host operation that is refused records a failure that
 * ends the call (the runtime interrupts the contract at its next step), so a contract cannot catch
 * its way past a limit or a missing capability.
 */
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { CONTRACT_LIMITS, GAS } from './limits.js';
import { isGranted, namespaceOf, SYSTEM_ACTION } from './manifest.js';
import {
  type ContractCall,
  type ContractCode,
  type ContractResult,
  contractStatePrefix,
  SystemActionRefused,
  type SystemState,
} from './types.js';

const KEY = /^[A-Za-z0-9._:@/-]+$/;

export interface Failure {
  code: ContractCode;
  message: string;
}

/** Depth of nesting of a parsed JSON value, iteratively (no recursion on untrusted input). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > max) max = d + 1;
    for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, d + 1]);
  }
  return max;
}

/** Deepest bracket nesting of JSON text (strings skipped); the text need not be valid. */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

export class CallSession {
  used = 0;
  failure: Failure | undefined;
  /** Set while a host operation runs code of the contract (serializing its value): no other may start. */
  inHost: string | undefined;
  /** A fault of the node (not of the contract) raised by a system action; rethrown after cleanup. */
  fault: unknown;
  readonly writes = new Map<string, string | null>();
  readonly events: JsonValue[] = [];
  private readonly prefix: string;

  constructor(
    readonly call: ContractCall,
    readonly limit: number,
  ) {
    this.prefix = contractStatePrefix(call.contract);
  }

  fail(code: ContractCode, message: string): void {
    if (this.failure === undefined) this.failure = { code, message: message.slice(0, CONTRACT_LIMITS.errorChars) };
  }

  /** Adds gas; false (and OUT_OF_GAS recorded) once the limit is passed. */
  charge(gas: number): boolean {
    this.used += gas;
    if (this.used > this.limit) {
      this.fail('OUT_OF_GAS', `gas limit of ${this.limit} reached`);
      return false;
    }
    return true;
  }

  /** The interrupt handler: one tick of the interpreter. True stops the contract. */
  tick(): boolean {
    if (this.failure === undefined) this.charge(GAS.tick);
    return this.failure !== undefined;
  }

  /** The full state key of a contract key, or undefined with the failure recorded. */
  fullKey(op: string, key: unknown): string | undefined {
    if (typeof key !== 'string' || key.length === 0 || key.length > CONTRACT_LIMITS.keyChars || !KEY.test(key)) {
      this.fail(
        'CONTRACT_ERROR',
        `host.${op}: expected a key of 1-${CONTRACT_LIMITS.keyChars} characters A-Z a-z 0-9 . _ : @ / -, as <namespace>/<name>`,
      );
      return undefined;
    }
    const ns = namespaceOf(key);
    if (ns === undefined || !this.call.manifest.namespaces.includes(ns)) {
      this.fail(
        'CONTRACT_FORBIDDEN',
        `host.${op}: the key is outside the contract's namespaces (${this.call.manifest.namespaces.join(', ')})`,
      );
      return undefined;
    }
    return this.prefix + key;
  }

  private read(full: string): string | undefined {
    if (this.writes.has(full)) return this.writes.get(full) ?? undefined;
    return this.call.state.get(full);
  }

  get(key: unknown): string | undefined {
    const full = this.fullKey('get', key);
    if (full === undefined || !this.charge(GAS.hostCall)) return undefined;
    const text = this.read(full);
    this.charge(GAS.readByte * (full.length + (text?.length ?? 0)));
    return text;
  }

  /** Records a write of canonical JSON `text` (checked by the caller) or a delete (null). */
  write(op: string, key: unknown, text: string | null): void {
    const full = this.fullKey(op, key);
    if (full === undefined || !this.charge(GAS.hostCall)) return;
    if (text !== null && text.length > CONTRACT_LIMITS.valueBytes) {
      this.fail('LIMIT_EXCEEDED', `host.put: expected a value of at most ${CONTRACT_LIMITS.valueBytes} bytes`);
      return;
    }
    if (!this.writes.has(full) && this.writes.size >= CONTRACT_LIMITS.writes) {
      this.fail('LIMIT_EXCEEDED', `host.${op}: expected at most ${CONTRACT_LIMITS.writes} keys written by one call`);
      return;
    }
    if (!this.charge(GAS.writeByte * (full.length + (text?.length ?? 0)))) return;
    this.writes.set(full, text);
  }

  range(prefix: unknown, after: unknown, limit: unknown): { key: string; value: string }[] | undefined {
    const n = limit === undefined || limit === null ? CONTRACT_LIMITS.rangeEntries : limit;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > CONTRACT_LIMITS.rangeEntries) {
      this.fail('LIMIT_EXCEEDED', `host.range: expected a limit from 1 to ${CONTRACT_LIMITS.rangeEntries}`);
      return undefined;
    }
    // A prefix is checked as a key would be: in one of the contract's namespaces.
    if (this.fullKey('range', prefix) === undefined) return undefined;
    const realPrefix = this.prefix + prefix;
    let fullAfter: string | undefined;
    if (after !== undefined && after !== null) {
      fullAfter = this.fullKey('range', after);
      if (fullAfter === undefined) return undefined;
    }
    if (!this.charge(GAS.hostCall)) return undefined;
    const pending = [...this.writes.keys()].filter(
      (k) => k.startsWith(realPrefix) && (fullAfter === undefined || k > fullAfter),
    );
    const merged = new Map<string, string>();
    for (const e of this.call.state.range(realPrefix, fullAfter, n + pending.length)) merged.set(e.key, e.value);
    for (const k of pending) {
      const v = this.writes.get(k);
      if (v === null || v === undefined) merged.delete(k);
      else merged.set(k, v);
    }
    const out = [...merged.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, n)
      .map(([k, v]) => ({ key: k.slice(this.prefix.length), value: v }));
    let bytes = 0;
    for (const e of out) bytes += e.key.length + e.value.length;
    if (!this.charge(GAS.rangeEntry * out.length + GAS.readByte * bytes)) return undefined;
    return out;
  }

  emit(event: JsonValue): void {
    if (!this.charge(GAS.hostCall)) return;
    if (
      typeof event !== 'object' ||
      event === null ||
      Array.isArray(event) ||
      typeof event.type !== 'string' ||
      event.type.length === 0 ||
      event.type.length > 64
    ) {
      this.fail('CONTRACT_ERROR', 'host.emit: expected an object with a type of 1-64 characters');
      return;
    }
    const text = canonicalize(event);
    if (text.length > CONTRACT_LIMITS.eventBytes) {
      this.fail('LIMIT_EXCEEDED', `host.emit: expected an event of at most ${CONTRACT_LIMITS.eventBytes} bytes`);
      return;
    }
    if (this.events.length >= CONTRACT_LIMITS.events) {
      this.fail('LIMIT_EXCEEDED', `host.emit: expected at most ${CONTRACT_LIMITS.events} events per call`);
      return;
    }
    if (this.charge(GAS.eventByte * text.length)) this.events.push(event);
  }

  /** Runs a granted system action through the hook; undefined (failure recorded) if refused. */
  system(action: unknown, args: JsonValue): JsonValue | undefined {
    if (typeof action !== 'string' || !SYSTEM_ACTION.test(action)) {
      this.fail('CONTRACT_ERROR', 'host.system: expected an action named module.action');
      return undefined;
    }
    if (!isGranted(this.call.manifest, action)) {
      this.fail('CONTRACT_FORBIDDEN', `host.system: the manifest does not grant ${action}`);
      return undefined;
    }
    const hook = this.call.system;
    if (hook === undefined) {
      this.fail('CONTRACT_FORBIDDEN', `host.system: no system actions are available to this call (${action})`);
      return undefined;
    }
    if (!this.charge(GAS.systemCall)) return undefined;
    const state: SystemState = {
      get: (key) => {
        const t = this.read(key);
        return t === undefined || t === null ? undefined : (JSON.parse(t) as JsonValue);
      },
      put: (key, value) => {
        this.writes.set(key, canonicalize(value));
      },
      del: (key) => {
        this.writes.set(key, null);
      },
    };
    const c = this.call;
    let result: JsonValue;
    try {
      result = hook.call(action, args, {
        contract: c.contract,
        manifest: c.manifest,
        caller: c.caller,
        height: c.height,
        time: c.time,
        state,
      });
    } catch (e) {
      if (e instanceof SystemActionRefused) this.fail(e.code, `host.system: ${action} refused: ${e.message}`);
      else {
        this.fault = e;
        this.fail('CONTRACT_ERROR', `host.system: ${action} failed in the node`);
      }
      return undefined;
    }
    const text = canonicalize(result);
    if (!this.charge(GAS.readByte * text.length)) return undefined;
    return result;
  }

  result(returnValue: JsonValue): ContractResult {
    const failure = this.failure ?? (this.used > this.limit ? { code: 'OUT_OF_GAS' as const, message: '' } : undefined);
    if (failure !== undefined) {
      return {
        ok: false,
        code: failure.code,
        gasUsed: failure.code === 'OUT_OF_GAS' ? this.limit : Math.min(this.used, this.limit),
        gasLimit: this.limit,
        writes: new Map(),
        events: [],
        returnValue: null,
        error: failure.message,
      };
    }
    return {
      ok: true,
      code: 'OK',
      gasUsed: this.used,
      gasLimit: this.limit,
      writes: this.writes,
      events: this.events,
      returnValue,
    };
  }
}
