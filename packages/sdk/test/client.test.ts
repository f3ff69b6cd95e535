/**
 * `CustosClient` against a real node (in-process CustosNode, its HTTP server listening on a free
 * port, three orgs with vaults): typed answers, problem+json as `CustosApiError` with its code,
 * RFC 9421 signed requests (a customer's report and receipts, an org's routes), GPC, and the
 * customer's history verified against the genesis members.
 */

import { nativeSigner } from '@custos/node';
import { verifyConsentReceipt } from '@custos/protocol/consent';
import { didFromPublicKey, nobleVerifier, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { verifyProofBundle } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CustosApiError,
  CustosClient,
  customerTx,
  eventProof,
  factProof,
  fetchHistory,
  memberSetOf,
  readEventStream,
  signedBy,
  trustFromGenesis,
  verifyHistory,
  Wallet,
} from '../src/index.js';

const DAY = 86_400_000;
let api: ApiNode;
let base: string;
let client: CustosClient;
let bank: CustosClient;
let signers: Record<string, Signer>;

beforeAll(async () => {
  api = await startApiNode({
    chainId: 'sdk-test',
    names: { bank: 'The bank', insurer: 'The insurer', retailer: 'The retailer' },
    server: { rateLimit: false },
    listen: true,
  });
  signers = api.fx.orgs;
  base = api.url!;
  client = new CustosClient({ baseUrl: base });
  bank = new CustosClient({ baseUrl: base, sign: signedBy(signers.bank!) });
});

afterAll(async () => {
  // The fixture drops keep-alive connections (an ended event stream's) so the test ends at once.
  await api?.close();
});

