/**
 * The customer's wallet for one command: which file, the passphrase from its file or the
 * environment, and `save()` that rewrites the file only when a relationship was added or relabelled.
 * Also the flags every customer command takes.
 */
import type { Wallet } from '@custos/protocol/wallet';
import type { Command } from 'commander';
import { resolveHome } from '../../home.js';
import {
  type OpenedWallet,
  readWalletFile,
  WALLET_FILE,
  WALLET_PASSPHRASE_ENV,
  walletPassphrase,
  walletPath,
  writeWalletFile,
} from '../../wallet/wallet-file.js';
import { nodeOption } from '../options.js';

export interface WalletFlags {
  wallet?: string;
  walletPassphraseFile?: string;
  home?: string;
  json?: boolean;
}

export interface ChainFlags extends WalletFlags {
  genesis?: string;
  node: string;
}

export function walletOptions(cmd: Command): Command {
  return cmd
    .option(
      '--wallet <file>',
      `your wallet file (default <home>/${WALLET_FILE}). A real customer's wallet is theirs, kept on their own device, not on an org's node; the default suits demos and tests`,
    )
    .option('--wallet-passphrase-file <file>', `file holding the wallet passphrase (else $${WALLET_PASSPHRASE_ENV})`)
    .option('--home <dir>', 'home directory (default $CUSTOS_HOME or ./.custos)')
    .option('--json', 'print one JSON document');
}

export function chainOptions(cmd: Command): Command {
  return walletOptions(cmd)
    .option('--genesis <file>', "the chain's genesis.json, the only thing trusted (default <home>/genesis.json)")
    .addOption(nodeOption());
}

/** The wallet file and passphrase the flags name: `--wallet-passphrase-file` beats the environment. */
export function walletSource(flags: WalletFlags): { path: string; passphrase: string } {
  return {
    path: walletPath(flags.wallet, resolveHome(flags.home)),
    passphrase: walletPassphrase(
      flags.walletPassphraseFile === undefined ? {} : { passphraseFile: flags.walletPassphraseFile },
    ),
  };
}

export interface WalletSession extends OpenedWallet {
  path: string;
  passphrase: string;
  /** Rewrites the file if a relationship was added or relabelled. */
  save(): Promise<void>;
}

function snapshot(wallet: Wallet): string {
  return JSON.stringify(wallet.relationships().map((r) => [r.chainId, r.orgId, r.label ?? null]));
}

/** Unlocks the wallet file the flags name. */
export async function openWallet(flags: WalletFlags): Promise<WalletSession> {
  const { path, passphrase } = walletSource(flags);
  const opened = await readWalletFile(path, passphrase);
  let saved = snapshot(opened.wallet);
  return {
    ...opened,
    path,
    passphrase,
    async save() {
      const now = snapshot(opened.wallet);
      if (now === saved) return;
      await writeWalletFile(path, opened.wallet, passphrase, { scryptN: opened.scryptN, overwrite: true });
      saved = now;
    },
  };
}
