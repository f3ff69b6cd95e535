/**
 * `custos network` as an operator runs it, with real processes (one 3-member etcd cluster with
 * mutual TLS, three peer processes, driven through the built CLI), in a few scenarios on one network
 * to keep the process count small:
 *
 * - trust #2: etcd takes only clients with a certificate from the network's CA; the peers order and
 *   finalize blocks over mutual TLS; no CA key is left on disk and peers' client keys are encrypted.
 * - first hour #2: a second node on a home that a running node holds exits at once with HOME_IN_USE;
 *   after the first is SIGKILLed, a new one starts (the kernel released the lock).
 * - first hour #3: restart-peer of a dead peer and of a live one works and waits for readiness; with
 *   the passphrase missing it exits non-zero with the reason and leaves no process; `down` leaves none.
 * - trust #13: a failed `up` stops what it started; a stopped network starts again on its own data
 *   and ports; what was written before is read back and new writes commit.
 * - the restore recipe of docs/operations.md: a peer restored into a fresh home from a backup and the
 *   files the recipe lists starts and catches up.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SignedTx } from '@custos/protocol/ledger';
import { waitUntil as pollUntil } from '@custos/test-utils';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { Etcd3, type IOptions, Range } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConsortiumConfig, loadEtcdSecurity, parseConsortiumConfig } from '../src/consortium/config.js';
import { ETCD_CA_FILE, ETCD_CLIENT_CERT_FILE, ETCD_CLIENT_KEY_FILE } from '../src/consortium/launcher.js';
import type { NetworkState } from '../src/consortium/network-file.js';
import { openConsortiumNode } from '../src/consortium/peer-node.js';
import { LocalCa } from '../src/consortium/pki.js';
import type { CustosNode } from '../src/node.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const CLI = fileURLToPath(new URL('../dist/bin/custos.js', import.meta.url));

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (no CUSTOS_* variables); never throws. */
function custos(args: string[], timeoutMs = 120_000): Promise<Run> {
  const env = { ...process.env };
  for (const k of ['CUSTOS_PASSPHRASE', 'CUSTOS_HOME', 'PORT', 'HOST']) delete env[k];
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      res({ status: err === null ? 0 : typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await custos(args);
  if (r.status !== 0) throw new Error(`custos ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API under test, read field by field
async function getJson(url: string): Promise<any> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return r.json();
}

async function post(
  url: string,
  t: SignedTx,
): Promise<{ status: number; body: { txId: string; height: number; code: string } }> {
  const r = await fetch(`${url}/v1/txs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(t),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: r.status, body: (await r.json()) as { txId: string; height: number; code: string } };
}

/** Polls every 100 ms: each check is an HTTP request to a peer process. */
const waitUntil = (cond: () => Promise<boolean>, ms: number) => pollUntil(cond, ms, 'condition', 100);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process on this machine whose command line mentions `text` (from /proc). */
function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text)) out.push(Number(d));
    } catch {}
  }
  return out;
}

function network(dir: string): NetworkState {
  return JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8')) as NetworkState;
}

describe('consortium.json etcd security', () => {
  const base = { peerId: 'bank', peers: [] };
  it('trust #2: takes TLS files and user auth for etcd, and refuses a half or inconsistent setting', () => {
    const c = parseConsortiumConfig({
      ...base,
      etcd: {
        endpoints: ['https://127.0.0.1:2379'],
        prefix: '/custos/x',
        tls: { ca: 'ca.crt', cert: 'c.crt', key: 'c.key' },
        auth: { username: 'bank', passwordFile: 'etcd-password' },
      },
    });
    expect(c.etcd.tls).toEqual({ ca: 'ca.crt', cert: 'c.crt', key: 'c.key' });
    expect(c.etcd.auth).toEqual({ username: 'bank', passwordFile: 'etcd-password' });
    const bad = (etcd: unknown) => () => parseConsortiumConfig({ ...base, etcd });
    expect(bad({ endpoints: ['https://h:1'], prefix: '/p', tls: { ca: 'a', cert: 'c' } })).toThrow(
      /cert and etcd.tls.key together/,
    );
    expect(bad({ endpoints: ['http://h:1'], prefix: '/p', tls: { ca: 'a' } })).toThrow(
      /https:\/\/ etcd.endpoints with etcd.tls/,
    );
    expect(bad({ endpoints: ['https://h:1'], prefix: '/p' })).toThrow(/expected etcd.tls/);
    expect(bad({ endpoints: ['http://h:1'], prefix: '/p', auth: { username: 'bank' } })).toThrow(
      /etcd.auth as \{username, passwordFile\}/,
    );
  });
});

