/**
 * The one error registry and its documentation: docs/errors.md is exactly what `npm run
 * docs:errors` renders from ERROR_REGISTRY (so a new or changed code fails here until the doc is
 * regenerated), and every entry is complete: a 4xx/5xx status, a CLI exit code, a title, a one-line meaning.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_ERROR_CODES } from '@custos/protocol/errors';
import { RESULT_CODES } from '@custos/protocol/ledger';
import { describe, expect, it } from 'vitest';
import { renderErrorsDoc } from '../src/api/errors-doc.js';
import { ERROR_REGISTRY, NODE_ERROR_CODES } from '../src/errors.js';

const DOC = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));

describe('error registry', () => {
  it('covers every protocol and node code, and nothing else', () => {
    const all = new Set<string>([...PROTOCOL_ERROR_CODES, ...NODE_ERROR_CODES]);
    expect(Object.keys(ERROR_REGISTRY).sort()).toEqual([...all].sort());
  });

  it('gives every code a status, an exit code, a title and a one-line meaning', () => {
    for (const [code, e] of Object.entries(ERROR_REGISTRY)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(e.status, code).toBeGreaterThanOrEqual(400);
      expect(e.status, code).toBeLessThan(600);
      expect(Number.isInteger(e.exitCode) && e.exitCode > 0 && e.exitCode < 126, code).toBe(true);
      expect(e.title.length, code).toBeGreaterThan(0);
      expect(e.title.length, code).toBeLessThanOrEqual(60);
      expect(e.meaning.length, code).toBeGreaterThan(10);
      expect(e.meaning, code).not.toMatch(/\n/);
    }
  });
});

describe('docs/errors.md', () => {
  it('is in sync with the registry (regenerate with `npm run docs:errors`)', () => {
    expect(readFileSync(DOC, 'utf8')).toBe(renderErrorsDoc());
  });

  it('has one table row per code with its status, exit code, title and meaning', () => {
    const text = renderErrorsDoc();
    for (const [code, e] of Object.entries(ERROR_REGISTRY)) {
      const row = text.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      expect(row).toContain(`| ${e.status} | ${e.exitCode} |`);
      expect(row).toContain(e.title);
    }
  });
});

describe('transaction result codes', () => {
  it('first hour #5: every result code of the protocol is in docs/errors.md with its meaning', () => {
    const doc = readFileSync(DOC, 'utf8');
    const section = doc.slice(doc.indexOf('## Transaction result codes'));
    expect(section.length).toBeLessThan(doc.length);
    for (const code of RESULT_CODES) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      expect(row!.length, code).toBeGreaterThan(`| \`${code}\` | `.length + 10);
    }
  });
});
