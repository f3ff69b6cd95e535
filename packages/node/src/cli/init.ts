/** A new home for `custos init` and `custos node start --init`: the chain, its keys, and a passphrase. */
import { join } from 'node:path';
import { NodeError } from '../errors.js';
import { findPassphrase, generateDemoPassphrase, initHome, isInitialized, PASSPHRASE_FILE } from '../home.js';
import type { Output } from './output.js';

export const DEMO_WARNING =
  'is a random passphrase for the keys of this home: fine for a demo, never for production ' +
  '(anyone who can read it can sign as these orgs). Set CUSTOS_PASSPHRASE or use --passphrase-file instead.';

/** Initializes a home, generating a demo passphrase file when no passphrase is given. */
export function initWithPassphrase(
  out: Output,
  opts: {
    home: string;
    chainId: string;
    orgs: { id: string; name: string }[];
    threshold?: number;
    passphraseFile?: string;
  },
) {
  if (isInitialized(opts.home)) throw new NodeError('ALREADY_INITIALIZED', `${opts.home} already holds a chain`);
  let passphrase = findPassphrase({
    home: opts.home,
    ...(opts.passphraseFile ? { passphraseFile: opts.passphraseFile } : {}),
  });
  let passphraseFile: string | undefined;
  if (passphrase === undefined) {
    passphrase = generateDemoPassphrase(opts.home);
    passphraseFile = join(opts.home, PASSPHRASE_FILE);
    out.note(`warning: ${passphraseFile} ${DEMO_WARNING}`);
  }
  const result = initHome({
    home: opts.home,
    chainId: opts.chainId,
    orgs: opts.orgs,
    passphrase,
    ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }),
  });
  return { ...result, passphraseFile };
}
