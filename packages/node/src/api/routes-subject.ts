/**
 * Customer-facing routes: Global Privacy Control (`/.well-known/gpc.json`, and a GPC opt-out that
 * the API accepts only on a request carrying exactly `Sec-GPC: 1`), and the subject's verifiable
 * right-to-know report. A report is about one pairwise pseudonym and holds no personal data, but
 * it links everything done under that pseudonym: only a request signed (RFC 9421) by the
 * pseudonym's own key may read it (docs/architecture.md#the-api).
 */

import { type TxBody, txIdOf } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { CustosNode } from '../node.js';
import { gpcEvidenceOf } from '../orgs/gpc-evidence.js';
import { subjectReport } from '../subject/report.js';
import { guard, subjectOnly } from './auth/guard.js';
import { problem, sendProblem } from './problem.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, did, integerString, pageSize } from './schema-atoms.js';

/** Problems every subject-signed route can answer, for the OpenAPI document. */
export const SUBJECT_AUTH_PROBLEMS = ['UNAUTHENTICATED', 'FORBIDDEN', 'SIGNATURE_EXPIRED', 'REPLAYED_REQUEST'] as const;

const REPORT_QUERY = closed({ after: Type.Optional(integerString()), limit: Type.Optional(pageSize()) });

/** The GPC signal as the spec defines it: the header present with exactly the value "1". */
export function hasGpcSignal(request: FastifyRequest): boolean {
  return request.headers['sec-gpc'] === '1';
}

/** True for a GPC opt-out transaction, which needs the signal on the request that carries it. */
function isGpcOptOut(tx: unknown): boolean {
  const body = (tx as { body?: { type?: unknown; args?: { source?: unknown } } } | null)?.body;
  return body?.type === 'optout.set' && body.args?.source === 'gpc';
}

/**
 * A GPC opt-out is only as true as the signal: refuses one submitted without `Sec-GPC: 1`, and
 * answers `GPC-Honored: 1` to a request carrying the signal. A route-level `preHandler` of the two
 * routes that carry opt-outs (`POST /v1/txs`, `POST /v1/txs/batch` in `routes-txs.ts`), so it
 * runs on the route as matched, not the raw URL: `/v1/%74xs` reaches the same route (trust #14).
 */
export function gpcOptOutCheck(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  // A callback hook, not an async one, and no route lookup: it runs on every transaction
  // submitted, and each promise or `request.routeOptions` object per request is measurable on the
  // single-transaction route (docs/performance.md).
  const body = request.body;
  const txs = Array.isArray(body) ? body : [body];
  if (txs.some(isGpcOptOut) && !hasGpcSignal(request)) {
    sendProblem(reply, problem('BAD_REQUEST', "an opt-out with source 'gpc' must be sent with the header Sec-GPC: 1"));
    return;
  }
  if (hasGpcSignal(request)) reply.header('GPC-Honored', '1');
  done();
}

/**
 * Evidence of each application of a GPC signal (a route-level `onResponse` hook of `route`, one of
 * the two routes that carry opt-outs): every GPC opt-out the API accepted goes to the evidence log
 * with the request id and route, never the address or the user agent (`orgs/gpc-evidence.ts`).
 */
export function gpcEvidenceHook(node: CustosNode, route: string) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    if (reply.statusCode >= 300 || !hasGpcSignal(request)) {
      done();
      return;
    }
    const body = request.body;
    const txs = (Array.isArray(body) ? body : [body]).filter(isGpcOptOut) as { body: TxBody }[];
    const log = txs.length > 0 ? gpcEvidenceOf(node) : undefined;
    for (const tx of txs) {
      const args = tx.body.args as { org?: unknown; kinds?: unknown };
      if (typeof args.org !== 'string' || !Array.isArray(args.kinds)) continue;
      log?.add({
        org: args.org,
        subject: tx.body.signer,
        kinds: args.kinds.filter((k): k is string => typeof k === 'string'),
        at: Date.now(),
        requestId: request.id,
        route,
        txId: txIdOf(tx.body),
      });
    }
    done();
  };
}

export const subjectRoutes: RoutePlugin = async (app) => {
  const node = app.custos;
  // https://privacycg.github.io/gpc-spec/#gpc-support-resource
  app.get('/.well-known/gpc.json', async (_request, reply) =>
    reply.type('application/json').send({ gpc: true, lastUpdate: '2026-11-29' }),
  );

  app.get(
    '/v1/subjects/:did/gpc-evidence',
    {
      ...guard(node, { tokens: false, authorize: subjectOnly('did'), signer: "the subject's key" }),
      schema: {
        tags: ['customers'],
        summary: "Evidence of a subject's GPC signals",
        description:
          "Every Global Privacy Control opt-out this node accepted under the pseudonym, newest first (at most 100): the org, what was opted out, when, the request id and route, and the transaction on the ledger. Signed by the subject's key (RFC 9421, keyid = the did in the path).",
        params: closed({ did: did() }),
      },
      config: { problems: [...SUBJECT_AUTH_PROBLEMS] },
    },
    async (request) => ({ evidence: gpcEvidenceOf(node).forSubject(request.params.did, Number.MAX_SAFE_INTEGER, 100) }),
  );

  app.get(
    '/v1/subjects/:did/report',
    {
      ...guard(node, { tokens: false, authorize: subjectOnly('did'), signer: "the subject's key" }),
      schema: {
        tags: ['customers'],
        summary: "A subject's verifiable report",
        description:
          "The subject's consents, opt-outs, records and requests with state proofs, and a page of its history with inclusion proofs, against the latest quorum certificate. Signed by the subject's key (RFC 9421, keyid = the did in the path). Pass `next` as `after` for the following page.",
        params: closed({ did: did() }),
        querystring: REPORT_QUERY,
      },
      config: { problems: [...SUBJECT_AUTH_PROBLEMS, 'NOT_FOUND'] },
    },
    async (request, reply) => {
      if (hasGpcSignal(request)) reply.header('GPC-Honored', '1');
      const { after, limit } = request.query;
      return subjectReport(node, request.params.did, {
        ...(after === undefined ? {} : { after: Number(after) }),
        ...(limit === undefined ? {} : { limit: Number(limit) }),
      });
    },
  );
};
