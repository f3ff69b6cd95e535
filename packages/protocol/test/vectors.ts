/**
 * Reads the standard test vectors kept in `test/vectors/` (upstream layout and licences, see its
 * README). They are part of the repository, so a missing set is an error, never a skip.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TESTVECTORS = new URL('./vectors/', import.meta.url);

/** The folder of vector set `set` (e.g. `jcs`). */
export function vectorsDir(set: string): URL {
  const dir = new URL(`${set}/`, TESTVECTORS);
  if (!existsSync(dir)) throw new Error(`test vectors '${set}' missing from ${TESTVECTORS.pathname}`);
  return dir;
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
