/**
 * One cross-chain transaction over a Custos ledger and a real Hardhat chain (docs/interop.md), end
 * to end: members attest the EVM headers from their own endpoint, a relayer carries the contract's
 * vote to the decision chain with a receipts-trie proof, the decision chain decides, the members
 * sign the decision with their EVM keys, a relayer delivers it to the contract and proves the
 * outcome back. Commit, a NO vote, an expired Custos deadline, an EVM deadline inside the margin,
 * a leg of someone else's prepared first under the same id, and a relayer that stops half-way
 * replaced by another.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomSecretKey } from '@custos/protocol/crypto';
import { evmLegHash, xtxIdOf } from '@custos/protocol/interop';
import { tempDir } from '@custos/test-utils/node';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';
import { EVM_CONFIG_FILE, loadEvmDuties, parseEvmDutiesConfig } from '../src/interop/evm/evm-duties.js';
import { buildReceiptProof } from '../src/interop/evm/receipt-proof.js';
import { type RelayAction, Relayer } from '../src/interop/relayer.js';
import { xtxStatus } from '../src/interop/xtx-status.js';
import { writeEvmKeystore } from '../src/keys/keystore.js';
import {
  balance,
  duties,
  type EvmWorld,
  evmRelayer,
  evmXtx,
  lockStatus,
  ORGS,
  openEvmWorld,
  outcomeOf,
  prepareOnD,
  prepareOnEvm,
  runUntilDone,
  sendAs,
  stateOf,
} from './evm-xtx-helpers.js';
import { kvValue, tick } from './xtx-helpers.js';

let tmp: ReturnType<typeof tempDir>;
let w: EvmWorld;
let relayerAccount: Address;

beforeAll(async () => {
  tmp = tempDir();
  w = await openEvmWorld(tmp.dir);
  relayerAccount = w.evm.accounts[5] as Address;
}, 180_000);

afterAll(async () => {
  await w?.evm.close();
  await w?.d.node.close();
  tmp?.cleanup();
});

const LOCKED = { none: 0, prepared: 1, refused: 2, committed: 3, aborted: 4 };

describe('an xtx with an EVM participant', () => {
  it('commits on both sides: the kv write on Custos, the tokens paid on the EVM chain', async () => {
    const before = { customer: await balance(w, w.customer), receiver: await balance(w, w.receiver) };
    const { xtx, xtxId, key, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(xtxIdOf(xtx)).toBe(xtxId);
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    expect(await lockStatus(w, xtxId, leg)).toBe(LOCKED.prepared);
    expect(await balance(w, w.customer)).toBe(before.customer - 10n);

    await runUntilDone(w, evmRelayer(w, relayerAccount), xtxId);
    expect(outcomeOf(w, xtxId)).toEqual({
      decision: 'COMMIT',
      reason: 'all-yes',
      custos: 'committed',
      evm: 'committed',
    });
    expect(kvValue(w.d, key)).toBe(key);
    expect(await lockStatus(w, xtxId, leg)).toBe(LOCKED.committed);
    expect(await balance(w, w.receiver)).toBe(before.receiver + 10n);
    const vote = stateOf(w, `xtxevm/${xtxId}/${w.pid}`) as { vote: string; legHash: string };
    expect(vote.vote).toBe('YES');
    const carried = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { signatures: unknown[]; threshold: number };
    expect(carried.signatures.length).toBeGreaterThanOrEqual(carried.threshold);
    expect(stateOf(w, `xtxevmopen/${xtxId}/${w.pid}`)).toBeNull();

    const status = await xtxStatus([w.ep], xtxId, { evm: [{ rpcUrl: w.evm.chain.rpcUrl }] });
    expect(status.stage).toBe('committed');
    expect(status.evm[0]).toMatchObject({ participant: w.pid, lock: 'committed', vote: 'YES', outcome: 'committed' });
    expect(status.evm[0]?.prepareTx).toMatch(/^0x[0-9a-f]{64}$/);
    expect(status.evm[0]?.confirmations).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('several in flight: a relayer paying from its own key sends the decides ready in a pass in one decideMany, and all commit', async () => {
    const key = generatePrivateKey();
    const payer = privateKeyToAccount(key).address;
    const funding = await w.evm.walletClient.sendTransaction({
      account: w.evm.accounts[0] as Address,
      to: payer,
      value: 10n ** 18n,
      chain: null,
    });
    await w.evm.publicClient.waitForTransactionReceipt({ hash: funding });
    const batch = Array.from({ length: 4 }, () => evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 }));
    for (const t of batch) {
      expect(await prepareOnD(w, t.xtx)).toBe('OK');
      await prepareOnEvm(w, t.xtxId, t.leg);
    }
    const relayer = new Relayer({
      chains: [w.ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { secretKey: key } }],
    });
    const passes: RelayAction[][] = [];
    for (let i = 0; i < 25 && !batch.every((t) => outcomeOf(w, t.xtxId).evm !== undefined); i++) {
      await duties(w);
      passes.push(await relayer.step());
    }
    for (const t of batch) {
      expect(outcomeOf(w, t.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
      expect(await lockStatus(w, t.xtxId, t.leg)).toBe(LOCKED.committed);
    }
    // Decides ready together go out in one decideMany under the payer's next nonce: one EVM
    // transaction per pass that sent any (one relayer pass may find some decisions signed before the
    // others, so the four may span two passes).
    const decides = passes.map((p) => p.filter((a) => a.step === 'evmDecide').length).filter((n) => n > 0);
    expect(decides.reduce((x, y) => x + y, 0)).toBe(4);
    expect(Math.max(...decides)).toBeGreaterThan(1);
    expect(await w.evm.publicClient.getTransactionCount({ address: payer })).toBe(decides.length);
  }, 120_000);

  it('aborts on both sides on the contract’s NO vote (the token refused the transfer): nothing moves', async () => {
    const before = await balance(w, w.customer);
    const { xtx, xtxId, key, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg, { approve: false });
    expect(await lockStatus(w, xtxId, leg)).toBe(LOCKED.refused);
    await runUntilDone(w, evmRelayer(w, relayerAccount), xtxId);
    expect(outcomeOf(w, xtxId)).toEqual({
      decision: 'ABORT',
      reason: `no:${w.pid}`,
      custos: 'aborted',
      evm: 'aborted',
    });
    expect(kvValue(w.d, key)).toBeUndefined();
    expect(await balance(w, w.customer)).toBe(before);
  }, 120_000);

  it('aborts on both sides when the Custos deadline passes: the lock goes back to the holder', async () => {
    const before = await balance(w, w.customer);
    const { xtx, xtxId, key, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 3 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    await tick(w.d, 5);
    await runUntilDone(w, evmRelayer(w, relayerAccount), xtxId);
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'ABORT', custos: 'aborted', evm: 'aborted' });
    expect(kvValue(w.d, key)).toBeUndefined();
    expect(await lockStatus(w, xtxId, leg)).toBe(LOCKED.aborted);
    expect(await balance(w, w.customer)).toBe(before);
  }, 120_000);

  it('aborts when the EVM lock’s deadline is inside the margin of the highest attested block', async () => {
    const before = await balance(w, w.customer);
    const { xtx, xtxId, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg, { deadlineBlocks: 5 });
    await runUntilDone(w, evmRelayer(w, relayerAccount), xtxId);
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'ABORT', reason: 'evm-lock-deadline', evm: 'aborted' });
    expect(await balance(w, w.customer)).toBe(before);
  }, 120_000);

  it('trust #16: a leg prepared first under the same xtxId by someone else: the planned leg still commits', async () => {
    const before = await balance(w, w.receiver);
    const { xtx, xtxId, key, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    // The attacker read the id (a mempool, the prepare on D) and locks a leg of its own under it first.
    const attacker = w.evm.accounts[8] as Address;
    await w.evm.write({ address: w.token, abi: LoyaltyToken.abi, functionName: 'mint', args: [attacker, 5n] });
    const own = { ...leg, from: attacker.toLowerCase(), to: attacker.toLowerCase(), amount: '5' };
    await prepareOnEvm(w, xtxId, own, { deadlineBlocks: 4 });
    expect(await lockStatus(w, xtxId, own)).toBe(LOCKED.prepared);
    // The holder's prepare is not blocked by it.
    await prepareOnEvm(w, xtxId, leg);
    expect(await lockStatus(w, xtxId, leg)).toBe(LOCKED.prepared);
    // The attacker's lock lapses and is released: its Lapsed event is not the planned leg's outcome.
    await w.evm.mine(4);
    const released = await w.evm.write(
      {
        address: w.participant,
        abi: CustosParticipant.abi,
        functionName: 'release',
        args: [`0x${xtxId}`, evmLegHash(own)],
      },
      attacker,
    );
    const relayer = evmRelayer(w, relayerAccount);
    for (let i = 0; i < 10 && outcomeOf(w, xtxId).decision === undefined; i++) {
      await duties(w);
      await relayer.step();
    }
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', reason: 'all-yes' });
    const lapsed = await buildReceiptProof(w.evm.chain.rpcUrl, released.transactionHash);
    const done = { xtxId, participant: w.pid, number: lapsed.blockNumber, index: lapsed.index, proof: lapsed.proof };
    expect(await sendAs(w, 'org1', 'xtx.evmDone', done)).toBe('UNAUTHORIZED');
    expect(await sendAs(w, 'org1', 'xtx.evmDone', { outcomes: [done] })).toBe('UNAUTHORIZED');
    // The planned leg decided on the contract with the members' certificate, its block attested:
    // in a list after the other lock's Lapsed, the good proof is refused with it; alone it counts.
    await duties(w);
    const toCarry = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as {
      epoch: number;
      signatures: { signature: Hex }[];
    };
    const decideTx = await w.evm.write(
      {
        address: w.participant,
        abi: CustosParticipant.abi,
        functionName: 'decide',
        args: [`0x${xtxId}`, evmLegHash(leg), true, BigInt(toCarry.epoch), toCarry.signatures.map((x) => x.signature)],
      },
      relayerAccount,
    );
    await duties(w);
    const good = await buildReceiptProof(w.evm.chain.rpcUrl, decideTx.transactionHash);
    const goodDone = { ...done, number: good.blockNumber, index: good.index, proof: good.proof };
    expect(await sendAs(w, 'org1', 'xtx.evmDone', { outcomes: [done, goodDone] })).toBe('UNAUTHORIZED');
    expect(outcomeOf(w, xtxId).evm).toBeUndefined();
    expect(await sendAs(w, 'org1', 'xtx.evmDone', { outcomes: [goodDone] })).toBe('OK');
    await runUntilDone(w, relayer, xtxId);
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    // The recorded outcome again, in a list: skipped, so the list records nothing (CONFLICT).
    const recorded = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { outcome: { number: number; index: number } };
    const decidedTx = (await w.evm.publicClient.getBlock({ blockNumber: BigInt(recorded.outcome.number) }))
      .transactions[recorded.outcome.index] as Hex;
    const decided = await buildReceiptProof(w.evm.chain.rpcUrl, decidedTx);
    const again = { ...done, number: decided.blockNumber, index: decided.index, proof: decided.proof };
    expect(await sendAs(w, 'org1', 'xtx.evmDone', { outcomes: [again] })).toBe('CONFLICT');
    // Once the outcome is recorded, any other proof for it is skipped as well.
    expect(await sendAs(w, 'org1', 'xtx.evmDone', { outcomes: [again, done] })).toBe('CONFLICT');
    expect(outcomeOf(w, xtxId)).toMatchObject({ evm: 'committed' });
    expect(await sendAs(w, 'org1', 'xtx.evmDone', { outcomes: [] })).toBe('INVALID_ARGS');
    expect(kvValue(w.d, key)).toBe(key);
    expect(await lockStatus(w, xtxId, leg)).toBe(LOCKED.committed);
    expect(await lockStatus(w, xtxId, own)).toBe(LOCKED.aborted);
    expect(await balance(w, w.receiver)).toBe(before + 10n);
    expect(await balance(w, attacker)).toBe(5n);
  }, 120_000);

  it('a relayer that stops half-way (after the decision; after its decide) is replaced by another that finishes', async () => {
    const before = await balance(w, w.receiver);
    const { xtx, xtxId, key, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    // The first relayer carries the vote and gets the decision recorded, then dies.
    const first = evmRelayer(w, relayerAccount);
    for (let i = 0; i < 10 && outcomeOf(w, xtxId).decision === undefined; i++) {
      await duties(w);
      await first.step();
    }
    expect(outcomeOf(w, xtxId).decision).toBe('COMMIT');
    expect(await lockStatus(w, xtxId, leg)).toBe(LOCKED.prepared);
    // A second one, with another EVM account and no memory of the first, finishes.
    await runUntilDone(w, evmRelayer(w, w.evm.accounts[6] as Address), xtxId);
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    expect(kvValue(w.d, key)).toBe(key);
    expect(await balance(w, w.receiver)).toBe(before + 10n);

    // Another one stops right after its decide reached the contract, before proving it back.
    const t2 = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, t2.xtx)).toBe('OK');
    await prepareOnEvm(w, t2.xtxId, t2.leg);
    const third = evmRelayer(w, relayerAccount);
    for (let i = 0; i < 15 && (await lockStatus(w, t2.xtxId, t2.leg)) !== LOCKED.committed; i++) {
      await duties(w);
      await third.step();
    }
    expect(await lockStatus(w, t2.xtxId, t2.leg)).toBe(LOCKED.committed);
    expect(outcomeOf(w, t2.xtxId).evm).toBeUndefined();
    expect(stateOf(w, `xtxevmopen/${t2.xtxId}/${w.pid}`)).not.toBeNull();
    await runUntilDone(w, evmRelayer(w, w.evm.accounts[7] as Address), t2.xtxId);
    expect(outcomeOf(w, t2.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    expect(await balance(w, w.receiver)).toBe(before + 20n);
  }, 120_000);

  it('a COMMIT that misses the lock’s deadline: flagged at risk, then released, recorded as lapsed', async () => {
    const before = { customer: await balance(w, w.customer), receiver: await balance(w, w.receiver) };
    const { xtx, xtxId, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg, { deadlineBlocks: 40 });
    // Decided on Custos, but no member signs in time (their signers are down).
    const relayer = evmRelayer(w, relayerAccount);
    for (let i = 0; i < 10 && outcomeOf(w, xtxId).decision === undefined; i++) {
      for (const a of w.attesters) await a.step();
      await relayer.step();
    }
    expect(outcomeOf(w, xtxId).decision).toBe('COMMIT');
    const deadline = (stateOf(w, `xtxevm/${xtxId}/${w.pid}`) as { deadline: number }).deadline;
    await w.evm.mine(deadline - Number(await w.evm.publicClient.getBlockNumber()) - 5);
    const status = await xtxStatus([w.ep], xtxId, { evm: [{ rpcUrl: w.evm.chain.rpcUrl }] });
    expect(status.evm[0]).toMatchObject({ lock: 'prepared', atRisk: true, decision: { commit: true } });
    await w.evm.mine(10);
    await runUntilDone(w, relayer, xtxId);
    // The timing assumption broken, and visible: committed on Custos, the lock returned on the EVM chain.
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'lapsed' });
    expect(await lockStatus(w, xtxId, leg)).toBe(LOCKED.aborted);
    expect(await balance(w, w.customer)).toBe(before.customer);
    expect(await balance(w, w.receiver)).toBe(before.receiver);
  }, 120_000);

  it('a peer configured by evm.json does its members’ duties: attests and signs, and the xtx commits', async () => {
    const home = join(tmp.dir, 'home');
    mkdirSync(join(home, 'keys'), { recursive: true });
    const passphrase = 'an EVM keystore passphrase';
    for (const org of ORGS) writeEvmKeystore(join(home, 'keys', `${org}-evm.json`), w.evmKeys[org]!, passphrase);
    const config = {
      chains: [{ rpcUrl: w.evm.chain.rpcUrl, confirmations: 0, headEvery: 1 }],
      orgs: Object.fromEntries(ORGS.map((o) => [o, { evmKeystore: `keys/${o}-evm.json` }])),
    };
    writeFileSync(join(home, EVM_CONFIG_FILE), JSON.stringify(config));
    const logs: string[] = [];
    const orgSigners = new Map(ORGS.map((o) => [o, w.d.orgs[o]!]));
    const peerDuties = loadEvmDuties(home, w.d.node, orgSigners, passphrase, (m) => logs.push(m))!;
    const { xtx, xtxId, key, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    const relayer = evmRelayer(w, relayerAccount);
    for (let i = 0; i < 20 && outcomeOf(w, xtxId).evm === undefined; i++) {
      await peerDuties.step();
      await relayer.step();
    }
    expect(logs).toEqual([]);
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    expect(kvValue(w.d, key)).toBe(key);

    // A peer that does not hold an org's keys, or a malformed file, is refused when it starts.
    expect(() => loadEvmDuties(home, w.d.node, new Map(), passphrase, () => {})).toThrow(/does not hold the keys/);
    const refused = (doc: unknown) => () => parseEvmDutiesConfig(doc);
    expect(refused({ ...config, chains: [] })).toThrow(/chains/);
    expect(refused({ ...config, chains: [{ rpcUrl: 'file:///etc/passwd', confirmations: 0 }] })).toThrow(/rpcUrl/);
    expect(refused({ ...config, chains: [{ rpcUrl: w.evm.chain.rpcUrl, confirmations: -1 }] })).toThrow(
      /confirmations/,
    );
    expect(refused({ ...config, extra: 1 })).toThrow(/unexpected field/);
    expect(refused({ ...config, orgs: { org1: { evmKeystore: 'k', more: 1 } } })).toThrow(/orgs.org1/);
  }, 120_000);
});
