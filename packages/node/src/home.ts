/**
 * A peer's home directory: `genesis.json`, `keys/<orgId>.json` (encrypted keystores), `node.db`, and
 * for a consortium peer `consortium.json` (etcd cluster, peer id, the other peers' APIs).
 * Default `.custos/` under the working directory, or `$CUSTOS_HOME`. The keystores' passphrase
 * comes from `$CUSTOS_PASSPHRASE`, a passphrase file, or (demo homes only) `<home>/passphrase`.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { didFromPublicKey, publicKeyOf, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { NodeError } from './errors.js';
import { readBoundedFile } from './files.js';
import { type Genesis, makeGenesis, parseGenesis } from './genesis.js';
import { cliCommand } from './invocation.js';
import { loadSigner, writeKeystore } from './keys/keystore.js';
import { MEMBER_ID } from './modules/member-state.js';

export const GENESIS_FILE = 'genesis.json';
export const KEYS_DIR = 'keys';
export const DB_FILE = 'node.db';
export const PASSPHRASE_FILE = 'passphrase';
const MAX_GENESIS_BYTES = 1024 * 1024;
const MAX_PASSPHRASE_BYTES = 1024;

/** The home directory to use: `home` if given, else `$CUSTOS_HOME`, else `./.custos`. */
export function resolveHome(home?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CUSTOS_HOME !== undefined && env.CUSTOS_HOME.length > 0 ? env.CUSTOS_HOME : undefined;
  const dir = home ?? fromEnv ?? '.custos';
  return isAbsolute(dir) ? dir : resolve(process.cwd(), dir);
}

export function isInitialized(home: string): boolean {
  return existsSync(join(home, GENESIS_FILE));
}

