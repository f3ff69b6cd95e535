/**
 * The transport under `CustosClient`: one place that turns a route call into an HTTP request and
 * its answer into a typed value or a `CustosApiError`. It owns the base URL, the `fetch` in use,
 * authentication (a bearer token and request signers), timeouts and aborts, response size limits,
 * and the reading of RFC 9457 problem documents. Actions (`../actions/`) only name routes.
 */
import { CustosApiError, parseProblem } from '../errors.js';
import { readEventStream, type ServerEvent } from './event-stream.js';
import type { RequestSigner } from './signing.js';

export interface TransportOptions {
  /** The node, e.g. `http://127.0.0.1:7070`. Default: the page's origin in a browser. */
  baseUrl?: string;
  /** Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** An org API token, sent as `Authorization: Bearer <token>` (org routes). */
  token?: string;
  /** Signs every request (e.g. RFC 9421 with an org key); per-call `sign` comes on top. */
  sign?: RequestSigner;
  /** Milliseconds before a request is abandoned with `TIMEOUT`. Default 30 s (plus the wait of `?wait=true`). */
  timeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
  /** Signs this call, e.g. a subject report request with the customer's pairwise key. */
  sign?: RequestSigner;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** The node waits at most 30 s for a commit by default; give it room to answer TIMEOUT itself. */
const WAIT_EXTRA_MS = 35_000;
const MAX_RESPONSE_CHARS = 64 * 1024 * 1024;
/** Longest error body read when a problem document is expected: a real one is a few hundred bytes. */
const MAX_PROBLEM_CHARS = 64 * 1024;

export class Transport {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #token: string | undefined;
  readonly #sign: RequestSigner | undefined;
  readonly #timeoutMs: number;

  constructor(opts: TransportOptions = {}) {
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
    this.baseUrl = (opts.baseUrl ?? origin ?? '').replace(/\/+$/, '');
    const f = opts.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TypeError('expected a fetch implementation');
    this.#fetch = f.bind(globalThis);
    this.#token = opts.token;
    this.#sign = opts.sign;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** This transport's options with another org API token (undefined: none), for a client like this one. */
  optionsWithToken(token: string | undefined): TransportOptions {
    return {
      baseUrl: this.baseUrl,
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      ...(token === undefined ? {} : { token }),
      ...(this.#sign === undefined ? {} : { sign: this.#sign }),
    };
  }

  /**
   * A JSON call: the parsed answer. `waits` for routes where the node holds the answer until a
   * commit (`?wait=true`), which get the node's wait on top of the client's timeout.
   */
  async json<T>(method: string, path: string, body: unknown, opts?: CallOptions, waits = false): Promise<T> {
    return (await this.call<T>(method, path, body, opts, waits || path.includes('wait=true'))).body;
  }

  /** A JSON call with the answer's headers; `timeoutMs` replaces the client's timeout for this call. */
  async call<T>(
    method: string,
    path: string,
    body: unknown,
    opts: CallOptions = {},
    waits = false,
    timeoutMs?: number,
  ): Promise<{ body: T; headers: Headers }> {
    const url = `${this.baseUrl}${path}`;
    const what = describe(method, path);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = await this.#headers(method, url, 'application/json, application/problem+json', text, opts);
    const timeout = timeoutMs ?? this.#timeout(waits);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const onAbort = () => controller.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let res: Response;
    let raw: string;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(text === undefined ? {} : { body: text }),
        signal: controller.signal,
      });
      raw = await res.text();
    } catch (cause) {
      throw this.#sendError(what, cause, timedOut, opts.signal, timeout);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    if (raw.length > MAX_RESPONSE_CHARS) {
      throw new CustosApiError(
        'BAD_RESPONSE',
        `the answer to ${what} is larger than ${MAX_RESPONSE_CHARS} characters`,
        {
          status: res.status,
          request: what,
        },
      );
    }
    let parsed: unknown;
    try {
      parsed = raw.length === 0 ? undefined : JSON.parse(raw);
    } catch (cause) {
      parsed = undefined;
      if (res.ok) {
        throw new CustosApiError('BAD_RESPONSE', `expected JSON in the answer to ${what}`, {
          status: res.status,
          request: what,
          cause,
        });
      }
    }
    if (!res.ok) throw failure(res.status, parsed, what);
    return { body: parsed as T, headers: res.headers };
  }

