/**
 * Issue 11, the modules' part of the trust model, through the HTTP API and the SDK against a real
 * node with real vaults: an erasure request is fulfilled only by erasing (#9); waiting for a commit
 * is bounded, and the timeout names the transaction to look up later (#14).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx, txIdOf } from '@custos/protocol/ledger';
import { CustosApiError, CustosClient, signedBy } from '@custos/sdk';
import { type ApiNode, fixture, startApiNode, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';
import type { Orderer } from '../src/ordering/orderer.js';
import { OrgService } from '../src/orgs/org-service.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';
import { CliHarness } from './fixtures/cli.js';

let api: ApiNode;
let bank: CustosClient;
let anon: CustosClient;

beforeAll(async () => {
  api = await startApiNode({ listen: true });
  bank = new CustosClient({ baseUrl: api.url!, sign: signedBy(api.fx.orgs.bank!) });
  anon = new CustosClient({ baseUrl: api.url! });
});

afterAll(async () => {
  await api?.close();
});

const customerTx = (s: Signer, type: string, args: { [k: string]: JsonValue }) =>
  signTx({ chainId: 'test', type, args }, s);

async function register(subject: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await bank.registerRecord('bank', {
      subject,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { email: `c${i}@example.org` },
    });
    expect(r.code).toBe('OK');
    ids.push(r.recordId);
  }
  return ids;
}

async function openErase(s: Signer, args: { [k: string]: JsonValue } = {}): Promise<string> {
  const r = await anon.submitAndWait(
    customerTx(s, 'request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR', ...args }),
  );
  expect(r.code).toBe('OK');
  return r.txId;
}

describe('erasure requests', () => {
  it('trust #9: an erasure is fulfilled only once every live record of the subject is erased', async () => {
    const alice = userSigner();
    const did = didFromPublicKey(alice.publicKey);
    const [a, b, c] = await register(did, 3);
    // A request with no records named (the default), and one naming only the first record.
    const all = await openErase(alice);
    const named = await openErase(alice, { records: [a!] });
    expect((await bank.fulfilRequest('bank', all)).code).toBe('CONFLICT');
    // Erasing only the named record does not fulfil either: the others are still live.
    expect((await bank.erase('bank', { records: [a!], reason: 'request' })).results[0]!.code).toBe('OK');
    expect((await bank.fulfilRequest('bank', named)).code).toBe('CONFLICT');
    expect((await bank.erase('bank', { records: [b!], reason: 'request' })).results[0]!.code).toBe('OK');
    expect((await bank.fulfilRequest('bank', all)).code).toBe('CONFLICT');
    // The last record is kept under a legal exception, recorded as a code on the request.
    const bad = await bank
      .fulfilRequest('bank', all, { exceptions: [{ record: c!, code: 'because-we-want' as never }] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CustosApiError);
    expect((bad as CustosApiError).code).toBe('BAD_REQUEST');
    // A CCPA code on a GDPR request, or an exception for an erased record, is refused.
    expect((await bank.fulfilRequest('bank', all, { exceptions: [{ record: c!, code: 'ccpa-105-d-1' }] })).code).toBe(
      'INVALID_ARGS',
    );
    expect((await bank.fulfilRequest('bank', all, { exceptions: [{ record: a!, code: 'gdpr-17-3-e' }] })).code).toBe(
      'NOT_FOUND',
    );
    expect((await bank.fulfilRequest('bank', all, { exceptions: [{ record: c!, code: 'gdpr-17-3-e' }] })).code).toBe(
      'OK',
    );
    const req = (await bank.orgRequests('bank')).requests.find((r) => r.id === all)!;
    expect(req).toMatchObject({ status: 'fulfilled', exceptions: [{ record: c, code: 'gdpr-17-3-e' }] });
    // Once everything is erased, the other request is fulfilled with no exception.
    expect((await bank.erase('bank', { subject: did, reason: 'request' })).results[0]!.code).toBe('OK');
    expect((await bank.fulfilRequest('bank', named)).code).toBe('OK');
  });

  it('trust #9: a subject with more than 64 records is erased in full before the request is fulfilled', async () => {
    const bob = userSigner();
    const did = didFromPublicKey(bob.publicKey);
    await register(did, 70);
    const req = await openErase(bob);
    expect((await bank.fulfilRequest('bank', req)).code).toBe('CONFLICT');
    const erased = await bank.erase('bank', { subject: did, reason: 'request' });
    expect(erased.results.every((r) => r.code === 'OK')).toBe(true);
    expect((await bank.fulfilRequest('bank', req)).code).toBe('OK');
    const page = await bank.orgRecords('bank', { limit: 500 });
    expect(page.records.filter((r) => r.subject === did && r.erasedAt === null)).toEqual([]);
  });
});

/** A node that takes transactions and never answers: it reads the request, then nothing. */
async function silentNode(chainId: string): Promise<{ url: string; server: Server; posts: () => number }> {
  let posts = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/chain') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          chainId,
          height: 0,
          latestHash: '00'.repeat(32),
          time: Date.now(),
          threshold: 1,
          members: [],
        }),
      );
      return;
    }
    posts++;
    req.resume(); // accepted; the commit never comes
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, posts: () => posts };
}

