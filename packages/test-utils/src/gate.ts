/**
 * Gates for tests that need a program from the system (etcd, Chromium). Without it, a test file is
 * skipped with one line on the console, so a developer sees what did not run; under CI=true the
 * gate throws instead, because a tier that silently skips in CI proves nothing.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The repository-relative path of a test file given its `import.meta.url`. */
export function testFileName(fileUrl: string): string {
  return relative(ROOT, fileURLToPath(fileUrl));
}

/**
 * True if `available`; else prints `SKIPPED: <file>: needs the <pkg> package` and returns false,
 * or throws when CI=true. Call once per test file, at load: `describe.skipIf(!gate(...))`.
 */
export function gate(available: boolean, fileUrl: string, pkg: string): boolean {
  if (available) return true;
  const line = `${testFileName(fileUrl)}: needs the ${pkg} package`;
  if (process.env.CI === 'true') throw new Error(`cannot run under CI=true: ${line}`);
  console.log(`SKIPPED: ${line}`);
  return false;
}
