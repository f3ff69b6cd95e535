/**
 * Golden files: expected output kept in the repository. A test compares against the stored file and
 * fails when it is missing or differs. Goldens are written only on request (UPDATE_GOLDEN=1), and
 * never under CI=true, so a test can never pass by writing its own expectation.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const pathOf = (p: string | URL): string => (typeof p === 'string' ? p : fileURLToPath(p));

/** True when the developer asked to rewrite goldens; refuses under CI. */
export function updatingGoldens(): boolean {
  if (process.env.UPDATE_GOLDEN !== '1') return false;
  if (process.env.CI === 'true')
    throw new Error('UPDATE_GOLDEN=1 is refused under CI=true: goldens are reviewed, not generated in CI');
  return true;
}

/**
 * Asserts that `actual` equals the golden file at `path` (UTF-8 text). With UPDATE_GOLDEN=1 (not
 * under CI) the file is written first. A missing golden fails with how to create it.
 */
export function expectGolden(file: string | URL, actual: string): void {
  const path = pathOf(file);
  if (updatingGoldens()) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  if (!existsSync(path)) {
    throw new Error(`golden file missing: ${path} (create it with UPDATE_GOLDEN=1 and review the diff)`);
  }
  expect(actual, `differs from the golden file ${path} (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(path, 'utf8'));
}

/** Reads a golden file, failing (not creating it) when it is missing. */
export function readGolden(file: string | URL): string {
  const path = pathOf(file);
  if (!existsSync(path)) {
    throw new Error(`golden file missing: ${path} (create it with UPDATE_GOLDEN=1 and review the diff)`);
  }
  return readFileSync(path, 'utf8');
}

/** The golden text of a JSON value: two-space indented with a final newline (field order counts). */
export const goldenJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
