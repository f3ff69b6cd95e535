/**
 * Serves the web app (the `@custos/web` package, built by Vite into its `dist` folder) from the node: static
 * files at `/`, and the app's page for its own routes (`/portal`, `/console`, `/explorer`...), so a
 * link into the app works. The file list is read once at start: only those files are ever served,
 * so no request path reaches the file system. Also the demo-only route `GET /v1/demo/wallets`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { exportWallet, importWallet, MAX_WALLET_EXPORT_BYTES } from '@custos/protocol/wallet';
import type { FastifyReply } from 'fastify';
import { nativeSigner } from '../crypto/native.js';
import { findPassphrase } from '../home.js';
import { problem, sendProblem } from './problem.js';
import type { RoutePlugin } from './route-plugin.js';
import { noQuery } from './schema-atoms.js';

/** The web app's package: found by name, so a node installed from the registry finds it as well as a checkout. */
export const WEB_PACKAGE = '@custos/web';
/** First path segments that belong to the app; any other unknown path stays an API 404. */
export const APP_ROUTES = ['portal', 'console', 'explorer'] as const;
/** The passphrase the demo wallets are re-encrypted under: shown in the app, since they hold fake people. */
export const DEMO_WALLET_PASSPHRASE = 'custos-demo';
/** Where `custos demo` saves its customers' wallets in the home. */
export const DEMO_WALLETS_DIR = 'demo-wallets';
const DEMO_SCRYPT_N = 1 << 14;
const MAX_DEMO_WALLETS = 32;
const MAX_FILES = 2000;
const MAX_FILE_BYTES = 16 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The app talks only to this origin and loads nothing from elsewhere; React sets styles through the
 * DOM (allowed), never through inline `style` attributes in markup.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface WebFile {
  body: Buffer;
  type: string;
  immutable: boolean;
}

export interface WebOptions {
  /** The built app. Default `$CUSTOS_WEB_DIR`, else the `dist` folder of the installed `@custos/web`. */
  dir?: string;
}

/**
 * The `dist` folder of the installed web package, or undefined when the package is not installed
 * (a node without its web app still serves the whole API; `/` then says how to get the app).
 */
