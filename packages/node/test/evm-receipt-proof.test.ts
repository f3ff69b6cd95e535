/**
 * Receipt proofs of an EVM chain (src/interop/evm/receipt-proof.ts), on a real Hardhat chain: a
 * block with several transactions, the participant's prepare among them; its receipt and `Voted`
 * event proven against the block's receiptsRoot; a changed node, another root, an index with no
 * receipt and oversized or malformed proofs refused.
 */
import { type EvmFixture, startEvm } from '@custos/test-utils/evm';
import type { Address, Hex, PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';
import {
  buildBlockReceipts,
  buildReceiptProof,
  receiptProofIn,
  verifyReceiptProof,
  votedEvents,
} from '../src/interop/evm/receipt-proof.js';

const bad = { name: 'NodeError', code: 'BAD_REQUEST' };
let evm: EvmFixture;
let participant: Address;
let prepareTx: Hex;
const XTX: Hex = `0x${'42'.repeat(32)}`;

beforeAll(async () => {
  evm = await startEvm();
  const [issuer, customer, bank] = evm.accounts as [Address, Address, Address];
  const { address: token } = await evm.deploy(LoyaltyToken, ['Points', 'PTS'], issuer);
  ({ address: participant } = await evm.deploy(CustosParticipant, [0n, [issuer], 1n], issuer));
  await evm.write({ address: token, abi: LoyaltyToken.abi, functionName: 'mint', args: [customer, 50n] }, issuer);
  await evm.write(
    { address: token, abi: LoyaltyToken.abi, functionName: 'approve', args: [participant, 50n] },
    customer,
  );
  // Three transactions in one block: two transfers around the prepare.
  await evm.testClient.setAutomine(false);
  const deadline = (await evm.publicClient.getBlockNumber()) + 20n;
  const send = (address: Address, abi: readonly unknown[], functionName: string, args: unknown[], from: Address) =>
    evm.walletClient.writeContract({
      address,
      abi: abi as typeof LoyaltyToken.abi,
      functionName: functionName as 'transfer',
      args: args as [Address, bigint],
      account: from,
      chain: null,
      gas: 300_000n,
    });
  await send(token, LoyaltyToken.abi, 'transfer', [bank, 1n], customer);
  prepareTx = await evm.walletClient.writeContract({
    address: participant,
    abi: CustosParticipant.abi,
    functionName: 'prepare',
    args: [XTX, { token, from: customer, to: bank, amount: 20n }, deadline],
    account: customer,
    chain: null,
    gas: 300_000n,
  });
  await send(token, LoyaltyToken.abi, 'transfer', [issuer, 2n], customer);
  await evm.mine(1);
  await evm.testClient.setAutomine(true);
}, 120_000);

afterAll(() => evm?.close());

describe('EVM receipt proofs', () => {
  it('proves the prepare receipt and its Voted event against the block’s receiptsRoot', async () => {
    const p = await buildReceiptProof(evm.chain.rpcUrl, prepareTx);
    const block = await evm.publicClient.getBlock({ blockHash: p.blockHash });
    expect(block.transactions).toHaveLength(3);
    expect(p.index).toBe(1);
    expect(p.receiptsRoot).toBe(block.receiptsRoot);
    const receipt = await verifyReceiptProof(p);
    expect(receipt).toMatchObject({ type: 2, status: 1 });
    const votes = votedEvents(receipt, participant);
    expect(votes).toHaveLength(1);
    expect(votes[0]).toMatchObject({ xtxId: XTX, yes: true });
    // The same logs read from another address are not the participant's vote.
    expect(votedEvents(receipt, evm.accounts[0]!)).toEqual([]);
  });

  it('builds the same trie with receipts asked for beside the block, one of another block ignored', async () => {
    const p = await buildReceiptProof(evm.chain.rpcUrl, prepareTx);
    const pub = evm.publicClient as unknown as PublicClient;
    const other = (await evm.publicClient.getBlock({ blockNumber: BigInt(p.blockNumber) - 1n })).transactions[0]!;
    const b = await buildBlockReceipts(pub, BigInt(p.blockNumber), [prepareTx, other]);
    expect(b.receiptsRoot).toBe(p.receiptsRoot);
    expect(b.transactions).toHaveLength(3);
    expect(await receiptProofIn(b, prepareTx)).toEqual(p);
  });

  it('refuses a changed node, another root, a missing index and malformed or oversized proofs', async () => {
    const p = await buildReceiptProof(evm.chain.rpcUrl, prepareTx);
    const last = p.proof[p.proof.length - 1]!;
    const flipped = `${last.slice(0, -2)}${last.endsWith('00') ? '01' : '00'}` as Hex;
    await expect(verifyReceiptProof({ ...p, proof: [...p.proof.slice(0, -1), flipped] })).rejects.toMatchObject(bad);
    await expect(verifyReceiptProof({ ...p, receiptsRoot: `0x${'11'.repeat(32)}` })).rejects.toMatchObject(bad);
    await expect(verifyReceiptProof({ ...p, index: 7 })).rejects.toThrow(/no receipt at index 7|not a valid path/);
    // Another index of the same block proves another receipt, which holds no vote.
    const other = await verifyReceiptProof({
      ...p,
      index: 0,
      proof: (
        await buildReceiptProof(
          evm.chain.rpcUrl,
          (
            await evm.publicClient.getBlock({ blockHash: p.blockHash })
          ).transactions[0]!,
        )
      ).proof,
    });
    expect(votedEvents(other, participant)).toEqual([]);
    for (const proof of [[], Array(17).fill('0x00'), ['0xzz'], [`0x${'00'.repeat(65 * 1024)}`]]) {
      await expect(verifyReceiptProof({ ...p, proof: proof as Hex[] })).rejects.toMatchObject(bad);
    }
  });
});
