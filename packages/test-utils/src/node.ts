/**
 * Fixtures for tests that run Custos nodes in-process: temp dirs, a genesis with fresh member keys,
 * signed transactions, an API node (CustosNode + OrgService with vaults + HTTP server), and consortium
 * peers on an etcd cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConsortiumNodeOptions,
  CustosNode,
  createServer,
  exampleProfile,
  type Genesis,
  LocalKms,
  type LocalOrg,
  listen,
  makeGenesis,
  nativeSigner,
  type OrgLog,
  OrgService,
  openConsortiumNode,
  type ServerOptions,
  SoloOrderer,
  Vault,
} from '@custos/node';
import {
  didFromPublicKey,
  type JsonValue,
  randomSecretKey,
  type SignedTx,
  type Signer,
  signTx,
} from '@custos/protocol';
import type { FastifyInstance } from 'fastify';

export interface TempDir {
  dir: string;
  cleanup: () => void;
}

export function tempDir(prefix = 'custos-test-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Fixture {
  genesis: Genesis;
  orgs: Record<string, Signer>;
}

/** A genesis whose members (`orgIds`) each hold one fresh key; the keys by org id. */
export function fixture(
  orgIds = ['bank', 'insurer', 'retailer'],
  params = { blockMaxTxs: 500, blockMaxMs: 5 },
  opts: { chainId?: string; names?: Record<string, string> } = {},
): Fixture {
  const orgs: Record<string, Signer> = {};
  for (const id of orgIds) orgs[id] = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId: opts.chainId ?? 'test',
    time: Date.now() - 1000,
    members: orgIds.map((id) => ({
      id,
      name: opts.names?.[id] ?? `${id} org`,
      keys: [didFromPublicKey(orgs[id]!.publicKey)],
      // Every fixture org is a controller with a profile (no org records customer data without one).
      profile: exampleProfile(id),
    })),
    params,
  });
  return { genesis, orgs };
}

export function userSigner(): Signer {
  return nativeSigner(randomSecretKey());
}

export function tx(
  signer: Signer,
  type: string,
  args: { [k: string]: JsonValue },
  extra: { chainId?: string; now?: number; ttlMs?: number } = {},
): SignedTx {
  return signTx(
    {
      chainId: extra.chainId ?? 'test',
      type,
      args,
      ...(extra.now === undefined ? {} : { now: extra.now }),
      ...(extra.ttlMs === undefined ? {} : { ttlMs: extra.ttlMs }),
    },
    signer,
  );
}

export interface ApiNode {
  tmp: TempDir;
  fx: Fixture;
  node: CustosNode;
  orgs: OrgService;
  app: FastifyInstance;
  /** The server's URL when started with `listen`. */
  url?: string;
  close(): Promise<void>;
}

export interface ApiNodeOptions {
  /** The genesis members (default bank, insurer, retailer). */
  members?: string[];
  /** The orgs the node serves, with vaults (default: every member). */
  orgIds?: string[];
  /** Keys the node signs with besides the members' (e.g. keys governance will admit later). */
  extraSigners?: Signer[];
  /** Server options besides `orgs`. */
  server?: Omit<ServerOptions, 'orgs'>;
  /** The OrgService's log. */
  orgLog?: OrgLog;
  /** Listen on 127.0.0.1:0 instead of only getting ready for `inject`. */
  listen?: boolean;
  /** Chain id (default `test`) and member display names by org id. */
  chainId?: string;
  names?: Record<string, string>;
  /**
   * The node's and its orderer's clock (default the machine's): a test moves it forward to see a
   * deadline pass, and signs its transactions with the same clock.
   */
  now?: () => number;
}

/**
 * An in-process node for API tests: a CustosNode on a temp dir with the fixture's member keys, an
 * OrgService with a real vault per org, and the HTTP server over them (ready, or listening on
 * 127.0.0.1 on a free port).
 */
/** Each org's KMS, one per org for the whole test process (see `orgKms`). */
const kmsByOrg = new Map<string, LocalKms>();

/**
 * The org's KMS for API nodes: created once per test process and shared by every node it starts,
 * as an org's nodes share its KMS. Creating one costs a scrypt at the production cost (about
 * 150 ms on a 2-core machine); vault.test.ts covers the KMS and its file. The instance holds its
 * key in memory, so its file is removed at once.
 */
function orgKms(org: string): LocalKms {
  let kms = kmsByOrg.get(org);
  if (kms === undefined) {
    const dir = tempDir('custos-kms-');
    try {
      kms = LocalKms.create(join(dir.dir, 'kms.json'), 'test passphrase');
    } finally {
      dir.cleanup();
    }
    kmsByOrg.set(org, kms);
  }
  return kms;
}

