/**
 * Catch-up from peers (docs/architecture.md#catch-up-and-snapshots, ADR 0009): a peer stopped while
 * the others ran on is behind the etcd orderer's (small) window; it fetches the missing blocks from
 * the other peers' HTTP APIs, checks the header chain and each quorum certificate, executes them,
 * and resumes on etcd. A peer serving blocks with forged certificates is not believed: catch-up
 * takes them from another peer, or fails with CATCH_UP_FAILED when no peer serves a verifiable
 * block.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { join } from 'node:path';
import { signRequest } from '@custos/protocol/http';
import type { BlockHeader } from '@custos/protocol/ledger';
import { checkCheckpointShape, type QuorumCertificate, signCheckpoint } from '@custos/protocol/ledger';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, type TestPeer, TestPeers, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchUpFromPeers } from '../src/consortium/catch-up.js';
import { CONSORTIUM_PROPOSER } from '../src/consortium/peer-node.js';
import { CustosNode } from '../src/node.js';
import { LedgerTree } from '../src/store/authenticated.js';
import { SqliteStore } from '../src/store/sqlite.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer', 'retailer'];
const WINDOW = 4;

/** A block as a peer serves it. */
type ServedBlock = { header: BlockHeader; qc: QuorumCertificate } & Record<string, unknown>;

/** A peer opened with its HTTP API. */
type Peer = Required<TestPeer>;

