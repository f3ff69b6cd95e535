/**
 * `custos keys evm new | prove | register`: a member's secp256k1 key for EVM chains
 * (docs/interop.md#members-evm-keys), kept encrypted in the home as `keys/<org>-evm.json` (or any
 * file given with `--key`/`--out`; `new --import` encrypts a plain key file), its proof of
 * possession, and its registration on the ledger (`member.setEvmKey`, signed with the org's member
 * key).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { evmSecretKey, proveEvmKey } from '@custos/protocol/interop';
import { signTx } from '@custos/protocol/ledger';
import type { Command } from 'commander';
import { NodeError } from '../errors.js';
import { GENESIS_FILE, KEYS_DIR, loadOrgSigner, readGenesisFile, requirePassphrase, resolveHome } from '../home.js';
import { loadEvmKey, writeEvmKeystore } from '../keys/keystore.js';
import { MEMBER_ID } from '../modules/member-state.js';
import { parsePositiveInt } from './args.js';
import { NodeClient } from './client.js';
import { readPlainEvmKey } from './evm-key-file.js';
import { nodeOption } from './options.js';
import { output, TX_FAILED_EXIT } from './output.js';

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
}

/** Where a home keeps an org's EVM key. */
export function evmKeyFile(home: string, org: string): string {
  return join(home, KEYS_DIR, `${org}-evm.json`);
}

/** The member orgs of an initialized home whose keys it holds, in genesis order. */
export function homeMembers(home: string): { chainId: string; orgs: string[] } {
  const path = join(home, GENESIS_FILE);
  if (!existsSync(path))
    throw new NodeError('BAD_REQUEST', `expected an initialized home (custos init) in ${home}: no ${GENESIS_FILE}`);
  const g = readGenesisFile(path);
  const orgs = g.members.map((m) => m.id).filter((id) => existsSync(join(home, KEYS_DIR, `${id}.json`)));
  if (orgs.length === 0) throw new NodeError('BAD_REQUEST', `${home} holds no member key`);
  return { chainId: g.chainId, orgs };
}

interface KeyFlags {
  org?: string;
  key?: string;
  home?: string;
  passphraseFile?: string;
  json?: boolean;
}

function orgId(org: string, flag = '--org'): string {
  if (!MEMBER_ID.test(org))
    throw new NodeError('BAD_REQUEST', `expected ${flag} as a member id (a-z, 0-9, -; at most 32)`);
  return org;
}

/** The EVM keystore a command names: `--key FILE`, or `--org ID`'s file in the home. */
function keyPath(flags: KeyFlags, keyFlag: '--key' | '--out'): string {
  const file = keyFlag === '--key' ? flags.key : (flags as { out?: string }).out;
  if ((file === undefined) === (flags.org === undefined)) {
    throw new NodeError('BAD_REQUEST', `expected exactly one of ${keyFlag} FILE or --org ID`);
  }
  return file ?? evmKeyFile(resolveHome(flags.home), orgId(flags.org as string));
}

function passphraseOf(flags: KeyFlags): string {
  return requirePassphrase({
    ...(flags.org === undefined ? {} : { home: resolveHome(flags.home) }),
    ...(flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile }),
  });
}

function homeChainId(home: string): string | undefined {
  const path = join(home, GENESIS_FILE);
  return existsSync(path) ? readGenesisFile(path).chainId : undefined;
}

function keyOptions(cmd: Command): Command {
  return cmd
    .option('--org <id>', 'the org whose EVM key this is: keys/<org>-evm.json in the home')
    .option('--home <dir>', 'home directory for --org (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--json', 'print one JSON document');
}

