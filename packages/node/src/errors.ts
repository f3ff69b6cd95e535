/**
 * The node's error type and the one registry that maps every error code (the protocol's and the
 * node's) to an HTTP status and a CLI exit code. `docs/errors.md` is kept in sync with it by a test.
 */
import { PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from '@custos/protocol/errors';

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
  // HTTP edge and operations (appended; codes are never renumbered or reused).
  'RATE_LIMITED',
  'SIGNUPS_FULL',
  'BODY_TOO_LARGE',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'NOT_READY',
  'NODE_UNREACHABLE',
  // Authentication of requests (RFC 9421 signatures, org API tokens).
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SIGNATURE_EXPIRED',
  'REPLAYED_REQUEST',
  // Consortium: finality by quorum certificate, catch-up from peers.
  'DIVERGED',
  'BEHIND_ORDERER_WINDOW',
  'NOT_FINAL',
  'CATCH_UP_FAILED',
  // Operations: one home, one node.
  'HOME_IN_USE',
  // Block time checked against the peer's clock (issue 11, trust #1).
  'BLOCK_TIME_IMPLAUSIBLE',
  // Connectors to the orgs' own systems (issue 16).
  'CONNECTOR_FAILED',
  // The customer's corrections (issue 17): an item already answered.
  'CONFLICT',
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
  /** HTTP status of the problem+json answer. */
  status: number;
  /** Exit code of the `custos` CLI (sysexits.h where one fits). */
  exitCode: number;
  /** Short and stable: the problem's `title`. */
  title: string;
  /** One line for docs/errors.md: what happened and what the client can do. */
  meaning: string;
}

