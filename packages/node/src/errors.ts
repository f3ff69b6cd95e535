/**
 * The node's error type and the one registry that maps every error code (the protocol's and the
 * node's) to an HTTP status and a CLI exit code. `docs/errors.md` is kept in sync with it by a test.
 */
import { PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from '@custos/protocol';

export const NODE_ERROR_CODES = [
  'NOT_FOUND',
  'BAD_REQUEST',
  'MEMPOOL_FULL',
  'DUPLICATE_TX',
  'NODE_STOPPED',
  'TIMEOUT',
  'BAD_GENESIS',
  'BAD_KEYSTORE',
  // Also a protocol code (wallet exports); both layers use it for the same failure.
  'WRONG_PASSPHRASE',
  'ALREADY_INITIALIZED',
  'NOT_INITIALIZED',
  'STORE_CORRUPT',
  'INTERNAL',
  'ACCESS_DENIED',
  'ERASED',
] as const;
export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];
export type ErrorCode = ProtocolErrorCode | NodeErrorCode;

export class NodeError extends Error {
  override readonly name: string = 'NodeError';
  readonly code: NodeErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(
    code: NodeErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

export interface ErrorInfo {
  status: number;
  exitCode: number;
  title: string;
}

/** Every error code with its HTTP status, CLI exit code and a short title. */
export const ERROR_REGISTRY: Record<ErrorCode, ErrorInfo> = {
  BAD_ENCODING: { status: 400, exitCode: 65, title: 'Malformed encoding' },
  BAD_JSON: { status: 400, exitCode: 65, title: 'Value cannot be canonicalized' },
  BAD_KEY: { status: 400, exitCode: 65, title: 'Malformed key' },
  BAD_SIGNATURE: { status: 400, exitCode: 65, title: 'Signature does not verify' },
  BAD_DID: { status: 400, exitCode: 65, title: 'Malformed did:key' },
  BAD_TX: { status: 400, exitCode: 65, title: 'Malformed transaction' },
  TX_TOO_LARGE: { status: 413, exitCode: 65, title: 'Transaction too large' },
  WRONG_CHAIN: { status: 400, exitCode: 65, title: 'Transaction for another chain' },
  TX_EXPIRED: { status: 400, exitCode: 65, title: 'Transaction expired' },
  TX_NOT_YET_VALID: { status: 400, exitCode: 65, title: 'Transaction not yet valid' },
  TX_REPLAYED: { status: 409, exitCode: 65, title: 'Transaction already committed' },
  BAD_BLOCK: { status: 400, exitCode: 65, title: 'Malformed block' },
  BAD_PROOF: { status: 400, exitCode: 1, title: 'Proof does not verify' },
  BAD_CHECKPOINT: { status: 400, exitCode: 1, title: 'Malformed checkpoint' },
  BAD_CERTIFICATE: { status: 400, exitCode: 1, title: 'Quorum certificate does not verify' },
  NOT_FOUND: { status: 404, exitCode: 66, title: 'Not found' },
  BAD_REQUEST: { status: 400, exitCode: 64, title: 'Bad request' },
  MEMPOOL_FULL: { status: 503, exitCode: 75, title: 'Too many pending transactions' },
  DUPLICATE_TX: { status: 409, exitCode: 65, title: 'Transaction already pending' },
  NODE_STOPPED: { status: 503, exitCode: 75, title: 'Node is stopping' },
  TIMEOUT: { status: 504, exitCode: 75, title: 'Timed out' },
  BAD_GENESIS: { status: 500, exitCode: 78, title: 'Invalid genesis' },
  BAD_KEYSTORE: { status: 500, exitCode: 78, title: 'Invalid keystore file' },
  WRONG_PASSPHRASE: { status: 401, exitCode: 77, title: 'Wrong passphrase' },
  BAD_WALLET: { status: 400, exitCode: 65, title: 'Malformed wallet export' },
  ALREADY_INITIALIZED: { status: 409, exitCode: 73, title: 'Already initialized' },
  NOT_INITIALIZED: { status: 500, exitCode: 78, title: 'Not initialized' },
  STORE_CORRUPT: { status: 500, exitCode: 70, title: 'Store is inconsistent' },
  INTERNAL: { status: 500, exitCode: 70, title: 'Internal error' },
  ACCESS_DENIED: { status: 403, exitCode: 77, title: 'No valid access for this record' },
  ERASED: { status: 410, exitCode: 66, title: 'Record erased' },
};

/** Code of any error: its own when it is a Custos error, INTERNAL otherwise. */
export function errorCode(err: unknown): ErrorCode {
  if (err instanceof NodeError || err instanceof ProtocolError) return err.code;
  return 'INTERNAL';
}

export function isProtocolCode(code: string): code is ProtocolErrorCode {
  return (PROTOCOL_ERROR_CODES as readonly string[]).includes(code);
}
