/**
 * Deterministic block execution: runs a block's transactions in order, gives each a result code,
 * and collects the state writes of those that succeed. Invalid transactions stay in the block with
 * their code and no effect. Reads only the transaction, the block header's time and the state.
 */
import { ProtocolError } from '@custos/protocol/errors';
import { XTX_BINDING_ARG } from '@custos/protocol/interop';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { checkTxWindow, MEMBER_SET_KEY, type ParsedTx, type ResultCode } from '@custos/protocol/ledger';
import { ContractEngineFault } from '../contracts/engine.js';
import type { ContractRuntime } from '../contracts/runtime.js';
import { EVM_MEMBER_SET_KEY, nextEvmMemberSetEntry } from '../governance/evm-member-set.js';
import { nextMemberSetEntry } from '../governance/member-set.js';
import { forgetDue } from '../modules/forget.js';
import { releaseLapsedLock } from '../modules/xtx.js';
import type { Args, ExecContext, ExecHost, Module, NestedRun } from './module.js';
import { ExecFailure, LOCK_PREFIX } from './module.js';

/** Committed state as the executor sees it: canonical JSON text by key. */
export interface StateReader {
  getState(key: string): string | undefined;
  /** True if a transaction with this id was committed earlier with a valid signature. */
  hasCommittedTx(txId: string): boolean;
  /**
   * Of `txIds`, those `hasCommittedTx` is true for, in one read (a block asks once instead of once
   * per transaction). Optional: without it the executor asks `hasCommittedTx` per transaction.
   * `expiresAt[i]` is the `expiresAt` of `txIds[i]`'s body: a store may answer from memory for
   * the transactions it knows it never committed (store/replay-filter.ts).
   */
  committedAmong?(txIds: readonly string[], expiresAt?: readonly number[]): Set<string>;
  /** Committed entries under a prefix, in key order (lets a block skip lock checks when none exist). */
  listState?(prefix: string, after: string | undefined, limit: number): { key: string; value: string }[];
  /**
   * Committed values of those of `keys` that exist, in one read (a block reads the keys its
   * actions name up front: exec/module.ts `reads`). Optional: without it each is read on first use.
   */
  getStates?(keys: readonly string[]): Map<string, string>;
  /** Chain metadata; `genesis` holds the chain's genesis document. */
  getMeta?(key: string): string | undefined;
}

type HostAction = (ctx: ExecContext, args: Args, host: ExecHost) => ResultCode;

export interface BlockInput {
  chainId: string;
  height: number;
  time: number;
  txs: ParsedTx[];
  /** `sigOk[i]`: the signature of `txs[i]` verified. */
  sigOk: boolean[];
}

export interface BlockOutput {
  results: ResultCode[];
  /** `subjects[i]`: the data subjects whose history transaction i belongs to, whatever its result. */
  subjects: string[][];
  /** Final value (canonical JSON text) or null (deleted) of every key written by the block. */
  writes: Map<string, string | null>;
  /**
   * `details[i]`: why transaction i failed, in words that name the field and what was expected
   * (undefined for OK, or when the code says it all). Not part of the ledger: the code is.
   */
  details: (string | undefined)[];
  /** Subjects forgotten at the end of the block (modules/forget.ts), each with the block's last transaction index. */
  forgotten: { subject: string; index: number }[];
}

/** State key counting the transactions in a subject's history. */
export function historyKey(subject: string): string {
  return `history/${subject}`;
}

export class Executor {
  private readonly actions = new Map<string, HostAction>();
  /** Per type, the state key the action reads first (Module.reads), for the block's one read. */
  private readonly reads = new Map<string, (args: Args) => string | undefined>();
  private readonly contracts: ContractRuntime | undefined;

