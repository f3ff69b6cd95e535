/**
 * The relayer's reader of a participant contract's events (interop/evm/contract-events.ts) on a
 * real Hardhat chain: each read goes on from the block the last one stopped at and still sees
 * every event, and a chain that no longer has that block (here a node restarted as a new chain)
 * is read again from the start, so no event of the chain that is gone is kept.
 */
import { randomBytes } from 'node:crypto';
import { type EvmFixture, startEvm } from '@custos/test-utils/evm';
import type { Address, Hex, PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractEvents } from '../src/interop/evm/contract-events.js';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';

let evm: EvmFixture;

beforeAll(async () => {
  evm = await startEvm();
}, 120_000);

afterAll(async () => {
  await evm?.close();
});

/** The token and the participant contract (one member, threshold 1), from the first account. */
async function deploy(): Promise<{ token: Address; participant: Address }> {
  const [deployer] = evm.accounts as [Address];
  const { address: token } = await evm.deploy(LoyaltyToken, ['Points', 'PTS'], deployer);
  const { address: participant } = await evm.deploy(CustosParticipant, [1n, [evm.accounts[9]], 1n], deployer);
  return { token, participant };
}

/** A holder's prepare without an approval: the contract votes NO, which emits `Voted` all the same. */
async function prepare(token: Address, participant: Address): Promise<string> {
  const id = randomBytes(32).toString('hex');
  const [, holder, receiver] = evm.accounts as [Address, Address, Address];
  const deadline = (await evm.publicClient.getBlockNumber()) + 100n;
  await evm.write(
    {
      address: participant,
      abi: CustosParticipant.abi,
      functionName: 'prepare',
      args: [`0x${id}` as Hex, { token, from: holder, to: receiver, amount: 1n }, deadline],
    },
    holder,
  );
  return id;
}

const voted = (index: Map<string, unknown>) =>
  [...index.keys()].filter((k) => k.startsWith('Voted/')).map((k) => k.split('/')[1]);

describe('a contract’s events read on from the last read', () => {
  it('sees every event across reads, and reads a chain that changed under it again from the start', async () => {
    const { token, participant } = await deploy();
    const reader = new ContractEvents(evm.publicClient as PublicClient, participant, 0n);
    const first = await prepare(token, participant);
    expect(voted(await reader.read())).toEqual([first]);
    // A read 100 blocks on, then one more: the last reads only the blocks from 64 below the one
    // before, and the first event, far below, stays known.
    await evm.mine(100);
    expect(voted(await reader.read())).toEqual([first]);
    const second = await prepare(token, participant);
    const index = await reader.read();
    expect(voted(index).sort()).toEqual([first, second].sort());
    expect(index.get([...index.keys()].find((k) => k.includes(second)) as string)).toMatchObject({
      blockNumber: Number(await evm.publicClient.getBlockNumber()),
    });

    // A new chain from block 0: the same contract address (the deployer's nonces start again).
    await evm.chain.restart();
    const again = await deploy();
    expect(again.participant).toBe(participant);
    const third = await prepare(again.token, again.participant);
    expect(voted(await reader.read())).toEqual([third]);
  }, 120_000);
});
