/**
 * JSON Schemas of the HTTP API: requests, checked by Fastify (Ajv) before a handler runs, and
 * responses, which serialize the answers and, with the requests, make the OpenAPI document
 * (`openapi.ts`). Request schemas check shape and types and name the field at fault; the protocol's
 * `parseTx` still applies every rule of a transaction, so the schema never has to repeat them exactly.
 * Response schemas list every field and stay open (`additionalProperties: true`) around protocol
 * objects, so a field the protocol adds is never silently dropped from an answer.
 */

import { Type } from '@sinclair/typebox';
import { closed, hex64, integerString, noQuery, pageSize, stringEnum, txId } from './schema-atoms.js';

export const NO_QUERY = noQuery();

export const SIGNED_TX = closed({
  body: closed({
    chainId: Type.String({ minLength: 1, maxLength: 64 }),
    type: Type.String({ minLength: 3, maxLength: 100 }),
    signer: Type.String({ minLength: 1, maxLength: 128 }),
    // Any object: each transaction type checks its own arguments.
    args: Type.Unsafe<Record<string, unknown>>({ type: 'object' }),
    createdAt: Type.Integer({ minimum: 0 }),
    expiresAt: Type.Integer({ minimum: 0 }),
    nonce: Type.String({ minLength: 32, maxLength: 32 }),
  }),
  // 64 bytes of unpadded base64url: 85 characters and a last one whose 4 low bits are zero.
  sig: Type.String({ pattern: '^[A-Za-z0-9_-]{85}[AQgw]$' }),
});

export const MAX_BATCH = 2000;

/** Items are checked one by one against `SIGNED_TX` in the handler, so one bad item fails only itself. */
export const TX_BATCH = Type.Array(Type.Unknown(), {
  maxItems: MAX_BATCH,
  description: `Up to ${MAX_BATCH} signed transactions \`{body, sig}\`, each checked on its own.`,
});

export const WAIT_QUERY = closed({ wait: Type.Optional(stringEnum(['true', 'false'])) });

export const TX_ID_PARAMS = closed({ txId: txId() });

export const HEIGHT_PARAMS = closed({ height: integerString() });

export const INCLUSION_QUERY = closed({ height: Type.Optional(integerString()) });

export const CONSISTENCY_QUERY = closed({ from: integerString(), to: integerString() });

export const MAX_STATE_KEY = 512;

export const STATE_KEY_QUERY = closed({ key: Type.String({ minLength: 1, maxLength: MAX_STATE_KEY }) });

export const MAX_STATE_PAGE = 500;

export const STATE_LIST_QUERY = closed({
  prefix: Type.Optional(Type.String({ maxLength: MAX_STATE_KEY, description: 'Only keys starting with this.' })),
  after: Type.Optional(
    Type.String({ maxLength: MAX_STATE_KEY, description: 'Cursor: the `next` of the previous page.' }),
  ),
  limit: Type.Optional(pageSize({ description: `Page size, 1-${MAX_STATE_PAGE}, default 100.` })),
});

export const MAX_BLOCK_PAGE = 100;
export const BLOCK_LIST_QUERY = closed({
  before: Type.Optional(
    integerString({ description: 'Cursor: list blocks below this height (the `next` of the previous page).' }),
  ),
  limit: Type.Optional(pageSize({ description: `Page size, 1-${MAX_BLOCK_PAGE}, default 20.` })),
});

export const MAX_BLOCK_TX_PAGE = 500;
export const BLOCK_TXS_QUERY = closed({
  after: Type.Optional(
    integerString({
      description: 'Cursor: list transactions after this index in the block (the `next` of the previous page).',
    }),
  ),
  limit: Type.Optional(pageSize({ description: `Page size, 1-${MAX_BLOCK_TX_PAGE}, default 100.` })),
});

// --- Responses -------------------------------------------------------------------------------

const HEX_HASH = hex64();
const TX_ID = txId();
/** Any JSON value: serialized as is. */
const ANY = {};
/** An object whose fields belong to the protocol: documented, never filtered. */
function open(description: string, properties: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'object', description, properties, additionalProperties: true };
}

