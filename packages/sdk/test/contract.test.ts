/**
 * The SDK against a real node: a CustosNode with OrgService and vaults, served by createServer on
 * 127.0.0.1:0. Every route is called at least once through `CustosClient` and its typed answer
 * checked, with one error per auth-protected family; and `SDK_ROUTES` is checked both ways
 * against the node's own /openapi.json.
 */
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type MemberSet, type SignedTx, signTx } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosApiError, CustosClient, memberSetOf, SDK_ROUTES, signedBy, trustFromGenesis } from '../src/index.js';

const DAY = 86_400_000;
let api: ApiNode;
let fx: ApiNode['fx'];
let url: string;
let alice: Signer;
let aliceDid: string;
let members: MemberSet;
/** Public calls. */
let pub: CustosClient;
/** The bank, signing every request with its member key (RFC 9421). */
let bank: CustosClient;

const aliceTx = (type: string, args: { [k: string]: JsonValue }): SignedTx =>
  signTx({ chainId: 'test', type, args }, alice);

async function rejects(p: Promise<unknown>, code: string): Promise<CustosApiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CustosApiError);
  expect((e as CustosApiError).code).toBe(code);
  return e as CustosApiError;
}

beforeAll(async () => {
  api = await startApiNode({ server: { rateLimit: false }, listen: true });
  fx = api.fx;
  url = api.url!;
  alice = userSigner();
  aliceDid = didFromPublicKey(alice.publicKey);
  pub = new CustosClient({ baseUrl: url });
  bank = new CustosClient({ baseUrl: url, sign: signedBy(fx.orgs.bank!) });
  members = memberSetOf(trustFromGenesis(fx.genesis as never));
});

afterAll(async () => {
  await api?.close();
});

describe('SDK_ROUTES against /openapi.json', () => {
  it('maps every documented operation to a client method, and nothing else', async () => {
    const doc = await pub.openapi();
    expect(doc.openapi).toMatch(/^3\.1/);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect([...documented].sort()).toEqual(Object.keys(SDK_ROUTES).sort());
    for (const method of Object.values(SDK_ROUTES)) {
      expect(typeof (CustosClient.prototype as unknown as Record<string, unknown>)[method]).toBe('function');
    }
  });
});