describe.skipIf(!HAVE_ETCD)('catch-up from peers', () => {
  let cluster: EtcdCluster;
  const tmp = tempDir();
  const f = fixture(ORGS, { blockMaxTxs: 1, blockMaxMs: 5 });
  const prefix = `/custos/cu${Date.now()}`;
  const testPeers = new TestPeers();
  const peers = testPeers.live as Peer[];
  const others: CustosNode[] = [];
  const servers: Server[] = [];
  const user = userSigner();
  let n = 0;
  const next = () => tx(user, 'kv.put', { ns: 'cu', key: `k${n}`, value: n++ });

  /** Peer `i` with its HTTP API (other peers fetch blocks from it), behind the orderer's small window. */
  async function open(i: number, peerUrls: string[]): Promise<Peer> {
    const org = ORGS[i]!;
    return (await testPeers.open({
      peerId: org,
      dbPath: join(tmp.dir, `${org}.db`),
      genesis: f.genesis,
      signers: [f.orgs[org]!],
      etcd: { endpoints: cluster.endpoints, prefix },
      peers: peerUrls,
      orderer: { window: WINDOW },
      http: true,
    })) as Peer;
  }

  const stop = (p: Peer) => testPeers.stop(p);

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
  }, 60_000);

  afterAll(async () => {
    await testPeers.closeAll();
    for (const o of others) await o.close().catch(() => {});
    for (const s of servers) s.close();
    await cluster?.close();
    tmp.cleanup();
  });

  it('catches a peer behind the orderer window up from the others, then resumes on etcd', async () => {
    const a = await open(0, []);
    const b = await open(1, []);
    let c = await open(2, []);
    const first = await a.node.submitAndWait(next());
    await c.node.waitFinal(first.height, 20_000);
    await stop(c);

    // Without c, a and b (a quorum of 2 of 3) run on: many one-transaction blocks, past the window.
    let top = 0;
    for (let i = 0; i < 6 * WINDOW; i++) top = (await b.node.submitAndWait(next())).height;
    await a.node.waitFinal(top, 20_000);
    await b.node.waitFinal(top, 20_000);

    // Nowhere to catch up from: the orderer no longer holds the next block.
    await expect(open(2, [])).rejects.toMatchObject({ code: 'BEHIND_ORDERER_WINDOW' });

    c = await open(2, [a.url, b.url]);
    expect(c.node.latest().height).toBeGreaterThanOrEqual(top);
    const h = c.node.latest().height;
    expect(c.node.store.getHeader(h)!.hash).toBe(a.node.store.getHeader(h)!.hash);
    expect(c.node.latestFinal()).toBeGreaterThanOrEqual(top);

    // Back on etcd: it orders, executes and signs new blocks with the others.
    const r = await c.node.submitAndWait(next());
    expect(r.code).toBe('OK');
    await Promise.all([a, b, c].map((p) => p.node.waitFinal(r.height, 20_000)));
    const roots = [a, b, c].map((p) => p.node.store.getHeader(r.height)!.header.stateRoot);
    expect(new Set(roots).size).toBe(1);
  }, 90_000);

  it('does not believe a peer serving forged certificates', async () => {
    const [a] = peers as [Peer];
    const target = a.node.latestFinal();
    const fake = await forgingPeer(a.url, target);
    servers.push(fake.server);

    // The forger is asked first; its blocks fail verification and the honest peer serves them.
    const d = await freshNode('d');
    const applied = await catchUpFromPeers(d, { peers: [fake.url, a.url], signer: f.orgs.bank! });
    expect(applied).toBe(target);
    expect(d.store.getHeader(target)!.hash).toBe(a.node.store.getHeader(target)!.hash);
    expect(fake.served()).toBeGreaterThan(0);

    // With only the forger to ask, nothing is applied.
    const e = await freshNode('e');
    await expect(catchUpFromPeers(e, { peers: [fake.url], signer: f.orgs.bank! })).rejects.toMatchObject({
      code: 'CATCH_UP_FAILED',
    });
    expect(e.latest().height).toBe(0);

    // Whole blocks are for the consortium's peers: without a member key, no peer serves them (trust #5).
    const g = await freshNode('g');
    await expect(catchUpFromPeers(g, { peers: [a.url] })).rejects.toMatchObject({
      code: 'CATCH_UP_FAILED',
      message: expect.stringMatching(/HTTP 401/),
    });
  }, 60_000);

  it('applies blocks that are final through a later certificate, and only when the headers chain to it', async () => {
    const [a] = peers as [Peer];
    const target = a.node.latestFinal();
    // A peer that kept one signature of every block's certificate but the last (its others were
    // lost, as when the exchange's keys fell below the orderer's window): those blocks are final
    // there only through the last one's certificate.
    const thin = await relayPeer(a.url, target, (_kind, height, block) =>
      height === target ? block : { ...block, qc: { ...block.qc, signatures: block.qc.signatures.slice(0, 1) } },
    );
    servers.push(thin.server);
    const d = await freshNode('anchored');
    expect(await catchUpFromPeers(d, { peers: [thin.url], signer: f.orgs.bank! })).toBe(target);
    expect(d.store.getHeader(target)!.hash).toBe(a.node.store.getHeader(target)!.hash);
    expect(d.store.getHeader(target)!.header.stateRoot).toBe(a.node.store.getHeader(target)!.header.stateRoot);
    expect(d.latestFinal()).toBe(target);

    // The same, with one header on the way altered: the later certificate no longer reaches back.
    const splice = await relayPeer(a.url, target, (kind, height, block) => {
      const thinned =
        height === target ? block : { ...block, qc: { ...block.qc, signatures: block.qc.signatures.slice(0, 1) } };
      return kind === 'block' && height === 3
        ? { ...thinned, header: { ...thinned.header, time: thinned.header.time + 1 } }
        : thinned;
    });
    servers.push(splice.server);
    const e = await freshNode('spliced');
    await expect(catchUpFromPeers(e, { peers: [splice.url], signer: f.orgs.bank! })).rejects.toMatchObject({
      code: 'CATCH_UP_FAILED',
      message: expect.stringMatching(/does not chain back/),
    });
    expect(e.latest().height).toBeLessThan(3);

    // Headers padded to fill memory while the anchor is looked for: refused at the first one.
    const bloat = await relayPeer(a.url, target, (kind, height, block) => {
      const thinned =
        height === target ? block : { ...block, qc: { ...block.qc, signatures: block.qc.signatures.slice(0, 1) } };
      return kind === 'block' ? { ...thinned, header: { ...thinned.header, pad: 'x'.repeat(100_000) } } : thinned;
    });
    servers.push(bloat.server);
    await expect(
      catchUpFromPeers(await freshNode('bloated'), { peers: [bloat.url], signer: f.orgs.bank! }),
    ).rejects.toMatchObject({ code: 'CATCH_UP_FAILED', message: expect.stringMatching(/at most 4096 characters/) });
  }, 60_000);

  it('blames a peer that serves other transactions under a valid certificate, and stops on its own divergence, anchored too', async () => {
    const [a] = peers as [Peer];
    const target = a.node.latestFinal();
    const signer = f.orgs.bank!;
    const replaced = (change: (block: ServedBlock) => ServedBlock) =>
      relayPeer(a.url, target, (kind, height, block) => (kind === 'replica' && height === 2 ? change(block) : block));
    // Other validly signed transactions in block 2, or other result codes, under its valid
    // certificate: not what the certificate covers, so the serving peer is at fault, found before
    // executing anything; the node is not stopped, and another peer serves the real block.
    const swap = await replaced((block) => ({
      ...block,
      txs: (block.txs as unknown[]).map((_, i) => tx(user, 'kv.put', { ns: 'cu', key: `swapped${i}`, value: i })),
    }));
    const recoded = await replaced((block) => ({
      ...block,
      results: (block.results as string[]).map((r) => (r === 'OK' ? 'BAD_SIGNATURE' : 'OK')),
    }));
    const unresulted = await replaced(({ results: _results, ...block }) => block as ServedBlock);
    servers.push(swap.server, recoded.server, unresulted.server);
    const d = await freshNode('swapped');
    for (const [liar, why] of [
      [swap, /not the ones its certified log root covers/],
      [recoded, /not the ones its certified log root covers/],
      [unresulted, /expected \d+ result codes/],
    ] as const) {
      await expect(catchUpFromPeers(d, { peers: [liar.url], signer })).rejects.toMatchObject({
        code: 'CATCH_UP_FAILED',
        message: expect.stringMatching(why),
      });
      expect(d.latest().height).toBe(1);
      expect(d.fatalError()).toBeUndefined();
    }
    expect(await catchUpFromPeers(d, { peers: [swap.url, a.url], signer })).toBe(target - 1);
    expect(d.store.getHeader(target)!.hash).toBe(a.node.store.getHeader(target)!.hash);

    // This peer's own divergence (its state altered on disk before it catches up), with blocks
    // that are final at the serving peer only through the last one's certificate: it stops with
    // DIVERGED and keeps the evidence, the later certificate as what the quorum signed.
    const path = join(tmp.dir, 'diverging.db');
    await (
      await CustosNode.open({ dbPath: path, genesis: f.genesis, proposer: CONSORTIUM_PROPOSER, verifyThreads: 1 })
    ).close();
    const store = new SqliteStore(path);
    const planted = LedgerTree.load(store).apply(new Map([['kv/cu/planted', '"planted"']]));
    store.db.transaction(() => {
      store.db.prepare('INSERT INTO state (key, value) VALUES (?, ?)').run('kv/cu/planted', '"planted"');
      store.writeTreeNodes(planted.writes);
    })();
    store.close();
    const thin = await relayPeer(a.url, target, (_kind, height, block) =>
      height === target ? block : { ...block, qc: { ...block.qc, signatures: block.qc.signatures.slice(0, 1) } },
    );
    servers.push(thin.server);
    const e = await CustosNode.open({
      dbPath: path,
      genesis: f.genesis,
      proposer: CONSORTIUM_PROPOSER,
      verifyThreads: 1,
    });
    others.push(e);
    await expect(catchUpFromPeers(e, { peers: [thin.url], signer })).rejects.toMatchObject({ code: 'DIVERGED' });
    expect(e.latest().height).toBe(0);
    const evidence = JSON.parse(e.store.getMeta('divergence')!) as {
      height: number;
      ours: { checkpoint: { height: number; stateRoot: string } };
      theirs: { checkpoint: { height: number; stateRoot: string } };
    };
    expect(evidence.height).toBe(1);
    expect(evidence.ours.checkpoint.height).toBe(1);
    expect(evidence.ours.checkpoint.stateRoot).not.toBe(a.node.store.getHeader(1)!.header.stateRoot);
    expect(evidence.theirs.checkpoint).toMatchObject({
      height: target,
      stateRoot: a.node.store.getHeader(target)!.header.stateRoot,
    });
  }, 60_000);

  async function freshNode(name: string): Promise<CustosNode> {
    const node = await CustosNode.open({
      dbPath: join(tmp.dir, `${name}.db`),
      genesis: f.genesis,
      proposer: CONSORTIUM_PROPOSER,
      verifyThreads: 1,
    });
    others.push(node);
    return node;
  }

  /** A peer that relays the honest peer's blocks with every certificate signature forged. */
  function forgingPeer(honest: string, final: number) {
    const impostor = userSigner();
    return relayPeer(honest, final, (_kind, _height, block) => {
      const cp = block.qc.checkpoint;
      checkCheckpointShape(cp);
      // The members' dids, each with a signature no member key made.
      const sig = signCheckpoint(cp, impostor).sig;
      block.qc = { checkpoint: cp, signatures: block.qc.signatures.map((s) => ({ signer: s.signer, sig })) };
      return block;
    });
  }

  /**
   * A peer that relays the honest peer's whole blocks (GET /v1/replica/blocks/:h) and blocks
   * (GET /v1/blocks/:h), each passed through `change` first.
   */
  async function relayPeer(
    honest: string,
    final: number,
    change: (kind: 'replica' | 'block', height: number, block: ServedBlock) => ServedBlock,
  ): Promise<{ server: Server; url: string; served: () => number }> {
    let served = 0;
    const server = createHttpServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/v1/finality') return send(200, { head: final, final });
      const m = /^\/v1\/(replica\/)?blocks\/(\d+)$/.exec(req.url ?? '');
      if (!m) return send(404, {});
      const url = `${honest}${req.url}`;
      fetch(url, { headers: { ...signRequest({ method: 'GET', url }, f.orgs.insurer!) } })
        .then((r) => r.json() as Promise<ServedBlock>)
        .then((block) => {
          served++;
          send(200, change(m[1] === undefined ? 'block' : 'replica', Number(m[2]), block));
        })
        .catch(() => send(500, {}));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    return { server, url: `http://127.0.0.1:${port}`, served: () => served };
  }
});
