/**
 * Consortium routes: where this peer is in finality, and a block's quorum certificate, optionally
 * waiting until a quorum of members has signed it (`?wait=true`), so that a client can wait for
 * finality rather than for a local commit; and the state snapshot a joining peer starts from
 * (`consortium/snapshot.ts`), streamed as newline-delimited JSON.
 */
import { Type } from '@sinclair/typebox';
import { exportSnapshot } from '../consortium/snapshot.js';
import { memberSetOf } from '../genesis.js';
import { currentEpoch, MAX_EPOCHS_PAGE, memberSetUpdates } from '../governance/epochs.js';
import { anyMember, guard } from './auth/guard.js';
import { problem, sendProblem } from './problem.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, integerString } from './schema-atoms.js';
import { HEIGHT_PARAMS, INCLUSION_QUERY, NO_QUERY, WAIT_QUERY } from './schemas.js';

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

const EPOCHS = {
  type: 'object',
  properties: {
    chainId: { type: 'string' },
    genesis: {
      type: 'object',
      description: 'Epoch 0: the genesis member set, certifying from height 0.',
      additionalProperties: true,
    },
    latestEpoch: { type: 'integer', description: 'The epoch in force in the latest state of this peer.' },
    updates: {
      type: 'array',
      maxItems: MAX_EPOCHS_PAGE,
      description:
        "Certified member-set updates (`custos/member-set-update/v1`) from epoch `from`, in order: the new set, its epoch and first height, the header of the block that made the change, that block's certificate by the previous set, and a state proof of `gov/memberset` under the header's state root. Only updates of final blocks.",
      items: { type: 'object', additionalProperties: true },
    },
    next: {
      type: ['integer', 'null'],
      description: 'The `from` of the next page, or null when this page reaches the latest certified epoch.',
    },
  },
  required: ['chainId', 'genesis', 'latestEpoch', 'updates', 'next'],
};

/** Snapshot exports at once per server: each pins a read of the store and streams all of the state. */
export const MAX_SNAPSHOT_EXPORTS = 2;

export const consortiumRoutes: RoutePlugin<{ maxSnapshotExports?: number }> = async (app, opts) => {
  const node = app.custos;
  const maxExports = opts.maxSnapshotExports ?? MAX_SNAPSHOT_EXPORTS;
  let exporting = 0;
  app.get(
    '/v1/members/epochs',
    {
      schema: {
        tags: ['chain'],
        summary: 'Read the chain of member-set updates',
        description:
          "Public. How the member set changed since genesis, each change certified by the set before it: a verifier walks the updates from the genesis set (or from an epoch it already trusts) with the protocol's `followMemberSetUpdates`, and then checks each certificate against the set in force at its height. At most 256 updates per page, from epoch `from` (default 1).",
        querystring: closed({ from: Type.Optional(integerString()) }),
        response: { 200: EPOCHS },
      },
      config: { problems: ['BAD_REQUEST'] },
    },
    async (request) => {
      const from = request.query.from === undefined ? 1 : Math.max(1, Number(request.query.from));
      const updates = memberSetUpdates(node, { from, limit: MAX_EPOCHS_PAGE });
      const last = updates[updates.length - 1];
      const latest = currentEpoch(node);
      const next =
        updates.length === MAX_EPOCHS_PAGE && last !== undefined && last.epoch < latest ? last.epoch + 1 : null;
      return { chainId: node.chainId, genesis: memberSetOf(node.genesis), latestEpoch: latest, updates, next };
    },
  );

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

  app.get(
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

  // Whole blocks, every transaction in full: what a peer re-executes when it catches up (catch-up.ts).
  app.get(
    '/v1/replica/blocks/:height',
    {
      ...guard(node, { tokens: true, authorize: anyMember('replica'), signer: 'a current member key' }),
      schema: {
        tags: ['chain'],
        summary: 'Read a whole block, for a peer',
        description:
          "The block at `height` with every transaction in full, as a catching-up peer needs it to re-execute the block: for the consortium's peers only. Signed (RFC 9421) by a current member key, or an API token with the `replica` scope. Every member's peer holds the whole ledger; what members' tokens and consoles see is the read policy's (docs/api.md, \"Read access\").",
        params: HEIGHT_PARAMS,
        querystring: NO_QUERY,
      },
      config: { problems: ['NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'SIGNATURE_EXPIRED', 'REPLAYED_REQUEST'] },
    },
    async (request, reply) => {
      const height = Number(request.params.height);
      const b = height <= node.latest().height ? node.store.getBlock(height) : null;
      if (b === null) return sendProblem(reply, problem('NOT_FOUND', `no block at height ${height}`));
      return { height: b.header.height, hash: b.hash, header: b.header, qc: b.qc, results: b.results, txs: b.txs };
    },
  );

  app.get(
    '/v1/snapshot',
    {
      // The whole state, every org's: for the members' peers only (trust #5, #6).
      ...guard(node, { tokens: true, authorize: anyMember('replica'), signer: 'a current member key' }),
      schema: {
        tags: ['chain'],
        summary: 'Export a state snapshot',
        description:
          "The state at this peer's head, once final, as newline-delimited JSON (`custos-snapshot/2`): the header and quorum certificate with the certified member-set updates from genesis up to it, the history log's frontier, every state row in key order, the transactions still inside the replay window with inclusion proofs, and an end line with the counts. `height`, if given, must be the head: older state is not kept. A joining peer verifies it with `custos snapshot import`. Signed (RFC 9421) by a current member key, or an API token with the `replica` scope; at most " +
          String(MAX_SNAPSHOT_EXPORTS) +
          ' exports at once (429 beyond).',
        querystring: INCLUSION_QUERY,
        response: { 200: { type: 'string', description: 'application/x-ndjson' } },
      },
      config: {
        problems: [
          'NOT_FOUND',
          'TIMEOUT',
          'NOT_FINAL',
          'NODE_STOPPED',
          'UNAUTHENTICATED',
          'FORBIDDEN',
          'SIGNATURE_EXPIRED',
          'REPLAYED_REQUEST',
        ],
      },
    },
    async (request, reply) => {
      const height = request.query.height === undefined ? undefined : Number(request.query.height);
      if (exporting >= maxExports) {
        reply.header('retry-after', '5');
        return sendProblem(
          reply,
          problem(
            'RATE_LIMITED',
            `this node streams at most ${maxExports} snapshots at once; retry when one has finished`,
          ),
        );
      }
      exporting++;
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          exporting--;
        }
      };
      try {
        const snap = await exportSnapshot(node, height === undefined ? {} : { height });
        reply.header('content-type', 'application/x-ndjson');
        reply.header('x-custos-snapshot-height', String(snap.height));
        // Streamed as it is read (backpressure from the socket); the slot frees when it ends or breaks.
        snap.stream.once('close', release);
        snap.stream.once('error', release);
        reply.raw.once('close', release);
        return reply.send(snap.stream);
      } catch (e) {
        release();
        const code = (e as { code?: string }).code;
        if (code === 'NOT_FOUND' || code === 'TIMEOUT' || code === 'NOT_FINAL' || code === 'NODE_STOPPED') {
          return sendProblem(reply, problem(code, (e as Error).message));
        }
        throw e;
      }
    },
  );
};
