/**
 * Authorised agents and account links through the API and the SDK (in process: the SDK's fetch is
 * the server's `inject`). An agent opens a request with the customer's delegation credential and
 * the ledger checks it at execution: a forged credential, another org, another agent, a kind it
 * does not allow, an expired or revoked one are refused, and nothing is recorded. The org links a
 * customer account with a one-time challenge the wallet signs: a forged signature, a replayed or
 * expired challenge and another org's challenge are refused.
 */
import { didFromPublicKey } from '@custos/protocol/crypto';
import { type DataRequest, verifySubjectReport } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import {
  agentRequestTx,
  answerLinkChallenge,
  CustosApiError,
  CustosClient,
  delegationId,
  grantAgent,
  revokeAgentTx,
  signedBy,
} from '@custos/sdk';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { accountLinksOf, CHALLENGE_TTL_MS } from '../src/orgs/account-links.js';

let api: ApiNode;
let bank: CustosClient;
let insurer: CustosClient;
let anon: CustosClient;
const DAY = 86_400_000;

/** A fetch that hands each request to the server in process. */
function injectFetch(app: ApiNode['app']): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const res = await app.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: url.pathname + url.search,
      headers,
      ...(init?.body === undefined || init.body === null ? {} : { payload: init.body as string }),
    });
    return new Response(res.statusCode === 204 ? null : res.body, {
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
    });
  }) as typeof fetch;
}

function request(org: string, id: string): DataRequest | undefined {
  const v = api.node.store.getState(`request/${org}/${id}`);
  return v === undefined ? undefined : (JSON.parse(v) as DataRequest);
}

async function problemOf(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CustosApiError) return { status: e.status, code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected the call to be refused');
}

beforeAll(async () => {
  api = await startApiNode({});
  const f = injectFetch(api.app);
  bank = new CustosClient({ baseUrl: 'http://localhost', fetch: f, sign: signedBy(api.fx.orgs.bank!) });
  insurer = new CustosClient({ baseUrl: 'http://localhost', fetch: f, sign: signedBy(api.fx.orgs.insurer!) });
  anon = new CustosClient({ baseUrl: 'http://localhost', fetch: f });
});

afterAll(async () => {
  await api?.close();
});

