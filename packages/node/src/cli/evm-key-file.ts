/**
 * `--evm-key-file FILE` of `custos relay`, `custos evm deploy` and `custos xtx lock`: the secret key
 * of the EVM account a command signs with itself, for a chain whose endpoint holds no accounts. The
 * file is an encrypted EVM keystore (`custos keys evm new --out FILE`); a plain `0x` hex key still
 * works, with a warning on stderr that says how to encrypt it.
 */
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { decryptEvmKey, type EvmKeystoreFile } from '../keys/keystore.js';

/** A keystore is some 400 bytes; a plain key 66. */
export const MAX_EVM_KEY_FILE_BYTES = 4096;

const WHAT = 'an EVM keystore (custos keys evm new) or an EVM secret key (0x and 64 hex digits)';
/** A secret key as viem takes it. */
export type Hex = `0x${string}`;

const PLAIN_KEY = /^0x[0-9a-fA-F]{64}$/;

export interface EvmKeyFileOptions {
  /** The passphrase; asked for only when the file is encrypted. */
  passphrase: () => string;
  /** Where the warning about a plain key goes (stderr). */
  warn: (line: string) => void;
}

/** The plain `0x` secret key in `file`, or `BAD_REQUEST` (never echoing what the file holds). */
export function readPlainEvmKey(file: string): Hex {
  const text = readBoundedFile(file, { what: WHAT, maxBytes: MAX_EVM_KEY_FILE_BYTES }).toString('utf8').trim();
  if (!PLAIN_KEY.test(text)) throw new NodeError('BAD_REQUEST', `expected ${file} to hold ${WHAT}`);
  return text as Hex;
}

/**
 * The secret key (`0x` hex) in an `--evm-key-file`: decrypted from a keystore, or read from a plain
 * file with a warning. `WRONG_PASSPHRASE` names the file and where the passphrase came from.
 */
export function readEvmKeyFile(file: string, o: EvmKeyFileOptions): Hex {
  const text = readBoundedFile(file, { what: WHAT, maxBytes: MAX_EVM_KEY_FILE_BYTES }).toString('utf8').trim();
  if (!text.startsWith('{')) {
    const key = readPlainEvmKey(file);
    o.warn(
      `warning: ${file} holds an EVM secret key unencrypted; encrypt it with \`custos keys evm new --import ${file} --out KEYSTORE\`, pass --evm-key-file KEYSTORE and delete ${file}`,
    );
    return key;
  }
  let doc: EvmKeystoreFile;
  try {
    doc = JSON.parse(text) as EvmKeystoreFile;
  } catch (cause) {
    throw new NodeError('BAD_KEYSTORE', `expected ${file} to hold ${WHAT}: it is not JSON`, { cause });
  }
  try {
    return `0x${Buffer.from(decryptEvmKey(doc, o.passphrase())).toString('hex')}`;
  } catch (e) {
    if (e instanceof NodeError && e.code === 'WRONG_PASSPHRASE') {
      throw new NodeError(
        'WRONG_PASSPHRASE',
        `cannot decrypt the EVM key in ${file}: wrong passphrase (from --passphrase-file or CUSTOS_PASSPHRASE) or damaged file`,
        { cause: e },
      );
    }
    if (e instanceof NodeError && e.code === 'BAD_KEYSTORE') {
      throw new NodeError('BAD_KEYSTORE', `expected ${file} to hold ${WHAT}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
