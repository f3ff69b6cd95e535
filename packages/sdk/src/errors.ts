/**
 * The SDK's one error type. Every failure of a call to a node is a `CustosApiError`: the node's
 * RFC 9457 problem+json (its `code`, `status`, `title`, `detail`) or, when no problem came back, one
 * of the client-side codes below. Callers branch on `code`, never on the message.
 */

/** Codes the client itself raises when the node gave no problem document. */
export const CLIENT_ERROR_CODES = [
  /** The node could not be reached (connection refused, DNS, CORS, offline). */
  'NODE_UNREACHABLE',
  /** No answer within the client's timeout. */
  'TIMEOUT',
  /** The node answered with something that is not the JSON the API promises. */
  'BAD_RESPONSE',
  /** The caller aborted the request. */
  'ABORTED',
] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/**
 * Codes a node sends in problem+json (the node's error registry). Listed so that callers get
 * completion; a newer node may send a code not listed here, which still arrives as a string.
 */
export type NodeProblemCode =
  | 'NOT_FOUND'
  | 'BAD_REQUEST'
  | 'BAD_TX'
  | 'BAD_SIGNATURE'
  | 'TX_TOO_LARGE'
  | 'WRONG_CHAIN'
  | 'TX_EXPIRED'
  | 'TX_NOT_YET_VALID'
  | 'TX_REPLAYED'
  | 'DUPLICATE_TX'
  | 'MEMPOOL_FULL'
  | 'NODE_STOPPED'
  | 'TIMEOUT'
  | 'RATE_LIMITED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'SIGNATURE_EXPIRED'
  | 'REPLAYED_REQUEST'
  | 'ACCESS_DENIED'
  | 'ERASED'
  | 'INTERNAL';

export type ApiErrorCode = ClientErrorCode | NodeProblemCode | (string & {});

/** What an RFC 9457 problem document from a node holds. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

export class CustosApiError extends Error {
  override readonly name = 'CustosApiError';
  /** Stable code: the node's problem `code`, or a client code (`NODE_UNREACHABLE`, `TIMEOUT`...). */
  readonly code: ApiErrorCode;
  /** HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** The problem's one-line `detail` (what was expected, what came). */
  readonly detail: string;
  /** The problem document as sent, when there was one. */
  readonly problem: Problem | undefined;
  /** `GET /v1/chain` and the like: what was called, without the query string. */
  readonly request: string;

  constructor(
    code: ApiErrorCode,
    detail: string,
    opts: { status?: number; problem?: Problem; request?: string; cause?: unknown } = {},
  ) {
    super(`${code}: ${detail}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status ?? 0;
    this.detail = detail;
    this.problem = opts.problem;
    this.request = opts.request ?? '';
  }
}

/** True for a `CustosApiError`, optionally with one of `codes`. */
export function isApiError(e: unknown, ...codes: ApiErrorCode[]): e is CustosApiError {
  return e instanceof CustosApiError && (codes.length === 0 || codes.includes(e.code));
}

/** Reads an untrusted problem document; undefined unless it has at least a string `code`. */
export function parseProblem(body: unknown, status: number): Problem | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.code !== 'string' || b.code.length === 0 || b.code.length > 64) return undefined;
  const text = (v: unknown, fallback: string) => (typeof v === 'string' ? v.slice(0, 2000) : fallback);
  return {
    type: text(b.type, 'about:blank'),
    title: text(b.title, b.code),
    status: typeof b.status === 'number' ? b.status : status,
    detail: text(b.detail, text(b.title, b.code)),
    code: b.code,
  };
}
