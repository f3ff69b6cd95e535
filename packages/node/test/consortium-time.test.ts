/**
 * The block-time fault test of issue 11 (trust #1) on a real 3-member etcd cluster with three
 * peers, each holding only its own member key: a block dated 2100 written straight into etcd
 * (as anyone with write access to etcd could) is refused by every peer before it runs, so no
 * peer signs it and no record is erased by retention; the elected proposer re-dates it once the
 * members' refusals show it can never be certified, and the chain goes on: a transaction
 * submitted afterwards commits and becomes final on every peer.
 */
import { join } from 'node:path';
import { didFromPublicKey } from '@custos/protocol/crypto';
import { waitUntil } from '@custos/test-utils';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsortiumNode } from '../src/consortium/peer-node.js';
import type { ClockAlarm, CustosNode } from '../src/node.js';
import { blockKey, encodeBlock, HEAD_KEY } from '../src/ordering/etcd-layout.js';
import { OrgService } from '../src/orgs/org-service.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer', 'retailer'];
const YEAR_2100 = Date.UTC(2100, 0, 1);

describe.skipIf(!HAVE_ETCD)('trust #1: block time on a consortium', () => {
  let cluster: EtcdCluster;
  const tmp = tempDir();
  const f = fixture(ORGS, { blockMaxTxs: 50, blockMaxMs: 5 });
  const prefix = `/custos/time${Date.now()}`;
  const nodes: CustosNode[] = [];
  const alarms = new Map<string, ClockAlarm[]>();
  let vault: Vault;

  beforeAll(async () => {
    cluster = await EtcdCluster.start(3);
    for (const org of ORGS) {
      const node = await openConsortiumNode({
        dbPath: join(tmp.dir, `${org}.db`),
        genesis: f.genesis,
        signers: [f.orgs[org]!],
        verifyThreads: 1,
        config: { peerId: org, etcd: { endpoints: cluster.endpoints, prefix }, peers: [] },
      });
      const list: ClockAlarm[] = [];
      alarms.set(org, list);
      node.on('clock-alarm', (a: ClockAlarm) => list.push(a));
      nodes.push(node);
    }
    const kms = LocalKms.create(join(tmp.dir, 'bank.kms.json'), 'passphrase for the test kms');
    vault = new Vault({ path: join(tmp.dir, 'bank.vault.db'), kms, org: 'bank' });
  }, 90_000);

  afterAll(async () => {
    for (const n of nodes) await n.close().catch(() => {});
    vault?.close();
    await cluster?.close();
    tmp.cleanup();
  });

  it('trust #1: a block dated 2100 written into etcd is signed by no peer, erases nothing, and the chain goes on', async () => {
    const [bank] = nodes as [CustosNode];
    const orgs = new OrgService(bank, [{ id: 'bank', signer: f.orgs.bank!, vault }]);
    const subject = didFromPublicKey(userSigner().publicKey);
    const value = { email: 'someone@example.org' };
    const reg = await orgs.register('bank', {
      subject,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value,
    });
    expect(reg.code).toBe('OK');
    await Promise.all(nodes.map((n) => n.waitFinal(reg.height, 20_000)));
    await waitUntil(() => nodes.every((n) => n.latest().height === bank.latest().height), 20_000, 'peers level');

    // The attack: one empty block dated 2100 put straight into etcd at the next height.
    const h = bank.latest().height + 1;
    const client = new Etcd3({ hosts: cluster.endpoints });
    const ns = client.namespace(`${prefix}/`);
    try {
      const put = await ns
        .if(HEAD_KEY, 'Value', '==', String(h - 1))
        .then(ns.put(blockKey(h)).value(encodeBlock(h, YEAR_2100, 'attacker', [])), ns.put(HEAD_KEY).value(String(h)))
        .commit();
      expect(put.succeeded).toBe(true);
    } finally {
      client.close();
    }

    // Every peer refuses it (the alarm), and the proposer re-dates it: every peer then commits a
    // block at that height with a sane time, the same on all three, and it becomes final.
    await waitUntil(
      () => ORGS.every((o) => alarms.get(o)!.some((a) => a.height === h && a.blockTime === YEAR_2100)),
      20_000,
      'every peer refused the block',
    );
    await waitUntil(() => nodes.every((n) => n.latest().height >= h), 30_000, 'the re-dated block');
    await Promise.all(nodes.map((n) => n.waitFinal(h, 20_000)));
    const headers = nodes.map((n) => n.store.getHeader(h)!);
    expect(new Set(headers.map((x) => x.hash)).size).toBe(1);
    expect(headers[0]!.header.time).toBeLessThan(Date.now() + 1000);
    for (const n of nodes) {
      for (let x = 0; x <= n.latest().height; x++) expect(n.store.getHeader(x)!.header.time).toBeLessThan(YEAR_2100);
      expect(n.fatalError()).toBeUndefined();
    }

    // Retention erased nothing: the record registered with 365 days is live and its value readable.
    expect(await orgs.runRetention()).toBe(0);
    expect(orgs.record('bank', reg.recordId)!.erasedAt).toBeNull();
    const read = await orgs.access('bank', reg.recordId, 'dpv:ServiceProvision', 'contract');
    expect(read.code).toBe('OK');
    expect(read.value).toEqual(value);

    // The chain goes on: a new transaction commits and becomes final on every peer.
    const after = await nodes[2]!.submitAndWait(tx(userSigner(), 'kv.put', { ns: 't', key: 'after', value: 1 }));
    expect(after.code).toBe('OK');
    expect(after.height).toBeGreaterThan(h);
    await Promise.all(nodes.map((n) => n.waitFinal(after.height, 20_000)));
    for (const n of nodes) expect(n.clockStatus().alarm).toBeUndefined();
  }, 120_000);

  it("trust #1: a proposer whose clock jumps 5 minutes ahead is outvoted by the members' refusals, steps down, and a sane proposer re-dates its block", async () => {
    const px = `${prefix}-leader`;
    const open = (org: string, now?: () => number) =>
      openConsortiumNode({
        dbPath: join(tmp.dir, `leader-${org}.db`),
        genesis: f.genesis,
        signers: [f.orgs[org]!],
        verifyThreads: 1,
        config: { peerId: org, etcd: { endpoints: cluster.endpoints, prefix: px }, peers: [] },
        ...(now === undefined ? {} : { now }),
        ...(process.env.DEBUG_TIME ? { log: (m: string) => console.log(org, m) } : {}),
      });
    // The retailer's machine (node and orderer) runs 5 minutes ahead (past the 30 s skew, within the
    // transactions' 10 minutes); it starts first, so it leads.
    const AHEAD = 5 * 60_000;
    const jumped = await open('retailer', () => Date.now() + AHEAD);
    nodes.push(jumped);
    const [bank, insurer] = [await open('bank'), await open('insurer')];
    nodes.push(bank, insurer);
    const refused: ClockAlarm[] = [];
    for (const n of [bank, insurer]) n.on('clock-alarm', (a: ClockAlarm) => refused.push(a));

    const r = await bank.submitAndWait(tx(userSigner(), 'kv.put', { ns: 't', key: 'leader', value: 1 }));
    expect(r.code).toBe('OK');
    await Promise.all([bank, insurer].map((n) => n.waitFinal(r.height, 30_000)));
    // Both sane peers refused the block dated 5 minutes ahead first; the one they committed is dated now.
    expect(new Set(refused.filter((a) => a.skewMs > 60_000).map((a) => a.height)).size).toBeGreaterThanOrEqual(1);
    expect(refused.filter((a) => a.skewMs > 60_000).length).toBeGreaterThanOrEqual(2);
    for (const n of [bank, insurer]) {
      const top = n.latest().height;
      for (let x = 0; x <= top; x++) expect(n.store.getHeader(x)!.header.time).toBeLessThan(Date.now() + 1000);
      expect(n.fatalError()).toBeUndefined();
    }
    expect(bank.store.getHeader(r.height)!.hash).toBe(insurer.store.getHeader(r.height)!.hash);
    // The peer with the broken clock executed its own block: it diverged, and stopped.
    await waitUntil(() => jumped.fatalError() !== undefined, 20_000, 'the jumped peer stops');
    expect((jumped.fatalError() as { code?: string }).code).toBe('DIVERGED');
    // The chain goes on with the two sane peers.
    const after = await insurer.submitAndWait(tx(userSigner(), 'kv.put', { ns: 't', key: 'leader2', value: 2 }));
    expect(after.code).toBe('OK');
    await Promise.all([bank, insurer].map((n) => n.waitFinal(after.height, 30_000)));
  }, 120_000);
});
