/** Operations and reference routes: health, readiness, metrics, the OpenAPI document and the docs page. */
import type { Health } from '../api-types.js';
import type { OpenApiDocument, Readiness } from '../node-types.js';
import type { CallOptions, Transport } from '../transport/http.js';

/** `GET /healthz`. */
export async function health(t: Transport, opts?: CallOptions): Promise<Health> {
  return t.json('GET', '/healthz', undefined, opts);
}

/** `GET /readyz`: `NOT_READY` with the reason until the node can serve. */
export async function ready(t: Transport, opts?: CallOptions): Promise<Readiness> {
  return t.json('GET', '/readyz', undefined, opts);
}

/** `GET /metrics`: Prometheus text exposition. */
export async function metrics(t: Transport, opts?: CallOptions): Promise<string> {
  return (await t.raw('GET', '/metrics', 'text/plain', opts)).text();
}

/** `GET /openapi.json`. */
export async function openapi(t: Transport, opts?: CallOptions): Promise<OpenApiDocument> {
  return t.json('GET', '/openapi.json', undefined, opts);
}

/** `GET /docs`: self-contained HTML. */
export async function docsPage(t: Transport, opts?: CallOptions): Promise<string> {
  return (await t.raw('GET', '/docs', 'text/html', opts)).text();
}