describe.skipIf(!HAVE_ETCD)('etcd user auth', () => {
  const tmp = tempDir('custos-etcd-auth-');
  let cluster: EtcdCluster | undefined;
  let node: CustosNode | undefined;

  afterAll(async () => {
    await node?.close();
    await cluster?.close();
    tmp.cleanup();
  });

  it('trust #2: a peer with etcd.auth orders blocks on an etcd with auth enabled; clients without the password are refused', async () => {
    cluster = await EtcdCluster.start(1);
    const hosts = cluster.endpoints;
    const prefix = '/custos/auth';
    const admin = new Etcd3({ hosts });
    await admin.role('root').create();
    await admin.user('root').create('root-password');
    await admin.user('root').addRole('root');
    await admin.role('custos-auth').create();
    await admin.role('custos-auth').grant({ permission: 'Readwrite', range: Range.prefix(`${prefix}/`) });
    await admin.user('bank').create('bank-password');
    await admin.user('bank').addRole('custos-auth');
    await admin.auth.authEnable();
    admin.close();

    const home = join(tmp.dir, 'home');
    mkdirSync(home);
    writeFileSync(join(home, 'etcd-password'), 'bank-password\n', { mode: 0o600 });
    const config = parseConsortiumConfig({
      peerId: 'bank',
      etcd: { endpoints: hosts, prefix, auth: { username: 'bank', passwordFile: 'etcd-password' } },
      peers: [],
    });
    const security = loadEtcdSecurity(home, config.etcd, 'unused');
    expect(security.auth).toEqual({ username: 'bank', password: 'bank-password' });

    const f = fixture(['bank'], { blockMaxTxs: 10, blockMaxMs: 5 });
    node = await openConsortiumNode({
      dbPath: join(home, 'node.db'),
      genesis: f.genesis,
      signers: [f.orgs.bank!],
      verifyThreads: 1,
      config,
      etcdSecurity: security,
    });
    const r = await node.submitAndWait(tx(userSigner(), 'kv.put', { ns: 'a', key: 'k', value: 1 }));
    expect(r.code).toBe('OK');

    const read = async (auth?: { username: string; password: string }) => {
      const c = new Etcd3({
        hosts,
        ...(auth === undefined ? {} : { auth }),
        defaultCallOptions: () => ({ deadline: Date.now() + 4000 }),
      });
      try {
        await c.getAll().prefix(`${prefix}/blocks/`).keys();
        return 'ok';
      } catch {
        return 'refused';
      } finally {
        c.close();
      }
    };
    expect(await read({ username: 'bank', password: 'bank-password' })).toBe('ok');
    expect(await read()).toBe('refused');
    expect(await read({ username: 'bank', password: 'guessed' })).toBe('refused');
  }, 60_000);
});

