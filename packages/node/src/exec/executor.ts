/**
 * Deterministic block execution: runs a block's transactions in order, gives each a result code,
 * and collects the state writes of those that succeed. Invalid transactions stay in the block with
 * their code and no effect. Reads only the transaction, the block header's time and the state.
 */
import {
  canonicalize,
  checkTxWindow,
  type JsonValue,
  type ParsedTx,
  ProtocolError,
  type ResultCode,
} from '@custos/protocol';
import type { ExecContext, Module } from './module.js';
import { ExecFailure } from './module.js';

/** Committed state as the executor sees it: canonical JSON text by key. */
export interface StateReader {
  getState(key: string): string | undefined;
  /** True if a transaction with this id was committed earlier with a valid signature. */
  hasCommittedTx(txId: string): boolean;
}

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
}

/** State key counting the transactions in a subject's history. */
export function historyKey(subject: string): string {
  return `history/${subject}`;
}

export class Executor {
  private readonly actions = new Map<string, Module['actions'][string]>();

  constructor(modules: readonly Module[]) {
    for (const m of modules) {
      for (const [name, action] of Object.entries(m.actions)) this.actions.set(`${m.name}.${name}`, action);
    }
  }

  /** Types this executor knows, for documentation and admission. */
  types(): string[] {
    return [...this.actions.keys()].sort();
  }

  hasType(type: string): boolean {
    return this.actions.has(type);
  }

  execute(input: BlockInput, state: StateReader): BlockOutput {
    const blockWrites = new Map<string, string | null>();
    const seenInBlock = new Set<string>();
    const results: ResultCode[] = [];
    const subjects: string[][] = [];
    for (let i = 0; i < input.txs.length; i++) {
      const ptx = input.txs[i] as ParsedTx;
      const indexed: string[] = [];
      const code = this.executeTx(input, ptx, input.sigOk[i] === true, state, blockWrites, seenInBlock, indexed);
      results.push(code);
      subjects.push(indexed);
    }
    return { results, writes: blockWrites, subjects };
  }

  private executeTx(
    input: BlockInput,
    ptx: ParsedTx,
    sigOk: boolean,
    state: StateReader,
    blockWrites: Map<string, string | null>,
    seenInBlock: Set<string>,
    indexed: string[],
  ): ResultCode {
    const body = ptx.tx.body;
    if (!sigOk) return 'BAD_SIGNATURE';
    if (body.chainId !== input.chainId) return 'WRONG_CHAIN';
    if (seenInBlock.has(ptx.txId) || state.hasCommittedTx(ptx.txId)) return 'REPLAYED';
    seenInBlock.add(ptx.txId);
    try {
      checkTxWindow(body, input.time);
    } catch (e) {
      if (e instanceof ProtocolError && e.code === 'TX_NOT_YET_VALID') return 'NOT_YET_VALID';
      return 'EXPIRED';
    }

    const action = this.actions.get(body.type);
    if (action === undefined) return 'UNKNOWN_TYPE';
    const txWrites = new Map<string, string | null>();
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
    };
    let code: ResultCode;
    try {
      code = action(ctx, body.args);
    } catch (e) {
      // Every thrown value maps to a code deterministically: the same input throws the same way on every peer.
      code = e instanceof ExecFailure ? e.result : 'INVALID_ARGS';
    }
    if (code === 'OK') for (const [k, v] of txWrites) blockWrites.set(k, v);
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