describe('CustosClient', () => {
  it('reads the chain, the head block and the checkpoint, typed', async () => {
    const chain = await client.chain();
    expect(chain.chainId).toBe('sdk-test');
    expect(chain.genesis.members.map((m) => m.id)).toEqual(['bank', 'insurer', 'retailer']);
    const head = await client.block('latest');
    expect(head.height).toBe(chain.height);
    const qc = await client.checkpoint();
    expect(qc.checkpoint.chainId).toBe('sdk-test');
    expect((await client.health()).status).toBe('ok');
    const page = await client.blocks({ limit: 1 });
    expect(page.blocks[0]?.height).toBe(chain.height);
  });

  it('turns problem+json into CustosApiError with the stable code', async () => {
    const missing = await client.tx('0'.repeat(64)).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(CustosApiError);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', status: 404, request: `GET /v1/txs/${'0'.repeat(64)}` });
    const bad = await client.tx('not-an-id').catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'BAD_REQUEST' });
    const anon = await client.orgRecords('bank').catch((e: unknown) => e);
    expect(anon).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    const wrongOrg = await bank.orgRecords('insurer').catch((e: unknown) => e);
    expect(wrongOrg).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });

  it('says NODE_UNREACHABLE when nothing listens, and TIMEOUT when the node is too slow', async () => {
    const nowhere = new CustosClient({ baseUrl: 'http://127.0.0.1:9' });
    await expect(nowhere.chain()).rejects.toMatchObject({ code: 'NODE_UNREACHABLE', status: 0 });
    const slow = new CustosClient({
      baseUrl: base,
      timeoutMs: 20,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) =>
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
        ),
    });
    await expect(slow.chain()).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('drives a customer relationship end to end, and verifies the history in the wallet', async () => {
    const chain = await client.chain();
    const trust = trustFromGenesis(chain.genesis);
    const wallet = Wallet.create();
    const me = wallet.relationship(chain.chainId, 'bank');

    const rec = await bank.registerRecord('bank', {
      subject: me.did,
      category: 'pd:EmailAddress',
      purposes: { 'dpv:Marketing': 'consent' },
      source: 'subject',
      retentionDays: 30,
      value: { email: 'sdk@example.org' },
    });
    expect(rec.code).toBe('OK');
    expect((await bank.accessRecord('bank', rec.recordId, 'dpv:Marketing', 'consent')).code).toBe('NO_LAWFUL_BASIS');

    const grant = await client.submitAndWait(
      customerTx(wallet, chain.chainId, 'bank', 'consent.grant', {
        org: 'bank',
        purposes: ['dpv:Marketing'],
        categories: ['pd:EmailAddress'],
        expiresAt: Date.now() + 30 * DAY,
        jurisdiction: 'GDPR',
        notice: 'ab'.repeat(32),
      }),
    );
    expect(grant).toMatchObject({ code: 'OK', gpcHonored: false });
    const used = await bank.accessRecord('bank', rec.recordId, 'dpv:Marketing', 'consent');
    expect(used.code).toBe('OK');
    expect(used.value).toEqual({ email: 'sdk@example.org' });

    // A GPC opt-out needs the signal on the request: the client sends it, the node says it honoured it.
    const gpc = customerTx(wallet, chain.chainId, 'bank', 'optout.set', {
      org: 'bank',
      kinds: ['sale', 'share'],
      source: 'gpc',
    });
    await expect(client.submitAndWait(gpc)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await client.submitAndWait(gpc, { gpc: true })).toMatchObject({ code: 'OK', gpcHonored: true });

    // The report is private: unsigned, or signed by another key, it is refused.
    await expect(client.subjectReport(me.did)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const other = wallet.relationship(chain.chainId, 'insurer');
    await expect(client.subjectReport(me.did, {}, { sign: signedBy(other.signer) })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });

    const pages = await fetchHistory(client, me.did, { sign: signedBy(me.signer) });
    const history = verifyHistory(pages, trust, me.did);
    expect(history.events.map((e) => `${e.tx.body.type}:${e.entry.code}`)).toEqual([
      'data.register:OK',
      'data.access:NO_LAWFUL_BASIS',
      'consent.grant:OK',
      'data.access:OK',
      'optout.set:OK',
    ]);
    const pref = history.facts.find((f) => f.key === `pref/bank/${me.did}`);
    expect(pref?.value).toMatchObject({ sale: { source: 'gpc' } });
    expect(factProof(pages, `record/bank/${rec.recordId}`)?.fact.value).toMatchObject({ category: 'pd:EmailAddress' });
    expect(eventProof(pages, used.txId)?.event.entry.code).toBe('OK');

    // Verified against another member set, nothing passes.
    const stranger = {
      ...trust,
      members: trust.members.map((m) => ({
        ...m,
        keys: [didFromPublicKey(nativeSigner(randomSecretKey()).publicKey)],
      })),
    };
    expect(() => verifyHistory(pages, stranger, me.did)).toThrow(expect.objectContaining({ code: 'BAD_CERTIFICATE' }));
    // A node that leaves an event out is caught.
    const cut = structuredClone(pages);
    cut[0]!.events.pop();
    expect(() => verifyHistory(cut, trust, me.did)).toThrow(expect.objectContaining({ code: 'BAD_PROOF' }));

    // Receipts are the customer's: signed by the org, fetched with a request signed by the subject.
    const receipts = await client.receipts(grant.txId, 'vc', { sign: signedBy(me.signer) });
    expect(receipts.receipts).toHaveLength(1);
    const check = verifyConsentReceipt(receipts.receipts[0], nobleVerifier);
    expect(check.verified).toBe(true);
    expect(trust.members.find((m) => m.id === 'bank')?.keys).toContain(check.issuer);
  });

  it('fetches proofs that verify against the genesis members', async () => {
    const chain = await client.chain();
    const members = memberSetOf(trustFromGenesis(chain.genesis));
    const head = await client.block('latest');
    // Transaction ids are the parties': the bank finds one of its own (trust #5), anyone may prove it.
    let txId: string | undefined;
    for (let h = head.height; txId === undefined && h > 0; h--) txId = (await bank.block(h)).txIds[0];
    const inclusion = await client.inclusionProof(txId!);
    expect(inclusion).not.toHaveProperty('tx');
    expect(verifyProofBundle(inclusion, members, nobleVerifier, chain.chainId)).toMatchObject({ kind: 'inclusion' });
    const consistency = await client.consistencyProof(1, head.height);
    expect(verifyProofBundle(consistency, members, nobleVerifier, chain.chainId)).toMatchObject({
      kind: 'consistency',
    });
    const state = await client.stateProof('member/bank');
    expect(verifyProofBundle(state, members, nobleVerifier, chain.chainId)).toMatchObject({ kind: 'state' });
  });

  it("runs an org's requests queue with an API token", async () => {
    const chain = await client.chain();
    const wallet = Wallet.create();
    const me = wallet.relationship(chain.chainId, 'bank');
    const token = await bank.createToken('bank', { scopes: ['read', 'write'], label: 'sdk test' });
    expect(token.token).toMatch(/^custos_/);
    const consoleClient = client.withToken(token.token);
    const opened = await client.submitAndWait(
      customerTx(wallet, chain.chainId, 'bank', 'request.open', { org: 'bank', kind: 'access', jurisdiction: 'CCPA' }),
    );
    expect(opened.code).toBe('OK');
    const queue = await consoleClient.orgRequests('bank');
    const mine = queue.requests.find((r) => r.id === opened.txId);
    expect(mine).toMatchObject({ status: 'open', kind: 'access', overdue: false, subject: me.did });
    expect(mine!.deadline - mine!.openedAt).toBe(45 * DAY);
    expect((await consoleClient.fulfilRequest('bank', opened.txId)).code).toBe('OK');
    const again = await consoleClient.fulfilRequest('bank', opened.txId);
    expect(again.code).toBe('CONFLICT');
    expect((await bank.orgTokens('bank')).tokens.map((t) => t.id)).toContain(token.id);
    await bank.revokeToken('bank', token.id);
    await expect(consoleClient.orgRequests('bank')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('follows committed blocks as server-sent events', async () => {
    const chain = await client.chain();
    const controller = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const b of client.blockEvents({ after: chain.height }, { signal: controller.signal })) {
        seen.push(b.height);
        if (b.height > chain.height) controller.abort();
      }
    })();
    const w = Wallet.create();
    await client.submitAndWait(customerTx(w, chain.chainId, 'bank', 'optout.set', { org: 'bank', kinds: ['sale'] }));
    await done;
    expect(seen[0]).toBe(chain.height + 1);
  });

  it('reads event streams split anywhere, with comments, ids and multi-line data', async () => {
    const text = ': heartbeat\n\nevent: block\nid: 7\ndata: {"a":\ndata: 1}\n\ndata: plain\r\n\r\n';
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 5) c.enqueue(bytes.slice(i, i + 5));
        c.close();
      },
    });
    const events = [];
    for await (const e of readEventStream(body)) events.push(e);
    expect(events).toEqual([
      { event: 'block', id: '7', data: '{"a":\n1}' },
      { event: 'message', id: '7', data: 'plain' },
    ]);
  });

  it('answers NOT_FOUND for demo wallets on a node that does not run the demo', async () => {
    await expect(client.demoWallets()).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
