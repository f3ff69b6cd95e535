/**
 * Operations routes: liveness (`/healthz`: the process answers), readiness (`/readyz`: the node can
 * serve: not stopped on a fatal error, store answering, blocks not stalled) and Prometheus metrics.
 */
import { METRICS_CONTENT_TYPE, type NodeMetrics } from './metrics.js';
import { problem, sendProblem } from './problem.js';
import type { RoutePlugin } from './route-plugin.js';
import { HEALTH, NO_QUERY, READINESS } from './schemas.js';

export interface OpsRouteOptions {
  metrics: NodeMetrics;
  /**
   * Not ready when transactions are pending and no block has committed for this long (a stalled
   * orderer). An idle chain cuts no blocks, so age alone never makes a node unready. Default 60 s.
   */
  stallMs: number;
}

export const opsRoutes: RoutePlugin<OpsRouteOptions> = async (app, opts) => {
  const node = app.custos;
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness',
        description:
          'Answers 200 while the process serves HTTP, whatever the state of the node: for a liveness probe. Use /readyz to route traffic.',
        querystring: NO_QUERY,
        response: { 200: HEALTH },
      },
    },
    async () => ({ status: 'ok', chainId: node.chainId, height: node.latest().height, pending: node.pendingCount() }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness',
        description:
          'Answers 200 when the node can serve reads and admit transactions: not stopped on a fatal error, no clock alarm (the next block refused for its time), its store answering, and blocks not stalled while transactions wait. Otherwise 503 NOT_READY with the reason.',
        querystring: NO_QUERY,
        response: { 200: READINESS },
      },
      config: { problems: ['NOT_READY'] },
    },
    async (_request, reply) => {
      const fatal = node.fatalError();
      if (fatal !== undefined) {
        const diverged = (fatal as { code?: unknown }).code === 'DIVERGED';
        const why = diverged ? 'its state diverged from a quorum certificate' : 'a block failed to commit';
        return sendProblem(reply, problem('NOT_READY', `${why}; the node stopped`));
      }
      let stored: number;
      try {
        stored = node.store.latestHeader()?.height ?? -1;
      } catch {
        return sendProblem(reply, problem('NOT_READY', 'the store does not answer (closed or failing)'));
      }
      const head = node.latest();
      const alarm = node.clockStatus().alarm;
      if (alarm?.kind === 'block') {
        return sendProblem(
          reply,
          problem(
            'NOT_READY',
            `clock alarm: block ${alarm.height} refused, dated ${Math.round(alarm.skewMs / 1000)} s from this peer's clock (${alarm.reason}); check the peers' clocks`,
          ),
        );
      }
      if (stored !== head.height) {
        return sendProblem(reply, problem('NOT_READY', `the store is at height ${stored}, the node at ${head.height}`));
      }
      const ageMs = Math.max(0, Date.now() - head.time);
      const pending = node.pendingCount();
      if (pending > 0 && ageMs > opts.stallMs) {
        return sendProblem(
          reply,
          problem('NOT_READY', `${pending} transactions pending and no block for ${Math.round(ageMs / 1000)} s`),
        );
      }
      return { status: 'ready', chainId: node.chainId, height: head.height, pending, latestBlockAgeMs: ageMs };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description:
          'Prometheus text exposition: blocks and transactions committed (by result code), commit latency, HTTP request durations by route and status, pending transactions, latest block age, the clock alarm (blocks refused for their time, skew), vault operations, and the process (CPU, memory, event loop).',
        querystring: NO_QUERY,
        response: {
          200: {
            description: 'Prometheus text format 0.0.4.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => reply.type(METRICS_CONTENT_TYPE).send(await opts.metrics.text()),
  );
};
