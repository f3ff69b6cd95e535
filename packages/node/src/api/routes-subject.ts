/**
 * Customer-facing routes: Global Privacy Control (`/.well-known/gpc.json`, and a GPC opt-out that
 * the API accepts only on a request carrying exactly `Sec-GPC: 1`), and the subject's verifiable
 * right-to-know report. A report is about one pairwise pseudonym and holds no personal data.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CustosNode } from '../node.js';
import { subjectReport } from '../subject/report.js';
import { problem, sendProblem } from './problem.js';

const DID_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['did'],
  properties: { did: { type: 'string', pattern: '^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$' } },
};
const REPORT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' },
    limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
  },
};

/** The GPC signal as the spec defines it: the header present with exactly the value "1". */
export function hasGpcSignal(request: FastifyRequest): boolean {
  return request.headers['sec-gpc'] === '1';
}

/** True for a GPC opt-out transaction, which needs the signal on the request that carries it. */
function isGpcOptOut(tx: unknown): boolean {
  const body = (tx as { body?: { type?: unknown; args?: { source?: unknown } } } | null)?.body;
  return body?.type === 'optout.set' && body.args?.source === 'gpc';
}

export function registerSubjectRoutes(app: FastifyInstance, node: CustosNode): void {
  // https://privacycg.github.io/gpc-spec/#gpc-support-resource
  app.get('/.well-known/gpc.json', async (_request, reply) =>
    reply.type('application/json').send({ gpc: true, lastUpdate: '2026-11-29' }),
  );

  // A GPC opt-out is only as true as the signal: refuse one submitted without `Sec-GPC: 1`.
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || !request.url.startsWith('/v1/txs')) return;
    const body = request.body;
    const txs = Array.isArray(body) ? body : [body];
    if (txs.some(isGpcOptOut) && !hasGpcSignal(request)) {
      return sendProblem(
        reply,
        problem('BAD_REQUEST', "an opt-out with source 'gpc' must be sent with the header Sec-GPC: 1"),
      );
    }
    if (hasGpcSignal(request)) reply.header('GPC-Honored', '1');
    return undefined;
  });

  app.get<{ Params: { did: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/subjects/:did/report',
    { schema: { params: DID_PARAMS, querystring: REPORT_QUERY } },
    async (request, reply) => {
      if (hasGpcSignal(request)) reply.header('GPC-Honored', '1');
      const { after, limit } = request.query;
      return subjectReport(node, request.params.did, {
        ...(after === undefined ? {} : { after: Number(after) }),
        ...(limit === undefined ? {} : { limit: Number(limit) }),
      });
    },
  );
}
