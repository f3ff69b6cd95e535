/**
 * Forgetting a subject on a 3-peer consortium (etcd ordering, quorum finality;
 * docs/adr/0019-forget-on-the-ledger.md): a subject with records, consents, uses and a share to
 * another org is erased; then no table and no file of any peer's data directory (database, WAL,
 * vault) holds the pseudonym in any encoding, proofs issued before still verify with the same roots,
 * a peer stopped before the erasure catches up to the same state root and prunes too, and a peer
 * joining from a snapshot taken after it starts at the same root.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx, verifyProofBundle } from '@custos/protocol/ledger';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, type TestPeer, TestPeers, tempDir, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSnapshot } from '../src/consortium/snapshot.js';
import { nativeVerifier } from '../src/crypto/native.js';
import { FORGET_AFTER_MS } from '../src/modules/forget.js';
import type { CustosNode } from '../src/node.js';
import { consistencyProof, inclusionProof } from '../src/proofs.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';
import { pseudonymForms, scanFiles } from './forget-helpers.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer', 'retailer'];
const DAY = 86_400_000;

describe.skipIf(!HAVE_ETCD)('forgetting a subject on a consortium', () => {
  let cluster: EtcdCluster;
  const tmp = tempDir();
  const f = fixture(ORGS, { blockMaxTxs: 50, blockMaxMs: 5 });
  const prefix = `/custos/fg${Date.now()}`;
  const testPeers = new TestPeers();
  const alice: Signer = userSigner();
  const aliceDid = didFromPublicKey(alice.publicKey);
  const dirOf = (name: string) => join(tmp.dir, name);
  // One clock for every peer (each checks block times against its own), moved past the grace period.
  let offset = 0;
  const now = () => Date.now() + offset;

  async function open(name: string, signers: string[], peers: string[] = []): Promise<TestPeer> {
    mkdirSync(dirOf(name), { recursive: true });
    return testPeers.open({
      peerId: name,
      dbPath: join(dirOf(name), 'node.db'),
      genesis: f.genesis,
      signers: signers.map((s) => f.orgs[s]!),
      etcd: { endpoints: cluster.endpoints, prefix },
      peers,
      http: true,
      now,
    });
  }

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
  }, 60_000);

  afterAll(async () => {
    await testPeers.closeAll();
    await cluster?.close();
    tmp.cleanup();
  });

  it('leaves the pseudonym in no file of any peer, keeps the proofs, and lets peers catch up and join', async () => {
    const a = await open('bank', ['bank']);
    const b = await open('insurer', ['insurer']);
    let c = await open('retailer', ['retailer']);
    const na = a.node;
    const send = (node: CustosNode, signer: Signer, type: string, args: { [k: string]: JsonValue }) =>
      node.submitAndWait(signTx({ chainId: f.genesis.chainId, type, args, now: now() }, signer));
    const ok = async (node: CustosNode, signer: Signer, type: string, args: { [k: string]: JsonValue }) => {
      const r = await send(node, signer, type, args);
      expect(r.code, type).toBe('OK');
      return r;
    };
    const kms = LocalKms.create(join(dirOf('bank'), 'kms.json'), 'a long test passphrase');
    const vault = new Vault({ path: join(dirOf('bank'), 'vault.db'), kms, org: 'bank' });

    // Alice's history: a consent with sharing, an opt-out, two records, uses (one refused), a share
    // to the insurer and its copy there, and her erasure request.
    await ok(na, alice, 'consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: Date.now() + 365 * DAY,
      jurisdiction: 'GDPR',
      notice: 'ab'.repeat(32),
      share: true,
    });
    await ok(b.node, alice, 'optout.set', { org: 'bank', kinds: ['sale'] });
    const records: string[] = [];
    for (const email of ['ada@example.org', 'ada@work.example']) {
      const { vaultRef, commitment } = vault.put(aliceDid, { email });
      const r = await ok(na, f.orgs.bank!, 'data.register', {
        subject: aliceDid,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:Marketing': 'consent' },
        source: 'subject',
        commitment,
        vaultRef,
        retentionDays: 30,
      });
      records.push(r.txId);
    }
    await ok(na, f.orgs.bank!, 'data.access', { record: records[0]!, purpose: 'dpv:Marketing', basis: 'consent' });
    const refused = await send(na, f.orgs.bank!, 'data.access', {
      record: records[0]!,
      purpose: 'dpv:Sales',
      basis: 'consent',
    });
    expect(refused.code).toBe('NO_LAWFUL_BASIS');
    await ok(na, f.orgs.bank!, 'data.share', {
      record: records[1]!,
      recipient: 'insurer',
      purpose: 'dpv:Marketing',
      sale: false,
    });
    const copy = await ok(b.node, f.orgs.insurer!, 'data.register', {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      commitment: 'ee'.repeat(32),
      vaultRef: '1f'.repeat(16),
      retentionDays: 30,
      sourceRecord: { org: 'bank', id: records[1]! },
    });
    const request = await ok(b.node, alice, 'request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' });

    // Proofs issued before the erasure; then the retailer's peer stops.
    const before = na.latest().height;
    await Promise.all([a, b, c].map((p) => p.node.waitFinal(before, 20_000)));
    const inc = inclusionProof(na, request.txId, before);
    const cons = consistencyProof(na, 1, before);
    await testPeers.stop(c);

    // The bank shreds and records the erasure, answers; the insurer erases its copy: forgotten.
    expect(vault.eraseSubject(aliceDid).vaultRefs).toHaveLength(2);
    await ok(na, f.orgs.bank!, 'data.erased', { records, reason: 'request' });
    await ok(na, f.orgs.bank!, 'request.fulfil', { request: request.txId });
    await ok(b.node, f.orgs.insurer!, 'data.erased', { records: [copy.txId], reason: 'request' });
    vault.close();
    // After the grace period, the first block forgets the subject at its end.
    expect(na.store.getTx(request.txId)?.tx).not.toBeNull();
    offset += FORGET_AFTER_MS + 60_000;
    const last = await ok(na, f.orgs.bank!, 'kv.put', { ns: 'tick', key: 'k', value: 1 });
    await Promise.all([a, b].map((p) => p.node.waitFinal(last.height, 20_000)));

    // Every table of the running peers: nothing names the pseudonym.
    const forms = pseudonymForms(aliceDid, alice.publicKey);
    for (const p of [a, b]) {
      for (const { name } of p.node.store.db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .all()) {
        const rows = p.node.store.db.prepare(`SELECT * FROM "${name}"`).raw().all();
        expect(JSON.stringify(rows).includes(aliceDid), `${name}`).toBe(false);
      }
      expect(p.node.store.getTx(request.txId)).toMatchObject({ tx: null, code: 'OK' });
    }
    // Proofs issued before still verify; new ones have the same path under the same certificate.
    expect(verifyProofBundle(inc, na.members, nativeVerifier)).toMatchObject({ entry: { txId: request.txId } });
    expect(verifyProofBundle(cons, na.members, nativeVerifier)).toMatchObject({ kind: 'consistency' });
    const again = inclusionProof(b.node, request.txId, before);
    expect(again.certificate.checkpoint).toEqual(inc.certificate.checkpoint);
    expect(again.path).toEqual(inc.path);
    expect(again.tx).toBeUndefined();
    const later = consistencyProof(b.node, before, last.height);
    expect(verifyProofBundle(later, na.members, nativeVerifier)).toMatchObject({ toHeight: last.height });

    // The retailer's peer catches up (the orderer's window still holds the blocks), executes the
    // erasure itself, reaches the same state root and prunes its own store.
    c = await open('retailer', ['retailer']);
    await c.node.waitFinal(last.height, 30_000);
    expect(c.node.store.getHeader(last.height)!.header.stateRoot).toBe(
      na.store.getHeader(last.height)!.header.stateRoot,
    );
    expect(c.node.store.getTx(request.txId)?.tx).toBeNull();

    // A peer joining from a snapshot taken after the erasure starts at the same root.
    const url = a.url!;
    const r = await fetch(`${url}/v1/snapshot`, {
      headers: { ...signRequest({ method: 'GET', url: `${url}/v1/snapshot` }, f.orgs.retailer!) },
    });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text.includes(aliceDid)).toBe(false);
    mkdirSync(dirOf('joiner'));
    const imported = await importSnapshot({
      source: (async function* () {
        yield new TextEncoder().encode(text);
      })(),
      dbPath: join(dirOf('joiner'), 'node.db'),
      genesis: f.genesis,
    });
    expect(imported.stateRoot).toBe(na.store.getHeader(imported.height)!.header.stateRoot);

    // No file of any peer's data directory holds it, running (WAL truncated) or closed.
    for (const name of ['bank', 'insurer', 'retailer', 'joiner']) {
      expect(scanFiles(dirOf(name), forms), name).toEqual([]);
    }
    await testPeers.closeAll();
    for (const name of ['bank', 'insurer', 'retailer', 'joiner']) {
      expect(scanFiles(dirOf(name), forms), name).toEqual([]);
    }
  }, 120_000);
});
