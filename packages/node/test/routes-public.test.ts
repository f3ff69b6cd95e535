/**
 * The public and members' routes that need no org key (governance, overdue requests) are served by
 * every node, including one started without orgs; the company routes of `/v1/orgs/:org` answer 404
 * on a node that does not hold that org's keys, whatever the route.
 */
import { signRequest } from '@custos/protocol/http';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/api/server.js';

let api: ApiNode;
/** A server over the same node, started without orgs. */
let bare: FastifyInstance;

beforeAll(async () => {
  api = await startApiNode({ orgIds: ['bank'] });
  bare = createServer(api.node);
  await bare.ready();
});

afterAll(async () => {
  await bare.close();
  await api.close();
});

/** A GET signed by a member key of `org` (inject sends Host: localhost:80). */
function signedGet(app: FastifyInstance, url: string, org: string) {
  const headers = signRequest({ method: 'GET', url: `http://localhost${url}` }, api.fx.orgs[org]!);
  return app.inject({ method: 'GET', url, headers: { ...headers } });
}

describe('a node without orgs', () => {
  it('serves the members and governance proposals to anyone', async () => {
    const res = await bare.inject({ method: 'GET', url: '/v1/gov/proposals' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { members: { id: string }[]; proposals: unknown[] };
    expect(body.members.map((m) => m.id).sort()).toEqual(Object.keys(api.fx.orgs).sort());
    expect(body.proposals).toEqual([]);
  });

  it('serves overdue requests to a member key, and still refuses an anonymous caller', async () => {
    const res = await signedGet(bare, '/v1/requests/overdue', 'bank');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ overdue: [], next: null });
    expect((await bare.inject({ method: 'GET', url: '/v1/requests/overdue' })).statusCode).toBe(401);
  });

  it('has no company routes', async () => {
    const res = await signedGet(bare, '/v1/orgs/bank/records', 'bank');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('a node holding some orgs', () => {
  it("answers 404 for every route of an org whose keys it does not hold, after checking the caller's key", async () => {
    const other = Object.keys(api.fx.orgs).find((id) => id !== 'bank')!;
    for (const path of ['records', 'requests', 'retention', 'tokens']) {
      const res = await signedGet(api.app, `/v1/orgs/${other}/${path}`, other);
      expect(res.statusCode, path).toBe(404);
      expect(res.json(), path).toMatchObject({
        code: 'NOT_FOUND',
        detail: `this node does not hold the keys of org '${other}'`,
      });
    }
    // Authentication comes first: the wrong org's key is refused before the org is looked up.
    expect((await signedGet(api.app, `/v1/orgs/${other}/records`, 'bank')).statusCode).toBe(403);
  });

  it('serves its own org', async () => {
    expect((await signedGet(api.app, '/v1/orgs/bank/records', 'bank')).statusCode).toBe(200);
  });
});
