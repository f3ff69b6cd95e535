/**
 * A customer's wallet on disk: the passphrase-protected export of ADR 0003 (scrypt + AES-256-GCM),
 * read and rewritten by the customer commands. The wallet is the customer's, not the node's: the
 * default `<home>/wallet.json` suits demos and tests; a real customer keeps theirs on their own device.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  DEFAULT_SCRYPT_N,
  exportWallet,
  importWallet,
  MAX_SCRYPT_N,
  MAX_WALLET_EXPORT_BYTES,
  MIN_SCRYPT_N,
  type Wallet,
} from '@custos/protocol/wallet';
import { nativeSigner } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { cliCommand } from '../invocation.js';

export const WALLET_FILE = 'wallet.json';
export const WALLET_PASSPHRASE_ENV = 'CUSTOS_WALLET_PASSPHRASE';
const MAX_PASSPHRASE_BYTES = 1024;

/** The wallet file to use: `file` if given, else `<home>/wallet.json`. */
export function walletPath(file: string | undefined, home: string): string {
  return file ?? join(home, WALLET_FILE);
}

/**
 * The wallet passphrase: the passphrase file given (an explicit flag beats the environment), else
 * `$CUSTOS_WALLET_PASSPHRASE`.
 */
export function walletPassphrase(src: { passphraseFile?: string; env?: NodeJS.ProcessEnv }): string {
  const env = src.env ?? process.env;
  const fromEnv = env[WALLET_PASSPHRASE_ENV];
  if (src.passphraseFile === undefined && fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  if (src.passphraseFile === undefined) {
    throw new NodeError(
      'BAD_REQUEST',
      `expected a wallet passphrase: set ${WALLET_PASSPHRASE_ENV} or pass --wallet-passphrase-file FILE`,
    );
  }
  const text = readBoundedFile(src.passphraseFile, {
    what: 'a wallet passphrase',
    maxBytes: MAX_PASSPHRASE_BYTES,
  }).toString('utf8');
  // Editors and `echo` add a final newline that is not part of the passphrase.
  return text.replace(/\r?\n$/, '');
}

/** `--scrypt-cost` as log2(N): 10 to 18, the range the wallet export accepts. */
export function parseScryptCost(value: string): number {
  const lo = Math.log2(MIN_SCRYPT_N);
  const hi = Math.log2(MAX_SCRYPT_N);
  const n = /^[0-9]{1,2}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= lo && n <= hi)) {
    throw new NodeError(
      'BAD_REQUEST',
      `expected --scrypt-cost as log2(N) from ${lo} to ${hi}, got '${value.slice(0, 20)}'`,
    );
  }
  return 2 ** n;
}

export interface OpenedWallet {
  wallet: Wallet;
  /** scrypt N of the file, kept when the file is rewritten. */
  scryptN: number;
}

/** Reads and decrypts a wallet file (`NOT_FOUND`, `BAD_WALLET` or `WRONG_PASSPHRASE` otherwise). */
export async function readWalletFile(path: string, passphrase: string): Promise<OpenedWallet> {
  if (!existsSync(path)) {
    throw new NodeError('NOT_FOUND', `no wallet at ${path}; create one with \`${cliCommand('wallet create')}\``);
  }
  const text = readBoundedFile(path, { what: 'a wallet', maxBytes: MAX_WALLET_EXPORT_BYTES }).toString('utf8');
  const wallet = await importWallet(text, passphrase, { signerFactory: nativeSigner });
  // importWallet checked the file's shape, so kdf.N is a valid cost here.
  const scryptN = (JSON.parse(text) as { kdf: { N: number } }).kdf.N;
  return { wallet, scryptN };
}

/**
 * Encrypts `wallet` under `passphrase` into `path` (mode 0600). Without `overwrite`, refuses an
 * existing file; with it, replaces the file atomically (a crash leaves the old or the new one).
 */
export async function writeWalletFile(
  path: string,
  wallet: Wallet,
  passphrase: string,
  opts: { scryptN?: number; overwrite?: boolean } = {},
): Promise<void> {
  if (opts.overwrite !== true && existsSync(path)) {
    throw new NodeError('BAD_REQUEST', `${path} exists; refusing to overwrite a wallet`);
  }
  const doc = await exportWallet(wallet, passphrase, { scryptN: opts.scryptN ?? DEFAULT_SCRYPT_N });
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (opts.overwrite !== true) {
    try {
      writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
    } catch (cause) {
      throw new NodeError('BAD_REQUEST', `cannot create ${path}`, { cause });
    }
    return;
  }
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text, { flag: 'wx', mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (cause) {
    rmSync(tmp, { force: true });
    throw new NodeError('BAD_REQUEST', `cannot write ${path}`, { cause });
  }
}