export interface PassphraseSource {
  home?: string;
  passphraseFile?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The keystore passphrase: the passphrase file given (an explicit flag beats the environment),
 * else `$CUSTOS_PASSPHRASE`, else `<home>/passphrase` (written by a demo `init`). Undefined if
 * there is none.
 */
export function findPassphrase(src: PassphraseSource): string | undefined {
  const env = src.env ?? process.env;
  if (src.passphraseFile !== undefined) return readPassphraseFile(src.passphraseFile);
  if (env.CUSTOS_PASSPHRASE !== undefined && env.CUSTOS_PASSPHRASE.length > 0) return env.CUSTOS_PASSPHRASE;
  if (src.home !== undefined && existsSync(join(src.home, PASSPHRASE_FILE))) {
    return readPassphraseFile(join(src.home, PASSPHRASE_FILE));
  }
  return undefined;
}

/** Like `findPassphrase`, but says what to do when there is none. */
export function requirePassphrase(src: PassphraseSource): string {
  const p = findPassphrase(src);
  if (p === undefined) {
    throw new NodeError('BAD_REQUEST', 'expected a passphrase: set CUSTOS_PASSPHRASE or pass --passphrase-file FILE');
  }
  return p;
}

function readPassphraseFile(path: string): string {
  const text = readBoundedFile(path, { what: 'a passphrase', maxBytes: MAX_PASSPHRASE_BYTES }).toString('utf8');
  // Editors and `echo` add a final newline that is not part of the passphrase.
  return text.replace(/\r?\n$/, '');
}

/** A random passphrase written to `<home>/passphrase` (mode 0600): for demos, never for production. */
export function generateDemoPassphrase(home: string): string {
  const passphrase = randomBytes(24).toString('base64url');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = join(home, PASSPHRASE_FILE);
  writeFileSync(path, `${passphrase}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return passphrase;
}

export interface InitOptions {
  home: string;
  chainId: string;
  orgs: { id: string; name: string }[];
  passphrase: string;
  /** Members whose signatures make a quorum; default a majority. */
  threshold?: number;
  /** Genesis time (ms); default now. */
  time?: number;
  params?: Partial<Genesis['params']>;
}

export interface InitResult {
  home: string;
  genesis: Genesis;
  /** Keystore path of each org's first key. */
  keyFiles: Record<string, string>;
}

/**
 * Creates a home: one Ed25519 key per org (encrypted under `passphrase`) and the genesis naming
 * them. Refuses a home that already has a genesis (`ALREADY_INITIALIZED`).
 */
export function initHome(opts: InitOptions): InitResult {
  const { home } = opts;
  if (isInitialized(home)) throw new NodeError('ALREADY_INITIALIZED', `${home} already holds a chain`);
  if (opts.orgs.length === 0) throw new NodeError('BAD_REQUEST', 'expected at least one org');
  for (const o of opts.orgs) {
    if (!MEMBER_ID.test(o.id))
      throw new NodeError('BAD_REQUEST', `expected org ids of 1-32 characters [a-z0-9-], got '${o.id.slice(0, 40)}'`);
  }
  if (opts.passphrase.length < 8) throw new NodeError('BAD_REQUEST', 'expected a passphrase of at least 8 characters');
  // Everything is checked (makeGenesis) before anything is written.
  const keys = opts.orgs.map((o) => {
    const secretKey = randomSecretKey();
    return { org: o, secretKey, did: didFromPublicKey(publicKeyOf(secretKey)) };
  });
  const genesis = makeGenesis({
    chainId: opts.chainId,
    members: keys.map(({ org, did }) => ({ id: org.id, name: org.name, keys: [did] })),
    ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }),
    ...(opts.time === undefined ? {} : { time: opts.time }),
    ...(opts.params === undefined ? {} : { params: opts.params }),
  });
  mkdirSync(join(home, KEYS_DIR), { recursive: true, mode: 0o700 });
  const keyFiles: Record<string, string> = {};
  for (const { org, secretKey } of keys) {
    const path = join(home, KEYS_DIR, `${org.id}.json`);
    writeKeystore(path, secretKey, opts.passphrase);
    keyFiles[org.id] = path;
  }
  // Written last, and only if absent: a home counts as initialized once its genesis exists.
  try {
    writeFileSync(join(home, GENESIS_FILE), `${JSON.stringify(genesis, null, 2)}\n`, { flag: 'wx' });
  } catch (cause) {
    throw new NodeError('ALREADY_INITIALIZED', `${home} already holds a chain`, { cause });
  }
  return { home, genesis, keyFiles };
}

/** Reads and checks a genesis file (`BAD_GENESIS` if it is not one). */
export function readGenesisFile(path: string): Genesis {
  const text = readBoundedFile(path, {
    what: 'a genesis file',
    maxBytes: MAX_GENESIS_BYTES,
    code: 'BAD_GENESIS',
  }).toString('utf8');
  try {
    return parseGenesis(JSON.parse(text));
  } catch (cause) {
    if (cause instanceof NodeError) throw cause;
    throw new NodeError('BAD_GENESIS', `expected JSON in ${path}`, { cause });
  }
}

export interface LoadedHome {
  genesis: Genesis;
  /** Every member key this home holds, decrypted: the checkpoint signers of its peer. */
  signers: Signer[];
  /** Signer by org id, for submitting as an org. */
  orgSigners: Map<string, Signer>;
  dbPath: string;
}

/** Opens a home: its genesis, the member keys it holds (decrypted with `passphrase`) and its database path. */
export function loadHome(home: string, passphrase: string): LoadedHome {
  if (!isInitialized(home)) {
    throw new NodeError('NOT_INITIALIZED', `no chain in ${home}; run \`${cliCommand('init')}\` first`);
  }
  const genesis = readGenesisFile(join(home, GENESIS_FILE));
  const orgSigners = new Map<string, Signer>();
  for (const m of genesis.members) {
    const path = join(home, KEYS_DIR, `${m.id}.json`);
    if (existsSync(path)) orgSigners.set(m.id, loadOrgKey(path, m.id, m.keys, passphrase));
  }
  return { genesis, signers: [...orgSigners.values()], orgSigners, dbPath: join(home, DB_FILE) };
}

/** The signer of one org of a home. */
export function loadOrgSigner(home: string, orgId: string, passphrase: string): Signer {
  if (!isInitialized(home)) {
    throw new NodeError(
      'NOT_INITIALIZED',
      `no chain in ${home}; run \`${cliCommand('init')}\` first (or set CUSTOS_HOME to the node's home)`,
    );
  }
  const genesis = readGenesisFile(join(home, GENESIS_FILE));
  const member = genesis.members.find((m) => m.id === orgId);
  if (member === undefined || !MEMBER_ID.test(orgId)) {
    throw new NodeError('NOT_FOUND', `no org '${orgId.slice(0, 40)}' in the genesis of ${home}`);
  }
  const path = join(home, KEYS_DIR, `${orgId}.json`);
  if (!existsSync(path)) throw new NodeError('NOT_FOUND', `no key of org '${orgId}' in ${join(home, KEYS_DIR)}`);
  return loadOrgKey(path, orgId, member.keys, passphrase);
}

function loadOrgKey(path: string, orgId: string, keys: string[], passphrase: string): Signer {
  const signer = loadSigner(path, passphrase, `org '${orgId}'`);
  if (!keys.includes(didFromPublicKey(signer.publicKey))) {
    throw new NodeError('BAD_KEYSTORE', `${path} holds a key that genesis does not list for org '${orgId}'`);
  }
  return signer;
}
