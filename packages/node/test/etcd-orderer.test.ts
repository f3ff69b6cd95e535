/**
 * The etcd orderer against real etcd processes: the shared Orderer conformance suite on one member,
 * then three orderer instances ("peers") on a three-member cluster that must deliver one and the same
 * sequence of batches, deduplicate, drop what cannot go in a block, and resume or refuse on restart.
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import { signTx } from '@custos/protocol/ledger';
import { waitFor } from '@custos/test-utils';
import { EtcdCluster, needsEtcd, parsePending } from '@custos/test-utils/etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { NodeError } from '../src/errors.js';
import { EtcdOrderer, type EtcdOrdererOptions } from '../src/ordering/etcd.js';
import {
  blockKey,
  decodeBlock,
  decodePending,
  encodeBlock,
  encodePending,
  heightOfKey,
  pendingKey,
  signedTxJson,
  txIdOfPendingKey,
} from '../src/ordering/etcd-layout.js';
import { PendingWriter } from '../src/ordering/etcd-submitter.js';
import { type OrderedBatch, type ParseBatchFn, parseEach } from '../src/ordering/orderer.js';
import { pendingTxs, runOrdererSuite } from './conformance/orderer.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
let prefixes = 0;
const newPrefix = (tag: string) => `/custos-test/${tag}-${process.pid}-${prefixes++}`;

interface Peer {
  orderer: EtcdOrderer;
  batches: OrderedBatch[];
  ids: () => string[];
}

async function startPeer(
  endpoints: string[],
  prefix: string,
  peerId: string,
  extra: Partial<EtcdOrdererOptions> = {},
  lastTime = 0,
): Promise<Peer> {
  const orderer = new EtcdOrderer({ endpoints, prefix, peerId, maxWaitMs: 5, parse: parsePending, ...extra });
  const batches: OrderedBatch[] = [];
  await orderer.start((b) => {
    batches.push(b);
  }, lastTime);
  return { orderer, batches, ids: () => batches.flatMap((b) => b.txs.map((t) => t.parsed.txId)) };
}

const batchIds = (p: Peer) => p.batches.map((b) => b.txs.map((t) => t.parsed.txId).join(','));

describe('etcd key layout and values', () => {
  it('pads heights so that key order is height order, and reads keys back strictly', () => {
    expect(blockKey(42)).toBe('blocks/0000000000000042');
    expect(blockKey(9) < blockKey(10)).toBe(true);
    expect(heightOfKey(blockKey(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    for (const bad of ['blocks/42', 'blocks/00000000000000-1', 'head', `blocks/${'9'.repeat(17)}`]) {
      expect(heightOfKey(bad)).toBeUndefined();
    }
    expect(txIdOfPendingKey(pendingKey('a'.repeat(64)))).toBe('a'.repeat(64));
    expect(txIdOfPendingKey('pending/xyz')).toBeUndefined();
  });

  it('round-trips blocks and pending values, and rejects malformed ones with what was expected', () => {
    const [t] = pendingTxs(1, 'layout');
    const json = signedTxJson(t!.parsed);
    expect(JSON.parse(json)).toEqual(t!.parsed.tx);
    const block = decodeBlock(Buffer.from(encodeBlock(7, 1000, 'peer-1', [json])), 7);
    expect(block).toEqual({ height: 7, time: 1000, proposer: 'peer-1', txs: [t!.parsed.tx] });
    expect(parsePending(block.txs[0]).parsed.txId).toBe(t!.parsed.txId);
    expect(decodePending(Buffer.from(encodePending(3, json)))).toEqual({ seq: 3, tx: t!.parsed.tx });

    const bad =
      (v: string, h = 7) =>
      () =>
        decodeBlock(Buffer.from(v), h);
    expect(bad('{')).toThrow(/etcd block 7 is malformed: not JSON/);
    expect(bad(encodeBlock(8, 1000, 'p', []))).toThrow(/expected height 7, got 8/);
    expect(bad('{"height":7,"proposer":"p","time":-1,"txs":[]}')).toThrow(/expected time/);
    expect(bad('{"height":7,"proposer":"p","time":1,"txs":{}}')).toThrow(/expected txs as an array/);
    expect(bad('[]')).toThrow(NodeError);
    expect(() => decodePending(Buffer.from('{"seq":-1,"tx":{}}'))).toThrow(/seq/);
    expect(() => decodePending(Buffer.alloc(70_000, 32))).toThrow(/at most 65536 bytes/);
  });

  it("gives back a peer's own submission read from a block, but not a forged copy nor one delivered already", () => {
    const client = new Etcd3({ hosts: 'http://127.0.0.1:1' });
    const writer = new PendingWriter(client.namespace('unused/'), {
      ttlSec: 60,
      maxTxnOps: 128,
      maxRequestBytes: 1 << 20,
      log: () => {},
      onFatal: () => {},
      onExpired: () => {},
    });
    const [mine, other] = pendingTxs(2, 'submitted');
    writer.add([mine!]);
    const fromBlock = (json: string) => decodeBlock(Buffer.from(encodeBlock(1, 1, 'p', [json])), 1).txs[0];
    expect(writer.submitted(fromBlock(signedTxJson(mine!.parsed)))).toBe(mine);
    // The same signature over another body, an extra field, another transaction: parsed as anyone's.
    const forged = {
      ...mine!.parsed.tx,
      body: { ...mine!.parsed.tx.body, args: { ns: 'submitted', key: 'k0', value: 99 } },
    };
    expect(writer.submitted(forged)).toBeUndefined();
    expect(writer.submitted({ ...mine!.parsed.tx, extra: 1 })).toBeUndefined();
    expect(writer.submitted(fromBlock(signedTxJson(other!.parsed)))).toBeUndefined();
    expect(writer.submitted('not a transaction')).toBeUndefined();
    writer.delivered([mine!.parsed.txId]);
    expect(writer.submitted(fromBlock(signedTxJson(mine!.parsed)))).toBeUndefined();
    client.close();
  });
});

if (HAVE_ETCD) {
  let single: EtcdCluster | undefined;
  beforeAll(async () => {
    single = await EtcdCluster.start(1);
  });
  afterAll(async () => {
    await single?.close();
  });

  runOrdererSuite('etcd', (maxTxs) => {
    const n = prefixes;
    return new EtcdOrderer({
      endpoints: single!.endpoints,
      prefix: newPrefix('conformance'),
      peerId: `conformance-${n}`,
      maxTxs,
      maxWaitMs: 5,
      lastHeight: () => 0,
      parse: parsePending,
    });
  });

  describe('etcd orderer on one member', () => {
    it('drops pending transactions that expired or are malformed, and never delivers them', async () => {
      const endpoints = single!.endpoints;
      const prefix = newPrefix('drop');
      const raw = new Etcd3({ hosts: endpoints });
      const signer = nativeSigner(randomSecretKey());
      const expired = parsePending(
        signTx(
          {
            chainId: 'test',
            type: 'kv.put',
            args: { ns: 'e', key: 'k', value: 1 },
            now: Date.now() - 120_000,
            ttlMs: 60_000,
          },
          signer,
        ),
      );
      const good = pendingTxs(3, 'drop-good');
      try {
        const ns = raw.namespace(`${prefix}/`);
        await ns.put(pendingKey(expired.parsed.txId)).value(encodePending(0, signedTxJson(expired.parsed)));
        await ns.put(pendingKey('0'.repeat(64))).value('{"seq":0,"tx":{"body":{},"sig":"x"}}');
        await ns.put(pendingKey('f'.repeat(64))).value(encodePending(1, signedTxJson(good[0]!.parsed)));
        const peer = await startPeer(endpoints, prefix, 'dropper');
        peer.orderer.submit(good);
        expect(await waitFor(() => peer.ids().length >= 3, 10_000)).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
        expect(peer.ids()).toEqual(good.map((t) => t.parsed.txId));
        expect(await ns.getAll().prefix('pending/').keys()).toEqual([]);
        await peer.orderer.stop();
      } finally {
        raw.close();
      }
    });

    it('with a batch parse that answers late and out of order: keeps the order, drops forged and malformed pending keys, stops on a malformed transaction in a block', async () => {
      const endpoints = single!.endpoints;
      const prefix = newPrefix('batch');
      const raw = new Etcd3({ hosts: endpoints });
      let calls = 0;
      // Every other batch answers after the next one: the pool and the feed must still apply them in order.
      const parseBatch: ParseBatchFn = async (raws) => {
        await new Promise((r) => setTimeout(r, calls++ % 2 === 0 ? 30 : 1));
        return parseEach(parsePending)(raws);
      };
      const good = pendingTxs(300, 'batch');
      const [victim] = pendingTxs(1, 'forged');
      const forgedJson = signedTxJson(victim!.parsed).replace(
        /"sig":"(.)/,
        (_, c) => `"sig":"${c === 'A' ? 'B' : 'A'}`,
      );
      const errors: unknown[] = [];
      try {
        const ns = raw.namespace(`${prefix}/`);
        await ns.put(pendingKey(victim!.parsed.txId)).value(encodePending(0, forgedJson));
        await ns.put(pendingKey('0'.repeat(64))).value('{"seq":0,"tx":{"body":{},"sig":"x"}}');
        const peer = await startPeer(endpoints, prefix, 'batcher', { parseBatch, onError: (e) => errors.push(e) });
        for (let i = 0; i < good.length; i += 10) peer.orderer.submit(good.slice(i, i + 10));
        expect(await waitFor(() => peer.ids().length >= good.length, 15_000)).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
        expect(peer.ids()).toEqual(good.map((t) => t.parsed.txId));
        expect(peer.batches.every((b) => b.txs.every((t) => t.sigOk))).toBe(true);
        expect(await ns.getAll().prefix('pending/').keys()).toEqual([]);
        // A block holding a malformed transaction: delivery stops with STORE_CORRUPT, nothing delivered.
        const h = peer.orderer.deliveredHeight() + 1;
        const put = await ns
          .if('head', 'Value', '==', String(h - 1))
          .then(
            ns.put(blockKey(h)).value(encodeBlock(h, Date.now(), 'intruder', ['{"body":{},"sig":"x"}'])),
            ns.put('head').value(String(h)),
          )
          .commit();
        expect(put.succeeded).toBe(true);
        expect(await waitFor(() => errors.length > 0, 10_000)).toBe(true);
        expect(errors[0]).toBeInstanceOf(NodeError);
        expect((errors[0] as NodeError).message).toMatch(/malformed transaction at index 0/);
        expect(peer.orderer.deliveredHeight()).toBe(h - 1);
        await peer.orderer.stop();
      } finally {
        raw.close();
      }
    });

    it("parses a transaction once on the proposer: not its own submissions nor its own blocks again, but another's", async () => {
      const endpoints = single!.endpoints;
      const prefix = newPrefix('once');
      const raw = new Etcd3({ hosts: endpoints });
      const parsedIds: string[] = [];
      const parseBatch: ParseBatchFn = async (raws) => {
        const out = await parseEach(parsePending)(raws);
        for (const o of out) if (!('error' in o)) parsedIds.push(o.parsed.txId);
        return out;
      };
      const own = pendingTxs(50, 'own');
      const [other, intruded] = pendingTxs(2, 'other');
      try {
        const ns = raw.namespace(`${prefix}/`);
        const peer = await startPeer(endpoints, prefix, 'proposer', { parseBatch });
        peer.orderer.submit(own);
        expect(await waitFor(() => peer.ids().length >= own.length, 10_000)).toBe(true);
        // Admitted here (the caller parsed and verified them) and proposed here: never parsed again.
        expect(parsedIds).toEqual([]);
        // Another peer's submission: parsed once, by the pending pool; its block is the proposer's own.
        await ns.put(pendingKey(other!.parsed.txId)).value(encodePending(0, signedTxJson(other!.parsed)));
        expect(await waitFor(() => peer.ids().includes(other!.parsed.txId), 10_000)).toBe(true);
        expect(parsedIds).toEqual([other!.parsed.txId]);
        // A block someone else wrote: parsed by the feed.
        const h = peer.orderer.deliveredHeight() + 1;
        const put = await ns
          .if('head', 'Value', '==', String(h - 1))
          .then(
            ns.put(blockKey(h)).value(encodeBlock(h, Date.now(), 'elsewhere', [signedTxJson(intruded!.parsed)])),
            ns.put('head').value(String(h)),
          )
          .commit();
        expect(put.succeeded).toBe(true);
        expect(await waitFor(() => peer.ids().includes(intruded!.parsed.txId), 10_000)).toBe(true);
        expect(parsedIds).toEqual([other!.parsed.txId, intruded!.parsed.txId]);
        expect(peer.ids()).toEqual([...own.map((t) => t.parsed.txId), other!.parsed.txId, intruded!.parsed.txId]);
        await peer.orderer.stop();
      } finally {
        raw.close();
      }
    });

    it("parses a block's transactions on another peer but for those that peer submitted itself", async () => {
      const endpoints = single!.endpoints;
      const prefix = newPrefix('own');
      const parsedBy = { proposer: [] as string[], follower: [] as string[] };
      const counting =
        (list: string[]): ParseBatchFn =>
        async (raws) => {
          const out = await parseEach(parsePending)(raws);
          for (const o of out) if (!('error' in o)) list.push(o.parsed.txId);
          return out;
        };
      const proposer = await startPeer(endpoints, prefix, 'p', { parseBatch: counting(parsedBy.proposer) });
      const follower = await startPeer(endpoints, prefix, 'f', { parseBatch: counting(parsedBy.follower) });
      const mine = pendingTxs(20, 'follower');
      const theirs = pendingTxs(20, 'proposer');
      follower.orderer.submit(mine);
      proposer.orderer.submit(theirs);
      const all = [...mine, ...theirs].map((t) => t.parsed.txId).sort();
      expect(await waitFor(() => follower.ids().length === 40 && proposer.ids().length === 40, 10_000)).toBe(true);
      expect([...follower.ids()].sort()).toEqual(all);
      expect(follower.ids()).toEqual(proposer.ids());
      // The follower parsed the proposer's submissions (from its blocks), never its own again.
      expect([...parsedBy.follower].sort()).toEqual(theirs.map((t) => t.parsed.txId).sort());
      // The proposer parsed the follower's (from their pending keys), never its own or its blocks.
      expect([...parsedBy.proposer].sort()).toEqual(mine.map((t) => t.parsed.txId).sort());
      await Promise.all([follower.orderer.stop(), proposer.orderer.stop()]);
    });

    it('catches up from etcd after a restart, and refuses to start when the blocks it needs were pruned', async () => {
      const endpoints = single!.endpoints;
      const prefix = newPrefix('window');
      const first = await startPeer(endpoints, prefix, 'w1', { maxTxs: 2, window: 3 });
      const txs = pendingTxs(12, 'window');
      for (const t of txs) {
        first.orderer.submit([t]);
        await waitFor(() => first.ids().includes(t.parsed.txId), 5000);
      }
      expect(first.ids()).toEqual(txs.map((t) => t.parsed.txId));
      const height = first.orderer.deliveredHeight();
      expect(height).toBe(first.batches.length);

      // A peer that committed up to height-2 gets exactly the last two blocks.
      const late = await startPeer(endpoints, prefix, 'w2', { window: 3, lastHeight: () => height - 2 });
      expect(await waitFor(() => late.batches.length === 2, 5000)).toBe(true);
      expect(batchIds(late)).toEqual(batchIds(first).slice(-2));
      await late.orderer.stop();

      // One that needs a block that fell out of the window gets a clear error.
      const behind = new EtcdOrderer({
        endpoints,
        prefix,
        peerId: 'w3',
        parse: parsePending,
        lastHeight: () => 1,
      });
      const err = await behind
        .start(() => {}, 0)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(NodeError);
      expect((err as NodeError).code).toBe('STORE_CORRUPT');
      expect((err as NodeError).details?.reason).toBe('BEHIND_ORDERER_WINDOW');
      expect((err as NodeError).message).toMatch(/catch this peer up from the other peers/);

      // A peer ahead of etcd (another prefix, or etcd lost its data) is refused too.
      const ahead = new EtcdOrderer({
        endpoints,
        prefix,
        peerId: 'w4',
        parse: parsePending,
        lastHeight: () => height + 5,
      });
      await expect(ahead.start(() => {}, 0)).rejects.toThrow(/behind this peer's height/);
      await first.orderer.stop();

      const raw = new Etcd3({ hosts: endpoints });
      try {
        const kept = await raw.namespace(`${prefix}/`).getAll().prefix('blocks/').keys();
        expect(kept).toEqual([height - 2, height - 1, height].map(blockKey));
        // History before the oldest kept block was compacted away.
        await expect(raw.get('anything').revision(2).exec()).rejects.toThrow(/compacted/);
      } finally {
        raw.close();
      }
    });
  });

  describe('etcd orderer: three peers on a three-member cluster', () => {
    let cluster: EtcdCluster | undefined;
    beforeAll(async () => {
      cluster = await EtcdCluster.start(3);
    });
    afterAll(async () => {
      await cluster?.close();
    });

    it('delivers one sequence of batches to every peer, each transaction once, even when given to two peers', async () => {
      const prefix = newPrefix('three');
      const peers: Peer[] = [];
      for (const id of ['a', 'b', 'c']) peers.push(await startPeer(cluster!.endpoints, prefix, id, { maxTxs: 40 }));
      const txs = pendingTxs(900, 'three');
      for (let i = 0; i < txs.length; i += 30) {
        const chunk = txs.slice(i, i + 30);
        peers[(i / 30) % 3]!.orderer.submit(chunk);
        // Every third chunk is also given to the next peer: it must be stored and delivered once.
        if ((i / 30) % 3 === 0) peers[((i / 30) % 3) + 1]!.orderer.submit(chunk);
        await new Promise((r) => setTimeout(r, 2));
      }
      const all = new Set(txs.map((t) => t.parsed.txId));
      const done = await waitFor(() => peers.every((p) => p.ids().length >= all.size), 30_000);
      expect(done).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      for (const p of peers) {
        const ids = p.ids();
        expect(ids.length).toBe(all.size);
        expect(new Set(ids)).toEqual(all);
        expect(batchIds(p)).toEqual(batchIds(peers[0]!));
        expect(p.batches.map((b) => b.time)).toEqual(peers[0]!.batches.map((b) => b.time));
        expect(p.batches.every((b) => b.txs.length >= 1 && b.txs.length <= 40)).toBe(true);
        expect(p.orderer.pending()).toBe(0);
      }
      expect(peers.filter((p) => p.orderer.isProposer()).length).toBe(1);
      await Promise.all(peers.map((p) => p.orderer.stop()));
    });
  });
} else {
  it.skip('etcd orderer (etcd-server not installed)', () => {});
}
