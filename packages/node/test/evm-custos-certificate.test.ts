/**
 * Custos members certify for a real EVM chain (docs/interop.md): each member's secp256k1 key lives
 * in an encrypted keystore and is registered on a Custos ledger (`member.setEvmKey`); the participant
 * contract is deployed on a Hardhat chain with the EVM member set the ledger records; a decision
 * certificate made of the members' signatures is accepted by the contract, and after a key change on
 * the ledger, the members' certified update moves the contract to the new set, where the replaced
 * key no longer counts.
 */
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import { evmDecisionDigest, evmLegHash, evmSecretKey, proveEvmKey, sortEvmSignatures } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type EvmFixture, reverts, startEvm } from '@custos/test-utils/evm';
import { type Fixture, fixture, tempDir, tx } from '@custos/test-utils/node';
import type { Address, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmMemberSetAt } from '../src/governance/evm-member-set.js';
import {
  assembleEvmDecision,
  assembleEvmMemberUpdate,
  signEvmDecision,
  signEvmMemberUpdate,
} from '../src/interop/evm/certificates.js';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';
import { loadEvmKey, writeEvmKeystore } from '../src/keys/keystore.js';
import { CustosNode } from '../src/node.js';

const ORGS = ['bank', 'insurer', 'retailer'];
const PASSPHRASE = 'an EVM key passphrase';

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let evm: EvmFixture;
let token: Address;
let participant: Address;
let customer: Address;
let receiver: Address;

const send = (s: Signer, type: string, args: { [k: string]: JsonValue }) => node.submitAndWait(tx(s, type, args));
const keystore = (org: string) => join(tmp.dir, `${org}-evm.json`);

/** Registers a fresh EVM key of `org` on the ledger, kept only in its encrypted keystore. */
async function newEvmKey(org: string): Promise<void> {
  const sk = evmSecretKey();
  writeEvmKeystore(keystore(org), sk, PASSPHRASE);
  const { address, proof } = proveEvmKey(loadEvmKey(keystore(org), PASSPHRASE), { chainId: 'test', member: org });
  expect((await send(fx.orgs[org]!, 'member.setEvmKey', { address, proof })).code).toBe('OK');
}

const call = (functionName: string, args: readonly unknown[], from?: Address) =>
  evm.write({ address: participant, abi: CustosParticipant.abi, functionName, args }, from);

/** Prepares the customer's leg of 10 points to the receiver under `id`; resolves with its legHash. */
async function prepare(id: Hex): Promise<Hex> {
  const deadline = (await evm.publicClient.getBlockNumber()) + 50n;
  const leg = { token, from: customer, to: receiver, amount: 10n };
  await call('prepare', [id, leg, deadline], customer);
  return evmLegHash({
    token: token.toLowerCase(),
    from: customer.toLowerCase(),
    to: receiver.toLowerCase(),
    amount: '10',
  });
}

beforeAll(async () => {
  tmp = tempDir();
  fx = fixture(ORGS);
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
  for (const org of ORGS) await newEvmKey(org);
  evm = await startEvm();
  const [deployer, c, r] = evm.accounts as [Address, Address, Address];
  customer = c;
  receiver = r;
  ({ address: token } = await evm.deploy(LoyaltyToken, ['Points', 'PTS'], deployer));
  const set = evmMemberSetAt(node.store)!;
  expect(set.ready).toBe(true);
  ({ address: participant } = await evm.deploy(
    CustosParticipant,
    [BigInt(set.epoch), set.addresses, BigInt(set.threshold)],
    deployer,
  ));
  await evm.write({ address: token, abi: LoyaltyToken.abi, functionName: 'mint', args: [customer, 100n] }, deployer);
  await evm.write(
    { address: token, abi: LoyaltyToken.abi, functionName: 'approve', args: [participant, 100n] },
    customer,
  );
}, 120_000);

afterAll(async () => {
  await evm?.close();
  await node?.close();
  tmp?.cleanup();
});

describe('Custos members certify for the participant contract', () => {
  it('a COMMIT certificate from two members’ keystores is accepted on the EVM chain', async () => {
    const domain = { chainId: evm.chain.chainId, contract: participant };
    const set = evmMemberSetAt(node.store)!;
    const id: Hex = `0x${'01'.repeat(32)}`;
    const legHash = await prepare(id);
    const decision = { xtxId: id, legHash, commit: true, epoch: set.epoch };
    const sigs = ['retailer', 'bank'].map((o) =>
      signEvmDecision(loadEvmKey(keystore(o), PASSPHRASE), domain, decision),
    );
    const cert = assembleEvmDecision(domain, set, decision, sigs);
    await call('decide', [id, cert.legHash, cert.commit, BigInt(cert.epoch), cert.signatures], receiver);
    const balance = await evm.publicClient.readContract({
      address: token,
      abi: LoyaltyToken.abi,
      functionName: 'balanceOf',
      args: [receiver],
    });
    expect(balance).toBe(10n);
  });

  it('follows a key change on the ledger through an update certified by the previous set', async () => {
    const domain = { chainId: evm.chain.chainId, contract: participant };
    const before = evmMemberSetAt(node.store)!;
    const oldBankKey = loadEvmKey(keystore('bank'), PASSPHRASE);
    await newEvmKey('bank');
    const after = evmMemberSetAt(node.store)!;
    expect(after.epoch).toBe(before.epoch + 1);

    // The previous set's quorum (insurer and the bank's old key) signs the new set.
    const updateSigs = [oldBankKey, loadEvmKey(keystore('insurer'), PASSPHRASE)].map((k) =>
      signEvmMemberUpdate(k, domain, after),
    );
    const update = assembleEvmMemberUpdate(domain, before, after, updateSigs);
    await call('updateMembers', [BigInt(update.epoch), update.addresses, BigInt(update.threshold), update.signatures]);

    const id: Hex = `0x${'02'.repeat(32)}`;
    const legHash = await prepare(id);
    const decision = { xtxId: id, legHash, commit: false, epoch: after.epoch };
    // The replaced key's signature no longer counts, on the ledger's side and on the contract's.
    const stale = signEvmDecision(oldBankKey, domain, decision);
    const insurer = signEvmDecision(loadEvmKey(keystore('insurer'), PASSPHRASE), domain, decision);
    expect(() => assembleEvmDecision(domain, after, decision, [stale, insurer])).toThrow(/not in EVM member set/);
    const forged = sortEvmSignatures(evmDecisionDigest(domain, id, legHash, false, after.epoch), [stale, insurer]);
    expect(await reverts(call('decide', [id, legHash, false, BigInt(after.epoch), forged]))).toBe('NotMember');
    const bank = signEvmDecision(loadEvmKey(keystore('bank'), PASSPHRASE), domain, decision);
    const cert = assembleEvmDecision(domain, after, decision, [bank, insurer]);
    await call('decide', [id, legHash, false, BigInt(cert.epoch), cert.signatures]);
    const lock = (await evm.publicClient.readContract({
      address: participant,
      abi: CustosParticipant.abi,
      functionName: 'lockOf',
      args: [id, legHash],
    })) as { status: number };
    expect(lock.status).toBe(4);
  });
});
