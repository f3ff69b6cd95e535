/**
 * Repository hygiene, checked on every run of the unit tier: source files stay small, the repository
 * refers to no file outside it, and the relative links of the docs resolve. The two allow-lists
 * are empty and meant to stay so: a file put on one must leave it once it no longer offends.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
const MAX_LINES = 500;

/** Source files allowed over MAX_LINES: none (split a file by responsibility instead). */
const OVER_LIMIT_ALLOWED: string[] = [];

// Built from parts so that this file does not name what it looks for.
const MISSING_DESIGN_DOC = ['DESIGN', 'md'].join('.');
const OUTSIDE_FOLDER = ['..', 'shared'].join('/');
/** The one outside path tests may name: the shared test vectors some test suites read. */
const OUTSIDE_ALLOWED = `${OUTSIDE_FOLDER}/testvectors`;

/** Files allowed to cite a design document outside this repository: none. */
const DESIGN_DOC_ALLOWED: string[] = [];

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
