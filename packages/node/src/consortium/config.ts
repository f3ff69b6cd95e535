/**
 * A consortium peer's network configuration, `<home>/consortium.json`: this peer's id, the etcd
 * cluster and key prefix its chain is ordered under, and the HTTP APIs of the other peers (where it
 * catches up from). Checked like any file from outside.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NodeError } from '../errors.js';
import type { EtcdSecurity } from '../ordering/etcd.js';

export type { EtcdSecurity };

/** The consortium configuration's file in a peer's home (absent for a standalone peer). */
export const CONSORTIUM_FILE = 'consortium.json';
/** Largest consortium.json read (the same bound as the genesis file). */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConsortiumConfig {
  /** This peer's orderer instance name (unique in the consortium), e.g. its member id. */
  peerId: string;
  etcd: {
    endpoints: string[];
    /** Key prefix of the chain, e.g. `/custos/<chainId>`. */
    prefix: string;
    /**
     * TLS to etcd (`https://` endpoints): the CA that signed the etcd servers' certificates and,
     * for etcd's `--client-cert-auth`, this peer's client certificate and key. Paths are relative to
     * the home. The key may be an encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`): it is decrypted
     * with the home's keystore passphrase.
     */
    tls?: { ca: string; cert?: string; key?: string };
    /** etcd user authentication; the password is read from `passwordFile` (relative to the home). */
    auth?: { username: string; passwordFile: string };
  };
  /** Base URLs of the other peers' HTTP APIs, e.g. `https://peer.bank.example:7070`. */
  peers: string[];
  orderer?: { maxTxs?: number; maxWaitMs?: number; window?: number; maxTxnOps?: number };
  /**
   * How far ahead of this peer's clock a block may be dated, ms (default 30 s): a block dated later
   * is refused before it is executed or signed, and raises the clock alarm. Every peer of a
   * consortium should use the same value.
   */
  maxClockSkewMs?: number;
}

const ID = /^[\x21-\x7e]{1,128}$/;

export function parseConsortiumConfig(raw: unknown, where = 'consortium.json'): ConsortiumConfig {
  const bad = (m: string) => new NodeError('BAD_REQUEST', `${where}: ${m}`);
  if (typeof raw !== 'object' || raw === null) throw bad('expected an object');
  const c = raw as Record<string, unknown>;
  if (typeof c.peerId !== 'string' || !ID.test(c.peerId)) throw bad('expected peerId of 1-128 printable characters');
  const etcd = c.etcd as Record<string, unknown> | undefined;
  if (typeof etcd !== 'object' || etcd === null) throw bad('expected etcd: {endpoints, prefix}');
  const endpoints = etcd.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.length > 16 || !endpoints.every(isUrl)) {
    throw bad('expected etcd.endpoints as 1-16 http(s) URLs');
  }
  if (typeof etcd.prefix !== 'string' || !/^\/[\x21-\x7e]{1,200}$/.test(etcd.prefix)) {
    throw bad("expected etcd.prefix starting with '/'");
  }
  const peers = c.peers ?? [];
  if (!Array.isArray(peers) || peers.length > 64 || !peers.every(isUrl)) throw bad('expected peers as http(s) URLs');
  const out: ConsortiumConfig = {
    peerId: c.peerId,
    etcd: { endpoints: [...(endpoints as string[])], prefix: etcd.prefix },
    peers: [...(peers as string[])],
  };
  if (etcd.tls !== undefined) {
    const t = etcd.tls as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || !isPath(t.ca)) {
      throw bad('expected etcd.tls as {ca, cert, key}: paths of PEM files, relative to the home');
    }
    if (
      (t.cert === undefined) !== (t.key === undefined) ||
      (t.cert !== undefined && !(isPath(t.cert) && isPath(t.key)))
    ) {
      throw bad('expected etcd.tls.cert and etcd.tls.key together, as paths of PEM files');
    }
    if (!out.etcd.endpoints.every((e) => e.startsWith('https://'))) {
      throw bad('expected https:// etcd.endpoints with etcd.tls');
    }
    out.etcd.tls = {
      ca: t.ca as string,
      ...(t.cert === undefined ? {} : { cert: t.cert as string, key: t.key as string }),
    };
  } else if (out.etcd.endpoints.some((e) => e.startsWith('https://'))) {
    throw bad('expected etcd.tls (at least {ca}) with https:// etcd.endpoints');
  }
  if (etcd.auth !== undefined) {
    const a = etcd.auth as Record<string, unknown>;
    if (
      typeof a !== 'object' ||
      a === null ||
      typeof a.username !== 'string' ||
      !ID.test(a.username) ||
      !isPath(a.passwordFile)
    ) {
      throw bad('expected etcd.auth as {username, passwordFile}');
    }
    out.etcd.auth = { username: a.username, passwordFile: a.passwordFile as string };
  }
  if (c.orderer !== undefined) {
    const o = c.orderer as Record<string, unknown>;
    const n: NonNullable<ConsortiumConfig['orderer']> = {};
    for (const k of ['maxTxs', 'maxWaitMs', 'window', 'maxTxnOps'] as const) {
      const v = o[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
        throw bad(`expected orderer.${k} as a positive integer`);
      n[k] = v;
    }
    out.orderer = n;
  }
  if (c.maxClockSkewMs !== undefined) {
    const v = c.maxClockSkewMs;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1000 || v > 600_000) {
      throw bad('expected maxClockSkewMs as an integer number of milliseconds from 1000 to 600000');
    }
    out.maxClockSkewMs = v;
  }
  return out;
}

