/**
 * Transaction routes: submit one, submit a batch, read a committed one. Admission errors come back
 * at once (problem+json for one transaction, per item for a batch); `?wait=true` holds the request
 * until the block commits.
 */
import type { FastifyRequest } from 'fastify';
import { type ErrorCode, errorCode, NodeError } from '../errors.js';
import type { CommitResult, CustosNode, Submission } from '../node.js';
import type { NodeMetrics } from './metrics.js';
import { problem, problemOf, sendProblem, validationDetail } from './problem.js';
import { readerOf, readHook, readPolicyOf, txView, txVisibility } from './read-access.js';
import type { RoutePlugin } from './route-plugin.js';
import { gpcEvidenceHook, gpcOptOutCheck } from './routes-subject.js';
import {
  ACCEPTED,
  BATCH_RESULT,
  COMMIT_RESULT,
  COMMITTED_TX,
  MAX_BATCH,
  NO_QUERY,
  SIGNED_TX,
  TX_BATCH,
  TX_ID_PARAMS,
  WAIT_QUERY,
} from './schemas.js';

export interface TxRouteOptions {
  /** How long `?wait=true` waits for a commit before answering 504 TIMEOUT. */
  waitTimeoutMs: number;
  batchBodyLimit: number;
  /** Commit latency of every admitted transaction is recorded here. */
  metrics?: NodeMetrics;
}

/** What admission (and, with `?wait=true`, the signature check and the commit wait) can refuse. */
const ADMISSION_PROBLEMS: readonly ErrorCode[] = [
  'BAD_TX',
  'BAD_SIGNATURE',
  'WRONG_CHAIN',
  'TX_EXPIRED',
  'TX_NOT_YET_VALID',
  'TX_REPLAYED',
  'DUPLICATE_TX',
  'TX_TOO_LARGE',
  'MEMPOOL_FULL',
  'NODE_STOPPED',
  'TIMEOUT',
  'BLOCK_TIME_IMPLAUSIBLE',
];

type BatchItem = { txId: string } | CommitResult | { txId?: string; error: { code: string; detail: string } };