/** An orderer that is down: it takes transactions and never cuts a block. */
function stoppedOrderer(): Orderer {
  let n = 0;
  return {
    start: async () => {},
    submit: (txs) => {
      n += txs.length;
    },
    pending: () => n,
    stop: async () => {},
  };
}

describe('bounded waits for a commit', () => {
  it('trust #14: the SDK gives up on a node that never commits, naming the txId to check later', async () => {
    const silent = await silentNode('test');
    try {
      const client = new CustosClient({ baseUrl: silent.url });
      const t = tx(userSigner(), 'kv.put', { ns: 'n', key: 'k', value: 1 });
      const e = await client.submitAndWait(t, { waitMs: 300 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CustosApiError);
      expect((e as CustosApiError).code).toBe('TIMEOUT');
      expect((e as CustosApiError).detail).toContain(txIdOf(t.body));
      expect((e as CustosApiError).detail).toMatch(/may still commit/);
      expect(silent.posts()).toBe(1);
    } finally {
      silent.server.closeAllConnections();
      silent.server.close();
    }
  });

  it('trust #14: `custos tx --wait-timeout` stops waiting and prints the txId', async () => {
    const silent = await silentNode('test');
    const cli = new CliHarness('custos-trust14-');
    try {
      const pass = { CUSTOS_PASSPHRASE: 'a passphrase for the test key' };
      const keyFile = join(cli.tmp.dir, 'k.json');
      expect((await cli.run(['keys', 'new', '--out', keyFile], pass)).code).toBe(0);
      const r = await cli.run(
        [
          'tx',
          '--type',
          'kv.put',
          '--args',
          '{"ns":"n","key":"k","value":1}',
          '--key',
          keyFile,
          '--node',
          silent.url,
        ].concat(['--wait-timeout', '1']),
        pass,
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/^error TIMEOUT: transaction [0-9a-f]{64} was sent but no commit came back in time/);
      expect(r.stderr).toMatch(/custos tx show [0-9a-f]{64}/);
    } finally {
      silent.server.closeAllConnections();
      silent.server.close();
      await cli.cleanup();
    }
  });

  it('trust #14: an org action on a node whose orderer is down ends with TIMEOUT naming the txId, and no vault orphan', async () => {
    const tmp = tempDir();
    const fx = fixture();
    const node = await CustosNode.open({
      dbPath: join(tmp.dir, 'node.db'),
      genesis: fx.genesis,
      signers: Object.values(fx.orgs),
      verifyThreads: 1,
      orderer: stoppedOrderer(),
    });
    const vault = new Vault({
      path: join(tmp.dir, 'vault.db'),
      kms: LocalKms.create(join(tmp.dir, 'kms.json'), 'test passphrase'),
      org: 'bank',
    });
    const orgs = new OrgService(node, [{ id: 'bank', signer: fx.orgs.bank!, vault }], () => {}, { commitWaitMs: 200 });
    try {
      const e = (await orgs.submit('bank', 'kv.put', { ns: 'n', key: 'k', value: 1 }).catch((x: unknown) => x)) as {
        code: string;
        message: string;
      };
      expect(e.code).toBe('TIMEOUT');
      expect(e.message).toMatch(/^transaction [0-9a-f]{64} was admitted but not committed within 200 ms/);
      const subject = didFromPublicKey(userSigner().publicKey);
      const reg = (await orgs
        .register('bank', {
          subject,
          category: 'pd:EmailAddress',
          purposes: { 'dpv:ServiceProvision': 'contract' },
          source: 'subject',
          retentionDays: 30,
          value: 'x',
        })
        .catch((x: unknown) => x)) as { code: string };
      expect(reg.code).toBe('TIMEOUT');
      // It may still commit until it expires: the value waits, marked pending with its transaction.
      expect(vault.pending()).toHaveLength(1);
      expect(vault.pending()[0]!.txId).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      orgs.stop();
      vault.close();
      await node.close();
      tmp.cleanup();
    }
  });
});
