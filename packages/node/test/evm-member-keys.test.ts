/**
 * Members' secp256k1 keys for EVM chains on the ledger (docs/interop.md): `member.setEvmKey` with a
 * proof of possession, the `memberevm/` index, the EVM member set `gov/evm-memberset` and its epochs
 * (admission, removal, threshold and key changes), and certificates assembled from the members'
 * signatures against it. In process, one node; the contract side is evm-custos-certificate.test.ts.
 */
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import { evmAddress, evmSecretKey, proveEvmKey, verifyEvmCertificate } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { MEMBER_SET_KEY } from '@custos/protocol/ledger';
import { codeChecker } from '@custos/test-utils';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeError } from '../src/errors.js';
import { EVM_MEMBER_SET_KEY, type EvmMemberSetEntry, evmMemberSetAt } from '../src/governance/evm-member-set.js';
import { assembleEvmDecision, signEvmDecision } from '../src/interop/evm/certificates.js';
import { CustosNode } from '../src/node.js';

const expectCode = codeChecker(NodeError);
let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
const evmKeys: Record<string, Uint8Array> = {};

const send = (s: Signer, type: string, args: { [k: string]: JsonValue }) => node.submitAndWait(tx(s, type, args));
const setEvmKey = (org: string, key = evmSecretKey(), as = org) => {
  const { address, proof } = proveEvmKey(key, { chainId: 'test', member: as });
  return send(fx.orgs[org]!, 'member.setEvmKey', { address, proof });
};
const evmSet = () => evmMemberSetAt(node.store);
const state = (key: string) => node.store.getState(key);

beforeAll(async () => {
  tmp = tempDir();
  fx = fixture(['bank', 'insurer', 'retailer']);
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
});

afterAll(async () => {
  await node?.close();
  tmp.cleanup();
});

describe('member.setEvmKey', () => {
  it('trust #16: setEvmKey refuses a malformed address, a missing or wrong proof and a non-member signer', async () => {
    const key = evmSecretKey();
    const { address, proof } = proveEvmKey(key, { chainId: 'test', member: 'bank' });
    const bank = fx.orgs.bank!;
    expect((await send(bank, 'member.setEvmKey', { address: address.toUpperCase(), proof })).code).toBe('INVALID_ARGS');
    expect((await send(bank, 'member.setEvmKey', { address })).code).toBe('INVALID_ARGS');
    expect((await send(bank, 'member.setEvmKey', { address, proof, extra: 1 })).code).toBe('INVALID_ARGS');
    // A proof made for another member, another chain, or by another key.
    const forInsurer = proveEvmKey(key, { chainId: 'test', member: 'insurer' });
    expect((await send(bank, 'member.setEvmKey', { address, proof: forInsurer.proof })).code).toBe('KEY_NOT_PROVEN');
    const otherChain = proveEvmKey(key, { chainId: 'other', member: 'bank' });
    expect((await send(bank, 'member.setEvmKey', { address, proof: otherChain.proof })).code).toBe('KEY_NOT_PROVEN');
    const otherKey = proveEvmKey(evmSecretKey(), { chainId: 'test', member: 'bank' });
    expect((await send(bank, 'member.setEvmKey', { address, proof: otherKey.proof })).code).toBe('KEY_NOT_PROVEN');
    const outsider = userSigner();
    expect((await send(outsider, 'member.setEvmKey', { address, proof })).code).toBe('UNAUTHORIZED');
    expect(state(EVM_MEMBER_SET_KEY)).toBeUndefined();
  });

  it('records each key; the EVM set becomes ready when as many members as the threshold have one', async () => {
    const custosEpoch = state(MEMBER_SET_KEY);
    for (const [i, org] of ['bank', 'insurer', 'retailer'].entries()) {
      evmKeys[org] = evmSecretKey();
      expect((await setEvmKey(org, evmKeys[org])).code).toBe('OK');
      expect(evmSet()).toMatchObject({ epoch: i + 1, threshold: 2, ready: i + 1 >= 2 });
      expect(JSON.parse(state(`member/${org}`)!).evmKey).toBe(evmAddress(evmKeys[org]!));
      expect(JSON.parse(state(`memberevm/${evmAddress(evmKeys[org]!)}`)!)).toBe(org);
    }
    const set = evmSet()!;
    expect(set).toMatchObject({ epoch: 3, ready: true, threshold: 2 });
    expect(set.addresses).toEqual(Object.values(evmKeys).map(evmAddress).sort());
    // The Ed25519 member set (what other Custos chains' light clients follow) did not change.
    expect(state(MEMBER_SET_KEY)).toBe(custosEpoch);
  });

  it('refuses another member’s key and the same key again; a replacement frees the old address', async () => {
    const bankKey = evmKeys.bank!;
    expect((await setEvmKey('insurer', bankKey, 'insurer')).code).toBe('CONFLICT');
    expect((await setEvmKey('bank', bankKey)).code).toBe('CONFLICT');
    const before = evmSet()!;
    const fresh = evmSecretKey();
    expect((await setEvmKey('bank', fresh)).code).toBe('OK');
    expect(state(`memberevm/${evmAddress(bankKey)}`)).toBeUndefined();
    const after = evmSet()!;
    expect(after.epoch).toBe(before.epoch + 1);
    expect(after.addresses).toContain(evmAddress(fresh));
    expect(after.addresses).not.toContain(evmAddress(bankKey));
    evmKeys.bank = fresh;
  });

  it('moves to a new epoch on a threshold change, an admission (not ready) and a removal', async () => {
    const propose = async (action: { [k: string]: JsonValue }, voters: string[]) => {
      const p = await send(fx.orgs.bank!, 'gov.propose', { action, reason: 'test' });
      expect(p.code).toBe('OK');
      for (const v of voters) await send(fx.orgs[v]!, 'gov.vote', { proposal: p.txId, vote: 'yes' });
    };
    const e0 = evmSet()!.epoch;
    await propose({ kind: 'params', threshold: 3, blockMaxTxs: 500, blockMaxMs: 5 }, ['insurer']);
    expect(evmSet()).toMatchObject({ epoch: e0 + 1, threshold: 3, ready: true });
    await propose({ kind: 'params', threshold: 2, blockMaxTxs: 500, blockMaxMs: 5 }, ['insurer', 'retailer']);
    expect(evmSet()).toMatchObject({ epoch: e0 + 2, threshold: 2 });
    await propose({ kind: 'remove', id: 'retailer' }, ['insurer']);
    const set = evmSet()!;
    expect(set).toMatchObject({ epoch: e0 + 3, threshold: 2, ready: true });
    expect(set.addresses).toEqual([evmAddress(evmKeys.bank!), evmAddress(evmKeys.insurer!)].sort());
    expect(state(`memberevm/${evmAddress(evmKeys.retailer!)}`)).toBeUndefined();
  });
});

