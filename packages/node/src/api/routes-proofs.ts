/**
 * Proof routes: inclusion of a transaction in the history log, consistency (append-only) between
 * two heights, and the state of a key. Each answer is a self-contained bundle with the quorum
 * certificate it is checked against, verifiable offline with the protocol's `verifyProofBundle`.
 */
import { errorCode } from '../errors.js';
import { consistencyProof, inclusionProof, stateProofWhenFinal } from '../proofs.js';
import { problem, sendProblem } from './problem.js';
import { checkStateRead, type Reader, readerOf, readHook, readPolicyOf, txVisibility } from './read-access.js';
import type { RoutePlugin } from './route-plugin.js';
import { CONSISTENCY_QUERY, INCLUSION_QUERY, PROOF_BUNDLE, STATE_KEY_QUERY, TX_ID_PARAMS } from './schemas.js';

const READ_PROBLEMS = ['UNAUTHENTICATED', 'FORBIDDEN', 'SIGNATURE_EXPIRED', 'REPLAYED_REQUEST'] as const;

export const proofRoutes: RoutePlugin = async (app) => {
  const node = app.custos;
  const policy = readPolicyOf(node.genesis);
  const onRequest = readHook(node);
  /** An inclusion bundle carries the transaction's body only for a reader allowed to see it. */
  const forReader = <B extends { tx?: unknown }>(bundle: B, reader: Reader, txId: string): B => {
    const t = node.store.getTx(txId);
    if (t !== null && txVisibility(node, reader, t, policy) === 'full') return bundle;
    const { tx: _tx, ...rest } = bundle;
    return rest as B;
  };
  app.get(
    '/v1/proofs/inclusion/:txId',
    {
      schema: {
        tags: ['proofs'],
        summary: 'Prove a transaction is in the history',
        description:
          'An RFC 9162 inclusion proof of the transaction (with its result code) in the history log at the latest height, or at `height` (from its own block up), with the quorum certificate of that height. For anyone who knows the id; the bundle carries the signed body (`tx`) only for a reader allowed to see it (docs/api.md, "Read access").',
        params: TX_ID_PARAMS,
        querystring: INCLUSION_QUERY,
        response: { 200: PROOF_BUNDLE },
      },
      onRequest,
      config: { problems: [...READ_PROBLEMS, 'NOT_FOUND'] },
    },
    async (request, reply) => {
      const { txId } = request.params;
      const tx = node.store.getTx(txId);
      if (tx === null) return sendProblem(reply, problem('NOT_FOUND', `no committed transaction ${txId}`));
      const latest = node.latest().height;
      const reader = readerOf(request);
      if (request.query.height === undefined) return forReader(inclusionProof(node, txId), reader, txId);
      const height = Number(request.query.height);
      if (height < tx.height || height > latest) {
        return sendProblem(
          reply,
          problem('BAD_REQUEST', `expected height between ${tx.height} (the transaction's block) and ${latest}`),
        );
      }
      return forReader(inclusionProof(node, txId, height), reader, txId);
    },
  );

  app.get(
    '/v1/proofs/consistency',
    {
      schema: {
        tags: ['proofs'],
        summary: 'Prove the history only grew',
        description:
          'An RFC 9162 consistency proof that the history log at height `to` extends the log at height `from`, with the quorum certificates of both heights.',
        querystring: CONSISTENCY_QUERY,
        response: { 200: PROOF_BUNDLE },
      },
      config: { problems: ['NOT_FOUND'] },
    },
    async (request, reply) => {
      const from = Number(request.query.from);
      const to = Number(request.query.to);
      const latest = node.latest().height;
      if (from > to || to > latest) {
        return sendProblem(
          reply,
          problem('BAD_REQUEST', `expected from <= to <= ${latest}, got from=${from} to=${to}`),
        );
      }
      return consistencyProof(node, from, to);
    },
  );

  app.get(
    '/v1/proofs/state',
    {
      schema: {
        tags: ['proofs'],
        summary: 'Prove the value of a state key',
        description:
          "A proof of the value under `key` (or of its absence) in the authenticated state map at the latest height, with that height's quorum certificate; for a key the reader may read (as /v1/state). In a consortium the answer waits up to 5 s for the latest block's certificate (NOT_FINAL after that).",
        querystring: STATE_KEY_QUERY,
        response: { 200: PROOF_BUNDLE },
      },
      onRequest,
      config: { problems: [...READ_PROBLEMS, 'NOT_FOUND', 'NOT_FINAL'] },
    },
    async (request, reply) => {
      const { key } = request.query;
      const text = node.store.getState(key);
      try {
        checkStateRead(readerOf(request), { key, value: text === undefined ? undefined : JSON.parse(text) });
      } catch (e) {
        return sendProblem(reply, problem(errorCode(e), (e as Error).message));
      }
      return stateProofWhenFinal(node, key);
    },
  );
};