/** Every error code with its HTTP status, CLI exit code, title and meaning (rendered as docs/errors.md). */
export const ERROR_REGISTRY: Record<ErrorCode, ErrorInfo> = {
  BAD_ENCODING: {
    status: 400,
    exitCode: 65,
    title: 'Malformed encoding',
    meaning: 'Bytes, hex or base64url that do not decode as expected; fix the encoding.',
  },
  BAD_JSON: {
    status: 400,
    exitCode: 65,
    title: 'Value cannot be canonicalized',
    meaning: 'A value RFC 8785 cannot canonicalize (non-finite number, lone surrogate, too deep); send plain JSON.',
  },
  BAD_KEY: {
    status: 400,
    exitCode: 65,
    title: 'Malformed key',
    meaning: 'A public or secret key of the wrong length or form.',
  },
  BAD_SIGNATURE: {
    status: 400,
    exitCode: 65,
    title: 'Signature does not verify',
    meaning: "The signature does not verify against the signer's key over the canonical body; re-sign the exact body.",
  },
  BAD_DID: {
    status: 400,
    exitCode: 65,
    title: 'Malformed did:key',
    meaning: 'A did:key that does not parse or is not an Ed25519 key.',
  },
  BAD_TX: {
    status: 400,
    exitCode: 65,
    title: 'Malformed transaction',
    meaning:
      'A transaction that breaks a protocol rule (fields, types, nonce, signer, arguments); the detail names the rule.',
  },
  TX_TOO_LARGE: {
    status: 413,
    exitCode: 65,
    title: 'Transaction too large',
    meaning:
      'A transaction, or the body that carries it, is over the size limit; split it or store the data off-chain.',
  },
  WRONG_CHAIN: {
    status: 400,
    exitCode: 65,
    title: 'Transaction for another chain',
    meaning: "The transaction names another chainId than this node's; sign it for this chain.",
  },
  TX_EXPIRED: {
    status: 400,
    exitCode: 65,
    title: 'Transaction expired',
    meaning: "The transaction's expiresAt has passed; sign a fresh one.",
  },
  TX_NOT_YET_VALID: {
    status: 400,
    exitCode: 65,
    title: 'Transaction not yet valid',
    meaning:
      "The transaction's createdAt is ahead of this node's clock by more than the allowed skew; check the clock.",
  },
  TX_REPLAYED: {
    status: 409,
    exitCode: 65,
    title: 'Transaction already committed',
    meaning: 'This transaction is already committed; it is never executed twice. Read it with GET /v1/txs/{txId}.',
  },
  BAD_BLOCK: {
    status: 400,
    exitCode: 65,
    title: 'Malformed block',
    meaning: 'A block whose header, hashes or transactions do not check out.',
  },
  BAD_PROOF: {
    status: 400,
    exitCode: 1,
    title: 'Proof does not verify',
    meaning: 'An inclusion, consistency or state proof that does not verify against its checkpoint.',
  },
  BAD_CHECKPOINT: {
    status: 400,
    exitCode: 1,
    title: 'Malformed checkpoint',
    meaning: 'A checkpoint that is malformed or for another chain.',
  },
  BAD_CERTIFICATE: {
    status: 400,
    exitCode: 1,
    title: 'Quorum certificate does not verify',
    meaning: 'A quorum certificate without enough valid member signatures for its checkpoint.',
  },
  NOT_FOUND: {
    status: 404,
    exitCode: 66,
    title: 'Not found',
    meaning: 'No such route, block, transaction, state entry or record.',
  },
  BAD_REQUEST: {
    status: 400,
    exitCode: 64,
    title: 'Bad request',
    meaning:
      'The request is malformed: bad JSON, wrong content type, unknown or missing field, wrong type, bad parameter; the detail names the field.',
  },
  MEMPOOL_FULL: {
    status: 503,
    exitCode: 75,
    title: 'Too many pending transactions',
    meaning: 'Too many transactions are waiting for a block; retry after a short wait.',
  },
  DUPLICATE_TX: {
    status: 409,
    exitCode: 65,
    title: 'Transaction already pending',
    meaning: 'The same transaction is already pending; wait for it instead of resending.',
  },
  NODE_STOPPED: {
    status: 503,
    exitCode: 75,
    title: 'Node is stopping',
    meaning: 'The node is shutting down or stopped after a fatal error; use another peer or wait for a restart.',
  },
  TIMEOUT: {
    status: 504,
    exitCode: 75,
    title: 'Timed out',
    meaning: 'The transaction was admitted but did not commit within the wait; it may still commit: read it later.',
  },
  BAD_GENESIS: {
    status: 500,
    exitCode: 78,
    title: 'Invalid genesis',
    meaning: 'The genesis file is invalid, or the store holds another chain than the genesis given.',
  },
  BAD_KEYSTORE: {
    status: 500,
    exitCode: 78,
    title: 'Invalid keystore file',
    meaning: 'A keystore file that is not valid or cannot be read.',
  },
  WRONG_PASSPHRASE: {
    status: 401,
    exitCode: 77,
    title: 'Wrong passphrase',
    meaning: 'The passphrase does not open this keystore or wallet export.',
  },
  BAD_WALLET: {
    status: 400,
    exitCode: 65,
    title: 'Malformed wallet export',
    meaning: 'A wallet export that is malformed or of an unknown version.',
  },
  CONFLICT: {
    status: 409,
    exitCode: 65,
    title: 'Already answered',
    meaning:
      'The correction or flag named is no longer pending (applied or explained), or carries no value for this route; read its state.',
  },
  BAD_CIPHERTEXT: {
    status: 400,
    exitCode: 65,
    title: 'Ciphertext does not open',
    meaning:
      "An HPKE envelope that is malformed, is not the one the ledger holds the digest of, or does not open under the org's key and its context (org, customer, record, chain); seal it again.",
  },
  ALREADY_INITIALIZED: {
    status: 409,
    exitCode: 73,
    title: 'Already initialized',
    meaning: 'The node home or chain already exists; nothing was overwritten.',
  },
  NOT_INITIALIZED: {
    status: 500,
    exitCode: 78,
    title: 'Not initialized',
    meaning: 'No chain in this store and no genesis given; run custos init first.',
  },
  STORE_CORRUPT: {
    status: 500,
    exitCode: 70,
    title: 'Store is inconsistent',
    meaning: 'The store is inconsistent with itself; restore from a backup or resync, and report it.',
  },
  INTERNAL: {
    status: 500,
    exitCode: 70,
    title: 'Internal error',
    meaning: 'An unexpected failure in the node; the node log has the details under the request id.',
  },
  ACCESS_DENIED: {
    status: 403,
    exitCode: 77,
    title: 'No valid access for this record',
    meaning: 'No valid consent, contract or other lawful basis on the ledger for this use of the record.',
  },
  ERASED: {
    status: 410,
    exitCode: 66,
    title: 'Record erased',
    meaning: 'The record was erased (crypto-shredded); its value can never be read again.',
  },
  RATE_LIMITED: {
    status: 429,
    exitCode: 75,
    title: 'Too many requests',
    meaning: 'Too many requests from this client in the current window; retry after the Retry-After seconds.',
  },
  SIGNUPS_FULL: {
    status: 429,
    exitCode: 75,
    title: 'Too many unfinished sign-ups',
    meaning:
      'The node holds as many unfinished passkey sign-ups as it allows (all clients together); retry after the Retry-After seconds, when the oldest expires.',
  },
  BODY_TOO_LARGE: {
    status: 413,
    exitCode: 65,
    title: 'Request body too large',
    meaning: "The request body is over this route's size limit.",
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    exitCode: 64,
    title: 'Request headers too large',
    meaning: "The request's headers are over the size limit.",
  },
  REQUEST_TIMEOUT: {
    status: 408,
    exitCode: 75,
    title: 'Request not received in time',
    meaning: 'The client did not send the whole request in time.',
  },
  NOT_READY: {
    status: 503,
    exitCode: 75,
    title: 'Node not ready',
    meaning: 'The node is up but not ready to serve: stopped on a fatal error, store not answering, or blocks stalled.',
  },
  HOME_IN_USE: {
    status: 409,
    exitCode: 75,
    title: 'Home in use',
    meaning:
      'Another node process holds this home (one home, one node); stop that node, or start this one with another --home.',
  },
  CONNECTOR_FAILED: {
    status: 502,
    exitCode: 69,
    title: 'Connector failed',
    meaning:
      "A system of the org's data map (a PostgreSQL database) failed or could not be reached; the detail names the system, the table and the SQLSTATE, never a value. Nothing of that step was changed: fix the system and run the step again.",
  },
  NODE_UNREACHABLE: {
    status: 503,
    exitCode: 69,
    title: 'Node unreachable',
    meaning:
      "The CLI or SDK could not reach the node's API at the configured address; or the peer a customer asked could not reach the node of the org that holds their data export (the detail names the org; nothing was consumed, retry later).",
  },
  UNAUTHENTICATED: {
    status: 401,
    exitCode: 77,
    title: 'Authentication required',
    meaning:
      'The route needs an RFC 9421 signature (or, on org routes, an API token) and the request has none, or it does not verify; the detail says why.',
  },
  FORBIDDEN: {
    status: 403,
    exitCode: 77,
    title: 'Not allowed',
    meaning:
      "The request is authenticated, but its key or token may not use this route (another subject's history, another org, a read-only token).",
  },
  SIGNATURE_EXPIRED: {
    status: 401,
    exitCode: 77,
    title: 'Signature outside its validity window',
    meaning: 'The request signature has expired, or was created too far in the future; check the clock and sign again.',
  },
  REPLAYED_REQUEST: {
    status: 401,
    exitCode: 77,
    title: 'Request replayed',
    meaning: 'A signature with this nonce was already used; sign each request afresh.',
  },
  DIVERGED: {
    status: 500,
    exitCode: 70,
    title: 'Peer diverged from the quorum',
    meaning:
      "A quorum of members signed another checkpoint than this peer computed: the peer stopped and kept the evidence in its store's meta table. Run `custos node recover` (rebuilds the store from its quorum-certified blocks, keeping the old one as evidence), then start the peer to catch up from the others.",
  },
  BEHIND_ORDERER_WINDOW: {
    status: 503,
    exitCode: 75,
    title: 'Peer behind the orderer window',
    meaning:
      'The next block this peer needs is no longer kept by the orderer; catch the peer up from the other peers (their endpoints in its consortium config), then start it again.',
  },
  NOT_FINAL: {
    status: 503,
    exitCode: 75,
    title: 'Block not final yet',
    meaning:
      'The block is committed on this peer but no quorum of members has signed its checkpoint yet; retry shortly or wait for finality.',
  },
  CATCH_UP_FAILED: {
    status: 502,
    exitCode: 69,
    title: 'Catch-up from peers failed',
    meaning:
      'No other peer served the missing blocks with a valid quorum certificate; check the peer endpoints and that a quorum of peers runs.',
  },
  BLOCK_TIME_IMPLAUSIBLE: {
    status: 503,
    exitCode: 75,
    title: 'Block time refused',
    meaning:
      "The ordered block is dated ahead of this peer's clock by more than the allowed skew (maxClockSkewMs), or before its parent: the peer refused to execute or sign it and raised the clock alarm. Check the clocks (NTP) of the peers and of the proposer; the elected proposer re-dates a block the members refused, and the transactions in it commit then.",
  },
};

/** Code of any error: its own when it is a Custos error, INTERNAL otherwise. */
export function errorCode(err: unknown): ErrorCode {
  if (err instanceof NodeError || err instanceof ProtocolError) return err.code;
  return 'INTERNAL';
}

export function isProtocolCode(code: string): code is ProtocolErrorCode {
  return (PROTOCOL_ERROR_CODES as readonly string[]).includes(code);
}
