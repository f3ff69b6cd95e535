/**
 * Read routes over committed data: blocks (one, or pages of headers and of a block's transactions),
 * the latest checkpoint, the chain's description and state entries. Handlers read the store
 * synchronously, so each answer is consistent with the height it reports. Lists are cursor pages:
 * each answer's `next` is the cursor of the following page, null on the last.
 */
import { headerHash, txIdOf } from '@custos/protocol/ledger';
import type { FastifyReply } from 'fastify';
import { errorCode } from '../errors.js';
import { problem, sendProblem } from './problem.js';
import {
  checkStateRead,
  mayReadState,
  type Reader,
  readerOf,
  readHook,
  readPolicyOf,
  txView,
  txVisibility,
} from './read-access.js';
import type { RoutePlugin } from './route-plugin.js';
import {
  BLOCK,
  BLOCK_LIST_QUERY,
  BLOCK_PAGE,
  BLOCK_TXS_PAGE,
  BLOCK_TXS_QUERY,
  CHAIN,
  CHECKPOINT,
  HEIGHT_PARAMS,
  MAX_BLOCK_PAGE,
  MAX_BLOCK_TX_PAGE,
  MAX_STATE_PAGE,
  NO_QUERY,
  STATE_ENTRY,
  STATE_KEY_QUERY,
  STATE_LIST_QUERY,
  STATE_PAGE,
} from './schemas.js';

const DEFAULT_STATE_PAGE = 100;
const DEFAULT_BLOCK_PAGE = 20;
const DEFAULT_BLOCK_TX_PAGE = 100;

/** A page size from the query, or a problem naming the range. */
function pageSize(raw: string | undefined, fallback: number, max: number): number | string {
  const n = raw === undefined ? fallback : Number(raw);
  return n >= 1 && n <= max ? n : `expected querystring.limit between 1 and ${max}, got ${n}`;
}

/** Read routes take credentials if sent (docs/api.md, "Read access"); each answer shows what its reader may see. */
const READ_PROBLEMS = ['UNAUTHENTICATED', 'FORBIDDEN', 'SIGNATURE_EXPIRED', 'REPLAYED_REQUEST'] as const;

