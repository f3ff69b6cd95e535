/**
 * The vaults of a home's orgs, opened where a peer runs them (`custos node start`, the demo): kept
 * apart from home.ts so that the commands that only read the home do not load SQLite.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalKms } from './kms.js';
import { Vault } from './vault.js';

export const VAULTS_DIR = 'vaults';

/**
 * The vault of every org whose key this home holds: `vaults/<org>.db` with its key-encryption key in
 * `vaults/<org>.kms.json` (created on first use, encrypted with the home's passphrase).
 */
export function openVaults(home: string, orgIds: Iterable<string>, passphrase: string): Map<string, Vault> {
  const dir = join(home, VAULTS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const vaults = new Map<string, Vault>();
  for (const org of orgIds) {
    const kmsPath = join(dir, `${org}.kms.json`);
    const kms = existsSync(kmsPath) ? LocalKms.open(kmsPath, passphrase) : LocalKms.create(kmsPath, passphrase);
    vaults.set(org, new Vault({ path: join(dir, `${org}.db`), kms, org }));
  }
  return vaults;
}