describe('every route through the SDK', () => {
  let record = '';
  let grant = '';
  let requests: string[] = [];

  it('chain, health and readiness', async () => {
    const c = await pub.chain();
    expect(c.chainId).toBe('test');
    expect(c.members.map((m) => m.id).sort()).toEqual(['bank', 'insurer', 'retailer']);
    expect((await pub.health()).status).toBe('ok');
    expect((await pub.ready()).status).toBe('ready');
    expect(await pub.gpc()).toEqual({ gpc: true, lastUpdate: expect.any(String) });
    expect(await pub.metrics()).toMatch(/^# HELP /m);
    expect(await pub.docsPage()).toMatch(/<html/i);
    await rejects(pub.demoWallets(), 'NOT_FOUND');
  });

  it('submits, waits for commit and finality, and proves inclusion locally', async () => {
    const tx = aliceTx('consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: Date.now() + 30 * DAY,
      jurisdiction: 'GDPR',
      notice: 'ab'.repeat(32),
      share: true,
    });
    const r = await pub.submitAndFinalize(tx);
    expect(r.code).toBe('OK');
    expect(r.certificate.final).toBe(true);
    grant = r.txId;
    const proved = await pub.verifiedInclusion(grant, members, { chainId: 'test' });
    expect(proved).toBeDefined();
    const again = await pub.submitAndProve(
      aliceTx('optout.set', { org: 'bank', kind: 'sale', source: 'user' }),
      members,
    );
    expect(again.proof).toBeDefined();
    // Its body is the customer's and the bank's (trust #5): a stranger gets where it is, the subject and the bank the body.
    expect((await pub.tx(grant)).tx).toBeUndefined();
    expect((await pub.tx(grant, { sign: signedBy(alice) })).tx?.body.type).toBe('consent.grant');
    expect((await bank.tx(grant)).tx?.body.type).toBe('consent.grant');
    expect((await pub.waitForCommit(grant)).txId).toBe(grant);
    await rejects(pub.submit({ nope: true } as unknown as SignedTx), 'BAD_REQUEST');
  });

  it('submits alone and in batches', async () => {
    const t1 = aliceTx('request.open', { org: 'bank', kind: 'access', jurisdiction: 'GDPR' });
    const { txId } = await pub.submit(t1);
    expect((await pub.waitForCommit(txId)).code).toBe('OK');
    const batch = await pub.submitBatch(
      [
        aliceTx('request.open', { org: 'bank', kind: 'object', jurisdiction: 'GDPR' }),
        aliceTx('request.open', { org: 'bank', kind: 'restrict', jurisdiction: 'GDPR' }),
      ],
      { wait: true },
    );
    expect(batch.map((b) => ('code' in b ? b.code : 'none'))).toEqual(['OK', 'OK']);
    requests = [txId, ...batch.map((b) => b.txId as string)];
  });

  it('reads blocks, certificates, finality and a snapshot', async () => {
    const latest = await pub.latestBlock();
    expect(latest.height).toBeGreaterThan(0);
    const page = await pub.blocks({ limit: 2 });
    expect(page.blocks[0]?.height).toBe(latest.height);
    const b = await pub.block(latest.height);
    expect(b.hash).toBe(latest.hash);
    // A stranger gets the header; the parties (here the bank, whose request it is) get the transactions.
    expect((await pub.blockTxs(latest.height, { limit: 1 })).txs).toHaveLength(0);
    const txs = await bank.blockTxs(latest.height, { limit: 1 });
    expect(txs.txs).toHaveLength(1);
    const whole = await bank.replicaBlock(latest.height);
    expect(whole.txs.length).toBe(latest.header.txCount);
    await rejects(pub.replicaBlock(latest.height), 'UNAUTHENTICATED');
    const cert = await pub.certificate(latest.height, { wait: true });
    expect(cert.final).toBe(true);
    const f = await pub.finality();
    expect(f.final).toBeGreaterThanOrEqual(latest.height);
    expect((await pub.checkpoint()).checkpoint.height).toBe(latest.height);
    await rejects(pub.block(latest.height + 1000), 'NOT_FOUND');
    await rejects(pub.snapshot(), 'UNAUTHENTICATED');
    const snap = await bank.snapshot();
    expect(snap.height).toBe(latest.height);
    const text = await new Response(snap.body).text();
    expect(text.split('\n')[0]).toContain('custos-snapshot/2');
  });

  it('reads state, and proves state and consistency locally', async () => {
    const key = `consent/bank/${aliceDid}`;
    // Consents are the bank's and the customer's (trust #5): the bank reads its own, strangers none.
    await rejects(pub.state({ prefix: 'consent/', limit: 5 }), 'UNAUTHENTICATED');
    const page = await bank.state({ prefix: 'consent/bank/', limit: 5 });
    expect(page.entries.map((e) => e.key)).toContain(key);
    expect((await bank.stateEntry(key)).key).toBe(key);
    expect((await pub.stateEntry(key, { sign: signedBy(alice) })).key).toBe(key);
    await bank.verifiedState(key, members, { chainId: 'test' });
    const head = (await pub.chain()).height;
    await pub.verifiedConsistency(1, head, members, { chainId: 'test' });
    await rejects(pub.stateEntry('kv/nothing/here'), 'NOT_FOUND');
    await rejects(pub.stateEntry('nothing/here'), 'UNAUTHENTICATED');
  });

  it('reads the subject report and events with a signed request, and refuses unsigned', async () => {
    const v = await pub.verifiedSubjectReport(aliceDid, alice, members, { chainId: 'test' });
    expect(v).toBeDefined();
    await rejects(pub.subjectReport(aliceDid), 'UNAUTHENTICATED');
    const ac = new AbortController();
    const events = pub.subjectEvents(aliceDid, { after: 0 }, { sign: signedBy(alice), signal: ac.signal });
    const first = await events.next();
    expect(first.done).toBe(false);
    ac.abort();
    await events.return(undefined);
    const ac2 = new AbortController();
    const blocks = pub.blockEvents({ after: 0 }, { signal: ac2.signal });
    expect((await blocks.next()).value).toMatchObject({ height: 1 });
    ac2.abort();
    await blocks.return(undefined);
    const unsigned = pub.subjectEvents(aliceDid);
    await rejects(unsigned.next(), 'UNAUTHENTICATED');
  });

  it('runs the org routes with a member key, and refuses without one', async () => {
    expect((await pub.localOrgs()).local.sort()).toEqual(['bank', 'insurer', 'retailer']);
    await rejects(pub.orgRecords('bank'), 'UNAUTHENTICATED');
    const reg = await bank.registerRecord('bank', {
      subject: aliceDid,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      source: 'subject',
      retentionDays: 365,
      value: { email: 'alice@example.org' },
    });
    expect(reg.code).toBe('OK');
    record = reg.recordId;
    expect((await bank.orgRecords('bank')).records.map((r) => r.id)).toContain(record);
    const access = await bank.accessRecord('bank', record, 'dpv:Marketing', 'consent');
    expect(access).toMatchObject({ code: 'OK', value: { email: 'alice@example.org' } });
    expect(
      (await bank.shareRecord('bank', record, { recipient: 'insurer', purpose: 'dpv:Marketing', sale: false })).code,
    ).toMatch(/^[A-Z_]+$/);
    expect((await bank.rectifyRecord('bank', record, { email: 'a@example.org' })).code).toBe('OK');
    expect((await bank.orgRetention('bank')).pastRetention).toEqual([]);
    const reqs = await bank.orgRequests('bank');
    expect(reqs.requests.map((r) => r.id)).toEqual(expect.arrayContaining(requests));
    expect((await bank.extendRequest('bank', requests[0]!, 'complexity')).code).toBe('OK');
    expect((await bank.fulfilRequest('bank', requests[0]!)).code).toBe('OK');
    expect((await bank.rejectRequest('bank', requests[1]!, 'right-not-applicable')).code).toBe('OK');
    expect((await bank.erase('bank', { records: [record], reason: 'request' })).results[0]?.code).toBe('OK');
    // Overdue requests name customers: members only (trust #5, #6).
    await rejects(pub.overdueRequests(), 'UNAUTHENTICATED');
    expect((await bank.overdueRequests()).overdue).toEqual([]);
    const receipts = await bank.receipts(grant);
    expect(receipts.format).toBe('vc');
    expect(receipts.receipts.length).toBeGreaterThan(0);
    await rejects(pub.receipts(grant), 'UNAUTHENTICATED');
    // A customer's export fetched for them by another member's peer needs their forwarded signature too.
    const forward = await rejects(bank.relayedExport('bank', requests[0]!), 'UNAUTHENTICATED');
    expect(forward.message).toContain('custos-subject-signature-input');
  });

  it('proposes and votes on governance with member keys', async () => {
    const gov = await pub.govProposals();
    expect(gov.members.length).toBe(3);
    const p = await bank.govPropose('bank', {
      action: { kind: 'params', ...gov.params },
      reason: 'contract test',
    });
    expect(p.code).toBe('OK');
    const insurer = new CustosClient({ baseUrl: url, sign: signedBy(fx.orgs.insurer!) });
    expect((await insurer.govVote('insurer', p.txId, 'no')).code).toMatch(/^[A-Z_]+$/);
    await rejects(
      pub.govPropose('bank', { action: { kind: 'remove', id: 'retailer' }, reason: 'x' }),
      'UNAUTHENTICATED',
    );
  });

  it('issues, uses, lists and revokes org tokens; tokens cannot mint tokens', async () => {
    const t = await bank.createToken('bank', { scopes: ['read'], label: 'contract' });
    expect(t.token.length).toBeGreaterThan(10);
    const reader = new CustosClient({ baseUrl: url, token: t.token });
    expect((await reader.orgRecords('bank')).height).toBeGreaterThan(0);
    await rejects(reader.orgTokens('bank'), 'UNAUTHENTICATED');
    await rejects(
      reader.registerRecord('bank', {
        subject: aliceDid,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:Marketing': 'consent' },
        source: 'subject',
        retentionDays: 1,
        value: 1,
      }),
      'FORBIDDEN',
    );
    expect((await bank.orgTokens('bank')).tokens.map((x) => x.id)).toContain(t.id);
    expect((await bank.revokeToken('bank', t.id)).revokedAt).not.toBeNull();
    await rejects(reader.orgRecords('bank'), 'UNAUTHENTICATED');
  });

  it('streams one transaction commit', async () => {
    const events = [];
    for await (const e of pub.txEvents(grant)) events.push(e);
    expect(events).toEqual([expect.objectContaining({ event: 'committed', txId: grant })]);
  });
});
