/**
 * A customer's correction across a consortium (issue 17, ADR 0018): two peers on etcd, each holding
 * only its own org's keys and vault. The customer talks to the insurer's peer and corrects a record
 * the bank holds: the insurer's peer checks the envelope against the digest on the ledger and keeps
 * it (`RELAYED`); the bank's node fetches it with a request signed by its member key and applies it
 * into its vault, with `rectify.apply` on the ledger. Nobody else can fetch it, and it is dropped at
 * the insurer once applied. A restarted bank node resumes an envelope it received but did not apply.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomSecretKey } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import type { Rectification } from '@custos/protocol/ledger';
import { signTx } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import { CustosClient, sendCorrections, trustedMembersOf, trustFromGenesis } from '@custos/sdk';
import { waitUntil } from '@custos/test-utils';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, type TestPeer, TestPeers, tempDir } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import type { DataRecord } from '../src/modules/data.js';
import { RectifyRelay } from '../src/orgs/rectify-relay.js';
import { rectifyServiceOf } from '../src/orgs/rectify-service.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer'];
const OLD = { street: '1 Old Lane', city: 'York' };
const NEW = { street: '2 New Road', city: 'Leeds' };

describe.skipIf(!HAVE_ETCD)('corrections across a consortium', () => {
  let cluster: EtcdCluster;
  const tmp = tempDir();
  const f = fixture(ORGS, { blockMaxTxs: 50, blockMaxMs: 5 });
  const prefix = `/custos/rc${Date.now()}`;
  const testPeers = new TestPeers();
  const kms = new Map<string, LocalKms>();
  const relays: RectifyRelay[] = [];
  const dirOf = (name: string) => join(tmp.dir, name);

  async function open(org: string, peers: string[] = []): Promise<TestPeer> {
    mkdirSync(dirOf(org), { recursive: true });
    if (!kms.has(org)) kms.set(org, LocalKms.create(join(dirOf(org), 'kms.json'), 'a long test passphrase'));
    const vault = new Vault({ path: join(dirOf(org), 'vault.db'), kms: kms.get(org)!, org });
    return testPeers.open({
      peerId: org,
      dbPath: join(dirOf(org), 'node.db'),
      genesis: f.genesis,
      signers: [f.orgs[org]!],
      etcd: { endpoints: cluster.endpoints, prefix },
      peers,
      http: true,
      orgs: [{ id: org, signer: f.orgs[org]!, vault }],
    });
  }

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
  }, 60_000);

  afterAll(async () => {
    for (const r of relays) await r.stop();
    await testPeers.closeAll();
    await cluster?.close();
    tmp.cleanup();
  });

  it("reaches the org's own node through the peer the customer talks to, and resumes after a restart", async () => {
    let bank = await open('bank');
    const insurer = await open('insurer');
    const wallet = Wallet.create();
    wallet.addRelationship(f.genesis.chainId, 'bank');
    const subject = wallet.relationship(f.genesis.chainId, 'bank').did;
    const bankService = () => rectifyServiceOf(bank.node, bank.orgs!);
    expect((await bankService().rotateKey('bank')).result.code).toBe('OK');
    const reg = await bank.orgs!.register('bank', {
      subject,
      category: 'pd:PhysicalAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: OLD,
    });
    expect(reg.code).toBe('OK');
    // The wallet reads the bank's key with a proof: wait until a quorum certified it at the insurer's peer.
    const height = bank.node.latest().height;
    await waitUntil(() => insurer.node.finality().final >= height, 10_000, 'the record final at the insurer');

    // The customer talks to the insurer's peer, which holds none of the bank's keys.
    const client = new CustosClient({ baseUrl: insurer.url! });
    const send = () =>
      sendCorrections(client, wallet, {
        chainId: f.genesis.chainId,
        targets: [{ org: 'bank', record: reg.recordId }],
        value: NEW,
        jurisdiction: 'GDPR',
        trust: trustFromGenesis(f.genesis),
      });
    const [first] = await send();
    expect(first).toMatchObject({ sent: 'OK', applied: { code: 'RELAYED', txId: first!.item } });
    const item = first!.item!;

    // Only a member key of the bank fetches it: no credentials, or the insurer's key, are refused.
    const url = `${insurer.url}/v1/orgs/bank/inbox/${item}`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { ...signRequest({ method: 'GET', url }, f.orgs.insurer!) } })).status).toBe(
      403,
    );
    const fetched = await fetch(url, { headers: { ...signRequest({ method: 'GET', url }, f.orgs.bank!) } });
    expect(fetched.status).toBe(200);
    expect(Object.keys((await fetched.json()).envelope).sort()).toEqual(['ct', 'enc', 'kid', 'v']);

    // The bank's node fetches it from the insurer's peer, applies it to its vault and acknowledges.
    const relay = new RectifyRelay(bank.node, bank.orgs!, { peers: [insurer.url!], intervalMs: 200 });
    relays.push(relay);
    await relay.start();
    const item1 = () => JSON.parse(insurer.node.store.getState(`rectify/bank/${item}`)!) as Rectification;
    await waitUntil(() => item1().status === 'applied', 15_000, 'the correction applied');
    const rec = JSON.parse(bank.node.store.getState(`record/bank/${reg.recordId}`)!) as DataRecord;
    expect(rec.commitment).toBe(item1().commitment);
    expect(bank.orgs!.vaultOf('bank').verifyCommitment(rec.vaultRef, rec.commitment)).toBe(true);
    const read = await bank.orgs!.access('bank', reg.recordId, 'dpv:ServiceProvision', 'contract');
    expect(read.value).toEqual(NEW);
    // Once applied, the insurer's peer keeps nothing of it (its own relay pass prunes it).
    const insurerRelay = new RectifyRelay(insurer.node, insurer.orgs!, { peers: [bank.url!], intervalMs: 200 });
    relays.push(insurerRelay);
    await insurerRelay.start();
    expect(rectifyServiceOf(insurer.node, insurer.orgs!).hasEnvelope('bank', item)).toBe(false);
    expect((await fetch(url, { headers: { ...signRequest({ method: 'GET', url }, f.orgs.bank!) } })).status).toBe(404);

    // The bank's node received an envelope and stopped before applying it: on its next start it resumes.
    await relay.stop();
    relays.splice(relays.indexOf(relay), 1);
    const newer = { street: '3 Later Street', city: 'Hull' };
    const [second] = await sendCorrections(client, wallet, {
      chainId: f.genesis.chainId,
      targets: [{ org: 'bank', record: reg.recordId }],
      value: newer,
      jurisdiction: 'GDPR',
      trust: trustFromGenesis(f.genesis),
    });
    expect(second?.applied).toMatchObject({ code: 'RELAYED' });
    await waitUntil(
      () => bank.node.store.getState(`rectify/bank/${second!.item}`) !== undefined,
      10_000,
      'the item at the bank',
    );
    const env = rectifyServiceOf(insurer.node, insurer.orgs!).relayed('bank', second!.item!)!;
    bank
      .orgs!.localDb()
      .prepare('INSERT INTO rectify_inbox (org, item, envelope, received_at) VALUES (?, ?, ?, ?)')
      .run('bank', second!.item!, JSON.stringify(env), Date.now());
    const bankVault = bank.orgs!.vaultOf('bank');
    await testPeers.stop(bank);
    bankVault.close();
    bank = await open('bank', [insurer.url!]);
    const restarted = new RectifyRelay(bank.node, bank.orgs!, { peers: [] });
    relays.push(restarted);
    await restarted.start();
    const after = JSON.parse(bank.node.store.getState(`rectify/bank/${second!.item}`)!) as Rectification;
    expect(after.status).toBe('applied');
    expect((await bank.orgs!.access('bank', reg.recordId, 'dpv:ServiceProvision', 'contract')).value).toEqual(newer);

    // While blocks keep committing, a proof of the bank's key is still answered: the peer waits for
    // its head's certificate instead of answering NOT_FINAL between a block's commit and its quorum.
    const writer = nativeSigner(randomSecretKey());
    let busy = true;
    const load = (async () => {
      for (let n = 0; busy; n++) {
        const args = { ns: 'load', key: `k${n % 20}`, value: n };
        await insurer.node.submit(signTx({ chainId: f.genesis.chainId, type: 'kv.put', args }, writer)).committed;
      }
    })();
    try {
      for (let i = 0; i < 20; i++) {
        const fact = await client.verifiedState('hpkekey/bank', trustedMembersOf(trustFromGenesis(f.genesis)), {
          chainId: f.genesis.chainId,
        });
        expect(fact.kind === 'state' && fact.key).toBe('hpkekey/bank');
      }
    } finally {
      busy = false;
      await load;
    }
  }, 90_000);
});