describe('authorised agents', () => {
  const wallet = Wallet.create({ signerFactory: nativeSigner });
  const agent = userSigner();
  const agentDid = didFromPublicKey(agent.publicKey);

  it('an agent opens a request on the customer’s behalf; the request names the customer and records the agent', async () => {
    const vc = grantAgent(wallet, 'test', 'bank', agentDid, ['access', 'erase']);
    const pseudonym = didFromPublicKey(wallet.relationship('test', 'bank').signer.publicKey);
    expect(vc.issuer).toBe(pseudonym);
    // Nothing identifying the customer but the pseudonym.
    expect(Object.keys(vc.credentialSubject).sort()).toEqual(['chainId', 'id', 'org', 'requestKinds']);
    const r = await anon.submitAndWait(agentRequestTx(agent, 'test', vc, { kind: 'erase', jurisdiction: 'CCPA' }));
    expect(r.code).toBe('OK');
    const req = request('bank', r.txId)!;
    expect(req).toMatchObject({
      subject: pseudonym,
      kind: 'erase',
      agent: { key: agentDid, delegation: delegationId(vc) },
    });
    // Filed under the customer's pseudonym: their own report shows it, with the agent's key.
    const customer = new CustosClient({
      baseUrl: 'http://localhost',
      fetch: injectFetch(api.app),
      sign: signedBy(wallet.relationship('test', 'bank').signer),
    });
    const report = await customer.subjectReport(pseudonym);
    const verified = verifySubjectReport(report, api.node.members);
    expect(verified.complete).toBe(true);
    const fact = report.facts.find((f) => f.key === `request/bank/${r.txId}`);
    expect((fact?.value as DataRequest | undefined)?.agent?.key).toBe(agentDid);
    expect(report.events.some((e) => e.entry.txId === r.txId)).toBe(true);
  });

  it('trust #20: refuses a forged credential, another org, another agent and a kind it does not allow', async () => {
    const vc = grantAgent(wallet, 'test', 'bank', agentDid, ['access']);
    const forged = { ...vc, credentialSubject: { ...vc.credentialSubject, requestKinds: ['access', 'erase'] } };
    const cases = [
      { tx: agentRequestTx(agent, 'test', forged, { kind: 'erase', jurisdiction: 'GDPR' }), why: /does not verify/ },
      {
        tx: agentRequestTx(
          agent,
          'test',
          { ...vc, credentialSubject: vc.credentialSubject },
          { kind: 'erase', jurisdiction: 'GDPR' },
        ),
        why: /allows access, not erase/,
      },
      {
        tx: agentRequestTx(userSigner(), 'test', vc, { kind: 'access', jurisdiction: 'GDPR' }),
        why: /another agent key/,
      },
    ];
    for (const c of cases) {
      const r = await anon.submitAndWait(c.tx);
      expect(r.code).toBe('UNAUTHORIZED');
      expect(r.detail).toMatch(c.why);
      expect(request('bank', r.txId)).toBeUndefined();
    }
    // The bank's credential sent to the insurer: signed for the bank only.
    const toInsurer = agentRequestTx(agent, 'test', vc, { kind: 'access', jurisdiction: 'GDPR' });
    const args = toInsurer.body.args as { org: string };
    const { signTx } = await import('@custos/protocol/ledger');
    const moved = signTx({ chainId: 'test', type: 'request.open', args: { ...args, org: 'insurer' } }, agent);
    const r = await anon.submitAndWait(moved);
    expect(r).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(r.detail).toMatch(/another org, not insurer/);
  });

  it('trust #20: refuses an expired credential and one the customer revoked on the ledger', async () => {
    const old = grantAgent(wallet, 'test', 'bank', agentDid, ['access'], { now: Date.now() - 3 * DAY, days: 1 });
    const expired = await anon.submitAndWait(
      agentRequestTx(agent, 'test', old, { kind: 'access', jurisdiction: 'GDPR' }),
    );
    expect(expired).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(expired.detail).toMatch(/expired/);

    const vc = grantAgent(wallet, 'test', 'bank', agentDid, ['access', 'optout']);
    expect(
      (await anon.submitAndWait(agentRequestTx(agent, 'test', vc, { kind: 'optout', jurisdiction: 'CCPA' }))).code,
    ).toBe('OK');
    // Only the customer's pseudonym revokes it: the agent's own key writes another key.
    const revoked = await anon.submitAndWait(revokeAgentTx(wallet, 'test', 'bank', vc));
    expect(revoked.code).toBe('OK');
    expect((await anon.submitAndWait(revokeAgentTx(wallet, 'test', 'bank', vc))).code).toBe('CONFLICT');
    const after = await anon.submitAndWait(agentRequestTx(agent, 'test', vc, { kind: 'access', jurisdiction: 'CCPA' }));
    expect(after).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(after.detail).toMatch(/revoked/);
    expect(request('bank', after.txId)).toBeUndefined();
  });

  it('refuses a malformed or oversized credential with what was expected', async () => {
    const { signTx } = await import('@custos/protocol/ledger');
    const big = { type: ['VerifiableCredential'], pad: 'x'.repeat(5000) };
    const r = await anon.submitAndWait(
      signTx(
        {
          chainId: 'test',
          type: 'request.open',
          args: { org: 'bank', kind: 'access', jurisdiction: 'GDPR', delegation: big },
        },
        agent,
      ),
    );
    expect(r.code).toBe('INVALID_ARGS');
    expect(r.detail).toMatch(/at most 4096 bytes/);
  });
});

