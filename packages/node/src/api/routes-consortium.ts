/**
 * Consortium routes: where this peer is in finality, and a block's quorum certificate, optionally
 * waiting until a quorum of members has signed it (`?wait=true`), so that a client can wait for
 * finality rather than for a local commit.
 */
import type { FastifyInstance } from 'fastify';
import type { CustosNode } from '../node.js';
import { problem, sendProblem } from './problem.js';
import { HEIGHT_PARAMS, NO_QUERY, WAIT_QUERY } from './schemas.js';

const WAIT_MS = 30_000;

const FINALITY = {
  type: 'object',
  properties: {
    head: { type: 'integer', description: 'Latest committed height on this peer.' },
    final: { type: 'integer', description: 'Latest height a quorum of members signed (-1 if none yet).' },
  },
  required: ['head', 'final'],
};

const CERTIFICATE = {
  type: 'object',
  properties: {
    height: { type: 'integer' },
    final: { type: 'boolean', description: 'Whether the certificate holds a quorum of members.' },
    finalHeight: { type: 'integer', description: 'Latest final height on this peer.' },
    qc: { type: ['object', 'null'], additionalProperties: true },
  },
  required: ['height', 'final', 'finalHeight', 'qc'],
};

export function registerConsortiumRoutes(app: FastifyInstance, node: CustosNode): void {
  app.get(
    '/v1/finality',
    {
      schema: {
        tags: ['chain'],
        summary: 'Read the finality status',
        description: 'The latest committed height and the latest height certified by a quorum of members.',
        querystring: NO_QUERY,
        response: { 200: FINALITY },
      },
    },
    async () => node.finality(),
  );

  app.get<{ Params: { height: string }; Querystring: { wait?: 'true' | 'false' } }>(
    '/v1/blocks/:height/certificate',
    {
      schema: {
        tags: ['chain'],
        summary: "Read a block's quorum certificate",
        description:
          'The certificate stored for the block at `height`: the checkpoint with the member signatures collected so far. With `wait=true` the answer waits (up to 30 s) until the block is final, i.e. a quorum of members signed it or a later block.',
        params: HEIGHT_PARAMS,
        querystring: WAIT_QUERY,
        response: { 200: CERTIFICATE },
      },
      config: { problems: ['NOT_FOUND', 'TIMEOUT', 'NODE_STOPPED'] },
    },
    async (request, reply) => {
      const height = Number(request.params.height);
      if (request.query.wait === 'true' && height <= node.latest().height + 1000) {
        try {
          await node.waitFinal(height, WAIT_MS);
        } catch (e) {
          return sendProblem(reply, problem((e as { code?: 'TIMEOUT' }).code ?? 'TIMEOUT', (e as Error).message));
        }
      }
      const row = node.store.getHeader(height);
      if (row === null) return sendProblem(reply, problem('NOT_FOUND', `no block at height ${height}`));
      return { height, final: node.latestFinal() >= height, finalHeight: node.latestFinal(), qc: row.qc };
    },
  );
}
