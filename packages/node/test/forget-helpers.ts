/** Looking for a forgotten pseudonym in files (forget.test.ts, forget-consortium.test.ts). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every encoding of the pseudonym a file could hold it in: the did, its key's bytes raw, hex, base64url. */
export function pseudonymForms(did: string, publicKey: Uint8Array): { name: string; bytes: Buffer }[] {
  const key = Buffer.from(publicKey);
  return [
    { name: 'did', bytes: Buffer.from(did) },
    { name: 'multibase', bytes: Buffer.from(did.slice('did:key:'.length)) },
    { name: 'raw key', bytes: key },
    { name: 'hex key', bytes: Buffer.from(key.toString('hex')) },
    { name: 'base64url key', bytes: Buffer.from(key.toString('base64url')) },
    { name: 'JSON', bytes: Buffer.from(JSON.stringify(did)) },
  ];
}

/** Files under `dir` (recursively) holding one of `forms`, with which. */
export function scanFiles(dir: string, forms: { name: string; bytes: Buffer }[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      found.push(...scanFiles(path, forms));
      continue;
    }
    const data = readFileSync(path);
    for (const f of forms) if (data.includes(f.bytes)) found.push(`${entry}: ${f.name}`);
  }
  return found;
}
