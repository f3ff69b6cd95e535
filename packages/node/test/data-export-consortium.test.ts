/**
 * A customer's data export across a consortium (issue 19 item 4, ADR 0021): two peers on etcd, each
 * holding only its own org's keys and vault. The bank answers the customer's export request at its
 * own node; the customer talks to the insurer's peer only, which fetches the sealed export from the
 * bank's node (signed by its member key, forwarding the customer's signature) and passes it on: the
 * wallet opens it and finds "complete: 2 of 2 records". The envelope is padded to a size bucket; a
 * relay that fails the customer once leaves the export at the bank, which keeps it until the
 * customer confirms their download. The insurer's peer keeps nothing of it;
 * another subject, a forged or reused forwarded signature and a request without one are refused, and
 * so is an envelope other than the one the bank committed to;
 * with the bank's node down, the answer is a retryable NODE_UNREACHABLE naming the org, and the
 * export still waits at the bank.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPORT_PAD_FLOOR } from '@custos/protocol/data-export';
import { signRequest } from '@custos/protocol/http';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import { CustosClient, downloadDataExport, fetchHistory, signedBy, trustFromGenesis, verifyHistory } from '@custos/sdk';
import { waitUntil } from '@custos/test-utils';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, type TestPeer, TestPeers, tempDir } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliError } from '../src/cli/client.js';
import { exportServiceOf } from '../src/orgs/export-service.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer'];
const EMAIL = { email: `grace-${Math.random().toString(36).slice(2)}@example.org` };
const SCORE = { score: 688, band: 'C' };

describe.skipIf(!HAVE_ETCD)('data exports across a consortium', () => {
  let cluster: EtcdCluster;
  const tmp = tempDir();
  const f = fixture(ORGS, { blockMaxTxs: 50, blockMaxMs: 5 });
  const prefix = `/custos/dx${Date.now()}`;
  const testPeers = new TestPeers();
  const kms = new Map<string, LocalKms>();
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

  /** A GET to `url` signed by `signer`, with extra headers. */
  const signedGet = (url: string, signer: Parameters<typeof signRequest>[1], extra: Record<string, string> = {}) =>
    fetch(url, { headers: { ...signRequest({ method: 'GET', url }, signer), ...extra } });

  /** The customer's signature of their download at `target`, in the headers a relaying peer forwards. */
  function forwarded(target: string, signer: Parameters<typeof signRequest>[1], sentTarget = target, method = 'GET') {
    const h = signRequest({ method, url: target }, signer);
    return {
      'custos-subject-signature-input': h['Signature-Input'],
      'custos-subject-signature': h.Signature,
      'custos-subject-target': sentTarget,
    };
  }

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
  }, 60_000);

  afterAll(async () => {
    await testPeers.closeAll();
    await cluster?.close();
    tmp.cleanup();
  });

  it("trust #19: the customer downloads through another member's peer, complete: 2 of 2 records, and that peer keeps nothing", async () => {
    let bank = await open('bank');
    const insurer = await open('insurer', [bank.url!]);
    const wallet = Wallet.create();
    const me = wallet.relationship(f.genesis.chainId, 'bank');
    const register = async (category: string, value: JsonValue) => {
      const r = await bank.orgs!.register('bank', {
        subject: me.did,
        category,
        purposes: { 'dpv:ServiceProvision': 'contract' },
        source: 'subject',
        retentionDays: 365,
        value,
      });
      expect(r.code).toBe('OK');
      return r.recordId;
    };
    await register('pd:EmailAddress', EMAIL);
    await register('pd:CreditScore', SCORE);

    // The customer talks to the insurer's peer only: it opens two export requests there.
    const client = new CustosClient({ baseUrl: insurer.url! });
    const openRequest = async () => {
      const tx = signTx(
        {
          chainId: f.genesis.chainId,
          type: 'request.open',
          args: { org: 'bank', kind: 'export', jurisdiction: 'GDPR' },
        },
        me.signer,
      );
      const r = await client.submitAndWait(tx);
      expect(r.code).toBe('OK');
      return r.txId;
    };
    const id = await openRequest();
    const later = await openRequest();
    const swapped = await openRequest();
    // The bank's node answers them with the data, sealed to the customer; the envelopes stay at the bank.
    await waitUntil(() => bank.orgs!.request('bank', swapped)?.status === 'open', 10_000, 'the requests at the bank');
    for (const r of [id, later, swapped]) {
      expect((await exportServiceOf(bank.orgs!).fulfil('bank', r)).code).toBe('OK');
    }
    const height = bank.node.latest().height;
    await waitUntil(() => insurer.node.finality().final >= height, 15_000, 'the fulfilments final at the insurer');

    const bankUrl = (r: string) => `${bank.url}/v1/orgs/bank/exports/${r}`;
    const mine = (r: string) => `${insurer.url}/v1/subjects/${encodeURIComponent(me.did)}/exports/${r}?org=bank`;

    // Another subject cannot have it through the insurer's peer: the request is not theirs.
    const stranger = Wallet.create().relationship(f.genesis.chainId, 'bank');
    await expect(
      client.subjectExport(stranger.did, id, { sign: signedBy(stranger.signer), org: 'bank' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // At the bank's node: no member key, no forwarded signature, another subject's or a tampered one: refused.
    expect((await fetch(bankUrl(id), { headers: forwarded(mine(id), me.signer) })).status).toBe(401);
    const bare = await signedGet(bankUrl(id), f.orgs.insurer!);
    expect(bare.status).toBe(401);
    expect((await bare.json()).detail).toContain('custos-subject-signature');
    const theirs = `${insurer.url}/v1/subjects/${encodeURIComponent(stranger.did)}/exports/${id}?org=bank`;
    const other = await signedGet(bankUrl(id), f.orgs.insurer!, forwarded(theirs, stranger.signer));
    expect(other.status).toBe(403);
    const tampered = await signedGet(bankUrl(id), f.orgs.insurer!, forwarded(mine(later), me.signer, mine(id)));
    expect(tampered.status).toBe(401);
    expect((await tampered.json()).detail).toContain('does not verify');

    // The insurer's peer fails the customer once, after the bank handed the export over: the bank keeps it.
    const bankDb = bank.orgs!.localDb();
    const waitingAtBank = (r: string) =>
      bankDb.prepare('SELECT count(*) AS n FROM data_exports WHERE request = ?').get(r);
    const realFetch = globalThis.fetch;
    let failed = 0;
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      if (failed === 0 && String(input) === bankUrl(id) && (init?.method ?? 'GET') === 'GET') {
        failed++;
        await res.arrayBuffer();
        throw new TypeError('terminated: the relaying peer lost the connection');
      }
      return res;
    };
    const pages = await fetchHistory(client, me.did, { sign: signedBy(me.signer) });
    const history = verifyHistory(pages, trustFromGenesis(f.genesis), me.did);
    try {
      await expect(downloadDataExport(client, wallet, history, 'bank', id)).rejects.toMatchObject({
        code: 'NODE_UNREACHABLE',
      });
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(failed).toBe(1);
    expect(waitingAtBank(id)).toEqual({ n: 1 });

    // What the relaying peer sees of the envelope is its size bucket only: the padding floor, not 2 records' worth.
    const seen = await client.subjectExport(me.did, later, { sign: signedBy(me.signer), org: 'bank' });
    expect(Math.floor((seen.envelope.ct.length * 3) / 4)).toBe(EXPORT_PAD_FLOOR + 16);
    // A signature of the download cannot stand for the customer's confirmation of it.
    const notConfirm = await fetch(bankUrl(later), {
      method: 'DELETE',
      headers: {
        ...signRequest({ method: 'DELETE', url: bankUrl(later) }, f.orgs.insurer!),
        ...forwarded(mine(later), me.signer),
      },
    });
    expect(notConfirm.status).toBe(401);
    expect(waitingAtBank(later)).toEqual({ n: 1 });

    // A second relay serves it: the wallet checks it against the ledger and confirms, and the bank deletes it.
    const got = await downloadDataExport(client, wallet, history, 'bank', id);
    expect(got.check.summary).toBe('complete: 2 of 2 records');
    expect(got.data.records.map((r) => r.value)).toEqual(expect.arrayContaining([EMAIL, SCORE]));
    expect(got.confirmed).toBe(true);
    expect(waitingAtBank(id)).toEqual({ n: 0 });

    // The insurer's peer kept nothing: no export row, and neither the ciphertext nor a value in its files.
    const insurerDb = insurer.node.store.db;
    const table = insurerDb.prepare("SELECT name FROM sqlite_master WHERE name = 'data_exports'").get();
    if (table !== undefined)
      expect(insurerDb.prepare('SELECT count(*) AS n FROM data_exports').get()).toEqual({ n: 0 });
    const files = readdirSync(dirOf('insurer')).map((n) => readFileSync(join(dirOf('insurer'), n)).toString('latin1'));
    expect(files.some((t) => t.includes(EMAIL.email))).toBe(false);

    // An org node serving another envelope than the one it committed to: the relaying peer refuses it.
    const envelopeOf = (r: string) =>
      (bankDb.prepare('SELECT envelope FROM data_exports WHERE request = ?').get(r) as { envelope: string }).envelope;
    bankDb.prepare('UPDATE data_exports SET envelope = ? WHERE request = ?').run(envelopeOf(later), swapped);
    await expect(
      client.subjectExport(me.did, swapped, { sign: signedBy(me.signer), org: 'bank' }),
    ).rejects.toMatchObject({ code: 'BAD_CIPHERTEXT', detail: expect.stringContaining('not the digest') });

    // Confirmed, it is gone; and a forwarded signature is good once.
    const again = forwarded(mine(id), me.signer);
    expect((await signedGet(bankUrl(id), f.orgs.insurer!, again)).status).toBe(404);
    const replayed = await signedGet(bankUrl(id), f.orgs.insurer!, again);
    expect(replayed.status).toBe(401);
    expect((await replayed.json()).code).toBe('REPLAYED_REQUEST');

    // The bank's node is down: a retryable error that names the org and nothing of the customer.
    const bankVault = bank.orgs!.vaultOf('bank');
    await testPeers.stop(bank);
    bankVault.close();
    const down = await fetch(mine(later), {
      headers: { ...signRequest({ method: 'GET', url: mine(later) }, me.signer) },
    });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('30');
    const problem = (await down.json()) as { code: string; detail: string };
    expect(problem.code).toBe('NODE_UNREACHABLE');
    expect(problem.detail).toContain("org 'bank'");
    expect(problem.detail).not.toContain(me.did);
    // Through the SDK and the CLI's wording: the org's node, not the peer the customer talks to.
    const viaSdk = await client
      .subjectExport(me.did, later, { sign: signedBy(me.signer), org: 'bank' })
      .catch((e: unknown) => e);
    expect(viaSdk).toMatchObject({ code: 'NODE_UNREACHABLE', status: 503 });
    const cli = cliError(viaSdk, insurer.url!);
    expect(cli.message).toContain("the node of org 'bank'");
    expect(cli.message).not.toContain('no node answers');

    // Nothing was consumed: back up, the bank's node still holds the later export for the customer.
    bank = await open('bank', [insurer.url!]);
    const direct = new CustosClient({ baseUrl: bank.url! });
    const laterExport = await downloadDataExport(direct, wallet, history, 'bank', later);
    expect(laterExport.check.summary).toBe('complete: 2 of 2 records');
  }, 90_000);
});
