/**
 * The node finds the web app through the `@custos/web` package, not by a path into this checkout,
 * and says what is missing when the app is not there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@custos/test-utils/node';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { WEB_PACKAGE, webDistDir, webRoutes } from '../src/api/web.js';
import type { CustosNode } from '../src/node.js';

const stubNode = { store: { db: { name: '/nonexistent/custos.db' } }, chainId: 'test' } as unknown as CustosNode;

describe('web app resolution', () => {
  it('finds the dist folder of the installed web package by its name', () => {
    const dir = webDistDir();
    expect(dir).toBeDefined();
    const pkg = JSON.parse(readFileSync(join(dir!, '..', 'package.json'), 'utf8')) as { name: string };
    expect(pkg.name).toBe(WEB_PACKAGE);
    expect(dir!.endsWith('dist')).toBe(true);
  });

  it('answers 503 with how to build the app when its folder holds no build', async () => {
    const tmp = tempDir();
    try {
      const app = Fastify();
      app.decorate('custos', stubNode);
      app.register(webRoutes, { dir: tmp.dir });
      const page = await app.inject({ method: 'GET', url: '/portal' });
      expect(page.statusCode).toBe(503);
      expect(page.body).toContain('not built yet');
      expect(existsSync(join(tmp.dir, 'index.html'))).toBe(false);
      await app.close();
    } finally {
      tmp.cleanup();
    }
  });

  it('answers the demo wallets route with 404 on a node that does not run the demo', async () => {
    const app = Fastify();
    app.decorate('custos', stubNode);
    app.register(webRoutes, {});
    const res = await app.inject({ method: 'GET', url: '/v1/demo/wallets' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    await app.close();
  });
});