  /**
   * A non-JSON answer (text or a stream) as the `Response`, once its status is OK. The timeout and
   * `opts.signal` go on bounding the reading of its body.
   */
  async raw(method: string, path: string, accept: string, opts: CallOptions = {}, waits = false): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const what = describe(method, path);
    const headers = await this.#headers(method, url, `${accept}, application/problem+json`, undefined, opts);
    const timeout = this.#timeout(waits);
    const deadline = AbortSignal.timeout(timeout);
    const signals = [deadline, ...(opts.signal === undefined ? [] : [opts.signal])];
    let res: Response;
    try {
      res = await this.#fetch(url, { method, headers, signal: AbortSignal.any(signals) });
    } catch (cause) {
      throw this.#sendError(what, cause, deadline.aborted && opts.signal?.aborted !== true, opts.signal, timeout);
    }
    if (res.ok) return res;
    throw failure(res.status, await problemBody(res), what);
  }

  /**
   * The server-sent events of a `GET` route, until the stream ends or `opts.signal` aborts it (then
   * it ends quietly). No timeout: a stream is meant to stay open.
   */
  async *events(path: string, opts: CallOptions = {}): AsyncGenerator<ServerEvent> {
    const url = `${this.baseUrl}${path}`;
    const what = describe('GET', path);
    const headers = await this.#headers('GET', url, 'text/event-stream', undefined, opts);
    let res: Response;
    try {
      res = await this.#fetch(url, { headers, ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
    } catch (cause) {
      if (opts.signal?.aborted === true) return;
      throw this.#unreachable(what, cause);
    }
    if (!res.ok || res.body === null) throw failure(res.status, await problemBody(res), what);
    try {
      yield* readEventStream(res.body);
    } catch (cause) {
      if (opts.signal?.aborted === true) return;
      throw new CustosApiError('NODE_UNREACHABLE', `the event stream ${what} broke off`, { request: what, cause });
    }
  }

  /** Accept, bearer token, the caller's headers, then each signer's headers (client-wide, then per call). */
  async #headers(
    method: string,
    url: string,
    accept: string,
    body: string | undefined,
    opts: CallOptions,
  ): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    Object.assign(headers, opts.headers);
    for (const sign of [this.#sign, opts.sign]) {
      if (sign !== undefined) Object.assign(headers, await sign({ method, url, headers: { ...headers }, body }));
    }
    return headers;
  }

  #timeout(waits: boolean): number {
    return this.#timeoutMs + (waits ? WAIT_EXTRA_MS : 0);
  }

  /** Why no answer came: our timeout, the caller's abort, or the node out of reach. */
  #sendError(
    what: string,
    cause: unknown,
    timedOut: boolean,
    signal: AbortSignal | undefined,
    timeout: number,
  ): CustosApiError {
    if (timedOut)
      return new CustosApiError('TIMEOUT', `no answer to ${what} within ${timeout} ms`, { request: what, cause });
    if (signal?.aborted === true) return new CustosApiError('ABORTED', `${what} was aborted`, { request: what, cause });
    return this.#unreachable(what, cause);
  }

  #unreachable(what: string, cause: unknown): CustosApiError {
    return new CustosApiError('NODE_UNREACHABLE', `cannot reach the node at ${this.baseUrl || 'this origin'}`, {
      request: what,
      cause,
    });
  }
}

/** `GET /v1/chain` and the like: the method and the path without its query string. */
function describe(method: string, path: string): string {
  return `${method} ${path.split('?')[0]}`;
}

/** The body of a failed answer, parsed as JSON if it is (else undefined), read up to a bound. */
async function problemBody(res: Response): Promise<unknown> {
  const text = (await res.text().catch(() => '')).slice(0, MAX_PROBLEM_CHARS);
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The error of a failed answer: the node's problem document, or `BAD_RESPONSE` without one. */
function failure(status: number, body: unknown, what: string): CustosApiError {
  const problem = parseProblem(body, status);
  if (problem !== undefined)
    return new CustosApiError(problem.code, problem.detail, { status, problem, request: what });
  return new CustosApiError('BAD_RESPONSE', `${what} failed with HTTP ${status} and no problem document`, {
    status,
    request: what,
  });
}