export const chainRoutes: RoutePlugin = async (app) => {
  const node = app.custos;
  const policy = readPolicyOf(node.genesis);
  const onRequest = readHook(node);
  const sendBlock = (reply: FastifyReply, reader: Reader, height: number) => {
    const b = height <= node.latest().height ? node.store.getBlock(height) : null;
    if (b === null) return sendProblem(reply, problem('NOT_FOUND', `no block at height ${height}`));
    const first = b.header.logSize - b.header.txCount;
    const view = {
      txIds: [] as string[],
      results: [] as string[],
      txs: [] as unknown[],
      indexes: [] as number[],
      commitments: [] as { index: number; txId: string; code: string; pruned?: true }[],
      withheld: 0,
    };
    b.txs.forEach((tx, index) => {
      // A pruned body: its id from the store row (the log leaf keeps it).
      const txId = tx === null ? (node.store.getTxByLogIndex(first + index)?.txId ?? '') : txIdOf(tx.body);
      const code = b.results[index] ?? 'OK';
      const committed = { txId, height, index, logIndex: first + index, code, tx };
      const v = txVisibility(node, reader, committed, policy);
      if (v === 'full') {
        view.txIds.push(txId);
        view.results.push(code);
        view.txs.push(tx);
        view.indexes.push(index);
      } else if (v === 'commitment') {
        view.commitments.push({ index, txId, code, ...(tx === null ? { pruned: true } : {}) });
      } else {
        view.withheld++;
      }
    });
    return reply.send({ height: b.header.height, hash: b.hash, header: b.header, qc: b.qc, ...view });
  };

  app.get(
    '/v1/blocks',
    {
      schema: {
        tags: ['chain'],
        summary: 'List block headers, newest first',
        description:
          "A page of block headers with their hashes, from the latest block down (or from below `before`). Pass the answer's `next` as `before` for the next page.",
        querystring: BLOCK_LIST_QUERY,
        response: { 200: BLOCK_PAGE },
      },
    },
    async (request, reply) => {
      const limit = pageSize(request.query.limit, DEFAULT_BLOCK_PAGE, MAX_BLOCK_PAGE);
      if (typeof limit === 'string') return sendProblem(reply, problem('BAD_REQUEST', limit));
      const latest = node.latest().height;
      const top = request.query.before === undefined ? latest : Math.min(latest, Number(request.query.before) - 1);
      const blocks: { height: number; hash: string; header: unknown }[] = [];
      for (let h = top; h >= 0 && blocks.length < limit; h--) {
        const row = node.store.getHeader(h);
        if (row !== null) blocks.push({ height: h, hash: row.hash, header: row.header });
      }
      const last = blocks[blocks.length - 1];
      return { blocks, next: last !== undefined && last.height > 0 ? String(last.height) : null };
    },
  );

  app.get(
    '/v1/blocks/latest',
    {
      onRequest,
      config: { problems: READ_PROBLEMS },
      schema: {
        tags: ['chain'],
        summary: 'Read the latest block',
        description:
          'The latest committed block: header, hash and quorum certificate for anyone; the transactions and result codes the reader may see (docs/api.md, "Read access").',
        querystring: NO_QUERY,
        response: { 200: BLOCK },
      },
    },
    async (request, reply) => sendBlock(reply, readerOf(request), node.latest().height),
  );

  app.get(
    '/v1/blocks/:height',
    {
      schema: {
        tags: ['chain'],
        summary: 'Read a block',
        description:
          "The block at `height`: header, hash and quorum certificate for anyone, with the transactions the reader may see (its own org's, or a subject's own; others' as the read policy says); page through a large block's transactions with /v1/blocks/{height}/txs.",
        params: HEIGHT_PARAMS,
        querystring: NO_QUERY,
        response: { 200: BLOCK },
      },
      onRequest,
      config: { problems: [...READ_PROBLEMS, 'NOT_FOUND'] },
    },
    async (request, reply) => sendBlock(reply, readerOf(request), Number(request.params.height)),
  );

  app.get(
    '/v1/blocks/:height/txs',
    {
      schema: {
        tags: ['chain'],
        summary: "Page through a block's transactions",
        description:
          "The transactions of the block at `height` that the reader may see, in block order, with their result codes (others' as id, position and code when the read policy says `commitments`). Pass the answer's `next` as `after` for the next page.",
        params: HEIGHT_PARAMS,
        querystring: BLOCK_TXS_QUERY,
        response: { 200: BLOCK_TXS_PAGE },
      },
      onRequest,
      config: { problems: [...READ_PROBLEMS, 'NOT_FOUND'] },
    },
    async (request, reply) => {
      const limit = pageSize(request.query.limit, DEFAULT_BLOCK_TX_PAGE, MAX_BLOCK_TX_PAGE);
      if (typeof limit === 'string') return sendProblem(reply, problem('BAD_REQUEST', limit));
      const height = Number(request.params.height);
      const row = height <= node.latest().height ? node.store.getHeader(height) : null;
      if (row === null) return sendProblem(reply, problem('NOT_FOUND', `no block at height ${height}`));
      const first = row.header.logSize - row.header.txCount;
      const from = request.query.after === undefined ? 0 : Number(request.query.after) + 1;
      const to = Math.min(row.header.txCount, from + limit);
      const reader = readerOf(request);
      const txs = [];
      for (let i = from; i < to; i++) {
        const t = node.store.getTxByLogIndex(first + i);
        if (t === null) continue;
        const v = txVisibility(node, reader, t, policy);
        if (v !== 'hidden') txs.push(txView(t, v));
      }
      return { height, txs, next: to < row.header.txCount ? String(to - 1) : null };
    },
  );

  app.get(
    '/v1/checkpoint',
    {
      schema: {
        tags: ['chain'],
        summary: 'Read the latest checkpoint',
        description:
          'The quorum certificate of the latest block: its checkpoint (height, roots) signed by the member keys this node holds. A light client starts from it.',
        querystring: NO_QUERY,
        response: { 200: CHECKPOINT },
      },
      config: { problems: ['NOT_FOUND'] },
    },
    async (_request, reply) => {
      const h = node.store.getHeader(node.latest().height);
      if (h?.qc == null) {
        return sendProblem(reply, problem('NOT_FOUND', 'this node holds no member key, so it has no checkpoint'));
      }
      return h.qc;
    },
  );

  app.get(
    '/v1/chain',
    {
      schema: {
        tags: ['chain'],
        summary: 'Describe the chain',
        description:
          'Chain id, latest height and hash, the members and their keys, the signature threshold and the genesis.',
        querystring: NO_QUERY,
        response: { 200: CHAIN },
      },
    },
    async () => {
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
    },
  );

  app.get(
    '/v1/state',
    {
      schema: {
        tags: ['state'],
        summary: 'List state entries',
        description:
          "State entries in key order under a key `prefix` the reader may read: the public namespaces for anyone (member/, memberkey/, memberevm/, gov/, kv/, lc/, lccp/, lcev/, xtx/, xtxd/, the EVM light client evmlc/, evmhdr/, evmatt/, evmev/, evmp/, xtxevm/, xtxevmd/, xtxevmopen/, evmmu/, contract-info/, contract-code/), an org's own (consent/<org>/, pref/<org>/, record/<org>/, request/<org>/, share/<org>/) and the cross-chain working state and contracts' state and receipts for its members, a subject's own entries for the subject (docs/api.md, \"Read access\"). Pass the answer's `next` as `after` for the next page. Values are the JSON the modules stored.",
        querystring: STATE_LIST_QUERY,
        response: { 200: STATE_PAGE },
      },
      onRequest,
      config: { problems: READ_PROBLEMS },
    },
    async (request, reply) => {
      const { prefix = '', after } = request.query;
      const limit = pageSize(request.query.limit, DEFAULT_STATE_PAGE, MAX_STATE_PAGE);
      if (typeof limit === 'string') return sendProblem(reply, problem('BAD_REQUEST', limit));
      const reader = readerOf(request);
      try {
        checkStateRead(reader, { prefix });
      } catch (e) {
        return sendProblem(reply, problem(errorCode(e), (e as Error).message));
      }
      const rows = node.store.listState(prefix, after, limit);
      const last = rows[rows.length - 1];
      const entries = [];
      for (const r of rows) {
        const value = JSON.parse(r.value) as unknown;
        // A subject's prefix may be shorter than its did: each row is checked as well.
        if (mayReadState(reader, r.key, value)) entries.push({ key: r.key, value });
      }
      return {
        height: node.latest().height,
        entries,
        next: rows.length === limit && last !== undefined ? last.key : null,
      };
    },
  );

  app.get(
    '/v1/state/entry',
    {
      schema: {
        tags: ['state'],
        summary: 'Read a state entry',
        description:
          'The value under `key` at the latest height, if the reader may read it (as /v1/state). For a value you can verify, use /v1/proofs/state.',
        querystring: STATE_KEY_QUERY,
        response: { 200: STATE_ENTRY },
      },
      onRequest,
      config: { problems: [...READ_PROBLEMS, 'NOT_FOUND'] },
    },
    async (request, reply) => {
      const { key } = request.query;
      const text = node.store.getState(key);
      const value = text === undefined ? undefined : (JSON.parse(text) as unknown);
      try {
        checkStateRead(readerOf(request), { key, value });
      } catch (e) {
        return sendProblem(reply, problem(errorCode(e), (e as Error).message));
      }
      if (text === undefined) return sendProblem(reply, problem('NOT_FOUND', 'no state entry under this key'));
      return { height: node.latest().height, key, value };
    },
  );
};