describe('EVM certificates from the members’ keys', () => {
  const domain = { chainId: 31337, contract: `0x${'11'.repeat(20)}` };
  const xtxId = 'ab'.repeat(32);
  const legHash = `0x${'cd'.repeat(32)}`;

  it('assembles a quorum of the recorded set, in signer order, that the contract’s check accepts', () => {
    const set = evmSet()!;
    const sigs = ['insurer', 'bank', 'insurer'].map((o) =>
      signEvmDecision(evmKeys[o]!, domain, { xtxId, legHash, commit: true, epoch: set.epoch }),
    );
    const cert = assembleEvmDecision(domain, set, { xtxId, legHash, commit: true }, sigs);
    expect(cert.signatures).toHaveLength(2);
    expect(cert.epoch).toBe(set.epoch);
    verifyEvmCertificate(domain, cert, { epoch: set.epoch, addresses: set.addresses, threshold: set.threshold });
  });

  it('refuses too few signatures, a removed member’s, one for another epoch and a set that is not ready', () => {
    const set = evmSet()!;
    const sign = (o: string, epoch = set.epoch) =>
      signEvmDecision(evmKeys[o]!, domain, { xtxId, legHash, commit: true, epoch });
    expectCode(() => assembleEvmDecision(domain, set, { xtxId, legHash, commit: true }, [sign('bank')]), 'BAD_REQUEST');
    expectCode(
      () => assembleEvmDecision(domain, set, { xtxId, legHash, commit: true }, [sign('bank'), sign('retailer')]),
      'BAD_REQUEST',
    );
    expectCode(
      () =>
        assembleEvmDecision(domain, set, { xtxId, legHash, commit: true }, [
          sign('bank'),
          sign('insurer', set.epoch - 1),
        ]),
      'BAD_REQUEST',
    );
    const notReady: EvmMemberSetEntry = { ...set, ready: false };
    expectCode(
      () => assembleEvmDecision(domain, notReady, { xtxId, legHash, commit: true }, [sign('bank'), sign('insurer')]),
      'BAD_REQUEST',
    );
  });
});
