/**
 * The relayer's member-set step (interop/evm/evm-members-relay.ts) against a decision chain held
 * in memory: a contract already seen at D's EVM member-set epoch is not read again (an EVM call
 * every pass otherwise), and is read once D's set moves past it. The updates themselves, on a real
 * Hardhat chain, are in evm-member-update.test.ts and evm-member-rotation.test.ts.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import { describe, expect, it } from 'vitest';
import type { ChainEndpoint } from '../src/interop/endpoint.js';
import { relayMemberSets } from '../src/interop/evm/evm-members-relay.js';

const PARTICIPANT = 'evm:31337:0x00000000000000000000000000000000000000aa';

function decisionChain(state: Map<string, JsonValue>): ChainEndpoint {
  const fail = () => Promise.reject(new Error('not used here'));
  return {
    label: 'd',
    info: async () => ({ chainId: 'd', height: 1 }),
    entry: async (key) => state.get(key) ?? null,
    list: async (prefix, after, limit) =>
      [...state.entries()]
        .filter(([k]) => k.startsWith(prefix) && (after === undefined || k > after))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .slice(0, limit)
        .map(([key, value]) => ({ key, value })),
    stateProof: fail,
    tx: fail,
    submit: fail,
  };
}

describe('the relayer’s member-set step', () => {
  it('reads a contract’s set only while D’s epoch is above the one it was seen at', async () => {
    const state = new Map<string, JsonValue>([
      ['gov/evm-memberset', { epoch: 1, addresses: [], threshold: 1, ready: true }],
      [`evmp/${PARTICIPANT}`, { participant: PARTICIPANT }],
    ]);
    const d = decisionChain(state);
    let reads = 0;
    let seen: number | undefined;
    const deps = {
      contractSet: async () => {
        reads++;
        seen = 1;
        return { epoch: 1, members: [], threshold: 1 };
      },
      heldAtLeast: () => seen,
      chainOf: async () => ({ r: {} as never, contract: '0x00' as const }),
      onError: (_: string, e: unknown) => {
        throw e;
      },
      onRelayed: () => {},
    };
    for (let pass = 0; pass < 3; pass++) expect(await relayMemberSets(d, deps)).toEqual([]);
    // The first pass read the contract; it holds D's epoch, so the next two did not.
    expect(reads).toBe(1);
    // D's set moves on: the contract is read again (no update recorded yet to send it).
    state.set('gov/evm-memberset', { epoch: 2, addresses: [], threshold: 1, ready: true });
    expect(await relayMemberSets(d, deps)).toEqual([]);
    expect(reads).toBe(2);
    // Without what was seen (a relayer that keeps nothing), every pass reads it.
    const { heldAtLeast: _, ...blind } = deps;
    await relayMemberSets(d, blind);
    await relayMemberSets(d, blind);
    expect(reads).toBe(4);
  });
});
