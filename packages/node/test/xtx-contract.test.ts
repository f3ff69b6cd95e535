/**
 * A contract call as an operation of an atomic cross-chain transaction (issue 14, point 5;
 * docs/contracts.md#contracts-in-cross-chain-transactions): run under gas at prepare with its writes
 * held and locked, applied on COMMIT, dropped on ABORT (its receipt stays), a failed call a NO.
 */
import type { Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { buildXtx } from '@custos/sdk';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractRuntime } from '../src/contracts/runtime.js';
import type { CallReceipt } from '../src/modules/contract-state.js';
import { auditChain } from '../src/peer/audit.js';
import {
  type Chain,
  connect,
  decisionOf,
  freshKey,
  kvValue,
  locksOf,
  openChain,
  prepareTx,
  relayer,
  send,
  settle,
  submit,
  voteOf,
} from './xtx-helpers.js';

const LEDGER = `
exports.add = function (args) {
  const cur = host.get('main/' + args.name) || { n: 0 };
  cur.n += args.n;
  if (cur.n < 0) throw new Error('would go below zero');
  host.put('main/' + args.name, cur);
  host.emit({ type: 'added', name: args.name, n: args.n });
  return cur.n;
};
exports.spin = function () { for (;;) {} };
`;

const manifest: { [k: string]: JsonValue } = {
  name: 'ledger',
  version: '1.0.0',
  namespaces: ['main'],
  grants: [],
  categories: [],
  purposes: [],
  maxGas: 2_000_000,
};

let tmp: ReturnType<typeof tempDir>;
let alpha: Chain;
let beta: Chain;

/** Proposes LEDGER on `c` and votes it in with every member. */
async function deploy(c: Chain): Promise<void> {
  const [first, ...rest] = Object.values(c.orgs);
  const p = await c.node.submitAndWait(
    signTx({ chainId: c.chainId, type: 'contract.propose', args: { code: LEDGER, manifest, reason: 'xtx' } }, first!),
  );
  expect(p.code).toBe('OK');
  for (const s of rest) await send(c, s, 'gov.vote', { proposal: p.txId, vote: 'yes' });
  // Active from the next height.
  expect(
    await send(c, first!, 'contract.call', { contract: 'ledger', method: 'add', args: { name: 'seed', n: 1 } }),
  ).toBe('OK');
}

function member(c: Chain): Signer {
  return Object.values(c.orgs)[0]!;
}

function callStep(c: Chain, method: string, args: JsonValue, gas?: number) {
  return {
    chainId: c.chainId,
    type: 'contract.call',
    args: { contract: 'ledger', method, args, ...(gas === undefined ? {} : { gas }) },
    signer: member(c),
  };
}

function balance(c: Chain, name: string): number | undefined {
  const t = c.node.store.getState(`contract/ledger/main/${name}`);
  return t === undefined ? undefined : (JSON.parse(t) as { n: number }).n;
}

function receipts(c: Chain): CallReceipt[] {
  return c.node.store.listState('contract-receipt/', undefined, 1000).map((r) => JSON.parse(r.value) as CallReceipt);
}

beforeAll(async () => {
  tmp = tempDir('custos-xtx-contract-');
  alpha = await openChain(tmp.dir, 'alpha');
  beta = await openChain(tmp.dir, 'beta', ['b1', 'b2']);
  await connect([alpha, beta]);
  await deploy(alpha);
  await deploy(beta);
});

afterAll(async () => {
  for (const c of [alpha, beta]) await c.node.close().catch(() => {});
  tmp.cleanup();
});

