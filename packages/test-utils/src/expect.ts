/**
 * Assertions on the two error shapes the project has: a thrown error with a stable `code`, and an
 * RFC 9457 problem+json answer from the HTTP API.
 */
import { expect } from 'vitest';

/** A class of errors that carry a `code` (ProtocolError, NodeError, CustosApiError...). */
// biome-ignore lint/suspicious/noExplicitAny: constructor parameters differ from class to class
type CodedErrorClass<E extends Error & { code: string }> = abstract new (...args: any[]) => E;

/** Runs `f` and returns what it threw (undefined if it returned). */
export function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

/**
 * Asserts that `f` throws an error with `code` (and a message matching `message`), and returns it.
 * With `type`, the error must also be an instance of that class.
 */
export function expectCode<E extends Error & { code: string } = Error & { code: string }>(
  f: () => unknown,
  code: E['code'],
  opts: { type?: CodedErrorClass<E>; message?: RegExp } = {},
): E {
  const thrown = caught(f);
  expect(thrown, `expected a throw with code ${code}`).toBeDefined();
  if (opts.type !== undefined) expect(thrown).toBeInstanceOf(opts.type);
  const err = thrown as E;
  expect(err.code).toBe(code);
  if (opts.message !== undefined) expect(err.message).toMatch(opts.message);
  return err;
}

/** `expectCode` bound to one error class, so a test file names its class once. */
export function codeChecker<E extends Error & { code: string }>(
  type: CodedErrorClass<E>,
): (f: () => unknown, code: E['code'], message?: RegExp) => E {
  return (f, code, message) => expectCode(f, code, { type, ...(message === undefined ? {} : { message }) });
}

/** An HTTP answer as `fetch` gives it (read into status, content type and JSON body). */
export interface FetchedAnswer {
  status: number;
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of a problem body
  body: any;
}

/** An answer as Fastify's `inject` gives it. */
export interface InjectedAnswer {
  statusCode: number;
  headers: Record<string, unknown>;
  json(): unknown;
}

/** What a problem+json body holds. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  [k: string]: unknown;
}

/**
 * Asserts an RFC 9457 answer: problem+json content type, `code` and `type` `/errors/<code>`, the
 * body's status equal to the HTTP status (and to `status` when given), a title and a non-empty
 * detail. Returns the body.
 */
export function expectProblem(res: FetchedAnswer | InjectedAnswer, code: string, status?: number): ProblemBody {
  const fetched = 'status' in res;
  const httpStatus = fetched ? res.status : res.statusCode;
  const type = fetched ? res.type : String(res.headers['content-type']);
  const body = (fetched ? res.body : res.json()) as ProblemBody;
  expect(type).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({ code, type: `/errors/${code}`, status: httpStatus });
  if (status !== undefined) expect(httpStatus).toBe(status);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.detail.length).toBeGreaterThan(0);
  return body;
}