  constructor(modules: readonly Module[], opts: { contracts?: ContractRuntime } = {}) {
    this.contracts = opts.contracts;
    for (const m of modules) {
      for (const [name, action] of Object.entries(m.actions)) this.actions.set(`${m.name}.${name}`, action);
      for (const [name, keyOf] of Object.entries(m.reads ?? {})) this.reads.set(`${m.name}.${name}`, keyOf);
    }
  }

  /** Types this executor knows, for documentation and admission. */
  types(): string[] {
    return [...this.actions.keys()].sort();
  }

  hasType(type: string): boolean {
    return this.actions.has(type);
  }

  execute(input: BlockInput, committedState: StateReader): BlockOutput {
    const state = readOnce(committedState, this.readsOf(input));
    const blockWrites = new Map<string, string | null>();
    const seenInBlock = new Set<string>();
    const results: ResultCode[] = [];
    const subjects: string[][] = [];
    const forgotten: { subject: string; index: number }[] = [];
    // Lock checks cost a read per written key: skipped while no lock exists (the common case).
    const locks = { mayExist: state.listState === undefined || state.listState(LOCK_PREFIX, undefined, 1).length > 0 };
    // Replay check: committed state does not change while the block executes, so one read for the
    // whole block answers exactly as one read per transaction would.
    const committed =
      state.committedAmong === undefined
        ? undefined
        : state.committedAmong(
            input.txs.map((t) => t.txId),
            input.txs.map((t) => t.tx.body.expiresAt),
          );
    const details: (string | undefined)[] = [];
    const run: BlockRun = {
      state,
      blockWrites,
      seenInBlock,
      locks,
      host: this.host(state),
      committed,
      detail: undefined,
    };
    for (let i = 0; i < input.txs.length; i++) {
      const ptx = input.txs[i] as ParsedTx;
      const indexed: string[] = [];
      run.detail = undefined;
      const code = this.executeTx(input, ptx, input.sigOk[i] === true, run, indexed);
      results.push(code);
      subjects.push(indexed);
      details.push(code === 'OK' ? undefined : run.detail);
    }
    // Subjects whose erasure was completed long enough ago are forgotten at the end of the block
    // (modules/forget.ts): their transactions so far are pruned with them.
    for (const subject of forgetDue(blockContext(input, state, blockWrites))) {
      forgotten.push({ subject, index: input.txs.length - 1 });
    }
    // A block that changes the member set starts a new epoch (certified by the set before it).
    const epoch = nextMemberSetEntry(input.height, state, blockWrites);
    if (epoch !== undefined) blockWrites.set(MEMBER_SET_KEY, canonicalize(epoch as unknown as JsonValue));
    // The same for the EVM side's set (members' EVM keys, threshold), with its own epochs.
    const evmEpoch = nextEvmMemberSetEntry(input.height, state, blockWrites);
    if (evmEpoch !== undefined) blockWrites.set(EVM_MEMBER_SET_KEY, canonicalize(evmEpoch));
    return { results, writes: blockWrites, subjects, details, forgotten };
  }

