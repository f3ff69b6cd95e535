/**
 * The `fetch` a member's attester gives viem's HTTP transport for its EVM JSON-RPC endpoint: one
 * POST over node:http(s) with keep-alive connections, the answer handed back as a `Response`. The
 * global `fetch` (undici, with its WHATWG streams and request objects) cost about twice the
 * main-thread CPU per call (about 0.8 ms against 0.4 ms for a small call on the development machine),
 * and a member's duties make a few calls per cross-chain transaction.
 *
 * What viem asks of it: a POST of a JSON body with its headers, aborted by its signal (viem's
 * timeout). The answer is bounded like viem's own reading (`MAX_RPC_RESPONSE_BYTES`); a larger one
 * is refused without being kept. A kept-alive connection the endpoint closes as idle just as a call
 * goes out on it is the one failure retried here (once, on a new connection).
 */
import http from 'node:http';
import https from 'node:https';

/** Largest answer read (viem's default bound for a response body). */
export const MAX_RPC_RESPONSE_BYTES = 10 * 1024 * 1024;

/** Connections kept open per endpoint by each agent: the batches of a pass run side by side. */
const MAX_SOCKETS = 64;
let agents: { http: http.Agent; https: https.Agent } | undefined;

/** A `fetch` for viem's `http(url, { fetchFn })`: POST only, over keep-alive connections. */
export function rpcFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      reject(new TypeError(`expected an http(s) URL for the EVM endpoint, got ${url.protocol}`));
      return;
    }
    const body = init.body;
    if (typeof body !== 'string') {
      reject(new TypeError('expected a JSON-RPC request body as a string'));
      return;
    }
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    agents ??= {
      http: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
      https: new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    };
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    headers['content-length'] = String(Buffer.byteLength(body));
    const options = { method: init.method ?? 'POST', headers, agent: secure ? agents.https : agents.http };
    // A kept-alive connection the endpoint closed as idle just as this request went out on it ends
    // with ECONNRESET before any answer: the endpoint never read the request, so it is sent again,
    // once, on a new connection (the race Node's http documentation describes).
    const send = (again: boolean) => {
      const req = (secure ? https : http).request(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RPC_RESPONSE_BYTES) {
            req.destroy(new Error(`the EVM endpoint answered more than ${MAX_RPC_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          if (size > MAX_RPC_RESPONSE_BYTES) return;
          const answer = new Headers();
          for (const [key, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') answer.set(key, value);
            else if (Array.isArray(value)) for (const v of value) answer.append(key, v);
          }
          const status = res.statusCode ?? 500;
          const noBody = status === 204 || status === 205 || status === 304;
          try {
            resolve(
              new Response(noBody ? null : Buffer.concat(chunks), {
                status,
                statusText: res.statusMessage ?? '',
                headers: answer,
              }),
            );
          } catch (e) {
            reject(e);
          }
        });
      });
      let answered = false;
      req.on('response', () => {
        answered = true;
      });
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', onAbort));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (!again && !answered && req.reusedSocket && e.code === 'ECONNRESET' && signal?.aborted !== true) {
          send(true);
          return;
        }
        reject(e);
      });
      req.end(body);
    };
    send(false);
  });
}
