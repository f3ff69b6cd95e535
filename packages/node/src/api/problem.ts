/**
 * RFC 9457 problem details: every error the HTTP API returns, built from the one error registry
 * (`errors.ts`). Fastify's own errors (validation, bad JSON, body too large) are mapped here too,
 * so a client always gets `application/problem+json` with a stable `code`.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply } from 'fastify';
import { ERROR_REGISTRY, type ErrorCode, errorCode } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The problem document as a JSON Schema: the `Problem` component of the OpenAPI document. */
export const PROBLEM_SCHEMA = {
  type: 'object',
  description:
    'RFC 9457 problem details, served as application/problem+json. `code` is stable and listed in docs/errors.md; `detail` says what was expected and what came.',
  properties: {
    type: { type: 'string', description: 'URI reference `/errors/{code}`.' },
    title: { type: 'string', description: 'Short title of the code.' },
    status: { type: 'integer', description: 'The HTTP status, repeated.' },
    detail: { type: 'string', description: 'What was expected and what came; never echoes the request body.' },
    code: { type: 'string', enum: Object.keys(ERROR_REGISTRY), description: 'Stable error code.' },
  },
  required: ['type', 'title', 'status', 'detail', 'code'],
};

/** The RFC 9457 document, plus Custos's stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
}

export function problem(code: ErrorCode, detail: string): Problem {
  const info = ERROR_REGISTRY[code];
  return { type: `/errors/${code}`, title: info.title, status: info.status, detail, code };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(p);
}

/**
 * A whole HTTP/1.1 response carrying a problem, for the rare answers written to the socket before
 * Fastify has a request (headers too large, request too slow): the connection closes after it.
 */
export function rawProblemResponse(code: ErrorCode, detail: string): string {
  const p = problem(code, detail);
  const body = JSON.stringify(p);
  return [
    `HTTP/1.1 ${p.status} ${STATUS_CODES[p.status] ?? 'Error'}`,
    `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/**
 * What an error that reached the HTTP edge means to the client. Never echoes the request body.
 * `tooLarge` is the code of an over-long body on this route (TX_TOO_LARGE where it carries transactions).
 */
export function problemOf(err: unknown, tooLarge: 'TX_TOO_LARGE' | 'BODY_TOO_LARGE' = 'TX_TOO_LARGE'): Problem {
  const code = errorCode(err);
  if (code !== 'INTERNAL') return problem(code, (err as Error).message);
  const fe = err as Partial<FastifyError> & { validation?: unknown[] };
  if (Array.isArray(fe.validation) && fe.validation.length > 0) {
    return problem('BAD_REQUEST', validationDetail(fe.validation[0], fe.validationContext));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(tooLarge, 'expected a request body within the size limit of this route');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem('BAD_REQUEST', 'expected Content-Type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem('BAD_REQUEST', 'expected a JSON body, got an empty body');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem('BAD_REQUEST', 'Content-Length does not match the body');
  }
  // JSON.parse and secure-json-parse errors quote the body; say only what is wrong.
  if (err instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return problem('BAD_REQUEST', "expected a valid JSON body (and no '__proto__' or 'constructor.prototype' keys)");
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 413) return problem(tooLarge, 'expected a smaller request');
  if (status === 404) return problem('NOT_FOUND', 'no such resource');
  if (status >= 400 && status < 500) return problem('BAD_REQUEST', safeMessage(fe.message));
  return problem('INTERNAL', 'the node failed to handle this request; see its log');
}

interface AjvError {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

const PARTS: Record<string, string> = {
  body: 'request body',
  querystring: 'query string',
  params: 'path',
  headers: 'headers',
  item: 'transaction',
};

/** Names the field at fault: `unexpected field 'body.foo' in the request body`, `'limit' in the query string must be string`. */
export function validationDetail(raw: unknown, context: string | undefined): string {
  const e = (raw ?? {}) as AjvError;
  const part = PARTS[context ?? ''] ?? 'request';
  const path = (e.instancePath ?? '')
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = e.params ?? {};
  const field = (name: unknown) => [...path, String(name).slice(0, 64)].join('.');
  if (e.keyword === 'additionalProperties')
    return `unexpected field '${field(params.additionalProperty)}' in the ${part}`;
  if (e.keyword === 'required') return `missing field '${field(params.missingProperty)}' in the ${part}`;
  const subject = path.length > 0 ? `'${path.join('.')}' in the ${part}` : `the ${part}`;
  return `${subject} ${e.message ?? 'is invalid'}`;
}

function safeMessage(m: unknown): string {
  return typeof m === 'string' && m.length > 0 ? m.slice(0, 200) : 'bad request';
}
