/** Which key signs a transaction from the command line: a keystore file (`--key`) or an org's key in the home (`--org`). */
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import { NodeError } from '../errors.js';
import { GENESIS_FILE, loadOrgSigner, readGenesisFile, requirePassphrase, resolveHome } from '../home.js';
import { loadSigner } from '../keys/keystore.js';

export interface TxFlags {
  type?: string;
  args?: string;
  key?: string;
  org?: string;
  home?: string;
  passphraseFile?: string;
  node: string;
  wait: boolean;
  waitTimeout?: string;
  json?: boolean;
}

export function signerOf(flags: Pick<TxFlags, 'key' | 'org' | 'home' | 'passphraseFile'>): {
  signer: Signer;
  chainId?: string;
} {
  const passFile = flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile };
  if ((flags.key === undefined) === (flags.org === undefined)) {
    throw new NodeError('BAD_REQUEST', 'expected exactly one of --key FILE or --org ID');
  }
  if (flags.key !== undefined) return { signer: loadSigner(flags.key, requirePassphrase(passFile)) };
  const home = resolveHome(flags.home);
  const signer = loadOrgSigner(home, flags.org as string, requirePassphrase({ home, ...passFile }));
  return { signer, chainId: readGenesisFile(join(home, GENESIS_FILE)).chainId };
}