export function registerEvmKeyCommands(keys: Command): void {
  const evm = keys.command('evm').description("a member's secp256k1 key for EVM chains (docs/interop.md)");

  keyOptions(
    evm
      .command('new')
      .description('create an EVM key in an encrypted keystore file and print its address')
      .option('--out <file>', 'keystore file to create (instead of --org)')
      .option('--import <file>', 'encrypt the 0x secret key in this plain file instead of creating one'),
  ).action((flags: KeyFlags & { out?: string; import?: string }) => {
    const out = output(flags.json === true);
    const path = keyPath(flags, '--out');
    if (existsSync(path)) throw new NodeError('BAD_REQUEST', `${path} exists; refusing to overwrite a key`);
    const passphrase = passphraseOf(flags);
    if (flags.org !== undefined) mkdirSync(join(resolveHome(flags.home), KEYS_DIR), { recursive: true, mode: 0o700 });
    const key = flags.import === undefined ? evmSecretKey() : hexToBytes(readPlainEvmKey(flags.import));
    const address = writeEvmKeystore(path, key, passphrase);
    out.result({ address, file: path }, [`Created ${path}`, `  EVM address ${address}`]);
  });

  keyOptions(
    evm
      .command('prove')
      .description(
        "sign an EVM key's proof of possession, for member.setEvmKey or the governance actions setEvmKey and admit",
      )
      .option('--key <file>', 'EVM keystore file (instead of --org)')
      .option('--member <id>', 'the member the key is for (default --org; the new member for admit)')
      .option('--chain-id <id>', "the Custos chain the key is for (default the home's chain with --org)"),
  ).action((flags: KeyFlags & { member?: string; chainId?: string }) => {
    const out = output(flags.json === true);
    const path = keyPath(flags, '--key');
    const member = orgId(flags.member ?? flags.org ?? '', '--member');
    const chainId = flags.chainId ?? (flags.org === undefined ? undefined : homeChainId(resolveHome(flags.home)));
    if (chainId === undefined || chainId.length === 0 || chainId.length > 64) {
      throw new NodeError('BAD_REQUEST', 'expected --chain-id of 1-64 characters (or --org in an initialized home)');
    }
    const { address, proof } = proveEvmKey(loadEvmKey(path, passphraseOf(flags)), { chainId, member });
    out.result({ address, proof, chainId, member }, [
      `Proof of possession of EVM key ${address}`,
      `  for member '${member}' on chain '${chainId}':`,
      `  ${proof}`,
    ]);
  });

  keyOptions(
    evm
      .command('register')
      .description("register or replace the org's EVM key on the ledger (member.setEvmKey, signed with its member key)")
      .addOption(nodeOption())
      .option('--wait-timeout <seconds>', 'longest wait for the commit (default 75)'),
  ).action(async (flags: KeyFlags & { node: string; waitTimeout?: string }) => {
    const out = output(flags.json === true);
    if (flags.org === undefined)
      throw new NodeError('BAD_REQUEST', 'expected --org ID: the org that registers its key');
    const org = orgId(flags.org);
    const home = resolveHome(flags.home);
    const passphrase = passphraseOf(flags);
    const signer = loadOrgSigner(home, org, passphrase);
    const evmKey = loadEvmKey(evmKeyFile(home, org), passphrase);
    const client = new NodeClient(flags.node);
    const { chainId } = await client.chain();
    const homeChain = homeChainId(home);
    if (homeChain !== chainId) {
      throw new NodeError(
        'BAD_REQUEST',
        `the node serves chain '${chainId}', but the home's genesis is for '${homeChain}'`,
      );
    }
    const { address, proof } = proveEvmKey(evmKey, { chainId, member: org });
    const signed = signTx({ chainId, type: 'member.setEvmKey', args: { address, proof } }, signer);
    const waitMs =
      flags.waitTimeout === undefined ? undefined : parsePositiveInt(flags.waitTimeout, '--wait-timeout') * 1000;
    const r = await client.submit(signed, true, waitMs);
    if (!('code' in r)) throw new NodeError('TIMEOUT', `transaction ${r.txId} not committed yet`);
    out.result({ ...r, org, address }, [
      `member.setEvmKey ${address} for '${org}': height ${r.height}, result ${r.code}${r.detail === undefined ? '' : `: ${r.detail}`}.`,
    ]);
    if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
  });
}
