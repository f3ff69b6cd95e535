import { join } from 'node:path';
import { toBase64url } from '@custos/protocol/encoding';
import { ProtocolError } from '@custos/protocol/errors';
import { headerHash, INCLUSION_BUNDLE, verifyProofBundle } from '@custos/protocol/ledger';
import { expectCode } from '@custos/test-utils';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeVerifier } from '../src/crypto/native.js';
import { CustosNode } from '../src/node.js';
import { auditChain } from '../src/peer/audit.js';
import { consistencyProof, inclusionProof, stateProof } from '../src/proofs.js';

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let dbPath: string;

beforeEach(async () => {
  tmp = tempDir();
  fx = fixture();
  dbPath = join(tmp.dir, 'node.db');
  node = await CustosNode.open({ dbPath, genesis: fx.genesis, signers: Object.values(fx.orgs), verifyThreads: 1 });
});

afterEach(async () => {
  await node.close();
  tmp.cleanup();
});

describe('a single node', () => {
  it('starts at a genesis block holding the members, certified by all member keys', () => {
    const head = node.latest();
    expect(head.height).toBe(0);
    expect(head.logSize).toBe(0);
    expect(JSON.parse(node.store.getState('member/bank')!).name).toBe('bank org');
    const cert = node.store.getHeader(0)!.qc!;
    expect(cert.signatures).toHaveLength(3);
  });

  it('commits a kv.put, serves it, and proves it', async () => {
    const alice = userSigner();
    const t = tx(alice, 'kv.put', { ns: 'profile', key: 'color', value: { favourite: 'teal' } });
    const r = await node.submitAndWait(t);
    expect(r.code).toBe('OK');
    expect(r.height).toBe(1);
    expect(JSON.parse(node.store.getState('kv/profile/color')!).value).toEqual({ favourite: 'teal' });
    const committed = node.store.getTx(r.txId)!;
    expect(committed.tx).toEqual(t);

    const inc = inclusionProof(node, r.txId);
    expect(inc.type).toBe(INCLUSION_BUNDLE);
    expect(verifyProofBundle(inc, node.members, nativeVerifier)).toMatchObject({
      kind: 'inclusion',
      entry: { code: 'OK' },
    });
    const st = stateProof(node, 'kv/profile/color');
    expect(verifyProofBundle(st, node.members, nativeVerifier)).toMatchObject({ kind: 'state' });
    const absent = stateProof(node, 'kv/profile/nothing');
    expect(absent.value).toBeNull();
    expect(verifyProofBundle(absent, node.members, nativeVerifier)).toMatchObject({ value: null });
    // A state proof with a changed value does not verify.
    expect(() => verifyProofBundle({ ...st, value: { favourite: 'red' } }, node.members, nativeVerifier)).toThrow(
      ProtocolError,
    );
  });

  it('records failed transactions with their code and no effect', async () => {
    const alice = userSigner();
    const mallory = userSigner();
    expect((await node.submitAndWait(tx(alice, 'kv.put', { ns: 'n', key: 'k', value: 1 }))).code).toBe('OK');
    const stolen = await node.submitAndWait(tx(mallory, 'kv.put', { ns: 'n', key: 'k', value: 2 }));
    expect(stolen.code).toBe('UNAUTHORIZED');
    expect((await node.submitAndWait(tx(alice, 'kv.put', { ns: 'n', key: 'k' }))).code).toBe('INVALID_ARGS');
    expect((await node.submitAndWait(tx(alice, 'nope.nothing', {}))).code).toBe('UNKNOWN_TYPE');
    expect((await node.submitAndWait(tx(alice, 'kv.delete', { ns: 'n', key: 'missing' }))).code).toBe('NOT_FOUND');
    expect((await node.submitAndWait(tx(mallory, 'member.update', { name: 'Evil' }))).code).toBe('UNAUTHORIZED');
    expect(JSON.parse(node.store.getState('kv/n/k')!).value).toBe(1);
    // Failed transactions are still in the log, provably, with their code.
    const inc = inclusionProof(node, stolen.txId);
    expect(verifyProofBundle(inc, node.members, nativeVerifier)).toMatchObject({ entry: { code: 'UNAUTHORIZED' } });
  });

  it('lets a member manage its keys', async () => {
    const bank = fx.orgs.bank!;
    const newKey = userSigner();
    const { didFromPublicKey } = await import('@custos/protocol/crypto');
    const { proveMemberKey } = await import('@custos/protocol/ledger');
    const did = didFromPublicKey(newKey.publicKey);
    const proven = proveMemberKey(newKey, { chainId: 'test', member: 'bank', action: 'addKey' });
    expect((await node.submitAndWait(tx(bank, 'member.addKey', proven))).code).toBe('OK');
    expect((await node.submitAndWait(tx(newKey, 'member.update', { name: 'Bank plc' }))).code).toBe('OK');
    expect(JSON.parse(node.store.getState('member/bank')!)).toMatchObject({ name: 'Bank plc' });
    expect((await node.submitAndWait(tx(fx.orgs.insurer!, 'member.addKey', { key: did }))).code).toBe('CONFLICT');
  });

  it('rejects bad input at admission and changes nothing', async () => {
    const alice = userSigner();
    const good = tx(alice, 'kv.put', { ns: 'n', key: 'k', value: 1 });
    const before = node.latest();
    expectCode(() => node.submit({ body: good.body }), 'BAD_TX');
    expectCode(() => node.submit('not a tx'), 'BAD_TX');
    expectCode(
      () => node.submit(tx(alice, 'kv.put', { ns: 'n', key: 'k', value: 1 }, { chainId: 'other' })),
      'WRONG_CHAIN',
    );
    expectCode(
      () =>
        node.submit(
          tx(alice, 'kv.put', { ns: 'n', key: 'k', value: 1 }, { now: Date.now() - 3_600_000, ttlMs: 60_000 }),
        ),
      'TX_EXPIRED',
    );
    expectCode(
      () => node.submit(tx(alice, 'kv.put', { ns: 'n', key: 'k', value: 1 }, { now: Date.now() + 600_000 })),
      'TX_NOT_YET_VALID',
    );
    expectCode(
      () => node.submit(tx(alice, 'kv.put', { ns: 'n', key: 'k', value: 'x'.repeat(40_000) })),
      'TX_TOO_LARGE',
    );
    const forged = { ...good, sig: toBase64url(new Uint8Array(64).fill(7)) };
    await expect(node.submit(forged).committed).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    const tampered = { body: { ...good.body, args: { ns: 'n', key: 'k', value: 2 } }, sig: good.sig };
    await expect(node.submit(tampered).committed).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(node.latest()).toEqual(before);
    // Replay: the same signed transaction twice.
    await node.submitAndWait(good);
    expectCode(() => node.submit(good), 'TX_REPLAYED');
    expect(node.store.getState('kv/n/k')).toBeDefined();
  });

  it('rejects a duplicate while pending and includes the transaction once', async () => {
    const t = tx(userSigner(), 'kv.put', { ns: 'n', key: 'dup', value: 1 });
    const first = node.submit(t);
    expect(() => node.submit(t)).toThrow(/already pending/);
    await first.committed;
    expect(node.latest().logSize).toBe(1);
  });

  it('orders many transactions into blocks, links headers, and proves the log append-only', async () => {
    const signers = Array.from({ length: 5 }, () => userSigner());
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        node.submitAndWait(tx(signers[i % 5]!, 'kv.put', { ns: 'bulk', key: `k${i}`, value: i })),
      ),
    );
    expect(results.every((r) => r.code === 'OK')).toBe(true);
    const head = node.latest();
    expect(head.logSize).toBe(400);
    for (let h = 1; h <= head.height; h++) {
      expect(node.store.getHeader(h)!.header.prevHash).toBe(headerHash(node.store.getHeader(h - 1)!.header));
    }
    const c = consistencyProof(node, 1, head.height);
    expect(verifyProofBundle(c, node.members, nativeVerifier)).toMatchObject({ kind: 'consistency', toSize: 400 });
    const fromGenesis = consistencyProof(node, 0, head.height);
    expect(verifyProofBundle(fromGenesis, node.members, nativeVerifier)).toMatchObject({ fromSize: 0 });
    // Proof of an old transaction against an older and the latest checkpoint.
    const r0 = results[0]!;
    expect(verifyProofBundle(inclusionProof(node, r0.txId, r0.height), node.members, nativeVerifier)).toMatchObject({
      height: r0.height,
    });
  });

  it('survives a restart and an audit recomputes every root', async () => {
    const alice = userSigner();
    for (let i = 0; i < 20; i++) await node.submitAndWait(tx(alice, 'kv.put', { ns: 'a', key: `k${i % 7}`, value: i }));
    await node.submitAndWait(tx(alice, 'kv.delete', { ns: 'a', key: 'k3' }));
    const head = node.latest();
    await node.close();
    node = await CustosNode.open({ dbPath, signers: Object.values(fx.orgs), verifyThreads: 1 });
    expect(node.latest()).toEqual(head);
    expect((await node.submitAndWait(tx(alice, 'kv.put', { ns: 'a', key: 'k3', value: 'back' }))).code).toBe('OK');
    const report = auditChain(dbPath);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.stateRoot).toBe(node.latest().stateRoot);
    expect(report.certified).toBe(node.latest().height + 1);
  });
});