function isPath(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 1024 && !v.includes('\0');
}

const MAX_PEM_BYTES = 64 * 1024;

/**
 * Reads the TLS files and the password file named by `etcd.tls` / `etcd.auth` (relative to the
 * home); an encrypted client key is decrypted with `passphrase` and kept only in memory.
 */
export function loadEtcdSecurity(home: string, etcd: ConsortiumConfig['etcd'], passphrase: string): EtcdSecurity {
  const out: EtcdSecurity = {};
  const read = (what: string, rel: string): Buffer => {
    const path = resolve(home, rel);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new NodeError('NOT_FOUND', `consortium.json: no such file for ${what}: ${path}`);
    }
    if (size > MAX_PEM_BYTES)
      throw new NodeError('BAD_REQUEST', `consortium.json: ${what} ${path} is larger than ${MAX_PEM_BYTES} bytes`);
    return readFileSync(path);
  };
  if (etcd.tls !== undefined) {
    const credentials: NonNullable<EtcdSecurity['credentials']> = { rootCertificate: read('etcd.tls.ca', etcd.tls.ca) };
    if (etcd.tls.cert !== undefined && etcd.tls.key !== undefined) {
      credentials.certChain = read('etcd.tls.cert', etcd.tls.cert);
      const keyPem = read('etcd.tls.key', etcd.tls.key);
      const keyPath = resolve(home, etcd.tls.key);
      let key: KeyObject;
      try {
        key = createPrivateKey(
          keyPem.includes('ENCRYPTED PRIVATE KEY')
            ? { key: keyPem, format: 'pem', passphrase }
            : { key: keyPem, format: 'pem' },
        );
      } catch (cause) {
        throw new NodeError(
          'WRONG_PASSPHRASE',
          `cannot read the etcd client key ${keyPath}: expected a PEM private key, encrypted with this home's keystore passphrase`,
          { cause },
        );
      }
      credentials.privateKey = Buffer.from(key.export({ type: 'pkcs8', format: 'pem' }) as string);
    }
    out.credentials = credentials;
  }
  if (etcd.auth !== undefined) {
    const password = read('etcd.auth.passwordFile', etcd.auth.passwordFile)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (password.length === 0) throw new NodeError('BAD_REQUEST', 'consortium.json: etcd.auth.passwordFile is empty');
    out.auth = { username: etcd.auth.username, password };
  }
  return out;
}

function isUrl(v: unknown): v is string {
  if (typeof v !== 'string' || v.length > 512) return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The home's consortium configuration, or undefined for a standalone peer. */
export function loadConsortiumConfig(home: string): ConsortiumConfig | undefined {
  const path = join(home, CONSORTIUM_FILE);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    if (statSync(path).size > MAX_CONFIG_BYTES) throw new Error('file too large');
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new NodeError('BAD_REQUEST', `cannot read ${path} as JSON`, { cause });
  }
  return parseConsortiumConfig(raw, path);
}

/** Writes a consortium configuration into a home (checked first). */
export function writeConsortiumConfig(home: string, config: ConsortiumConfig): void {
  const checked = parseConsortiumConfig(config);
  writeFileSync(join(home, CONSORTIUM_FILE), `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o600 });
}
