/**
 * The API reference page served at GET /docs: one self-contained HTML page generated from the
 * OpenAPI document (no script, no external asset, so it works on a machine without internet and
 * under a strict Content-Security-Policy). Routes grouped by tag, with parameters, request body,
 * responses and error codes; then every error code of the registry.
 */
import { ERROR_REGISTRY, type ErrorCode } from '../errors.js';

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Record<string, unknown>;
}
interface Media {
  schema?: unknown;
}
interface Response {
  description?: string;
  content?: Record<string, Media>;
  'x-error-codes'?: ErrorCode[];
}
interface Operation {
  tags?: string[];
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, Media> };
  responses?: Record<string, Response>;
}
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Escaped prose, with Markdown `code spans` shown as code. */
function prose(s: string): string {
  return escapeHtml(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}

const anchor = (method: string, path: string) => `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;

function schemaBlock(schema: unknown): string {
  if (schema === undefined) return '';
  const ref = (schema as { $ref?: string }).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    const name = ref.slice('#/components/schemas/'.length);
    return `<a href="#schema-${escapeHtml(name)}">${escapeHtml(name)}</a>`;
  }
  return `<details><summary>schema</summary><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></details>`;
}

function typeOf(schema: Record<string, unknown> | undefined): string {
  if (schema === undefined) return '';
  const parts = [String(schema.type ?? 'any')];
  if (typeof schema.pattern === 'string') parts.push(`pattern ${schema.pattern}`);
  if (Array.isArray(schema.enum)) parts.push(`one of ${schema.enum.map(String).join(', ')}`);
  if (typeof schema.maxLength === 'number') parts.push(`max ${schema.maxLength} chars`);
  return parts.join(', ');
}

function operationHtml(method: string, path: string, op: Operation): string {
  const out: string[] = [];
  out.push(`<section class="op" id="${anchor(method, path)}">`);
  out.push(
    `<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> ${escapeHtml(op.summary ?? '')}</h3>`,
  );
  if (op.description) out.push(`<p>${prose(op.description)}</p>`);
  if (op.parameters?.length) {
    out.push(
      '<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>',
    );
    for (const p of op.parameters) {
      out.push(
        `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td>${escapeHtml(typeOf(p.schema))}</td><td>${prose(p.description ?? String(p.schema?.description ?? ''))}</td></tr>`,
      );
    }
    out.push('</table>');
  }
  if (op.requestBody?.content) {
    out.push('<h4>Request body</h4>');
    for (const [type, media] of Object.entries(op.requestBody.content)) {
      out.push(`<p><code>${escapeHtml(type)}</code> ${schemaBlock(media.schema)}</p>`);
    }
  }
  out.push('<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>');
  for (const [status, r] of Object.entries(op.responses ?? {})) {
    const codes = r['x-error-codes'];
    const meaning =
      codes === undefined
        ? prose(r.description ?? '')
        : codes
            .map(
              (c) =>
                `<a href="#error-${c}" title="${escapeHtml(ERROR_REGISTRY[c]?.title ?? '')}"><code>${c}</code></a>`,
            )
            .join(', ');
    const body = Object.entries(r.content ?? {})
      .map(([type, media]) => `<code>${escapeHtml(type)}</code> ${schemaBlock(media.schema)}`)
      .join('<br>');
    out.push(`<tr><td>${escapeHtml(status)}</td><td>${meaning}</td><td>${body}</td></tr>`);
  }
  out.push('</table></section>');
  return out.join('\n');
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1d1f21}
code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f4;padding:.6rem;overflow:auto;max-height:24rem}
table{border-collapse:collapse;margin:.4rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
.op{border-top:1px solid #ccc;padding-top:.5rem}.m{display:inline-block;min-width:3.5rem;font-size:12px;color:#fff;padding:.1rem .3rem;border-radius:3px;text-align:center}
.get{background:#2f6f9f}.post{background:#3f8f4f}.put,.patch{background:#9f7f2f}.delete{background:#9f3f3f}
nav ul{columns:2}a{color:#1f5f8f}`;

/** The whole reference page of `doc`. */
export function renderReferencePage(doc: OpenApiDocument): string {
  const byTag = new Map<string, { method: string; path: string; op: Operation }[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      const tag = op.tags?.[0] ?? 'other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
    }
  }
  const tagOrder = [...(doc.tags ?? []).map((t) => t.name), ...byTag.keys()].filter(
    (t, i, all) => all.indexOf(t) === i && byTag.has(t),
  );
  const describe = (name: string) => doc.tags?.find((t) => t.name === name)?.description ?? '';
  const out: string[] = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.info.title)} ${escapeHtml(doc.info.version)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(doc.info.title)} <small>${escapeHtml(doc.info.version)}</small></h1>`,
    `<p>${prose(doc.info.description ?? '')}</p>`,
    `<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(doc.openapi)}).</p>`,
    '<nav><h2>Routes</h2><ul>',
  ];
  for (const tag of tagOrder) {
    for (const { method, path } of byTag.get(tag) ?? []) {
      out.push(
        `<li><a href="#${anchor(method, path)}">${method.toUpperCase()} ${escapeHtml(path)}</a> <small>${escapeHtml(tag)}</small></li>`,
      );
    }
  }
  out.push('<li><a href="#errors">Error codes</a></li></ul></nav>');
  for (const tag of tagOrder) {
    out.push(`<h2 id="tag-${escapeHtml(tag)}">${escapeHtml(tag)}</h2><p>${prose(describe(tag))}</p>`);
    for (const { method, path, op } of byTag.get(tag) ?? []) out.push(operationHtml(method, path, op));
  }
  out.push('<h2 id="schemas">Schemas</h2>');
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
    out.push(
      `<h3 id="schema-${escapeHtml(name)}">${escapeHtml(name)}</h3><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre>`,
    );
  }
  out.push(
    '<h2 id="errors">Error codes</h2><table><tr><th>code</th><th>HTTP</th><th>CLI exit</th><th>title</th><th>meaning</th></tr>',
  );
  for (const [code, info] of Object.entries(ERROR_REGISTRY)) {
    out.push(
      `<tr id="error-${code}"><td><code>${code}</code></td><td>${info.status}</td><td>${info.exitCode}</td><td>${escapeHtml(info.title)}</td><td>${escapeHtml(info.meaning)}</td></tr>`,
    );
  }
  out.push('</table></body></html>');
  return out.join('\n');
}
