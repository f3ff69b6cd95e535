/** The in-process calls rectify-systems.test.ts makes: the SDK's fetch and the bank's signed requests, through `inject`. */
import { signRequest } from '@custos/protocol/http';
import type { ApiNode } from '@custos/test-utils/node';

/** The SDK's fetch, answered by the server in this process. */
export function injectFetchOf(node: () => ApiNode): typeof fetch {
  return async (input, init) => {
    const api = node();
    const url = new URL(String(input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const res = await api.app.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: url.pathname + url.search,
      headers,
      ...(typeof init?.body === 'string' ? { payload: init.body } : {}),
    });
    const h = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, String(v));
    return new Response(res.statusCode === 204 ? null : res.body, { status: res.statusCode, headers: h });
  };
}

/** A request signed by the bank's member key. */
export function bankCallOf(node: () => ApiNode) {
  return async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const api = node();
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const h = signRequest(
      { method, url: `http://localhost${url}`, ...(body === undefined ? {} : { body }) },
      api.fx.orgs.bank!,
    );
    const res = await api.app.inject({
      method,
      url,
      ...(body === undefined ? {} : { payload: body }),
      headers: { ...h, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };
}
