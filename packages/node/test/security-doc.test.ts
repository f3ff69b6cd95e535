/**
 * docs/security.md is the index of the trust model's protections: every test named `trust #N: ...`
 * in the suite is listed there under its finding, and every finding lists at least one test. A new
 * protection without its line in the doc, or a doc line whose test was renamed away, fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name === 'dist') return [];
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** `it('trust #N: ...')` titles of every test file, with the file they are in. */
function trustTests(): { finding: number; title: string; file: string }[] {
  const out: { finding: number; title: string; file: string }[] = [];
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    let files: string[];
    try {
      files = testFiles(join(ROOT, 'packages', pkg, 'test'));
    } catch {
      continue;
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bit\(\s*(['"`])(trust #(\d+): (?:(?!\1).)*)\1/g)) {
        out.push({ finding: Number(m[3]), title: m[2]!.replace(/\\(['"`])/g, '$1'), file });
      }
    }
  }
  return out;
}

const doc = readFileSync(join(ROOT, 'docs', 'security.md'), 'utf8');
const flat = doc.replace(/\s+/g, ' ');

describe('docs/security.md', () => {
  const tests = trustTests();

  it('lists every trust test of the suite by its title and file', () => {
    expect(tests.length).toBeGreaterThan(30);
    const missing = tests.filter((t) => !flat.includes(t.title.replace(/\s+/g, ' ')));
    expect(missing.map((t) => `${t.file.slice(ROOT.length + 1)}: ${t.title}`)).toEqual([]);
    const files = [...new Set(tests.map((t) => t.file.slice(ROOT.length + 1)))];
    expect(files.filter((f) => !doc.includes(f))).toEqual([]);
  });

  it('has a section for each of the 20 findings, each with a threat, a protection and a test', () => {
    const sections = doc.split(/^### /m).slice(1);
    const numbers = sections.map((s) => Number(s.split('.')[0]));
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const [i, s] of sections.entries()) {
      expect(s, `finding ${i + 1}`).toMatch(/\*\*Threats?\.\*\*/);
      expect(s, `finding ${i + 1}`).toMatch(/\*\*Protections?\.\*\*/);
      expect(tests.some((t) => t.finding === i + 1 && s.replace(/\s+/g, ' ').includes(t.title))).toBe(true);
    }
  });

  it('states who is trusted for what', () => {
    for (const party of ['The public', 'A member org', 'orderer', 'etcd', 'node operator', 'relayer']) {
      expect(doc).toContain(party);
    }
  });
});
