/**
 * A small certificate authority for a local consortium's etcd (docs/adr/0010-etcd-tls.md): ECDSA
 * P-256 keys made with node:crypto, X.509 certificates signed by Debian's `openssl` binary (Node's
 * crypto parses certificates but cannot make them). The CA key exists on disk only encrypted under
 * a random one-time passphrase held in memory, and is deleted by `destroy()`: once the network's
 * certificates are issued, nobody can issue another one.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { NodeError } from '../errors.js';

/** The openssl binary: `$OPENSSL_BIN`, else `openssl` on the PATH. */
export function findOpenssl(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = env.OPENSSL_BIN
    ? [env.OPENSSL_BIN]
    : (env.PATH ?? '').split(delimiter).map((d) => join(d, 'openssl'));
  for (const c of candidates) if (existsSync(c)) return c;
  throw new NodeError(
    'NOT_FOUND',
    'no openssl binary on the PATH, needed to make the etcd certificates (Debian: apt-get install openssl)',
  );
}

const CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = custos
[ca_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

export interface IssueOptions {
  /** Subject common name; for a client, etcd's user name when etcd auth is enabled. */
  cn: string;
  /** `server`: an etcd member's client or peer listener (127.0.0.1 and localhost, also usable as a client); `client`: a peer. */
  kind: 'server' | 'client';
  certPath: string;
  keyPath: string;
  /** Encrypt the key file under this passphrase (PKCS#8 PBES2: PBKDF2 and AES-256-CBC). */
  keyPassphrase?: string;
  days?: number;
}

export class LocalCa {
  private destroyed = false;

  private constructor(
    private readonly openssl: string,
    private readonly workDir: string,
    private readonly pass: string,
    /** PEM of the CA certificate. */
    readonly certPath: string,
  ) {}

  /** Makes a CA in `dir` (`ca.crt`); its key stays encrypted in a scratch file until `destroy()`. */
  static create(dir: string, name = 'Custos local etcd CA'): LocalCa {
    const openssl = findOpenssl();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const workDir = join(dir, `.ca-${randomBytes(6).toString('hex')}`);
    mkdirSync(workDir, { mode: 0o700 });
    const pass = randomBytes(32).toString('base64url');
    const ca = new LocalCa(openssl, workDir, pass, join(dir, 'ca.crt'));
    try {
      writeFileSync(join(workDir, 'openssl.cnf'), CONFIG, { mode: 0o600 });
      ca.writeScratchKey('ca.key');
      ca.run([
        'req',
        '-x509',
        '-new',
        '-sha256',
        '-days',
        '3650',
        '-config',
        join(workDir, 'openssl.cnf'),
        '-extensions',
        'ca_ext',
        '-key',
        join(workDir, 'ca.key'),
        '-passin',
        'env:CUSTOS_PKI_PASS',
        '-subj',
        `/CN=${name}`,
        '-out',
        ca.certPath,
      ]);
    } catch (e) {
      ca.destroy();
      throw e;
    }
    return ca;
  }

  /** Issues a certificate with a fresh P-256 key. */
  issue(opts: IssueOptions): void {
    if (this.destroyed) throw new Error('the CA was destroyed');
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.cn))
      throw new TypeError('expected a common name of letters, digits, . _ -');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const scratch = `leaf-${randomBytes(6).toString('hex')}.key`;
    // openssl reads the new key from a scratch file encrypted like the CA key (one -passin for both).
    writeFileSync(
      join(this.workDir, scratch),
      privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: this.pass }),
      { mode: 0o600 },
    );
    try {
      this.run([
        'req',
        '-x509',
        '-new',
        '-sha256',
        '-days',
        String(opts.days ?? 825),
        '-config',
        join(this.workDir, 'openssl.cnf'),
        '-extensions',
        opts.kind === 'server' ? 'server_ext' : 'client_ext',
        '-key',
        join(this.workDir, scratch),
        '-passin',
        'env:CUSTOS_PKI_PASS',
        '-CA',
        this.certPath,
        '-CAkey',
        join(this.workDir, 'ca.key'),
        '-subj',
        `/CN=${opts.cn}`,
        '-out',
        opts.certPath,
      ]);
    } finally {
      rmSync(join(this.workDir, scratch), { force: true });
    }
    const pem =
      opts.keyPassphrase === undefined
        ? privateKey.export({ type: 'pkcs8', format: 'pem' })
        : privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: opts.keyPassphrase });
    writeFileSync(opts.keyPath, pem, { mode: 0o600 });
  }

  /** Deletes the CA key (and the scratch directory): no certificate can be issued afterwards. */
  destroy(): void {
    this.destroyed = true;
    rmSync(this.workDir, { recursive: true, force: true });
  }

  private writeScratchKey(name: string): void {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(
      join(this.workDir, name),
      privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: this.pass }),
      { mode: 0o600 },
    );
  }

  private run(args: string[]): void {
    try {
      execFileSync(this.openssl, args, {
        env: { ...process.env, CUSTOS_PKI_PASS: this.pass },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 30_000,
      });
    } catch (cause) {
      const stderr = String((cause as { stderr?: Buffer }).stderr ?? '').slice(0, 500);
      throw new NodeError('INTERNAL', `openssl ${args[0]} failed: ${stderr}`, { cause });
    }
  }
}
