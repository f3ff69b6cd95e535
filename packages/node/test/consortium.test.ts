/**
 * A consortium of three peers on a real etcd cluster, in one process: each peer holds only its own
 * member key; blocks become final by quorum certificate on every peer, with identical checkpoints;
 * a transaction given to two peers is included once; a forged conflicting checkpoint signature is
 * recorded as evidence, and a quorum over another checkpoint stops the peer (DIVERGED).
 */
import { join } from 'node:path';
import { didFromPublicKey } from '@custos/protocol/crypto';
import { canonicalize } from '@custos/protocol/jcs';
import { type Checkpoint, checkpointOf, signCheckpoint, verifyQuorumCertificate } from '@custos/protocol/ledger';
import { waitUntil } from '@custos/test-utils';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, TestPeers, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigKey } from '../src/consortium/etcd-board.js';
import { nativeVerifier } from '../src/crypto/native.js';
import { memberSetOf } from '../src/genesis.js';
import type { CustosNode } from '../src/node.js';
import { inclusionProof } from '../src/proofs.js';
import { SqliteStore } from '../src/store/sqlite.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer', 'retailer'];

describe.skipIf(!HAVE_ETCD)('consortium on etcd', () => {
  let cluster: EtcdCluster;
  const dirs: { cleanup: () => void }[] = [];
  const peers = new TestPeers();
  const nodes: CustosNode[] = [];
  const f = fixture(ORGS, { blockMaxTxs: 200, blockMaxMs: 10 });
  const prefix = `/custos/t${Date.now()}`;

  async function open(i: number, extraPrefix = ''): Promise<CustosNode> {
    const d = tempDir();
    dirs.push(d);
    const org = ORGS[i]!;
    const { node } = await peers.open({
      peerId: org,
      dbPath: join(d.dir, 'node.db'),
      genesis: f.genesis,
      signers: [f.orgs[org]!],
      etcd: { endpoints: cluster.endpoints, prefix: prefix + extraPrefix },
    });
    nodes.push(node);
    return node;
  }

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
  }, 60_000);

  afterAll(async () => {
    for (const n of nodes) await n.close().catch(() => {});
    await cluster?.close();
    for (const d of dirs) d.cleanup();
  });

  it('makes blocks final on every peer by a quorum certificate over the same checkpoint', async () => {
    const [a, b, c] = [await open(0), await open(1), await open(2)];
    const user = userSigner();
    const subs = Array.from({ length: 30 }, (_, i) =>
      [a, b, c][i % 3]!.submit(tx(user, 'kv.put', { ns: 'c', key: `k${i}`, value: i })),
    );
    const results = await Promise.all(subs.map((s) => s.committed));
    expect(results.every((r) => r.code === 'OK')).toBe(true);
    const top = Math.max(...results.map((r) => r.height));
    const qcs = await Promise.all([a, b, c].map((n) => n.waitFinal(top, 20_000)));
    for (const qc of qcs) verifyQuorumCertificate(qc, memberSetOf(f.genesis), nativeVerifier, 'test');
    for (const n of [a, b, c]) expect(n.latestFinal()).toBeGreaterThanOrEqual(top);
    const roots = [a, b, c].map((n) => n.store.getHeader(top)!.header.stateRoot);
    expect(new Set(roots).size).toBe(1);
    const hashes = [a, b, c].map((n) => n.store.getHeader(top)!.hash);
    expect(new Set(hashes).size).toBe(1);
    const bundle = inclusionProof(b, results[0]!.txId);
    expect(bundle.certificate.checkpoint.height).toBeLessThanOrEqual(b.latestFinal());
    verifyQuorumCertificate(bundle.certificate, memberSetOf(f.genesis), nativeVerifier, 'test');
  }, 60_000);

  it('includes a transaction submitted to two peers once', async () => {
    const [a, b] = nodes as [CustosNode, CustosNode];
    const user = userSigner();
    const t = tx(user, 'kv.put', { ns: 'dup', key: 'once', value: 1 });
    const [ra, rb] = await Promise.all([a.submit(t).committed, b.submit(t).committed]);
    expect(ra.height).toBe(rb.height);
    expect(ra.logIndex).toBe(rb.logIndex);
    await a.waitFinal(ra.height, 20_000);
    const count = (n: CustosNode) =>
      n.store.db.prepare('SELECT COUNT(*) AS n FROM txs WHERE tx_id = ?').get(ra.txId) as { n: number };
    for (const n of nodes) expect(count(n).n).toBe(1);
  }, 60_000);

  it('collects again, when it restarts, the certificates a peer lost with its last writes', async () => {
    // Certificates are stored without an fsync of their own (finality.ts): a crash may lose the
    // latest ones, leaving the commit-time certificate of the peer's own signature only.
    const c = nodes[2]!;
    const top = c.latestFinal();
    const dbPath = c.store.db.name;
    await c.close();
    const ownKey = didFromPublicKey(f.orgs.retailer!.publicKey);
    const store = new SqliteStore(dbPath);
    const lost = [top - 2, top - 1, top].filter((h) => h > 0);
    for (const h of lost) {
      const qc = store.getHeader(h)!.qc!;
      expect(qc.signatures.length).toBeGreaterThanOrEqual(2);
      store.setQc(h, { checkpoint: qc.checkpoint, signatures: qc.signatures.filter((s) => s.signer === ownKey) });
    }
    store.close();
    const { node } = await peers.open({
      peerId: 'retailer',
      dbPath,
      genesis: f.genesis,
      signers: [f.orgs.retailer!],
      etcd: { endpoints: cluster.endpoints, prefix },
    });
    nodes.push(node);
    await node.waitFinal(top, 20_000);
    for (const h of lost) {
      const qc = node.store.getHeader(h)!.qc!;
      expect(qc.signatures.length).toBeGreaterThanOrEqual(2);
      verifyQuorumCertificate(qc, memberSetOf(f.genesis), nativeVerifier, 'test');
    }
  }, 60_000);

  it('records a member signature over another checkpoint as evidence, and stops on a quorum over one', async () => {
    const [a] = nodes as [CustosNode];
    const h = a.latestFinal();
    const ours = checkpointOf(a.store.getHeader(h)!.header);
    const forged: Checkpoint = { ...ours, stateRoot: 'ab'.repeat(32) };
    const client = new Etcd3({ hosts: cluster.endpoints });
    const put = (member: string) =>
      client
        .namespace(`${prefix}/sigs/`)
        .put(sigKey(h, member))
        .value(JSON.stringify({ checkpoint: forged, signatures: [signCheckpoint(forged, f.orgs[member]!)] }));
    const conflicts: unknown[] = [];
    a.on('conflict', (e) => conflicts.push(e));
    // One member (a Byzantine one): evidence, and the peer carries on.
    await put('retailer');
    await waitUntil(() => conflicts.length > 0, 10_000);
    expect(a.fatalError()).toBeUndefined();
    const keys = a.store.db.prepare("SELECT key FROM meta WHERE key LIKE 'evidence/%'").all() as { key: string }[];
    expect(keys.length).toBeGreaterThan(0);
    // A second member over the same forged checkpoint: a quorum against this peer's own, so it stops.
    await put('insurer');
    await waitUntil(() => a.fatalError() !== undefined, 10_000);
    expect((a.fatalError() as { code?: string }).code).toBe('DIVERGED');
    const evidence = JSON.parse(a.store.getMeta('divergence')!) as {
      ours: { checkpoint: unknown };
      theirs: { checkpoint: unknown };
    };
    expect(canonicalize(evidence.theirs.checkpoint as never)).toBe(canonicalize(forged as never));
    expect(canonicalize(evidence.ours.checkpoint as never)).toBe(canonicalize(ours as never));
    client.close();
  }, 60_000);
});