describe('contract calls in cross-chain transactions', () => {
  it('commits a contract call on alpha with a contract call and a kv write on beta', async () => {
    const key = freshKey();
    const { xtx, xtxId } = buildXtx({
      decisionChain: alpha.chainId,
      deadlineHeight: alpha.node.latest().height + 50,
      ops: [
        callStep(alpha, 'add', { name: 'acct', n: 10 }),
        callStep(beta, 'add', { name: 'acct', n: 7 }),
        { chainId: beta.chainId, type: 'kv.put', args: { ns: 'x', key, value: 'v' }, signer: member(beta) },
      ],
    });
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK');
    // Prepared: the call ran (its receipt is there, marked held) but its writes wait, locked.
    expect(voteOf(alpha, xtxId)).toMatchObject({ vote: 'YES', status: 'prepared' });
    expect(balance(alpha, 'acct')).toBeUndefined();
    expect(locksOf(alpha, xtxId)).toEqual(['lock/contract/ledger/main/acct']);
    const held = receipts(alpha).find((r) => r.held === true && r.returnValue === 10);
    expect(held).toMatchObject({ contract: 'ledger', method: 'add', code: 'OK' });
    expect(held!.gasUsed).toBeGreaterThan(0);

    await settle(relayer([alpha, beta]));
    expect(decisionOf(alpha, xtxId)).toMatchObject({ decision: 'COMMIT' });
    for (const c of [alpha, beta]) {
      expect(voteOf(c, xtxId)?.status).toBe('committed');
      expect(locksOf(c, xtxId)).toEqual([]);
    }
    expect(balance(alpha, 'acct')).toBe(10);
    expect(balance(beta, 'acct')).toBe(7);
    expect(kvValue(beta, key)).toBe('v');
  });

  it('aborts on both chains when the call on beta fails, leaving alpha unchanged', async () => {
    for (const [bad, code] of [
      [callStep(beta, 'add', { name: 'acct', n: -100 }), 'CONTRACT_ERROR'],
      [callStep(beta, 'spin', {}, 100_000), 'OUT_OF_GAS'],
    ] as const) {
      const before = alpha.node.store.getState('contract/ledger/main/acct');
      const { xtx, xtxId } = buildXtx({
        decisionChain: alpha.chainId,
        deadlineHeight: alpha.node.latest().height + 50,
        ops: [callStep(alpha, 'add', { name: 'acct', n: 5 }), bad],
      });
      expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK');
      await settle(relayer([alpha, beta]));
      expect(voteOf(beta, xtxId)).toMatchObject({ vote: 'NO', reason: `operation 0: ${code}` });
      expect(decisionOf(alpha, xtxId)).toMatchObject({ decision: 'ABORT', reason: 'no:beta' });
      for (const c of [alpha, beta]) {
        expect(voteOf(c, xtxId)?.status).toBe('aborted');
        expect(locksOf(c, xtxId)).toEqual([]);
      }
      expect(alpha.node.store.getState('contract/ledger/main/acct')).toBe(before);
      expect(balance(beta, 'acct')).toBe(7);
      // The failed attempt is on beta's ledger with its code and gas.
      const failed = receipts(beta).filter((r) => r.held === true && r.code === code);
      expect(failed.length).toBe(1);
      expect(failed[0]!.gasUsed).toBeGreaterThan(0);
    }
  });

  it('refuses a second transaction, and a plain call, on contract keys held by a prepared one', async () => {
    const deadlineHeight = alpha.node.latest().height + 50;
    const one = buildXtx({
      decisionChain: alpha.chainId,
      deadlineHeight,
      ops: [callStep(alpha, 'add', { name: 'acct', n: 1 }), callStep(beta, 'add', { name: 'acct', n: 1 })],
    });
    const two = buildXtx({
      decisionChain: alpha.chainId,
      deadlineHeight,
      ops: [callStep(alpha, 'add', { name: 'acct', n: 2 }), callStep(beta, 'add', { name: 'other', n: 2 })],
    });
    expect(await submit(alpha, prepareTx(alpha, one.xtx))).toBe('OK');
    expect(await submit(alpha, prepareTx(alpha, two.xtx))).toBe('OK');
    expect(voteOf(alpha, two.xtxId)).toMatchObject({ vote: 'NO' });
    expect(voteOf(alpha, two.xtxId)?.reason).toMatch(/CONFLICT/);
    const plain = await alpha.node.submitAndWait(
      signTx(
        {
          chainId: 'alpha',
          type: 'contract.call',
          args: { contract: 'ledger', method: 'add', args: { name: 'acct', n: 3 } },
        },
        member(alpha),
      ),
    );
    expect(plain.code).toBe('CONFLICT');
    await settle(relayer([alpha, beta]));
    expect(decisionOf(alpha, one.xtxId)?.decision).toBe('COMMIT');
    expect(decisionOf(alpha, two.xtxId)?.decision).toBe('ABORT');
    expect(balance(alpha, 'acct')).toBe(11);
    expect(balance(beta, 'acct')).toBe(8);
    expect(balance(beta, 'other')).toBeUndefined();
  });

  it('replays both chains to the same state roots on a runtime of their own', async () => {
    for (const c of [alpha, beta]) {
      expect(auditChain(c.dbPath, { contracts: await ContractRuntime.create() }).problems).toEqual([]);
    }
  });
});
