/**
 * JSON Schemas of the HTTP API's requests, checked by Fastify (Ajv) before a handler runs. They
 * check shape and types and name the field at fault; the protocol's `parseTx` still applies every
 * rule of a transaction, so the schema never has to repeat them exactly.
 */

/** A closed object: unknown fields are rejected, never silently dropped. */
function closed(properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> {
  return { type: 'object', additionalProperties: false, properties, required };
}

/** Query strings stay strings (type coercion is off for the whole server): integers by pattern. */
const INTEGER_STRING = { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' };
const TX_ID = { type: 'string', pattern: '^[0-9a-f]{64}$' };

export const NO_QUERY = closed({});

export const SIGNED_TX = closed(
  {
    body: closed(
      {
        chainId: { type: 'string', minLength: 1, maxLength: 64 },
        type: { type: 'string', minLength: 3, maxLength: 100 },
        signer: { type: 'string', minLength: 1, maxLength: 128 },
        args: { type: 'object' },
        createdAt: { type: 'integer', minimum: 0 },
        expiresAt: { type: 'integer', minimum: 0 },
        nonce: { type: 'string', minLength: 32, maxLength: 32 },
      },
      ['chainId', 'type', 'signer', 'args', 'createdAt', 'expiresAt', 'nonce'],
    ),
    // 64 bytes of unpadded base64url: 85 characters and a last one whose 4 low bits are zero.
    sig: { type: 'string', pattern: '^[A-Za-z0-9_-]{85}[AQgw]$' },
  },
  ['body', 'sig'],
);

export const MAX_BATCH = 2000;

/** Items are checked one by one against `SIGNED_TX` in the handler, so one bad item fails only itself. */
export const TX_BATCH = { type: 'array', maxItems: MAX_BATCH, items: {} };

export const WAIT_QUERY = closed({ wait: { type: 'string', enum: ['true', 'false'] } });

export const TX_ID_PARAMS = closed({ txId: TX_ID }, ['txId']);

export const HEIGHT_PARAMS = closed({ height: INTEGER_STRING }, ['height']);

export const INCLUSION_QUERY = closed({ height: INTEGER_STRING });

export const CONSISTENCY_QUERY = closed({ from: INTEGER_STRING, to: INTEGER_STRING }, ['from', 'to']);

export const MAX_STATE_KEY = 512;

export const STATE_KEY_QUERY = closed({ key: { type: 'string', minLength: 1, maxLength: MAX_STATE_KEY } }, ['key']);

export const MAX_STATE_PAGE = 500;

export const STATE_LIST_QUERY = closed({
  prefix: { type: 'string', maxLength: MAX_STATE_KEY },
  after: { type: 'string', maxLength: MAX_STATE_KEY },
  limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
});

export const COMMIT_RESULT = closed(
  {
    txId: { type: 'string' },
    height: { type: 'integer' },
    index: { type: 'integer' },
    logIndex: { type: 'integer' },
    code: { type: 'string' },
  },
  ['txId', 'height', 'index', 'logIndex', 'code'],
);

export const ACCEPTED = closed({ txId: { type: 'string' } }, ['txId']);
