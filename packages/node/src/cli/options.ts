/**
 * Options shared by the commands that talk to a node over HTTP: which node (`--node`), and the
 * credentials for reading what is not public (`--token`, `--as ORG`).
 */
import { type Command, Option } from 'commander';
import { NodeError } from '../errors.js';
import { type ClientAuth, DEFAULT_NODE_URL } from './client.js';

export function nodeOption(): Option {
  return new Option('--node <url>', 'node URL').env('CUSTOS_NODE').default(DEFAULT_NODE_URL);
}

/** Credentials for reading what is not public (docs/api.md, "Read access"). */
export interface ReadAuthFlags {
  token?: string;
  as?: string;
  home?: string;
  passphraseFile?: string;
}

/**
 * Adds `--token` (an org API token with `read`, or $CUSTOS_TOKEN) and `--as ORG` (sign each request
 * with that org's key from the home) to a command that reads the ledger. Without either, the node
 * answers what is public: headers, checkpoints, the member set, proofs for an id you know.
 */
export function readAuthOptions(cmd: Command, withHome = true): Command {
  cmd
    .addOption(new Option('--token <token>', "an org API token with 'read'").env('CUSTOS_TOKEN'))
    .option('--as <org>', "sign the requests with this org's key from the home directory");
  if (withHome) {
    cmd
      .option('--home <dir>', 'home directory for --as (default $CUSTOS_HOME or ./.custos)')
      .option('--passphrase-file <file>', 'file holding the keystore passphrase (else $CUSTOS_PASSPHRASE)');
  }
  return cmd;
}

/** The credentials `readAuthOptions` asked for, if any (the home's keystore is loaded only for `--as`). */
export async function readAuthOf(flags: ReadAuthFlags): Promise<ClientAuth> {
  if (flags.token !== undefined && flags.as !== undefined) {
    throw new NodeError('BAD_REQUEST', 'expected at most one of --token or --as ORG');
  }
  if (flags.token !== undefined) return { token: flags.token };
  if (flags.as === undefined) return {};
  const { loadOrgSigner, requirePassphrase, resolveHome } = await import('../home.js');
  const home = resolveHome(flags.home);
  const passFile = flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile };
  return { signer: loadOrgSigner(home, flags.as, requirePassphrase({ home, ...passFile })) };
}