describe.skipIf(!HAVE_ETCD)('network operations (processes)', () => {
  const tmp = tempDir('custos-netops-');
  const dir = join(tmp.dir, 'net');
  let net: NetworkState;
  const user = userSigner();
  let n = 0;
  const next = () => tx(user, 'kv.put', { ns: 'ops', key: `k${n}`, value: n++ }, { chainId: 'local' });
  const peer = (org: string) => net.peers.find((p) => p.org === org)!;
  const passphraseOf = (home: string) => readFileSync(join(home, 'passphrase'), 'utf8').trim();

  beforeAll(async () => {
    net = JSON.parse(await ok(['network', 'up', '--orgs', '3', '--dir', dir, '--json'])) as NetworkState;
  }, 120_000);

  afterAll(async () => {
    await custos(['network', 'down', '--dir', dir]);
    tmp.cleanup();
  }, 90_000);

  /** An etcd client of the network's first member with the given credentials; resolves to what a read did. */
  async function tryRead(opts: IOptions): Promise<'ok' | 'refused'> {
    const client = new Etcd3({
      dialTimeout: 3000,
      defaultCallOptions: () => ({ deadline: Date.now() + 4000 }),
      ...opts,
    });
    try {
      await client.get('/custos/probe').string();
      return 'ok';
    } catch {
      return 'refused';
    } finally {
      client.close();
    }
  }

  it('trust #2: etcd refuses clients without a certificate of the network CA; the peers order blocks over mutual TLS', async () => {
    expect(net.etcd.endpoints.every((e) => e.startsWith('https://'))).toBe(true);
    const bank = peer('bank');
    const host = net.etcd.endpoints[0]!;

    // The peers order and finalize blocks through the TLS-only cluster.
    const r = await post(bank.url, next());
    expect(r.status).toBe(200);
    for (const p of net.peers) {
      await waitUntil(async () => (await getJson(`${p.url}/v1/finality`)).final >= r.body.height, 30_000);
    }

    // A client with a peer's certificate (its key decrypted with the peer's passphrase) works.
    const config = loadConsortiumConfig(bank.home)!;
    const security = loadEtcdSecurity(bank.home, config.etcd, passphraseOf(bank.home));
    expect(await tryRead({ hosts: host, credentials: security.credentials! })).toBe('ok');

    // Without a client certificate (TLS with the right CA), in clear text, or with a certificate
    // from another CA: refused.
    const rootCertificate = readFileSync(join(bank.home, ETCD_CA_FILE));
    expect(await tryRead({ hosts: host, credentials: { rootCertificate } })).toBe('refused');
    expect(await tryRead({ hosts: host.replace('https://', 'http://') })).toBe('refused');
    const other = LocalCa.create(join(tmp.dir, 'other-ca'));
    other.issue({ cn: 'bank', kind: 'client', certPath: join(tmp.dir, 'o.crt'), keyPath: join(tmp.dir, 'o.key') });
    other.destroy();
    expect(
      await tryRead({
        hosts: host,
        credentials: {
          rootCertificate,
          certChain: readFileSync(join(tmp.dir, 'o.crt')),
          privateKey: readFileSync(join(tmp.dir, 'o.key')),
        },
      }),
    ).toBe('refused');

    // The client key is encrypted at rest, the wrong passphrase does not open it, and no CA key is left.
    expect(readFileSync(join(bank.home, ETCD_CLIENT_KEY_FILE), 'utf8')).toMatch(
      /^-----BEGIN ENCRYPTED PRIVATE KEY-----/,
    );
    expect(() => loadEtcdSecurity(bank.home, config.etcd, 'not the passphrase')).toThrow(/etcd client key/);
    const files = readdirSync(dir, { recursive: true }).map(String);
    expect(files.filter((f) => /ca\.key|\.ca-/.test(f))).toEqual([]);
    expect(existsSync(join(bank.home, ETCD_CLIENT_CERT_FILE))).toBe(true);
  }, 90_000);

  it('first hour #2: a second node on a home that a running node holds exits at once; after kill -9 of the first, a new one starts', async () => {
    const bank = peer('bank');
    const second = await custos(['node', 'start', '--home', bank.home, '--port', '0'], 60_000);
    expect(second.status).not.toBe(0);
    expect(second.stderr).toMatch(/HOME_IN_USE: another node is running on the home/);
    // The first node is unharmed: it still orders.
    expect((await post(bank.url, next())).status).toBe(200);

    process.kill(bank.pid, 'SIGKILL');
    await waitUntil(async () => !alive(bank.pid), 10_000);
    // first hour #3: restart-peer of a dead peer starts it and reports it only once it is ready.
    const restarted = await custos(['network', 'restart-peer', 'bank', '--dir', dir, '--json']);
    expect(restarted.status, restarted.stderr).toBe(0);
    const doc = JSON.parse(restarted.stdout) as { pid: number; url: string };
    expect(doc.pid).not.toBe(bank.pid);
    expect((await fetch(`${bank.url}/readyz`)).status).toBe(200);
    expect(network(dir).peers.find((p) => p.org === 'bank')!.pid).toBe(doc.pid);
    expect((await post(bank.url, next())).status).toBe(200);
    net = network(dir);
  }, 120_000);

  it('first hour #3: restart-peer restarts a live peer cleanly, and with the passphrase missing exits non-zero with the reason and leaves no process', async () => {
    const insurer = peer('insurer');
    const before = insurer.pid;
    const live = await custos(['network', 'restart-peer', 'insurer', '--dir', dir, '--json']);
    expect(live.status, live.stderr).toBe(0);
    const pid = (JSON.parse(live.stdout) as { pid: number }).pid;
    expect(pid).not.toBe(before);
    expect(alive(before)).toBe(false);
    expect(processesMentioning(insurer.home)).toEqual([pid]);
    expect((await fetch(`${insurer.url}/readyz`)).status).toBe(200);

    const retailer = peer('retailer');
    renameSync(join(retailer.home, 'passphrase'), join(tmp.dir, 'retailer-passphrase'));
    const failed = await custos(['network', 'restart-peer', 'retailer', '--dir', dir]);
    renameSync(join(tmp.dir, 'retailer-passphrase'), join(retailer.home, 'passphrase'));
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(/peer retailer exited .* before it was ready: .*expected a passphrase/);
    expect(failed.stdout).not.toMatch(/running again/);
    expect(processesMentioning(retailer.home)).toEqual([]);
    expect(network(dir).peers.find((p) => p.org === 'retailer')!.pid).toBe(0);

    const again = await custos(['network', 'restart-peer', 'retailer', '--dir', dir]);
    expect(again.status, again.stderr).toBe(0);
    net = network(dir);
    expect(processesMentioning(retailer.home)).toEqual([peer('retailer').pid]);
  }, 120_000);

  it('trust #13: a failed up stops what it started; a stopped network starts again on its own data and ports', async () => {
    const bank = peer('bank');
    const first = await post(bank.url, next());
    expect(first.status).toBe(200);
    await waitUntil(async () => (await getJson(`${bank.url}/v1/finality`)).final >= first.body.height, 30_000);

    // first hour #3: down stops every process it started.
    await ok(['network', 'down', '--dir', dir]);
    expect(processesMentioning(dir)).toEqual([]);
    expect(network(dir).status).toBe('stopped');

    // An up that fails half-way (a peer cannot start) says why and leaves nothing running.
    const insurer = peer('insurer');
    renameSync(join(insurer.home, 'passphrase'), join(tmp.dir, 'insurer-passphrase'));
    const failed = await custos(['network', 'up', '--dir', dir]);
    renameSync(join(tmp.dir, 'insurer-passphrase'), join(insurer.home, 'passphrase'));
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(/peer insurer exited .*expected a passphrase/);
    expect(processesMentioning(dir)).toEqual([]);

    // Up again: the same ports, the same chain; what was written is there, and new writes commit.
    const up = JSON.parse(await ok(['network', 'up', '--dir', dir, '--json'])) as NetworkState;
    expect(up.etcd.endpoints).toEqual(net.etcd.endpoints);
    expect(up.peers.map((p) => p.url)).toEqual(net.peers.map((p) => p.url));
    net = up;
    const read = await getJson(`${peer('insurer').url}/v1/txs/${first.body.txId}`);
    expect(read.height).toBe(first.body.height);
    const second = await post(bank.url, next());
    expect(second.status).toBe(200);
    expect(second.body.height).toBeGreaterThan(first.body.height);
  }, 240_000);

  it('first hour #3: a peer restored from a backup into a fresh home with the files the restore recipe lists starts and catches up', async () => {
    const bank = peer('bank');
    const backup = join(tmp.dir, 'bank.backup');
    await ok(['backup', '--home', bank.home, '--out', backup]);
    process.kill(bank.pid, 'SIGTERM');
    await waitUntil(async () => !alive(bank.pid), 30_000);
    // The chain moves on without the bank.
    const later = await post(peer('insurer').url, next());
    expect(later.status).toBe(200);

    // docs/operations.md, "Backup and restore": a fresh home with exactly these files, then restore.
    const old = `${bank.home}.old`;
    renameSync(bank.home, old);
    mkdirSync(bank.home, { mode: 0o700 });
    for (const f of [
      'keys',
      'vaults',
      'consortium.json',
      ETCD_CA_FILE,
      ETCD_CLIENT_CERT_FILE,
      ETCD_CLIENT_KEY_FILE,
      'passphrase',
    ]) {
      cpSync(join(old, f), join(bank.home, f), { recursive: true });
    }
    await ok(['restore', backup, '--home', bank.home]);
    const restarted = await custos(['network', 'restart-peer', 'bank', '--dir', dir]);
    expect(restarted.status, restarted.stderr).toBe(0);
    await waitUntil(async () => (await getJson(`${bank.url}/v1/finality`)).final >= later.body.height, 60_000);
    const roots = await Promise.all(
      net.peers.map(async (p) => (await getJson(`${p.url}/v1/blocks/${later.body.height}`)).header.stateRoot),
    );
    expect(new Set(roots).size).toBe(1);
    net = network(dir);
  }, 180_000);
});
