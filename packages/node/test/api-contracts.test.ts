/**
 * `GET /v1/contracts` and `GET /v1/contracts/:name` (issue 14, point 6): a proposed contract with
 * its risk summary and votes, activated, called and paused; the receipts of calls only for members.
 */
import { signRequest } from '@custos/protocol/http';
import type { JsonValue } from '@custos/protocol/jcs';
import { type ApiNode, startApiNode, tx } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CODE = `
exports.add = function (args) {
  const cur = host.get('main/total') || { n: 0 };
  cur.n += args.n;
  host.put('main/total', cur);
  host.emit({ type: 'added', n: args.n });
  return cur.n;
};
`;
const MANIFEST = {
  name: 'tally',
  version: '1.0.0',
  namespaces: ['main'],
  grants: [],
  categories: [],
  purposes: [],
  maxGas: 2_000_000,
};

let api: ApiNode;
let proposal = '';
let callTx = '';

const send = (org: string, type: string, args: { [k: string]: JsonValue }) =>
  api.node.submitAndWait(tx(api.fx.orgs[org]!, type, args));
const get = (url: string, org?: string) =>
  api.app.inject({
    method: 'GET',
    url,
    headers:
      org === undefined ? {} : { ...signRequest({ method: 'GET', url: `http://localhost${url}` }, api.fx.orgs[org]!) },
  });

beforeAll(async () => {
  api = await startApiNode();
  const p = await send('bank', 'contract.propose', {
    code: CODE,
    manifest: MANIFEST,
    tests: [{ method: 'add', args: { n: 1 }, caller: 'bank' }],
    reason: 'a shared tally',
  });
  expect(p.code).toBe('OK');
  proposal = p.txId;
});

afterAll(async () => {
  await api?.close();
});

describe('contracts over the API', () => {
  it('lists a proposed contract with the pending risk summary and the votes so far, to anyone', async () => {
    const res = await get('/v1/contracts');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.members).toBe(3);
    expect(body.contracts).toHaveLength(1);
    const c = body.contracts[0];
    expect(c).toMatchObject({ name: 'tally', status: 'proposed', version: null, calls: 0, gasUsed: 0, risk: null });
    expect(c.pending.proposal).toMatchObject({ id: proposal, state: 'open', needs: 2, proposer: 'bank' });
    expect(c.pending.proposal.votes).toEqual([{ member: 'bank', vote: 'yes', height: expect.any(Number) }]);
    expect(c.pending.risk).toMatchObject({ passed: true, tests: 1, testsOk: 1, findings: 0 });
    expect(c.pause).toEqual({ votes: [], needed: 1, pausedAt: null });
  });

  it('shows one contract in full: the proposed code with its risk report', async () => {
    const res = await get('/v1/contracts/tally');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.inForce).toBeNull();
    expect(body.proposed.manifest).toMatchObject({ name: 'tally', maxGas: 2_000_000 });
    expect(body.proposed.risk.dryRun).toEqual([expect.objectContaining({ method: 'add', code: 'OK' })]);
    expect(body.recentCalls).toBeNull();
  });

  it('after the vote and a call: active with its gas; members see the call with its receipt', async () => {
    expect((await send('insurer', 'gov.vote', { proposal, vote: 'yes' })).code).toBe('OK');
    const c = await send('retailer', 'contract.call', { contract: 'tally', method: 'add', args: { n: 4 } });
    expect(c.code).toBe('OK');
    callTx = c.txId;
    const list = (await get('/v1/contracts')).json();
    expect(list.contracts[0]).toMatchObject({ status: 'active', version: '1.0.0', calls: 1, pending: null });
    expect(list.contracts[0].gasUsed).toBeGreaterThan(0);
    expect(list.contracts[0].risk).toMatchObject({ passed: true, level: 'low' });

    const anon = (await get('/v1/contracts/tally')).json();
    expect(anon.recentCalls).toBeNull();
    expect(anon.inForce.risk.codeDigest).toBe(anon.contract.digest);
    const member = await get('/v1/contracts/tally', 'bank');
    expect(member.statusCode).toBe(200);
    const calls = member.json().recentCalls;
    expect(calls).toEqual([
      expect.objectContaining({
        txId: callTx,
        method: 'add',
        callerOrg: 'retailer',
        code: 'OK',
        events: [{ type: 'added', n: 4 }],
        error: null,
      }),
    ]);
    expect(calls[0].gasUsed).toBe(list.contracts[0].gasUsed);
  });

  it('pauses it as an org with a governance token, and shows who paused it', async () => {
    const post = (url: string, body: unknown, headers: Record<string, string>) =>
      api.app.inject({
        method: 'POST',
        url,
        payload: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      });
    const signedPost = (url: string, body: unknown) =>
      post(url, body, {
        ...signRequest(
          { method: 'POST', url: `http://localhost${url}`, body: JSON.stringify(body) },
          api.fx.orgs.insurer!,
        ),
      });
    const read = await signedPost('/v1/orgs/insurer/tokens', { scopes: ['read', 'write'] });
    const gov = await signedPost('/v1/orgs/insurer/tokens', { scopes: ['governance'] });
    expect([read.statusCode, gov.statusCode]).toEqual([201, 201]);
    const url = '/v1/orgs/insurer/contracts/tally/pause';
    const refused = await post(url, {}, { authorization: `Bearer ${read.json().token}` });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().detail).toMatch(/'governance' scope/);
    const paused = await post(url, {}, { authorization: `Bearer ${gov.json().token}` });
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json().code).toBe('OK');
    // Paused already: a recorded result code, not an error.
    expect((await post(url, {}, { authorization: `Bearer ${gov.json().token}` })).json().code).toBe('CONFLICT');
    const c = (await get('/v1/contracts')).json().contracts[0];
    expect(c.status).toBe('paused');
    expect(c.pause).toMatchObject({ votes: ['insurer'], needed: 1, pausedAt: expect.any(Number) });
  });

  it('refuses a bad name or an unknown contract with a clear problem', async () => {
    const bad = await get('/v1/contracts/Not_A_Name');
    expect(bad.statusCode).toBe(400);
    const missing = await get('/v1/contracts/nothing-here');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().detail).toBe("no contract 'nothing-here'");
    expect((await get(`/v1/contracts/${'a'.repeat(80)}`)).statusCode).toBe(400);
    expect((await get('/v1/contracts?x=1')).statusCode).toBe(400);
  });
});
