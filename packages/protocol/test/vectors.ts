/**
 * Finds a set of standard test vectors: the project's own copy in `test/vectors/` (upstream layout
 * and licences, see its README), else `../shared/testvectors/` beside the project root. Without
 * either, a developer gets one SKIPPED line; CI (CI=true) must have them, so there it fails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const OWN_COPY = new URL('./vectors/', import.meta.url);
const SHARED = new URL('../../../../shared/testvectors/', import.meta.url);
const TESTVECTORS = existsSync(OWN_COPY) ? OWN_COPY : SHARED;

let reportedMissing = false;

/**
 * The folder of vector set `set` (e.g. `jcs`), or null after printing one SKIPPED line (one per
 * test file: when the whole shared/testvectors folder is missing, later sets skip silently).
 *
 * @example
 * const dir = vectorsDir('jcs');
 * describe.skipIf(dir === null)('RFC 8785 vectors', () => { ... });
 */
export function vectorsDir(set: string): URL | null {
  const dir = new URL(`${set}/`, TESTVECTORS);
  if (existsSync(dir)) return dir;
  if (process.env.CI === 'true') {
    throw new Error(`shared/testvectors/${set} not found at ${dir.pathname}; CI must run beside shared/`);
  }
  const rootMissing = !existsSync(TESTVECTORS);
  if (!(rootMissing && reportedMissing)) {
    console.log(`SKIPPED ${set} vectors: shared/testvectors${rootMissing ? '' : `/${set}`} not found`);
  }
  reportedMissing ||= rootMissing;
  return null;
}

/** Names of the files in `dir`/`sub` ending in `ext`, sorted. */
export function listVectors(dir: URL, sub: string, ext: string): string[] {
  return readdirSync(new URL(`${sub}/`, dir))
    .filter((f) => f.endsWith(ext))
    .sort();
}

export function readVectorBytes(dir: URL, path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(path, dir)));
}

export function readVectorText(dir: URL, path: string): string {
  return readFileSync(new URL(path, dir), 'utf8');
}
