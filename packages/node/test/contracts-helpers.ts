/** Shared fixtures of the contract runtime tests: an in-memory state view and a call builder. */
import type { JsonValue } from '@custos/protocol/jcs';
import {
  type ContractCall,
  type ContractManifest,
  type ContractResult,
  type ContractRuntime,
  type ContractStateView,
  contractStatePrefix,
} from '../src/contracts/index.js';

export class MemoryState implements ContractStateView {
  readonly entries = new Map<string, string>();
  get(key: string): string | undefined {
    return this.entries.get(key);
  }
  range(prefix: string, after: string | undefined, limit: number): { key: string; value: string }[] {
    return [...this.entries.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || k > after))
      .sort()
      .slice(0, limit)
      .map((key) => ({ key, value: this.entries.get(key) as string }));
  }
  /** Applies a successful call's writes. */
  apply(result: ContractResult): void {
    for (const [k, v] of result.writes) {
      if (v === null) this.entries.delete(k);
      else this.entries.set(k, v);
    }
  }
  snapshot(): string {
    return JSON.stringify([...this.entries.entries()].sort());
  }
}

export const MANIFEST: ContractManifest = {
  name: 'test',
  version: '1.0.0',
  namespaces: ['main', 'aux'],
  grants: ['data.access'],
  categories: [],
  purposes: [],
  maxGas: 5_000_000,
};

export function seeded(): MemoryState {
  const s = new MemoryState();
  s.entries.set(`${contractStatePrefix('test')}main/seed`, '{"n":1}');
  s.entries.set(`${contractStatePrefix('other')}main/secret`, '"x"');
  s.entries.set('member/bank', '{"id":"bank"}');
  return s;
}

export function callOf(
  code: string,
  state: ContractStateView,
  method = 'run',
  args: JsonValue = {},
  over: Partial<ContractCall> = {},
): ContractCall {
  return {
    contract: 'test',
    code,
    manifest: MANIFEST,
    method,
    args,
    caller: 'bank',
    height: 10,
    time: 1_700_000_000_000,
    gasLimit: 5_000_000,
    state,
    ...over,
  };
}

export function run(
  rt: ContractRuntime,
  code: string,
  state: ContractStateView,
  args: JsonValue = {},
  over: Partial<ContractCall> = {},
): ContractResult {
  return rt.call(callOf(code, state, 'run', args, over));
}

/** A small ledger of counters, with the kinds of work a random call sequence exercises. */
export const COUNTERS = `
exports.add = function (args, call) {
  const key = 'main/c/' + args.name;
  const cur = host.get(key) || { n: 0, by: [] };
  cur.n += args.n;
  cur.by.push(call.caller);
  if (cur.by.length > 5) cur.by.shift();
  host.put(key, cur);
  host.emit({ type: 'added', name: args.name, n: args.n });
  return cur.n;
};
exports.remove = function (args) { host.del('main/c/' + args.name); return null; };
exports.list = function () { return host.range('main/c/', null, 20).map((e) => [e.key, e.value.n]); };
exports.work = function (args) {
  let x = 0;
  for (let i = 0; i < args.n * 1000; i++) x = (x * 31 + i) % 1000003;
  const keep = [];
  for (let i = 0; i < args.n * 100; i++) keep.push({ i, s: 'v' + i });
  host.put('aux/result', { x, kept: keep.length });
  return keep.length;
};
exports.fail = function (args) { host.put('main/c/' + args.name, { n: -1 }); throw new Error('refused ' + args.n); };
exports.spin = function () { for (;;) {} };
`;