export async function startApiNode(opts: ApiNodeOptions = {}): Promise<ApiNode> {
  const tmp = tempDir();
  const fx = fixture(opts.members, undefined, {
    ...(opts.chainId === undefined ? {} : { chainId: opts.chainId }),
    ...(opts.names === undefined ? {} : { names: opts.names }),
  });
  const node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: [...Object.values(fx.orgs), ...(opts.extraSigners ?? [])],
    verifyThreads: 1,
    ...(opts.now === undefined
      ? {}
      : {
          now: opts.now,
          orderer: new SoloOrderer({
            maxTxs: fx.genesis.params.blockMaxTxs,
            maxWaitMs: fx.genesis.params.blockMaxMs,
            now: opts.now,
          }),
        }),
  });
  const orgs = new OrgService(
    node,
    (opts.orgIds ?? Object.keys(fx.orgs)).map((id) => ({
      id,
      signer: fx.orgs[id]!,
      vault: new Vault({ path: join(tmp.dir, `vault-${id}.db`), kms: orgKms(id), org: id }),
    })),
    opts.orgLog,
  );
  const app = createServer(node, { ...opts.server, orgs });
  let url: string | undefined;
  if (opts.listen) url = await listen(app, { port: 0 });
  else await app.ready();
  return {
    tmp,
    fx,
    node,
    orgs,
    app,
    ...(url === undefined ? {} : { url }),
    async close() {
      // An event stream ended by the server's close keeps its keep-alive connection open until the
      // keep-alive timeout: drop the connections so the test ends at once.
      app.server.closeAllConnections();
      await app.close();
      orgs.stop();
      await node.close();
      tmp.cleanup();
    },
  };
}

/** A consortium peer in this process: its node and, when asked, its HTTP server. */
export interface TestPeer {
  node: CustosNode;
  app?: FastifyInstance;
  url?: string;
  /** The org service, when the peer was opened with `orgs`. */
  orgs?: OrgService;
}

export interface PeerOptions {
  peerId: string;
  dbPath: string;
  genesis: Genesis;
  /** The member keys this peer holds (usually only its own). */
  signers: Signer[];
  etcd: { endpoints: string[]; prefix: string };
  /** Other peers' URLs (catch-up, state sync, customers' exports fetched from the org's node). */
  peers?: string[];
  orderer?: ConsortiumNodeOptions['config']['orderer'];
  now?: () => number;
  log?: (message: string) => void;
  /** Serve the HTTP API on a free loopback port (rate limits off). */
  http?: boolean;
  /** The orgs whose keys and vaults this peer holds: serves their /v1/orgs routes. */
  orgs?: LocalOrg[];
}

/**
 * The consortium peers a test opened, so it can stop one and close the rest at the end. Each peer
 * runs `openConsortiumNode` with one verify thread, as the tests of a 2-core machine need.
 */
export class TestPeers {
  readonly live: TestPeer[] = [];

  async open(opts: PeerOptions): Promise<TestPeer> {
    const node = await openConsortiumNode({
      dbPath: opts.dbPath,
      genesis: opts.genesis,
      signers: opts.signers,
      verifyThreads: 1,
      config: {
        peerId: opts.peerId,
        etcd: opts.etcd,
        peers: opts.peers ?? [],
        ...(opts.orderer === undefined ? {} : { orderer: opts.orderer }),
      },
      ...(opts.now === undefined ? {} : { now: opts.now }),
      ...(opts.log === undefined ? {} : { log: opts.log }),
    });
    const peer: TestPeer = { node };
    if (opts.orgs !== undefined) peer.orgs = new OrgService(node, opts.orgs);
    if (opts.http === true) {
      peer.app = createServer(node, {
        rateLimit: false,
        peers: opts.peers ?? [],
        ...(peer.orgs === undefined ? {} : { orgs: peer.orgs }),
      });
      peer.url = await listen(peer.app, { port: 0 });
    }
    this.live.push(peer);
    return peer;
  }

  /** Stops one peer (server, then node) and forgets it. */
  async stop(peer: TestPeer): Promise<void> {
    const i = this.live.indexOf(peer);
    if (i >= 0) this.live.splice(i, 1);
    await peer.app?.close();
    peer.orgs?.stop();
    await peer.node.close();
  }

  /** Stops every peer still open, ignoring errors (for afterAll). */
  async closeAll(): Promise<void> {
    for (const p of [...this.live]) await this.stop(p).catch(() => {});
  }
}