export function webDistDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${WEB_PACKAGE}/package.json`)), 'dist');
  } catch {
    return undefined;
  }
}

/**
 * The app's routes. Without a built app, `/` explains how to build it.
 *
 * @example
 * app.register(webRoutes, {}); // in createServer
 */
export const webRoutes: RoutePlugin<WebOptions> = async (app, opts) => {
  const dir = opts.dir ?? process.env.CUSTOS_WEB_DIR ?? webDistDir();
  const files = dir === undefined ? new Map<string, WebFile>() : readBuild(dir);
  const index = files.get('/index.html');
  const missing = dir === undefined ? NOT_INSTALLED : NOT_BUILT;

  const send = (reply: FastifyReply, f: WebFile) =>
    reply
      .header('content-type', f.type)
      .header('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', CSP)
      .send(f.body);

  const page = (reply: FastifyReply) => {
    if (index !== undefined) return send(reply, index);
    return reply
      .code(503)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(missing);
  };

  // The app's pages and files are not API operations: kept out of the OpenAPI document.
  app.get('/', { schema: { hide: true } }, async (_request, reply) => page(reply));

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const f = files.get(safeDecode(path));
    if (f !== undefined) return send(reply, f);
    const first = path.split('/')[1] ?? '';
    if ((APP_ROUTES as readonly string[]).includes(first)) return page(reply);
    return sendProblem(reply, problem('NOT_FOUND', `no route GET ${path.slice(0, 200)}`));
  });

  await app.register(demoWalletRoutes);
};

/** Every file of the build, by URL path. Hashed assets (under /assets/) never change. */
function readBuild(dir: string): Map<string, WebFile> {
  const out = new Map<string, WebFile>();
  if (!existsSync(join(dir, 'index.html'))) return out;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (out.size >= MAX_FILES) return;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && statSync(full).size <= MAX_FILE_BYTES) {
        const url = `/${relative(dir, full).split(sep).join('/')}`;
        out.set(url, {
          body: readFileSync(full),
          type: TYPES[extname(entry.name).toLowerCase()] ?? 'application/octet-stream',
          immutable: url.startsWith('/assets/'),
        });
      }
    }
  };
  walk(dir);
  return out;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

const notServed = (
  title: string,
  what: string,
) => `<!doctype html><html lang="en"><meta charset="utf-8"><title>Custos</title>
<body><main><h1>${title}</h1><p>${what} The API is served under <code>/v1/</code>.</p></main></body></html>`;
const NOT_BUILT = notServed(
  'The web app is not built yet',
  'Run <code>npm run build</code> (or <code>npm start</code>) and reload this page.',
);
const NOT_INSTALLED = notServed(
  'The web app is not installed',
  `Install <code>${WEB_PACKAGE}</code> beside this node, or point <code>CUSTOS_WEB_DIR</code> at a built copy, and restart the node.`,
);

// ---------------------------------------------------------------------------------------------
// Demo wallets

interface DemoEntry {
  mtimeMs: number;
  wallet: Promise<{ id: string; name: string; relationships: { org: string; label?: string }[]; export: unknown }>;
}

/**
 * `GET /v1/demo/wallets`: the demo customers `custos demo` saved in `<home>/demo-wallets/`, each
 * re-encrypted under the public demo passphrase (the home's own passphrase also guards the org keys
 * and never leaves the node). Served only by a demo home: one with demo wallets and a passphrase
 * the node can read; anywhere else it is a 404.
 */
const demoWalletRoutes: RoutePlugin = async (app) => {
  const node = app.custos;
  const home = dirname(node.store.db.name);
  const walletsDir = join(home, DEMO_WALLETS_DIR);
  const cache = new Map<string, DemoEntry>();

  app.get(
    '/v1/demo/wallets',
    {
      schema: {
        tags: ['customers'],
        summary: 'Demo customers',
        description:
          "Demo only (a node started with `custos demo`): the demo customers' wallets, each a passphrase-protected export under the public demo passphrase returned alongside, so the web app can offer 'try a demo customer'. A 404 on any other node.",
        querystring: noQuery(),
      },
      config: { problems: ['NOT_FOUND'] },
    },
    async (_request, reply) => {
      const passphrase = existsSync(walletsDir) ? findPassphrase({ home }) : undefined;
      if (passphrase === undefined) {
        return sendProblem(reply, problem('NOT_FOUND', 'this node does not run the demo: no demo customers here'));
      }
      const names = readdirSync(walletsDir)
        .filter((n) => /^[a-z0-9-]{1,32}\.json$/.test(n))
        .sort()
        .slice(0, MAX_DEMO_WALLETS);
      const customers = [];
      for (const name of names) {
        const path = join(walletsDir, name);
        const st = statSync(path);
        if (st.size > MAX_WALLET_EXPORT_BYTES) continue;
        let entry = cache.get(name);
        if (entry === undefined || entry.mtimeMs !== st.mtimeMs) {
          entry = { mtimeMs: st.mtimeMs, wallet: reEncrypt(path, name.slice(0, -5), passphrase, node.chainId) };
          cache.set(name, entry);
        }
        try {
          customers.push(await entry.wallet);
        } catch {
          // Still being written by the demo loader, or not a wallet of this home: try again next time.
          cache.delete(name);
        }
      }
      return reply.header('cache-control', 'no-store').send({ passphrase: DEMO_WALLET_PASSPHRASE, customers });
    },
  );
};

async function reEncrypt(path: string, id: string, passphrase: string, chainId: string) {
  const wallet = await importWallet(readFileSync(path, 'utf8'), passphrase, { signerFactory: nativeSigner });
  const relationships = wallet
    .relationships()
    .filter((r) => r.chainId === chainId)
    .map((r) => ({ org: r.orgId, ...(r.label === undefined ? {} : { label: r.label }) }));
  const exported = await exportWallet(wallet, DEMO_WALLET_PASSPHRASE, { scryptN: DEMO_SCRYPT_N });
  return { id, name: id.charAt(0).toUpperCase() + id.slice(1), relationships, export: exported };
}