export const RESULT_CODE = {
  type: 'string',
  description: "The transaction's result code, recorded in its block ('OK' or why it changed nothing).",
};

export const COMMIT_RESULT = {
  type: 'object',
  description: 'Committed: where the transaction is in the ledger and its result code.',
  properties: {
    txId: TX_ID,
    height: { type: 'integer', description: 'Height of its block.' },
    index: { type: 'integer', description: 'Position in its block.' },
    logIndex: { type: 'integer', description: 'Position in the history log (all transactions ever).' },
    code: RESULT_CODE,
    detail: {
      type: 'string',
      description:
        "Why the transaction failed: the argument at fault and what was expected (for INVALID_ARGS), the known types (for UNKNOWN_TYPE). Absent when OK, or when the node did not execute it recently; the code is the ledger's answer.",
    },
  },
  required: ['txId', 'height', 'index', 'logIndex', 'code'],
};

export const ACCEPTED = {
  type: 'object',
  description: 'Admitted: the signature is checked and the block cut after this answer.',
  properties: { txId: TX_ID },
  required: ['txId'],
};

/** One item of a batch answer: admitted, committed, or the problem of that item alone. */
export const BATCH_ITEM = {
  type: 'object',
  description: 'Admitted (`txId`), committed (`txId`, `height`, `index`, `logIndex`, `code`) or refused (`error`).',
  properties: {
    ...COMMIT_RESULT.properties,
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, detail: { type: 'string' } },
      required: ['code', 'detail'],
    },
  },
};

export const BATCH_RESULT = {
  type: 'object',
  description: 'One result per item, in the order sent.',
  properties: { results: { type: 'array', items: BATCH_ITEM } },
  required: ['results'],
};

export const SIGNED_TX_ANY = open('A signed transaction `{body, sig}`, exactly as submitted.');

/** A transaction whose body was pruned after its subject's erasure (docs/adr/0019-forget-on-the-ledger.md). */
export const PRUNED = {
  type: 'boolean',
  description:
    'True when the body was pruned after the erasure of the subject it concerned: its id, position and result code stay (the history log commits to them, so its inclusion proof still verifies); nobody can read the body any more.',
};

export const COMMITTED_TX = {
  type: 'object',
  description:
    'The committed transaction, where it is in the ledger and its result code. `tx` (the signed body) only for a reader allowed to see it (docs/api.md, "Read access"): otherwise the id, position and code are all there is, as in its inclusion proof.',
  properties: { ...COMMIT_RESULT.properties, tx: SIGNED_TX_ANY, pruned: PRUNED },
  required: ['txId', 'height', 'index', 'logIndex', 'code'],
};

export const HEADER = open('Block header; its hash is SHA-256 of its RFC 8785 canonical JSON.', {
  chainId: { type: 'string' },
  height: { type: 'integer' },
  prevHash: HEX_HASH,
  time: { type: 'integer', description: 'Block time, ms since the epoch.' },
  logSize: { type: 'integer' },
  logRoot: HEX_HASH,
  stateRoot: HEX_HASH,
  proposer: { type: 'string' },
  txCount: { type: 'integer' },
});

const QC = {
  ...open('Quorum certificate: the checkpoint and the member signatures over it; null on a node without member keys.'),
  type: ['object', 'null'],
};

