/**
 * The protocol's error type: one class, a closed list of codes, a message that says what was
 * expected and what came, and an optional cause (viem / sigstore style).
 */

/** Every code the protocol package can throw. The node maps them to HTTP statuses and exit codes. */
export const PROTOCOL_ERROR_CODES = [
  'BAD_ENCODING',
  'BAD_JSON',
  'BAD_KEY',
  'BAD_SIGNATURE',
  'BAD_DID',
  'BAD_TX',
  'TX_TOO_LARGE',
  'WRONG_CHAIN',
  'TX_EXPIRED',
  'TX_NOT_YET_VALID',
  'TX_REPLAYED',
  'BAD_BLOCK',
  'BAD_PROOF',
  'BAD_CHECKPOINT',
  'BAD_CERTIFICATE',
  'WRONG_PASSPHRASE',
  'BAD_WALLET',
  'BAD_CIPHERTEXT',
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/** Base error of the protocol package. */
export class ProtocolError extends Error {
  override readonly name: string = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ProtocolErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}
