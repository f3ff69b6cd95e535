import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../src/api/openapi.js';
import { registeredRoutes } from '../src/api/server.js';
import { ERROR_REGISTRY, type ErrorCode } from '../src/errors.js';
import type { CustosNode } from '../src/node.js';

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  tags?: string[];
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; schema?: unknown }[];
  responses?: Record<string, { description?: string; content?: Record<string, unknown>; 'x-error-codes'?: string[] }>;
}
type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  servers?: { url: string }[];
  components: {
    schemas: Record<string, Record<string, unknown>>;
    securitySchemes?: Record<string, { type: string; in?: string; name?: string; scheme?: string }>;
  };
  tags: { name: string }[];
};

let api: ApiNode | undefined;
let _node: CustosNode;
let app: FastifyInstance;
let doc: Doc;

beforeAll(async () => {
  api = await startApiNode();
  _node = api.node;
  app = api.app;
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  doc = res.json();
});

afterAll(async () => {
  await api?.close();
});

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operations(): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ method, path, op })),
  );
}

/** Every `$ref` in `value`, with where it was found. */
function refs(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k === '$ref' && typeof v === 'string' ? [{ ref: v, at }] : refs(v, `${at}/${k}`),
  );
}

function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !(key in cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** (method, url) of each route in Fastify's own printout of its router, e.g. `GET /v1/blocks/:height`. */
function printedRoutes(text: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^([\s│├└─]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (m === null) continue;
    const depth = Math.floor((m[1] ?? '').length / 4);
    stack.length = depth;
    stack[depth] = m[2] ?? '';
    const path = stack.join('');
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) out.push(`${method} ${path}`);
  }
  return out.sort();
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 in shape: info, tags, and every operation tagged, summarized, described and answered', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    const tagNames = new Set(doc.tags.map((t) => t.name));
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(20);
    for (const { method, path, op } of ops) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(path, where).toMatch(/^\//);
      expect(op.tags?.length, where).toBeGreaterThan(0);
      for (const t of op.tags ?? []) expect(tagNames.has(t), `${where}: tag ${t}`).toBe(true);
      expect(op.summary, where).toBeTruthy();
      expect(op.description, where).toBeTruthy();
      const statuses = Object.keys(op.responses ?? {});
      expect(
        statuses.some((s) => /^2/.test(s)),
        `${where} has a success response`,
      ).toBe(true);
      for (const [status, r] of Object.entries(op.responses ?? {})) {
        expect(status, where).toMatch(/^[1-5][0-9][0-9]$/);
        expect(typeof r.description, `${where} ${status}`).toBe('string');
      }
      // Every path parameter of the template is declared.
      for (const name of path.match(/\{([^}]+)\}/g) ?? []) {
        const p = op.parameters?.find((x) => x.in === 'path' && `{${x.name}}` === name);
        expect(p, `${where}: parameter ${name}`).toBeDefined();
      }
    }
  });

  it('gives every operation a unique operationId, servers, and the security schemes its operations name', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/v1/orgs/{org}/records']?.get?.operationId).toBe('getOrgsByOrgRecords');
    expect(doc.servers?.length).toBeGreaterThan(0);
    const schemes = doc.components.securitySchemes ?? {};
    expect(schemes.orgToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.httpSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'Signature' });
    expect(schemes.signatureInput).toMatchObject({ type: 'apiKey', in: 'header', name: 'Signature-Input' });
    for (const { method, path, op } of operations()) {
      for (const requirement of op.security ?? []) {
        for (const name of Object.keys(requirement)) expect(schemes[name], `${method} ${path}: ${name}`).toBeDefined();
      }
    }
    expect(doc.paths['/v1/orgs/{org}/tokens']?.post?.security).toEqual([{ httpSignature: [], signatureInput: [] }]);
    expect(doc.paths['/v1/gov/proposals']?.get?.security).toEqual([]);
  });

  it('documents each error response as problem+json with registry codes of that status', () => {
    const problem = doc.components.schemas.Problem as { properties: { code: { enum: string[] } } };
    expect(problem).toBeDefined();
    expect(problem.properties.code.enum.sort()).toEqual(Object.keys(ERROR_REGISTRY).sort());
    for (const { method, path, op } of operations()) {
      for (const [status, r] of Object.entries(op.responses ?? {})) {
        if (Number(status) < 400) continue;
        const where = `${method.toUpperCase()} ${path} ${status}`;
        expect(Object.keys(r.content ?? {}), where).toEqual(['application/problem+json']);
        const codes = r['x-error-codes'] ?? [];
        expect(codes.length, where).toBeGreaterThan(0);
        for (const c of codes) expect(ERROR_REGISTRY[c as ErrorCode]?.status, `${where} ${c}`).toBe(Number(status));
      }
      // Every route can be rate limited and can fail inside.
      expect(op.responses?.['429']?.['x-error-codes']).toContain('RATE_LIMITED');
      expect(op.responses?.['500']?.['x-error-codes']).toContain('INTERNAL');
    }
    const submit = doc.paths['/v1/txs']?.post?.responses ?? {};
    expect(submit['409']?.['x-error-codes']).toEqual(expect.arrayContaining(['TX_REPLAYED', 'DUPLICATE_TX']));
    expect(submit['413']?.['x-error-codes']).toEqual(['TX_TOO_LARGE']);
    expect(Object.keys(submit)).toEqual(expect.arrayContaining(['200', '202', '400', '503', '504']));
  });

  it('resolves every $ref', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(0);
    for (const { ref, at } of all) expect(resolvePointer(doc, ref), `${ref} at ${at}`).toBeDefined();
  });

  it('lists every route Fastify serves (HEAD through its GET), and hides only non-API pages', () => {
    const printed = printedRoutes(app.printRoutes({ commonPrefix: false }));
    const seen = registeredRoutes(app);
    expect(seen.map((r) => `${r.method} ${r.url}`).sort()).toEqual(printed);
    const documented = new Set(operations().map(({ method, path }) => `${method.toUpperCase()} ${path}`));
    for (const r of seen) {
      const get = `GET ${openApiPath(r.url)}`;
      if (r.hidden) {
        expect(r.url, 'only app pages are hidden').not.toMatch(/^\/v1\//);
        continue;
      }
      if (r.method === 'HEAD') expect(documented.has(get), `HEAD ${r.url} via ${get}`).toBe(true);
      else expect(documented.has(`${r.method} ${openApiPath(r.url)}`), `${r.method} ${r.url}`).toBe(true);
    }
    for (const path of ['/v1/txs', '/v1/txs/batch', '/v1/blocks', '/healthz', '/readyz', '/metrics', '/docs']) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  it('validates requests with the same schemas it documents', async () => {
    const params = doc.paths['/v1/blocks/{height}']?.get?.parameters ?? [];
    expect(params.find((p) => p.name === 'height')?.schema).toMatchObject({ pattern: expect.any(String) });
    const bad = await app.inject({ method: 'GET', url: '/v1/blocks/x1' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('reference page', () => {
  it('is self-contained HTML listing every operation and every error code', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const html = res.body;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    for (const { method, path } of operations()) {
      expect(html, `${method} ${path}`).toContain(`${method.toUpperCase()}</span> <code>${path}</code>`);
    }
    for (const code of Object.keys(ERROR_REGISTRY)) expect(html).toContain(`id="error-${code}"`);
  });
});
