/**
 * What a system module is: a set of actions, each a deterministic function of the transaction,
 * the block (height, time) and the state. An action returns a result code; it never reads the
 * wall clock, randomness or the environment.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type { ParsedTx, ResultCode } from '@custos/protocol/ledger';
import type { ContractRuntime } from '../contracts/runtime.js';

export interface ExecContext {
  readonly chainId: string;
  readonly height: number;
  /** Block time (ms): the only clock. */
  readonly time: number;
  readonly txId: string;
  /** did:key that signed the transaction (signature already checked). */
  readonly signer: string;
  get(key: string): JsonValue | undefined;
  /** Writes a JSON value (checked by canonicalization). */
  put(key: string, value: unknown): void;
  del(key: string): void;
  /** Files this transaction under a data subject's pseudonym, for that subject's history. */
  index(subject: string): void;
  /**
   * Writes a value that is kept whatever the transaction's result (a contract call's record of a
   * failure and its gas). In a nested run, collected into `NestedRun.kept`.
   */
  keep?(key: string, value: unknown): void;
  /** Entries under `prefix` after `after`, in key order, this block's and transaction's writes included. */
  range?(prefix: string, after: string | undefined, limit: number): { key: string; value: string }[];
}

export type Args = { [key: string]: JsonValue };
export type Action = (ctx: ExecContext, args: Args) => ResultCode;

export interface Module {
  /** The `module` part of `module.action`. */
  readonly name: string;
  readonly actions: Readonly<Record<string, Action>>;
  /**
   * For some actions, the state key the action reads first, from its arguments alone (undefined when
   * the arguments do not name one): the executor reads a block's such keys in one query instead of
   * one per transaction. A hint only: the action still reads through `ctx.get` and checks its arguments.
   */
  readonly reads?: Readonly<Record<string, (args: Args) => string | undefined>>;
}

/** Thrown inside an action to end it with a result code; caught by the executor, never escapes a block. */
export class ExecFailure extends Error {
  readonly result: ResultCode;
  constructor(result: ResultCode, message: string) {
    super(message);
    this.result = result;
  }
}

/** Argument readers that fail the transaction with INVALID_ARGS, saying what was expected. */
export const arg = {
  str(args: Args, name: string, max = 256, pattern?: RegExp): string {
    const v = args[name];
    if (typeof v !== 'string' || v.length === 0 || v.length > max || (pattern && !pattern.test(v))) {
      throw new ExecFailure('INVALID_ARGS', `expected args.${name} as a string of 1-${max} characters`);
    }
    return v;
  },
  optStr(args: Args, name: string, max = 256): string | undefined {
    return args[name] === undefined ? undefined : arg.str(args, name, max);
  },
  strList(args: Args, name: string, maxItems = 32, maxLen = 256, pattern?: RegExp): string[] {
    const v = args[name];
    if (!Array.isArray(v) || v.length === 0 || v.length > maxItems) {
      throw new ExecFailure('INVALID_ARGS', `expected args.${name} as a list of 1-${maxItems} strings`);
    }
    for (const x of v) {
      if (typeof x !== 'string' || x.length === 0 || x.length > maxLen || (pattern && !pattern.test(x))) {
        throw new ExecFailure('INVALID_ARGS', `expected each of args.${name} as a string of 1-${maxLen} characters`);
      }
    }
    return v as string[];
  },
  bool(args: Args, name: string): boolean {
    const v = args[name];
    if (typeof v !== 'boolean') throw new ExecFailure('INVALID_ARGS', `expected args.${name} as true or false`);
    return v;
  },
  optBool(args: Args, name: string): boolean | undefined {
    return args[name] === undefined ? undefined : arg.bool(args, name);
  },
  int(args: Args, name: string, min: number, max: number): number {
    const v = args[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new ExecFailure('INVALID_ARGS', `expected args.${name} as an integer from ${min} to ${max}`);
    }
    return v;
  },
  oneOf<T extends string>(args: Args, name: string, values: readonly T[]): T {
    const v = args[name];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new ExecFailure('INVALID_ARGS', `expected args.${name} as one of ${values.join(', ')}`);
    }
    return v as T;
  },
  only(args: Args, allowed: readonly string[]): void {
    for (const k of Object.keys(args)) {
      if (!allowed.includes(k)) {
        throw new ExecFailure('INVALID_ARGS', `unexpected args.${k.slice(0, 40)}; expected ${allowed.join(', ')}`);
      }
    }
  },
};

/**
 * A cross-chain transaction holds `lock/<key>` -> xtxId on every key its prepared operations
 * write, from xtx.prepare to xtx.finalize; any other write to such a key ends with CONFLICT.
 */
export const LOCK_PREFIX = 'lock/';

/** Outcome of running operations in a nested overlay (see `ExecHost.runNested`). */
export interface NestedRun {
  code: ResultCode;
  /** Index of the operation that failed, -1 if all succeeded. */
  failed: number;
  /** Final value (canonical JSON text) or null (deleted) of every key the operations wrote. */
  writes: Map<string, string | null>;
  /** Data subjects the operations filed themselves under. */
  subjects: string[];
  /**
   * What the operations wrote with `keep` (a contract call's receipt and totals), failed runs
   * included: the caller records it whatever the vote, as the attempt.
   */
  kept: Map<string, string>;
}

/**
 * What the executor offers the system modules that act on other transactions (xtx): passed as the
 * third argument of every action; ordinary actions ignore it.
 */
export interface ExecHost {
  /**
   * Runs signed transactions (signatures already checked by the caller) one after another as if
   * they executed at this point of the block, reading through `outer`'s view (so the caller's own
   * writes count), into a private overlay that is returned, never committed. The same checks as a
   * top-level transaction apply (chain, replay, window, type), plus: a write to a key locked by a
   * cross-chain transaction fails the run with CONFLICT.
   */
  runNested(outer: ExecContext, ops: readonly ParsedTx[], argsOf: (op: ParsedTx) => Args): NestedRun;
  /**
   * The chain's genesis document as stored (canonical JSON), or undefined if the reader cannot
   * tell: what the members and quorum were before any governance changed them.
   */
  genesis(): string | undefined;
  /** The contract runtime, created when the node opened (in nested runs too: a contract call may be an xtx operation). */
  contracts?: ContractRuntime;
  /** True in a nested run (an operation of a cross-chain transaction's prepare). */
  nested?: boolean;
}