export const BLOCK = {
  type: 'object',
  description:
    'A committed block: header and hash, quorum certificate, transaction ids, result codes and transactions.',
  properties: {
    height: { type: 'integer' },
    hash: HEX_HASH,
    header: HEADER,
    qc: QC,
    txIds: { type: 'array', items: TX_ID, description: 'Ids of the transactions the reader may see, in block order.' },
    results: { type: 'array', items: RESULT_CODE, description: 'Their result codes, aligned with `txIds`.' },
    txs: { type: 'array', items: SIGNED_TX_ANY, description: 'Their signed bodies, aligned with `txIds`.' },
    indexes: {
      type: 'array',
      items: { type: 'integer' },
      description: 'Their positions in the block, aligned with `txIds`.',
    },
    commitments: {
      type: 'array',
      description:
        "Other orgs' transactions as the consortium's read policy shows them to a member (`commitments`): id, position and result code, no body.",
      items: {
        type: 'object',
        properties: { index: { type: 'integer' }, txId: TX_ID, code: RESULT_CODE, pruned: PRUNED },
        required: ['index', 'txId', 'code'],
      },
    },
    withheld: {
      type: 'integer',
      description: 'Transactions of the block this reader may not see (header.txCount counts them all).',
    },
  },
  required: ['height', 'hash', 'header', 'qc', 'txIds', 'results', 'txs', 'indexes', 'commitments', 'withheld'],
};

export const BLOCK_PAGE = {
  type: 'object',
  description: 'A page of block headers, newest first.',
  properties: {
    blocks: {
      type: 'array',
      items: {
        type: 'object',
        properties: { height: { type: 'integer' }, hash: HEX_HASH, header: HEADER },
        required: ['height', 'hash', 'header'],
      },
    },
    next: { type: ['string', 'null'], description: 'Pass as `before` for the next (older) page; null on the last.' },
  },
  required: ['blocks', 'next'],
};

export const BLOCK_TXS_PAGE = {
  type: 'object',
  description: "A page of a block's transactions, in block order.",
  properties: {
    height: { type: 'integer' },
    txs: { type: 'array', items: COMMITTED_TX },
    next: { type: ['string', 'null'], description: 'Pass as `after` for the next page; null on the last.' },
  },
  required: ['height', 'txs', 'next'],
};

export const CHAIN = {
  type: 'object',
  description: 'The chain: id, head, members, threshold and genesis.',
  properties: {
    chainId: { type: 'string' },
    height: { type: 'integer' },
    latestHash: HEX_HASH,
    time: { type: 'integer' },
    threshold: { type: 'integer', description: 'Member signatures a checkpoint needs.' },
    members: { type: 'array', items: open('A consortium member: id, name and did:keys.') },
    genesis: open('The genesis document this chain started from.'),
  },
  required: ['chainId', 'height', 'latestHash', 'time', 'threshold', 'members', 'genesis'],
};

export const CHECKPOINT = open('Quorum certificate of the latest block: the checkpoint and member signatures.');

export const STATE_PAGE = {
  type: 'object',
  description: 'A page of state entries in key order.',
  properties: {
    height: { type: 'integer', description: 'Height the page was read at.' },
    entries: {
      type: 'array',
      items: { type: 'object', properties: { key: { type: 'string' }, value: ANY }, required: ['key', 'value'] },
    },
    next: { type: ['string', 'null'], description: 'Pass as `after` for the next page; null on the last.' },
  },
  required: ['height', 'entries', 'next'],
};

export const STATE_ENTRY = {
  type: 'object',
  description: 'One state entry at the latest height.',
  properties: { height: { type: 'integer' }, key: { type: 'string' }, value: ANY },
  required: ['height', 'key', 'value'],
};

export const PROOF_BUNDLE = open(
  'Self-contained proof bundle with the quorum certificate it is checked against; verify offline with the protocol package (`verifyProofBundle`).',
);

export const HEALTH = {
  type: 'object',
  description: 'The process serves HTTP.',
  properties: {
    status: { type: 'string', enum: ['ok'] },
    chainId: { type: 'string' },
    height: { type: 'integer' },
    pending: { type: 'integer', description: 'Transactions admitted and not yet committed.' },
  },
  required: ['status', 'chainId', 'height', 'pending'],
};

export const READINESS = {
  type: 'object',
  description: 'The node can serve reads and admit transactions.',
  properties: {
    status: { type: 'string', enum: ['ready'] },
    chainId: { type: 'string' },
    height: { type: 'integer' },
    pending: { type: 'integer' },
    latestBlockAgeMs: { type: 'integer', description: 'Wall-clock age of the latest block.' },
  },
  required: ['status', 'chainId', 'height', 'pending', 'latestBlockAgeMs'],
};
