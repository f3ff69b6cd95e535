/**
 * Repository hygiene, checked on every run of the unit tier: source files stay small, the repository
 * refers to no file outside it, and the relative links of the docs resolve. The two allow-lists
 * hold today's offenders; they may only shrink: a listed file that no longer offends fails the test
 * until it is taken off the list.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
const MAX_LINES = 500;

/** Source files over MAX_LINES today; the lead empties this list as the files are split. */
const OVER_LIMIT_ALLOWED = [
  'packages/node/src/api/routes-orgs.ts',
  'packages/node/src/cli/commands-customer.ts',
  'packages/node/src/consortium/launcher.ts',
  'packages/node/src/demo/customers.ts',
  'packages/node/src/interop/relayer.ts',
  'packages/node/src/node.ts',
  'packages/node/src/ordering/etcd-proposer.ts',
  'packages/node/src/vault/vault.ts',
  'packages/protocol/src/consent/exports.ts',
  'packages/sdk/src/client.ts',
  'packages/web/src/console/members.tsx',
  'packages/web/src/explorer/explorer.tsx',
  'packages/web/src/styles.css',
];

// Built from parts so that this file does not name what it looks for.
const MISSING_DESIGN_DOC = ['DESIGN', 'md'].join('.');
const OUTSIDE_FOLDER = ['..', 'shared'].join('/');
/** The one outside path tests may name: the shared test vectors some test suites read. */
const OUTSIDE_ALLOWED = `${OUTSIDE_FOLDER}/testvectors`;

/** Files that still cite the design document outside this repository; the docs work empties it. */
const DESIGN_DOC_ALLOWED = [
  'docs/adr/0002-state-map.md',
  'docs/adr/0003-wallet-keys.md',
  'docs/adr/0004-vault-crypto-shredding.md',
  'docs/adr/0005-api-platform.md',
  'docs/adr/0006-etcd-ordering.md',
  'docs/adr/0007-web-app.md',
  'docs/adr/0008-cross-chain.md',
  'docs/adr/0009-consortium-finality.md',
  'docs/api.md',
  'docs/architecture.md',
  'docs/operations.md',
  'packages/node/src/api/limits.ts',
  'packages/node/src/api/routes-subject.ts',
  'packages/node/src/api/server.ts',
  'packages/node/src/cli/commands-relay.ts',
  'packages/node/src/consortium/catch-up.ts',
  'packages/node/src/consortium/quorum.ts',
  'packages/node/src/consortium/snapshot.ts',
  'packages/node/src/governance/policy.ts',
  'packages/node/src/interop/relayer.ts',
  'packages/node/src/modules/consent.ts',
  'packages/node/src/modules/data.ts',
  'packages/node/src/modules/gov.ts',
  'packages/node/src/modules/interop.ts',
  'packages/node/src/modules/request.ts',
  'packages/node/src/modules/xtx.ts',
  'packages/node/src/node.ts',
  'packages/node/src/ordering/etcd.ts',
  'packages/node/src/ordering/orderer.ts',
  'packages/node/test/catch-up.test.ts',
  'packages/node/test/xtx.test.ts',
  'packages/protocol/src/consent/exports.ts',
  'packages/protocol/src/consent/receipt.ts',
  'packages/protocol/src/interop/light-client.ts',
  'packages/protocol/src/interop/xtx.ts',
  'packages/protocol/src/ledger/block.ts',
  'packages/protocol/src/ledger/checkpoint.ts',
  'packages/protocol/src/ledger/tx.ts',
  'packages/protocol/src/wallet/pairwise.ts',
  'packages/protocol/src/wallet/wallet.ts',
  'packages/protocol/test/interop.test.ts',
  'packages/sdk/src/client.ts',
  'packages/sdk/src/xtx.ts',
];

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'test-results']);

/** Repository-relative paths of the files under `dir`, skipping build output and dependencies. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    if (SKIP_DIRS.has(name)) continue;
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...walk(rel));
    else out.push(rel);
  }
  return out;
}

const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
const isText = (rel: string) => /\.(ts|tsx|mts|mjs|cjs|js|css|md|json|html)$/.test(rel);

describe('repository hygiene', () => {
  const packages = readdirSync(join(ROOT, 'packages'));
  const sources = packages
    .filter((p) => existsSync(join(ROOT, 'packages', p, 'src')))
    .flatMap((p) => walk(join('packages', p, 'src')))
    .filter((f) => /\.(ts|tsx|css)$/.test(f));
  const scanned = [...walk('packages'), ...walk('docs')].filter((f) => isText(f) && f !== SELF);

  it(`keeps source files at ${MAX_LINES} lines or fewer (the allow-list only shrinks)`, () => {
    const over = sources.filter((f) => lineCount(read(f)) > MAX_LINES).sort();
    expect(
      over.filter((f) => !OVER_LIMIT_ALLOWED.includes(f)),
      `over ${MAX_LINES} lines: split by responsibility`,
    ).toEqual([]);
    expect(
      OVER_LIMIT_ALLOWED.filter((f) => !over.includes(f)),
      'no longer over the limit (or gone): take it off OVER_LIMIT_ALLOWED',
    ).toEqual([]);
  });

  it('cites no design document outside the repository (the allow-list only shrinks)', () => {
    const citing = scanned.filter((f) => read(f).includes(MISSING_DESIGN_DOC)).sort();
    expect(
      citing.filter((f) => !DESIGN_DOC_ALLOWED.includes(f)),
      'link docs/architecture.md or an ADR instead',
    ).toEqual([]);
    expect(
      DESIGN_DOC_ALLOWED.filter((f) => !citing.includes(f)),
      'no longer cites it (or gone): take it off DESIGN_DOC_ALLOWED',
    ).toEqual([]);
  });

  it('refers to no folder outside the repository, except tests reading the shared test vectors', () => {
    const outside = scanned.filter((f) => {
      const text = read(f);
      const inTests = /^packages\/[^/]+\/test\//.test(f);
      return text.split(OUTSIDE_FOLDER).length - 1 > (inTests ? text.split(OUTSIDE_ALLOWED).length - 1 : 0);
    });
    expect(outside).toEqual([]);
  });

  it('has relative links in docs/*.md and README.md that resolve to files', () => {
    const docs = [
      ...readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
      'README.md',
    ];
    const broken: string[] = [];
    for (const doc of docs) {
      for (const m of read(doc).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const path = decodeURIComponent(target.split('#')[0]!);
        if (!existsSync(join(ROOT, dirname(doc), path))) broken.push(`${doc} -> ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
