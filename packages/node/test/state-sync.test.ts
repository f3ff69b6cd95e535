/**
 * State sync (ADR 0009, "State sync"): a 3-peer consortium on etcd builds some state; a 4th store is
 * written from peer 1's snapshot (GET /v1/snapshot) at a final height, has the same state root,
 * opens as a peer and executes the next blocks from etcd with the others. A tampered snapshot (a
 * changed value, a missing row, a wrong log frontier, a forged certificate) is refused, and leaves
 * no store behind.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { signRequest } from '@custos/protocol/http';
import { signCheckpoint } from '@custos/protocol/ledger';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, TestPeers, tempDir, tx, userSigner } from '@custos/test-utils/node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, listen } from '../src/api/server.js';
import { importSnapshot, logPeaks, rootOfPeaks } from '../src/consortium/snapshot.js';
import type { CustosNode } from '../src/node.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer', 'retailer'];

async function* chunks(text: string, size = 997): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

type Line = Record<string, unknown>;
const toLines = (text: string): Line[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
const toText = (lines: Line[]) => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;

describe('log frontier', () => {
  it('has one peak per set bit of the size', () => {
    expect(logPeaks(0)).toEqual([]);
    expect(logPeaks(1)).toEqual([{ level: 0, index: 0 }]);
    expect(logPeaks(6)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
    ]);
    expect(logPeaks(2 ** 40 + 3).length).toBe(3);
    expect(rootOfPeaks([]).length).toBe(32);
  });
});

describe.skipIf(!HAVE_ETCD)('state sync from a snapshot', () => {
  let cluster: EtcdCluster;
  const tmp = tempDir();
  const f = fixture(ORGS, { blockMaxTxs: 5, blockMaxMs: 5 });
  const prefix = `/custos/ss${Date.now()}`;
  const testPeers = new TestPeers();
  const nodes: CustosNode[] = [];
  let app: FastifyInstance | undefined;
  let url = '';
  let snapshot = '';
  const user = userSigner();
  let n = 0;
  const next = () => tx(user, 'kv.put', { ns: 'ss', key: `k${n}`, value: { n: n++, text: 'é€😀' } });

  async function open(name: string, signers: string[], peers: string[] = []): Promise<CustosNode> {
    const { node } = await testPeers.open({
      peerId: name,
      dbPath: join(tmp.dir, `${name}.db`),
      genesis: f.genesis,
      signers: signers.map((s) => f.orgs[s]!),
      etcd: { endpoints: cluster.endpoints, prefix },
      peers,
    });
    nodes.push(node);
    return node;
  }

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    for (const node of nodes) await node.close().catch(() => {});
    await cluster?.close();
    tmp.cleanup();
  });

  it('builds a 4th store from peer 1 at a final height with the same state root, which then runs on etcd', async () => {
    const [a, b, c] = [
      await open('bank', ['bank']),
      await open('insurer', ['insurer']),
      await open('retailer', ['retailer']),
    ];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => [a, b, c][i % 3]!.submitAndWait(next())));
    const top = Math.max(...results.map((r) => r.height));
    await Promise.all([a, b, c].map((x) => x.waitFinal(top, 20_000)));
    app = createServer(a, { rateLimit: false });
    url = await listen(app, { port: 0 });

    // A snapshot holds every org's state: for the consortium's peers (a member key), never a stranger.
    expect((await fetch(`${url}/v1/snapshot`)).status).toBe(401);
    const r = await fetch(`${url}/v1/snapshot`, {
      headers: { ...signRequest({ method: 'GET', url: `${url}/v1/snapshot` }, f.orgs.retailer!) },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/x-ndjson');
    snapshot = await r.text();
    const height = Number(r.headers.get('x-custos-snapshot-height'));
    expect(height).toBe(a.latest().height);
    expect(a.latestFinal()).toBeGreaterThanOrEqual(height);

    const dbPath = join(tmp.dir, 'joiner.db');
    const imported = await importSnapshot({ source: chunks(snapshot), dbPath, genesis: f.genesis });
    expect(imported.height).toBe(height);
    expect(imported.rows).toBeGreaterThan(40);
    expect(imported.stateRoot).toBe(a.store.getHeader(height)!.header.stateRoot);

    // The joiner (an observer: no member key) opens at that height and follows the chain on etcd.
    const d = await open('joiner', [], [url]);
    expect(d.latest().height).toBe(height);
    expect(d.latestFinal()).toBe(height);
    expect(d.store.getHeader(height - 1)).toBeNull();
    const more = await b.submitAndWait(next());
    await d.waitFinal(more.height, 20_000);
    expect(d.store.getHeader(more.height)!.hash).toBe(b.store.getHeader(more.height)!.hash);
    // A replay of a transaction committed before the snapshot is still refused by the joiner's execution.
    expect(d.store.hasCommittedTx(results[results.length - 1]!.txId)).toBe(true);
  }, 90_000);

  it('refuses a tampered snapshot with a clear error and leaves no store behind', async () => {
    expect(snapshot).not.toBe('');
    const lines = toLines(snapshot);
    const rowAt = lines.findIndex((l) => Array.isArray(l.row) && String((l.row as string[])[0]).includes('ss'));
    const end = lines[lines.length - 1]!.end as { rows: number; txs: number };
    const attempt = async (name: string, tampered: Line[]) => {
      const dbPath = join(tmp.dir, `${name}.db`);
      const p = importSnapshot({ source: chunks(toText(tampered)), dbPath, genesis: f.genesis });
      await expect(p).rejects.toMatchObject({ code: 'CATCH_UP_FAILED' });
      expect(existsSync(dbPath)).toBe(false);
      expect(existsSync(`${dbPath}.partial`)).toBe(false);
      return await p.then(
        () => ({ message: '', details: { reason: 'ACCEPTED' } }),
        (e: { message: string; details: { reason: string } }) => e,
      );
    };

    const changed = structuredClone(lines);
    const row = changed[rowAt]!.row as string[];
    row[1] = row[1]!.replace(/"n":\d+/, '"n":999999');
    const e1 = await attempt('changed', changed);
    expect(e1.details.reason).toBe('STATE_ROOT');
    expect(e1.message).toMatch(/state rows rebuild root/);

    const missing = lines.filter((_, i) => i !== rowAt);
    missing[missing.length - 1] = { end: { rows: end.rows - 1, txs: end.txs } };
    expect((await attempt('missing', missing)).details.reason).toBe('STATE_ROOT');
    // Without fixing the counts, a cut stream is refused as truncated.
    expect((await attempt('cut', lines.slice(0, -1))).details.reason).toBe('TRUNCATED');

    const frontier = structuredClone(lines);
    const hashes = frontier[0]!.logFrontier as string[];
    hashes[hashes.length - 1] = hashes[hashes.length - 1]!.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
    const e3 = await attempt('frontier', frontier);
    expect(e3.details.reason).toBe('FRONTIER');
    expect(e3.message).toMatch(/log root/);

    const forged = structuredClone(lines);
    const qc = forged[0]!.qc as { checkpoint: never; signatures: { signer: string; sig: string }[] };
    const sig = signCheckpoint(qc.checkpoint, userSigner()).sig;
    qc.signatures = qc.signatures.map((s) => ({ signer: s.signer, sig }));
    expect((await attempt('forged', forged)).details.reason).toBe('CERTIFICATE');
  }, 60_000);
});
