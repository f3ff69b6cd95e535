/**
 * Read routes over committed data: blocks, the latest checkpoint, the chain's description, state
 * entries and the health check. Handlers read the store synchronously, so each answer is
 * consistent with the height it reports.
 */
import { headerHash, txIdOf } from '@custos/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CustosNode } from '../node.js';
import { problem, sendProblem } from './problem.js';
import { HEIGHT_PARAMS, MAX_STATE_PAGE, NO_QUERY, STATE_KEY_QUERY, STATE_LIST_QUERY } from './schemas.js';

const DEFAULT_STATE_PAGE = 100;

export function registerChainRoutes(app: FastifyInstance, node: CustosNode): void {
  const sendBlock = (reply: FastifyReply, height: number) => {
    const b = height <= node.latest().height ? node.store.getBlock(height) : null;
    if (b === null) return sendProblem(reply, problem('NOT_FOUND', `no block at height ${height}`));
    return reply.send({
      height: b.header.height,
      hash: b.hash,
      header: b.header,
      qc: b.qc,
      txIds: b.txs.map((t) => txIdOf(t.body)),
      results: b.results,
      txs: b.txs,
    });
  };

  app.get('/v1/blocks/latest', { schema: { querystring: NO_QUERY } }, async (_request, reply) =>
    sendBlock(reply, node.latest().height),
  );

  app.get<{ Params: { height: string } }>(
    '/v1/blocks/:height',
    { schema: { params: HEIGHT_PARAMS, querystring: NO_QUERY } },
    async (request, reply) => sendBlock(reply, Number(request.params.height)),
  );

  app.get('/v1/checkpoint', { schema: { querystring: NO_QUERY } }, async (_request, reply) => {
    const h = node.store.getHeader(node.latest().height);
    if (h?.qc == null) {
      return sendProblem(reply, problem('NOT_FOUND', 'this node holds no member key, so it has no checkpoint'));
    }
    return h.qc;
  });

  app.get('/v1/chain', { schema: { querystring: NO_QUERY } }, async () => {
    const head = node.latest();
    return {
      chainId: node.chainId,
      height: head.height,
      latestHash: headerHash(head),
      time: head.time,
      threshold: node.members.threshold,
      members: node.members.members,
      genesis: node.genesis,
    };
  });

  app.get<{ Querystring: { prefix?: string; after?: string; limit?: string } }>(
    '/v1/state',
    { schema: { querystring: STATE_LIST_QUERY } },
    async (request, reply) => {
      const { prefix = '', after } = request.query;
      const limit = request.query.limit === undefined ? DEFAULT_STATE_PAGE : Number(request.query.limit);
      if (limit < 1 || limit > MAX_STATE_PAGE) {
        return sendProblem(
          reply,
          problem('BAD_REQUEST', `expected querystring.limit between 1 and ${MAX_STATE_PAGE}, got ${limit}`),
        );
      }
      const rows = node.store.listState(prefix, after, limit);
      const last = rows[rows.length - 1];
      return {
        height: node.latest().height,
        entries: rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as unknown })),
        next: rows.length === limit && last !== undefined ? last.key : null,
      };
    },
  );

  app.get<{ Querystring: { key: string } }>(
    '/v1/state/entry',
    { schema: { querystring: STATE_KEY_QUERY } },
    async (request, reply) => {
      const { key } = request.query;
      const text = node.store.getState(key);
      if (text === undefined) return sendProblem(reply, problem('NOT_FOUND', 'no state entry under this key'));
      return { height: node.latest().height, key, value: JSON.parse(text) as unknown };
    },
  );

  app.get('/healthz', { schema: { querystring: NO_QUERY } }, async (_request, reply) => {
    if (node.fatalError() !== undefined) {
      return sendProblem(reply, problem('NODE_STOPPED', 'a block failed to commit; the node stopped'));
    }
    return { status: 'ok', chainId: node.chainId, height: node.latest().height, pending: node.pendingCount() };
  });
}