export const txRoutes: RoutePlugin<TxRouteOptions> = async (app, opts) => {
  const node = app.custos;
  const submit = (raw: unknown): Submission => observe(node.submit(raw), performance.now(), opts.metrics);
  app.post(
    '/v1/txs/batch',
    {
      bodyLimit: opts.batchBodyLimit,
      schema: {
        tags: ['transactions'],
        summary: 'Submit a batch of signed transactions',
        description: `Admits up to ${MAX_BATCH} signed transactions in one request (one write against the rate limit). Each item is checked on its own: the answer is 200 with one result per item, in order: \`{txId}\` when admitted, the commit result with \`?wait=true\`, or \`{error: {code, detail}}\` for that item alone. Only a body that is not an array (or too long) fails the whole request.`,
        body: TX_BATCH,
        querystring: WAIT_QUERY,
        response: { 200: BATCH_RESULT },
      },
      preHandler: gpcOptOutCheck,
      onResponse: gpcEvidenceHook(node, '/v1/txs/batch'),
      config: { problems: ['TX_TOO_LARGE'] },
    },
    async (request) => {
      const validTx = request.compileValidationSchema(SIGNED_TX);
      const subs: (Submission | undefined)[] = [];
      const results: BatchItem[] = request.body.map((raw, i) => {
        if (validTx(raw) !== true) {
          return {
            error: { code: 'BAD_REQUEST', detail: `item ${i}: ${validationDetail(validTx.errors?.[0], 'item')}` },
          };
        }
        try {
          const sub = submit(raw);
          subs[i] = sub;
          return { txId: sub.txId };
        } catch (e) {
          const p = problemOf(e);
          return { error: { code: p.code, detail: p.detail } };
        }
      });
      if (request.query.wait !== 'true') {
        for (const s of subs) s?.committed.catch(ignore);
        return { results };
      }
      const d = deadline(opts.waitTimeoutMs, node);
      try {
        await Promise.all(
          subs.map((s, i) =>
            s === undefined
              ? undefined
              : Promise.race([s.committed, d.promise]).then(
                  (r) => {
                    results[i] = r;
                  },
                  (e) => {
                    const p = problemOf(e);
                    results[i] = { txId: s.txId, error: { code: p.code, detail: p.detail } };
                  },
                ),
          ),
        );
      } finally {
        d.cancel();
      }
      return { results };
    },
  );

  app.get(
    '/v1/txs/:txId',
    {
      schema: {
        tags: ['transactions'],
        summary: 'Read a committed transaction',
        description:
          'The committed transaction with its block height, position, log index and result code (what its inclusion proof shows, for anyone who knows its id); its signed body `tx` only for a reader allowed to see it: a member for its own org\'s, the subject for its own (docs/api.md, "Read access"). 404 until its block commits (and forever for a transaction whose signature did not verify).',
        params: TX_ID_PARAMS,
        querystring: NO_QUERY,
        response: { 200: COMMITTED_TX },
      },
      onRequest: readHook(node),
      config: { problems: ['NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'SIGNATURE_EXPIRED', 'REPLAYED_REQUEST'] },
    },
    async (request, reply) => {
      const t = node.store.getTx(request.params.txId);
      if (t === null) {
        return sendProblem(reply, problem('NOT_FOUND', `no committed transaction ${request.params.txId}`));
      }
      // Whoever names the id learns its position and code (its inclusion proof shows them), not its body.
      const detail = t.code === 'OK' ? undefined : node.failureDetail(t.txId);
      return {
        ...txView(t, txVisibility(node, readerOf(request), t, readPolicyOf(node.genesis))),
        ...(detail === undefined ? {} : { detail }),
      };
    },
  );
  // After the routes above, whose schemas set up this context's Ajv: the single route's own
  // validator compiler hands it every part but the body (`singleTxRoute`).
  app.register(singleTxRoute, opts);
};

/**
 * `POST /v1/txs`, in a plugin of its own so that its JSON parser keeps the body's text beside its
 * value for this route alone: admission can then parse, canonicalise and verify the text on the
 * worker pool (`CustosNode.submitText`). The value is the default parser's (prototype poisoning
 * refused, the size limit the route's). The body skips Ajv (see `validatorCompiler` below).
 * The handler answers from the admission's promise without an `async` wrapper or a route lookup:
 * each promise and microtask turn per request shows on this route (docs/performance.md).
 */
const singleTxRoute: RoutePlugin<TxRouteOptions> = async (app, opts) => {
  const node = app.custos;
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.decorateRequest(TX_TEXT, '');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    (request as TextRequest)[TX_TEXT] = body as string;
    parseJson(request, body as string, done);
  });
  const waitFor = async (sub: Submission, txId: string): Promise<CommitResult> => {
    const d = deadline(opts.waitTimeoutMs, node, txId);
    try {
      return await Promise.race([sub.committed, d.promise]);
    } finally {
      d.cancel();
    }
  };

  app.post(
    '/v1/txs',
    {
      schema: {
        tags: ['transactions'],
        summary: 'Submit a signed transaction',
        description:
          'Admits one signed transaction `{body, sig}`: shape, chain, time window and replay are checked at once, the Ed25519 signature off the event loop. Answers 202 with the id; with `?wait=true`, holds the request until the block commits and answers 200 with the result code (`OK` or why the transaction changed nothing), or 504 TIMEOUT. A forged signature is never committed.',
        body: SIGNED_TX,
        querystring: WAIT_QUERY,
        response: { 200: COMMIT_RESULT, 202: ACCEPTED },
      },
      // The body is documented by SIGNED_TX but not run through Ajv on the way in: parseTx (in
      // admission or on the workers) checks everything SIGNED_TX does, and more. A body it refuses
      // is checked against SIGNED_TX then, so the answer names the field at fault as before.
      validatorCompiler: (req) => {
        const ajv = app.validatorCompiler;
        if (ajv === undefined) throw new Error('POST /v1/txs: no validator compiler to delegate to');
        return req.httpPart === 'body' ? acceptBody : ajv(req);
      },
      preHandler: gpcOptOutCheck,
      onResponse: gpcEvidenceHook(node, '/v1/txs'),
      config: { problems: ADMISSION_PROBLEMS },
    },
    (request, reply) => {
      const admittedAt = performance.now();
      const text = textOf(request);
      const fail = (e: unknown) => {
        if (errorCode(e) === 'BAD_TX') {
          const schema = request.compileValidationSchema(SIGNED_TX);
          if (schema(request.body) !== true) {
            sendProblem(reply, problem('BAD_REQUEST', validationDetail(schema.errors?.[0], 'body')));
            return;
          }
        }
        reply.send(e);
      };
      let admitted: Promise<Submission>;
      try {
        admitted = text === '' ? Promise.resolve(node.submit(request.body)) : node.submitText(request.body, text);
      } catch (e) {
        admitted = Promise.reject(e);
      }
      admitted.then((sub) => {
        observe(sub, admittedAt, opts.metrics);
        if (request.query.wait === 'true') {
          waitFor(sub, sub.txId).then((r) => reply.send(r), fail);
          return;
        }
        // A forged signature is never committed (GET /v1/txs/:txId stays 404), but this answer
        // does not say so: callers who need the verdict use ?wait=true. The 202 is written as
        // text: a txId is 64 hex characters, nothing to escape, no serializer to run.
        reply.code(202).type(JSON_TYPE).send(`{"txId":"${sub.txId}"}`);
      }, fail);
    },
  );
};

/** The single route's body validator: admission's parse checks the body (see its `validatorCompiler`). */
const acceptBody = () => true;

/** Commit latency of every admitted transaction goes to `metrics`; a failed commit is the submitter's to see. */
function observe(sub: Submission, admittedAt: number, metrics: NodeMetrics | undefined): Submission {
  if (metrics !== undefined) sub.committed.then(() => metrics.observeCommit(admittedAt), ignore);
  return sub;
}

/** Where the single route's JSON parser leaves the body's text (a request decoration of that route's plugin). */
const TX_TEXT = Symbol('custos.txText');
type TextRequest = FastifyRequest & { [TX_TEXT]: string };
const textOf = (request: FastifyRequest): string => (request as TextRequest)[TX_TEXT];

/** A promise that rejects with TIMEOUT after `ms`, unless cancelled first. */
function deadline(ms: number, node: CustosNode, txId?: string): { promise: Promise<never>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const what = txId === undefined ? 'the batch' : `transaction ${txId}`;
      // Say why the chain does not move when this peer knows: it refused the next block for its time.
      const alarm = node.clockStatus().alarm;
      const why =
        alarm?.kind === 'block'
          ? `; this peer refused block ${alarm.height} for its time (${alarm.reason}): the chain waits for the proposer to re-date it`
          : '';
      reject(
        new NodeError('TIMEOUT', `${what} was admitted but not committed within ${ms} ms${why}; it may still commit`),
      );
    }, ms);
  });
  promise.catch(ignore);
  return { promise, cancel: () => clearTimeout(timer) };
}

const JSON_TYPE = 'application/json; charset=utf-8';

function ignore(): void {}
