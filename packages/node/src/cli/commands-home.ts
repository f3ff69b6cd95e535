/**
 * `custos init` (a new chain in a home directory), `custos keys new` (a user key), `custos keys
 * prove` (a new member key's proof of possession) and `custos keys evm ...` (commands-evm-keys.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomSecretKey } from '@custos/protocol/crypto';
import { MEMBER_KEY_ACTIONS, type MemberKeyAction, proveMemberKey } from '@custos/protocol/ledger';
import type { Command } from 'commander';
import { NodeError } from '../errors.js';
import { GENESIS_FILE, requirePassphrase, resolveHome } from '../home.js';
import { loadSigner, writeKeystore } from '../keys/keystore.js';
import { MEMBER_ID } from '../modules/member-state.js';
import { parseOrgs, parsePositiveInt } from './args.js';
import { registerEvmKeyCommands } from './commands-evm-keys.js';
import { initWithPassphrase } from './init.js';
import { output } from './output.js';

interface InitFlags {
  home?: string;
  chainId: string;
  orgs: string;
  threshold?: string;
  passphraseFile?: string;
  json?: boolean;
}

export function registerHomeCommands(program: Command): void {
  program
    .command('init')
    .description('create a chain: a key per org and the genesis, in the home directory')
    .option('--home <dir>', 'home directory (default $CUSTOS_HOME or ./.custos)')
    .option('--chain-id <id>', 'chain id', 'demo')
    .option('--orgs <list>', 'member orgs, comma-separated (id or id:Name)', 'bank,insurer,retailer')
    .option('--threshold <n>', 'members whose signatures make a quorum (default a majority)')
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--json', 'print one JSON document')
    .action((flags: InitFlags) => {
      const out = output(flags.json === true);
      const home = resolveHome(flags.home);
      const r = initWithPassphrase(out, {
        home,
        chainId: flags.chainId,
        orgs: parseOrgs(flags.orgs),
        ...(flags.threshold === undefined ? {} : { threshold: parsePositiveInt(flags.threshold, '--threshold') }),
        ...(flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile }),
      });
      const g = r.genesis;
      out.result(
        {
          home,
          genesisFile: join(home, GENESIS_FILE),
          chainId: g.chainId,
          threshold: g.threshold,
          members: g.members.map((m) => ({ id: m.id, name: m.name, did: m.keys[0], keyFile: r.keyFiles[m.id] })),
          ...(r.passphraseFile === undefined ? {} : { passphraseFile: r.passphraseFile }),
        },
        [
          `Initialized chain ${g.chainId} in ${home}: ${g.members.length} members, quorum ${g.threshold}.`,
          ...g.members.map((m) => `  ${m.id.padEnd(12)} ${m.keys[0]}`),
          'Start it with: custos node start',
        ],
      );
    });

  const keys = program.command('keys').description('manage keys');
  keys
    .command('new')
    .description('create a user key in an encrypted keystore file and print its did:key')
    .requiredOption('--out <file>', 'keystore file to create')
    .option('--passphrase-file <file>', 'file holding the passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--json', 'print one JSON document')
    .action((flags: { out: string; passphraseFile?: string; json?: boolean }) => {
      const out = output(flags.json === true);
      if (existsSync(flags.out)) throw new NodeError('BAD_REQUEST', `${flags.out} exists; refusing to overwrite a key`);
      const passphrase = requirePassphrase(
        flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile },
      );
      const did = writeKeystore(flags.out, randomSecretKey(), passphrase);
      out.result({ did, file: flags.out }, [`Created ${flags.out}`, `  ${did}`]);
    });
  keys
    .command('prove')
    .description(
      "sign a new member key's proof of possession, to send with governance admit/rotateKey or member.addKey",
    )
    .requiredOption('--key <file>', 'keystore file of the new key (the key that signs its own proof)')
    .requiredOption('--chain-id <id>', 'the chain the key is for')
    .requiredOption('--member <id>', 'the member org the key is for (the new member for admit)')
    .requiredOption('--action <action>', `where the key comes in: ${MEMBER_KEY_ACTIONS.join(', ')}`)
    .option('--passphrase-file <file>', 'file holding the passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--json', 'print one JSON document')
    .action(
      (flags: {
        key: string;
        chainId: string;
        member: string;
        action: string;
        passphraseFile?: string;
        json?: boolean;
      }) => {
        const out = output(flags.json === true);
        if (!(MEMBER_KEY_ACTIONS as readonly string[]).includes(flags.action)) {
          throw new NodeError('BAD_REQUEST', `expected --action as one of ${MEMBER_KEY_ACTIONS.join(', ')}`);
        }
        if (!MEMBER_ID.test(flags.member)) {
          throw new NodeError('BAD_REQUEST', 'expected --member as a member id (a-z, 0-9, -; at most 32)');
        }
        if (flags.chainId.length === 0 || flags.chainId.length > 64) {
          throw new NodeError('BAD_REQUEST', 'expected --chain-id of 1-64 characters');
        }
        const passphrase = requirePassphrase(
          flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile },
        );
        const p = proveMemberKey(loadSigner(flags.key, passphrase), {
          chainId: flags.chainId,
          member: flags.member,
          action: flags.action as MemberKeyAction,
        });
        out.result({ ...p, chainId: flags.chainId, member: flags.member, action: flags.action }, [
          `Proof of possession of ${p.key}`,
          `  for ${flags.action} of member '${flags.member}' on chain '${flags.chainId}':`,
          `  ${p.proof}`,
        ]);
      },
    );
  registerEvmKeyCommands(keys);
}