  /** The state keys the block's transactions name up front (Module.reads), at most MAX_REMEMBERED_READS. */
  private readsOf(input: BlockInput): string[] {
    const keys: string[] = [];
    for (let i = 0; i < input.txs.length && keys.length < MAX_REMEMBERED_READS; i++) {
      const body = (input.txs[i] as ParsedTx).tx.body;
      const keyOf = input.sigOk[i] === true ? this.reads.get(body.type) : undefined;
      const key = keyOf?.(body.args);
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  private host(state: StateReader): ExecHost {
    return {
      runNested: (outer, ops, argsOf) => this.runNested(outer, ops, argsOf, state),
      genesis: () => state.getMeta?.('genesis'),
      ...(this.contracts === undefined ? {} : { contracts: this.contracts }),
    };
  }

  private runNested(
    outer: ExecContext,
    ops: readonly ParsedTx[],
    argsOf: (op: ParsedTx) => Args,
    state: StateReader,
  ): NestedRun {
    const writes = new Map<string, string | null>();
    const subjects: string[] = [];
    const kept = new Map<string, string>();
    const seen = new Set<string>();
    const fail = (code: ResultCode, failed: number): NestedRun => ({
      code,
      failed,
      writes: new Map(),
      subjects: [],
      kept,
    });
    const outerRange = outer.range;
    // A nested operation may call a contract (a step of a cross-chain transaction), never nest further.
    const host: ExecHost =
      this.contracts === undefined ? NO_HOST : { ...NO_HOST, contracts: this.contracts, nested: true };
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as ParsedTx;
      const body = op.tx.body;
      if (body.chainId !== outer.chainId) return fail('WRONG_CHAIN', i);
      if (seen.has(op.txId) || state.hasCommittedTx(op.txId)) return fail('REPLAYED', i);
      seen.add(op.txId);
      try {
        checkTxWindow(body, outer.time);
      } catch (e) {
        return fail(e instanceof ProtocolError && e.code === 'TX_NOT_YET_VALID' ? 'NOT_YET_VALID' : 'EXPIRED', i);
      }
      const action = this.actions.get(body.type);
      if (action === undefined) return fail('UNKNOWN_TYPE', i);
      const opWrites = new Map<string, string | null>();
      const ctx: ExecContext = {
        chainId: outer.chainId,
        height: outer.height,
        time: outer.time,
        txId: op.txId,
        signer: body.signer,
        get(key) {
          if (opWrites.has(key) || writes.has(key)) {
            const text = opWrites.has(key) ? opWrites.get(key) : writes.get(key);
            return text === null || text === undefined ? undefined : (JSON.parse(text) as JsonValue);
          }
          return outer.get(key);
        },
        put(key, value) {
          opWrites.set(key, canonicalize(value));
        },
        del(key) {
          opWrites.set(key, null);
        },
        index(subject) {
          if (!subjects.includes(subject)) subjects.push(subject);
        },
        keep(key, value) {
          kept.set(key, canonicalize(value));
        },
        ...(outerRange === undefined
          ? {}
          : {
              range: (prefix: string, after: string | undefined, limit: number) =>
                mergedRange((p, a, l) => outerRange(p, a, l), [writes, opWrites], prefix, after, limit),
            }),
      };
      let code: ResultCode;
      try {
        // The host runs no further operations: a nested operation cannot nest.
        code = action(ctx, argsOf(op), host);
      } catch (e) {
        if (e instanceof ContractEngineFault) throw e;
        code = e instanceof ExecFailure ? e.result : 'INVALID_ARGS';
      }
      if (code !== 'OK') return fail(code, i);
      for (const k of opWrites.keys()) {
        const holder = k.startsWith(LOCK_PREFIX) ? undefined : outer.get(LOCK_PREFIX + k);
        if (holder !== undefined && !releaseLapsedLock(outer, holder)) return fail('CONFLICT', i);
      }
      for (const [k, v] of opWrites) writes.set(k, v);
    }
    return { code: 'OK', failed: -1, writes, subjects, kept };
  }

  private executeTx(input: BlockInput, ptx: ParsedTx, sigOk: boolean, run: BlockRun, indexed: string[]): ResultCode {
    const { state, blockWrites, seenInBlock, locks } = run;
    const body = ptx.tx.body;
    if (!sigOk) return 'BAD_SIGNATURE';
    if (body.chainId !== input.chainId) return 'WRONG_CHAIN';
    const replayed =
      seenInBlock.has(ptx.txId) ||
      (run.committed === undefined ? state.hasCommittedTx(ptx.txId) : run.committed.has(ptx.txId));
    if (replayed) return 'REPLAYED';
    seenInBlock.add(ptx.txId);
    try {
      checkTxWindow(body, input.time);
    } catch (e) {
      if (e instanceof ProtocolError && e.code === 'TX_NOT_YET_VALID') return 'NOT_YET_VALID';
      return 'EXPIRED';
    }

    // An operation bound to a cross-chain transaction runs only inside its xtx.prepare, never alone.
    if (Object.hasOwn(body.args, XTX_BINDING_ARG)) {
      run.detail = `args.${XTX_BINDING_ARG} binds an operation to a cross-chain transaction: it runs only inside its xtx.prepare`;
      return 'INVALID_ARGS';
    }
    const action = this.actions.get(body.type);
    if (action === undefined) {
      run.detail = `unknown transaction type '${body.type.slice(0, 64)}'; known types: ${this.types().join(', ')}`;
      return 'UNKNOWN_TYPE';
    }
    const txWrites = new Map<string, string | null>();
    const kept = new Map<string, string>();
    const subjectsOfTx: string[] = [];
    const ctx: ExecContext = {
      chainId: input.chainId,
      height: input.height,
      time: input.time,
      txId: ptx.txId,
      signer: body.signer,
      get(key) {
        const text = txWrites.has(key)
          ? txWrites.get(key)
          : blockWrites.has(key)
            ? blockWrites.get(key)
            : state.getState(key);
        return text === null || text === undefined ? undefined : (JSON.parse(text) as JsonValue);
      },
      put(key, value) {
        txWrites.set(key, canonicalize(value));
      },
      del(key) {
        txWrites.set(key, null);
      },
      index(subject) {
        if (!subjectsOfTx.includes(subject)) subjectsOfTx.push(subject);
      },
      keep(key, value) {
        kept.set(key, canonicalize(value));
      },
      range(prefix, after, limit) {
        return mergedRange(
          (p, a, l) => state.listState?.(p, a, l) ?? [],
          [blockWrites, txWrites],
          prefix,
          after,
          limit,
        );
      },
    };
    let code: ResultCode;
    try {
      code = action(ctx, body.args, run.host);
    } catch (e) {
      // A failed contract engine is a fault of this peer, not of the transaction: the block stops
      // here (the node halts rather than commit a result the other peers would not compute).
      if (e instanceof ContractEngineFault) throw e;
      // Every thrown value maps to a code deterministically: the same input throws the same way on every peer.
      code = e instanceof ExecFailure ? e.result : 'INVALID_ARGS';
      if (e instanceof ExecFailure || e instanceof ProtocolError) run.detail = e.message.slice(0, 500);
    }
    // A key locked by a cross-chain transaction takes no other write; xtx.finalize writes through
    // the lock by deleting it in the same transaction, which this read (through txWrites) sees.
    if (code === 'OK' && locks.mayExist) {
      for (const k of [...txWrites.keys()]) {
        const holder = k.startsWith(LOCK_PREFIX) ? undefined : ctx.get(LOCK_PREFIX + k);
        // A lock whose cross-chain transaction lapsed is released here (the participant aborts it).
        if (holder !== undefined && !releaseLapsedLock(ctx, holder)) {
          code = 'CONFLICT';
          break;
        }
      }
    }
    if (code === 'OK') {
      for (const [k, v] of txWrites) {
        blockWrites.set(k, v);
        if (v !== null && !locks.mayExist && k.startsWith(LOCK_PREFIX)) locks.mayExist = true;
      }
    }
    for (const [k, v] of kept) blockWrites.set(k, v);
    // Failed attempts stay in the subject's history too: a rejected access is something the customer should see.
    // The count in state makes the history's completeness provable: a peer cannot leave an event out.
    for (const s of subjectsOfTx) {
      indexed.push(s);
      const key = historyKey(s);
      const cur = blockWrites.has(key) ? blockWrites.get(key) : state.getState(key);
      const count = cur === null || cur === undefined ? 0 : (JSON.parse(cur) as { count: number }).count;
      blockWrites.set(key, `{"count":${count + 1}}`);
    }
    return code;
  }
}

interface BlockRun {
  state: StateReader;
  blockWrites: Map<string, string | null>;
  seenInBlock: Set<string>;
  locks: { mayExist: boolean };
  host: ExecHost;
  /** The block's txIds already committed (when the reader offers `committedAmong`). */
  committed: Set<string> | undefined;
  /** Why the transaction being executed failed, set by `executeTx`. */
  detail: string | undefined;
}

/** Most committed values one block remembers (`readOnce`); reads past it go to the store each time. */
const MAX_REMEMBERED_READS = 100_000;

/**
 * `state` with each key's committed value read once per block: committed state does not change
 * while a block executes (its writes are staged in `blockWrites` and stored after), so the store
 * answers the same each time. The keys most transactions read (the signer's member profile, the
 * member set, a customer's consents and preferences) then cost one store read per block.
 */
function readOnce(state: StateReader, prefetch: readonly string[]): StateReader {
  const read = new Map<string, string | undefined>();
  if (prefetch.length > 0 && state.getStates !== undefined) {
    // Committed state does not change while the block executes: a key read now reads as it would later.
    const found = state.getStates(prefetch);
    for (const key of prefetch) read.set(key, found.get(key));
  }
  return {
    getState(key) {
      if (read.has(key)) return read.get(key);
      const value = state.getState(key);
      if (read.size < MAX_REMEMBERED_READS) read.set(key, value);
      return value;
    },
    hasCommittedTx: (txId) => state.hasCommittedTx(txId),
    ...(state.committedAmong === undefined
      ? {}
      : { committedAmong: (txIds, expiresAt) => state.committedAmong!(txIds, expiresAt) }),
    ...(state.listState === undefined
      ? {}
      : { listState: (prefix, after, limit) => state.listState!(prefix, after, limit) }),
    ...(state.getMeta === undefined ? {} : { getMeta: (key) => state.getMeta!(key) }),
  };
}

type Lister = (prefix: string, after: string | undefined, limit: number) => { key: string; value: string }[];

/** Entries under `prefix` listed by `base`, overlaid with `layers` (later layers win), in key order. */
function mergedRange(
  base: Lister,
  layers: readonly Map<string, string | null>[],
  prefix: string,
  after: string | undefined,
  limit: number,
): { key: string; value: string }[] {
  const merged = new Map<string, string | null>();
  let overlaid = 0;
  for (const layer of layers) {
    for (const [k, v] of layer) {
      if (k.startsWith(prefix) && (after === undefined || k > after)) {
        merged.set(k, v);
        overlaid++;
      }
    }
  }
  // Enough committed entries that deletions in the overlays cannot leave fewer than `limit`.
  for (const e of base(prefix, after, limit + overlaid)) {
    if (!merged.has(e.key)) merged.set(e.key, e.value);
  }
  const out: { key: string; value: string }[] = [];
  for (const key of [...merged.keys()].sort()) {
    const value = merged.get(key);
    if (value === null || value === undefined) continue;
    out.push({ key, value });
    if (out.length === limit) break;
  }
  return out;
}

/** A context over the block's state after its last transaction, for the work done at its end. */
function blockContext(input: BlockInput, state: StateReader, blockWrites: Map<string, string | null>): ExecContext {
  const get = (key: string) => {
    const text = blockWrites.has(key) ? blockWrites.get(key) : state.getState(key);
    return text === null || text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  };
  return {
    chainId: input.chainId,
    height: input.height,
    time: input.time,
    txId: '',
    signer: '',
    get,
    put: (key, value) => blockWrites.set(key, canonicalize(value as JsonValue)),
    del: (key) => blockWrites.set(key, null),
    index: () => {},
    ...(state.listState === undefined
      ? {}
      : {
          range: (prefix: string, after: string | undefined, limit: number) =>
            mergedRange((p, a, l) => state.listState?.(p, a, l) ?? [], [blockWrites], prefix, after, limit),
        }),
  };
}

const NO_HOST: ExecHost = {
  runNested() {
    throw new ExecFailure('UNKNOWN_TYPE', 'operations cannot nest');
  },
  genesis: () => undefined,
};
