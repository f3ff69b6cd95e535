/**
 * `custos wallet create|show|add|export|import`: the customer's wallet, one secret behind a
 * different identifier for each org. It is the customer's, not the node's.
 */
import { existsSync } from 'node:fs';
import { Wallet } from '@custos/protocol/wallet';
import type { Command } from 'commander';
import { nativeSigner } from '../../crypto/native.js';
import { NodeError } from '../../errors.js';
import { cliCommand } from '../../invocation.js';
import { parseScryptCost, readWalletFile, writeWalletFile } from '../../wallet/wallet-file.js';
import { output } from '../output.js';
import { chainContext, memberOrg } from './chain.js';
import { type ChainFlags, chainOptions, openWallet, type WalletFlags, walletOptions, walletSource } from './session.js';

export function registerWalletCommands(program: Command): void {
  const wallet = program
    .command('wallet')
    .description("your wallet: one secret, a different identifier for each org. It is yours, not the node's");

  walletOptions(
    wallet
      .command('create')
      .description('create a wallet file, encrypted with your passphrase')
      .option('--scrypt-cost <log2N>', 'scrypt cost as log2(N), 10-18 (default 17; lower only for tests)'),
  ).action(async (flags: WalletFlags & { scryptCost?: string }) => {
    const out = output(flags.json === true);
    const { path, passphrase } = walletSource(flags);
    if (existsSync(path)) throw new NodeError('BAD_REQUEST', `${path} exists; refusing to overwrite a wallet`);
    const scryptN = flags.scryptCost === undefined ? undefined : parseScryptCost(flags.scryptCost);
    await writeWalletFile(
      path,
      Wallet.create({ signerFactory: nativeSigner }),
      passphrase,
      scryptN === undefined ? {} : { scryptN },
    );
    out.result({ file: path }, [
      `Created your wallet in ${path}.`,
      `It holds the secret behind all your identifiers: keep it, and a backup (\`${cliCommand('wallet export')}\`), on your own device.`,
    ]);
  });

  walletOptions(
    wallet.command('show').description('the orgs you have a relationship with, and the identifier each knows you by'),
  ).action(async (flags: WalletFlags) => {
    const out = output(flags.json === true);
    const { wallet: w, path } = await openWallet(flags);
    const rels = w.relationships().map((r) => ({
      chainId: r.chainId,
      org: r.orgId,
      did: r.did,
      ...(r.label === undefined ? {} : { label: r.label }),
      createdAt: r.createdAt,
    }));
    out.result({ file: path, relationships: rels }, [
      `Your wallet ${path}: ${rels.length} relationship(s); each org knows you by a different identifier.`,
      ...rels.map(
        (r) => `  ${r.org.padEnd(12)} ${r.did}  ${r.chainId}${r.label === undefined ? '' : `  "${r.label}"`}`,
      ),
    ]);
  });

  chainOptions(
    wallet
      .command('add')
      .description('start a relationship with an org: prints the identifier to give it (and no other)')
      .argument('<org>', 'member org id')
      .option('--label <text>', 'your own name for it (stays in your wallet)'),
  ).action(async (org: string, flags: ChainFlags & { label?: string }) => {
    const out = output(flags.json === true);
    const ctx = await chainContext(flags, false);
    memberOrg(ctx, org);
    const session = await openWallet(flags);
    const rel =
      flags.label === undefined
        ? session.wallet.relationship(ctx.chainId, org)
        : session.wallet.addRelationship(ctx.chainId, org, flags.label);
    await session.save();
    out.result(
      { chainId: ctx.chainId, org, did: rel.did, ...(rel.label === undefined ? {} : { label: rel.label }) },
      `${org} knows you as ${rel.did}`,
    );
  });

  walletOptions(
    wallet
      .command('export')
      .description('write an encrypted backup of your wallet (same passphrase)')
      .requiredOption('--out <file>', 'backup file to create')
      .option('--scrypt-cost <log2N>', "scrypt cost as log2(N), 10-18 (default: the wallet file's)"),
  ).action(async (flags: WalletFlags & { out: string; scryptCost?: string }) => {
    const out = output(flags.json === true);
    const session = await openWallet(flags);
    const scryptN = flags.scryptCost === undefined ? session.scryptN : parseScryptCost(flags.scryptCost);
    await writeWalletFile(flags.out, session.wallet, session.passphrase, { scryptN });
    out.result(
      { file: flags.out, relationships: session.wallet.relationships().length },
      `Wrote an encrypted backup of your wallet to ${flags.out}; restore it with: ${cliCommand(`wallet import ${flags.out}`)}`,
    );
  });

  walletOptions(
    wallet
      .command('import')
      .description('restore a wallet from a backup into --wallet (same passphrase)')
      .argument('<file>', 'backup from `custos wallet export`')
      .option('--force', 'replace an existing wallet file'),
  ).action(async (file: string, flags: WalletFlags & { force?: boolean }) => {
    const out = output(flags.json === true);
    const { path, passphrase } = walletSource(flags);
    const { wallet: w, scryptN } = await readWalletFile(file, passphrase);
    await writeWalletFile(path, w, passphrase, { scryptN, overwrite: flags.force === true });
    out.result(
      { file: path, relationships: w.relationships().length },
      `Restored your wallet into ${path}: ${w.relationships().length} relationship(s).`,
    );
  });
}