describe('linking an account with a signed challenge', () => {
  const wallet = Wallet.create({ signerFactory: nativeSigner });
  const pseudonym = didFromPublicKey(wallet.relationship('test', 'bank').signer.publicKey);

  it('the org issues a challenge, the wallet signs it, the org registers data by its own account id', async () => {
    const c = await bank.linkChallenge('bank', 'acct-1042');
    expect(c.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(c.expiresAt - Date.now()).toBeLessThanOrEqual(CHALLENGE_TTL_MS);
    const linked = await anon.answerLink('bank', answerLinkChallenge(wallet, 'test', 'bank', c.challenge));
    expect(linked).toEqual({ org: 'bank', subject: pseudonym, linkedAt: expect.any(Number) });
    expect(JSON.stringify(linked)).not.toContain('acct-1042');
    expect(await bank.linkedAccount('bank', 'acct-1042')).toMatchObject({ subject: pseudonym });
    const r = await bank.registerRecord('bank', {
      account: 'acct-1042',
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 30,
      value: 'ada@example.org',
    });
    expect(r.code).toBe('OK');
    const rec = JSON.parse(api.node.store.getState(`record/bank/${r.recordId}`)!) as { subject: string };
    expect(rec.subject).toBe(pseudonym);
    // The account id is nowhere on the ledger.
    expect(JSON.stringify(api.node.store.getTx(r.txId))).not.toContain('acct-1042');
  });

  it('trust #20: refuses a forged signature, a replayed challenge, an expired one and another org’s', async () => {
    const forged = await bank.linkChallenge('bank', 'acct-7');
    const other = Wallet.create({ signerFactory: nativeSigner });
    const wrong = { ...answerLinkChallenge(other, 'test', 'bank', forged.challenge), subject: pseudonym };
    expect(await problemOf(anon.answerLink('bank', wrong))).toMatchObject({ status: 400, code: 'BAD_SIGNATURE' });

    const c = await bank.linkChallenge('bank', 'acct-8');
    const answer = answerLinkChallenge(wallet, 'test', 'bank', c.challenge);
    expect((await anon.answerLink('bank', answer)).subject).toBe(pseudonym);
    const replay = await problemOf(anon.answerLink('bank', answer));
    expect(replay).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(replay.message).not.toContain('acct-8');

    const stale = accountLinksOf(api.node).issue('bank', 'acct-9', Date.now() - CHALLENGE_TTL_MS - 1000);
    expect(
      await problemOf(anon.answerLink('bank', answerLinkChallenge(wallet, 'test', 'bank', stale.challenge))),
    ).toMatchObject({ status: 409, code: 'CONFLICT' });

    // The insurer's challenge answered at the bank, or signed for the insurer and sent to the bank.
    const theirs = await insurer.linkChallenge('insurer', 'acct-10');
    expect(
      await problemOf(anon.answerLink('bank', answerLinkChallenge(wallet, 'test', 'bank', theirs.challenge))),
    ).toMatchObject({ status: 404 });
    const fresh = await insurer.linkChallenge('insurer', 'acct-11');
    const forInsurer = answerLinkChallenge(wallet, 'test', 'insurer', fresh.challenge);
    expect(await problemOf(anon.answerLink('insurer', { ...forInsurer, subject: pseudonym }))).toMatchObject({
      code: 'BAD_SIGNATURE',
    });
    expect(await problemOf(bank.linkedAccount('bank', 'acct-7'))).toMatchObject({ status: 404 });
    // Registering by an account nobody linked is refused with what to do.
    const unlinked = await problemOf(
      bank.registerRecord('bank', {
        account: 'acct-7',
        category: 'pd:EmailAddress',
        purposes: { 'dpv:ServiceProvision': 'contract' },
        source: 'subject',
        retentionDays: 30,
        value: 'x',
      }),
    );
    expect(unlinked).toMatchObject({ status: 404 });
    expect(unlinked.message).toMatch(/link it with a challenge first/);
  });

  it('bounds what it accepts: an account id over 128 characters is refused', async () => {
    expect(await problemOf(bank.linkChallenge('bank', 'a'.repeat(129)))).toMatchObject({ status: 400 });
  });
});
