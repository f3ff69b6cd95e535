/**
 * The executor's part in cross-chain transactions: a key locked by one (`lock/<key>`) takes no
 * write from any other transaction (CONFLICT), read through the block's overlay; the holder writes
 * through its own lock by deleting it in the same transaction; an operation bound to a plan never
 * runs alone; and nested runs return their writes without committing them.
 */
import { randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { XTX_BINDING_ARG } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { parseTx, signTx } from '@custos/protocol/ledger';
import { describe, expect, it } from 'vitest';
import { ContractEngineFault } from '../src/contracts/engine.js';
import { nativeSigner } from '../src/crypto/native.js';
import { Executor, type StateReader } from '../src/exec/executor.js';
import type { Args, ExecContext, ExecHost, Module, NestedRun } from '../src/exec/module.js';
import { kvModule } from '../src/modules/kv.js';

const alice = nativeSigner(randomSecretKey());

/** Test-only actions: take a lock, write through one, run kv.put operations nested. */
let lastNested: NestedRun | undefined;
const testModule: Module = {
  name: 'test',
  actions: {
    lock(ctx: ExecContext, args: Args) {
      ctx.put(`lock/${args.key as string}`, 'xtx-1');
      return 'OK';
    },
    through(ctx: ExecContext, args: Args) {
      ctx.del(`lock/${args.key as string}`);
      ctx.put(args.key as string, { value: 'through', owner: ctx.signer, updatedAt: ctx.time });
      return 'OK';
    },
    nested(ctx: ExecContext, args: Args, host?: ExecHost) {
      const ops = (args.ops as unknown[]).map((t) => parseTx(t));
      lastNested = host!.runNested(ctx, ops, (p) => p.tx.body.args);
      return lastNested.code === 'OK' ? 'OK' : lastNested.code;
    },
  },
};

function memoryState(entries: Record<string, JsonValue>, withList = true): StateReader {
  const m = new Map(Object.entries(entries).map(([k, v]) => [k, JSON.stringify(v)]));
  const reader: StateReader = {
    getState: (k) => m.get(k),
    hasCommittedTx: () => false,
  };
  if (withList) {
    reader.listState = (prefix, _after, limit) =>
      [...m.entries()]
        .filter(([k]) => k.startsWith(prefix))
        .sort()
        .slice(0, limit)
        .map(([key, value]) => ({ key, value }));
  }
  return reader;
}

function run(state: StateReader, txs: { signer?: Signer; type: string; args: { [k: string]: JsonValue } }[]) {
  const executor = new Executor([kvModule, testModule]);
  const parsed = txs.map((t) => parseTx(signTx({ chainId: 'c', type: t.type, args: t.args }, t.signer ?? alice)));
  return executor.execute(
    { chainId: 'c', height: 1, time: Date.now(), txs: parsed, sigOk: parsed.map(() => true) },
    state,
  );
}

const put = (key: string) => ({ type: 'kv.put', args: { ns: 'n', key, value: 1 } });

describe('locks', () => {
  for (const withList of [true, false]) {
    it(`refuses a write to a locked key with CONFLICT (store ${withList ? 'with' : 'without'} listing)`, () => {
      const out = run(memoryState({ 'lock/kv/n/a': 'xtx-1' }, withList), [put('a'), put('b')]);
      expect(out.results).toEqual(['CONFLICT', 'OK']);
      expect(out.writes.has('kv/n/a')).toBe(false);
      expect(out.writes.has('kv/n/b')).toBe(true);
    });
  }

  it('sees a lock taken earlier in the same block, and lets the holder write through it', () => {
    const out = run(memoryState({}), [
      put('a'),
      { type: 'test.lock', args: { key: 'kv/n/a' } },
      put('a'),
      { type: 'test.through', args: { key: 'kv/n/a' } },
      put('a'),
    ]);
    expect(out.results).toEqual(['OK', 'OK', 'CONFLICT', 'OK', 'OK']);
    expect(out.writes.get('lock/kv/n/a')).toBeNull();
  });

  it('never runs an operation bound to a cross-chain plan on its own', () => {
    const out = run(memoryState({}), [
      { type: 'kv.put', args: { ns: 'n', key: 'a', value: 1, [XTX_BINDING_ARG]: 'ab' } },
    ]);
    expect(out.results).toEqual(['INVALID_ARGS']);
    expect(out.writes.size).toBe(0);
  });
});

describe('nested runs', () => {
  const op = (key: string, signer: Signer = alice, args: { [k: string]: JsonValue } = {}) =>
    signTx({ chainId: 'c', type: 'kv.put', args: { ns: 'n', key, value: 2, ...args } }, signer) as unknown as JsonValue;

  it('returns the writes of the operations without committing them', () => {
    const out = run(memoryState({}), [{ type: 'test.nested', args: { ops: [op('a'), op('b')] } }]);
    expect(out.results).toEqual(['OK']);
    expect([...lastNested!.writes.keys()].sort()).toEqual(['kv/n/a', 'kv/n/b']);
    expect(out.writes.has('kv/n/a')).toBe(false);
  });

  it('fails on a locked key, an operation of another chain, a replay and a failing operation', () => {
    expect(
      run(memoryState({ 'lock/kv/n/b': 'x' }), [{ type: 'test.nested', args: { ops: [op('a'), op('b')] } }]).results,
    ).toEqual(['CONFLICT']);
    expect(lastNested!.failed).toBe(1);
    const foreign = signTx({ chainId: 'other', type: 'kv.put', args: { ns: 'n', key: 'a', value: 1 } }, alice);
    expect(
      run(memoryState({}), [{ type: 'test.nested', args: { ops: [foreign as unknown as JsonValue] } }]).results,
    ).toEqual(['WRONG_CHAIN']);
    const once = op('a');
    expect(run(memoryState({}), [{ type: 'test.nested', args: { ops: [once, once] } }]).results).toEqual(['REPLAYED']);
    const owned = memoryState({ 'kv/n/a': { value: 0, owner: 'did:key:zSomeoneElse', updatedAt: 0 } });
    expect(run(owned, [{ type: 'test.nested', args: { ops: [op('a')] } }]).results).toEqual(['UNAUTHORIZED']);
  });

  it('runs nothing nested inside a nested operation', () => {
    const inner = signTx(
      { chainId: 'c', type: 'test.nested', args: { ops: [op('a')] } },
      alice,
    ) as unknown as JsonValue;
    expect(run(memoryState({}), [{ type: 'test.nested', args: { ops: [inner] } }]).results).toEqual(['UNKNOWN_TYPE']);
  });
});

describe('contract engine faults', () => {
  it('stop the block instead of becoming a result code (another peer would compute the call)', () => {
    const faulty = {
      name: 'faulty',
      actions: {
        run: () => {
          throw new ContractEngineFault('contract engine failed');
        },
      },
    };
    const executor = new Executor([faulty]);
    const parsed = [parseTx(signTx({ chainId: 'c', type: 'faulty.run', args: {} }, alice))];
    expect(() =>
      executor.execute(
        { chainId: 'c', height: 1, time: Date.now(), txs: parsed, sigOk: [true] },
        memoryState({}, true),
      ),
    ).toThrow(ContractEngineFault);
  });
});
