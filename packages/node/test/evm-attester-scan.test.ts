/**
 * The attester's cache of the blocks whose events it read (docs/interop.md, "Attested headers"): a
 * pass reads the logs of the blocks above those it read before (and the last 16 again), not the
 * whole look-back window every pass; what it finds is the same. Observed through a proxy in front
 * of the Hardhat endpoint that records each `eth_getLogs` range the attester asks for, and through
 * what the ledger records: the blocks with the contract's events attested, the block a shallow
 * reorganization put in place of one already read attested too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvmAttester } from '../src/interop/evm/member-duties.js';
import { evmXtx, prepareOnEvm, useEvmWorld } from './evm-xtx-helpers.js';

const w = useEvmWorld();

/** The `eth_getLogs` ranges asked through the proxy, in order. */
const ranges: { from: number; to: number }[] = [];
let proxy: Server;
let proxyUrl: string;

beforeAll(async () => {
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const calls = [JSON.parse(body)].flat() as { method: string; params: { fromBlock: string; toBlock: string }[] }[];
      for (const c of calls) {
        if (c.method === 'eth_getLogs') {
          ranges.push({ from: Number(c.params[0]!.fromBlock), to: Number(c.params[0]!.toBlock) });
        }
      }
      const r = await fetch(w.evm.chain.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(await r.text());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
});

/** An attester of member org1 through the proxy, attesting only blocks with events (no heads). */
async function attester(): Promise<EvmAttester> {
  return new EvmAttester({
    chain: w.ep,
    signer: w.d.orgs.org1!,
    rpcUrl: proxyUrl,
    confirmations: 0,
    headEvery: 1_000_000,
  }).init();
}

const head = async () => Number(await w.evm.publicClient.getBlockNumber());

/** True if org1 attested block `n` (any hash). */
function attested(n: number): boolean {
  const prefix = `evmatt/${w.evm.chain.chainId}/${n}/`;
  const rows = w.d.node.store.listState(prefix, undefined, 10);
  return rows.some((r) => (JSON.parse(r.value) as { members: string[] }).members.includes('org1'));
}

/** The block numbers holding the contract's `Voted` events from `from` on. */
async function voteBlocks(from: number): Promise<number[]> {
  const logs = await w.evm.publicClient.getLogs({ address: w.participant, fromBlock: BigInt(from) });
  return [...new Set(logs.map((l) => Number(l.blockNumber)))];
}

describe("an attester's cache of the blocks it read", () => {
  it('attests, for a client with no attested header yet, a vote mined farther below the head than the look-back', async () => {
    expect(w.d.node.store.getState(`evmlc/${w.evm.chain.chainId}`)).toBeUndefined();
    const t = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500, amount: 1n });
    await prepareOnEvm(w, t.xtxId, t.leg);
    const [b] = await voteBlocks(0);
    // More blocks than the 256 of the look-back, before any member attests anything.
    await w.evm.mine(300);
    await (await attester()).step();
    expect(attested(b!)).toBe(true);
  }, 120_000);

  it('reads the logs above what it read before, and attests every block with events', async () => {
    await w.evm.mine(40);
    const a = await attester();
    const start = await head();
    const t1 = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500, amount: 1n });
    await prepareOnEvm(w, t1.xtxId, t1.leg);
    ranges.length = 0;
    await a.step();
    const first = ranges.map((r) => r.from);
    expect(first).toHaveLength(1);
    const [b1] = await voteBlocks(start);
    expect(attested(b1!)).toBe(true);
    // Blocks without events, then another vote: the next pass starts 16 blocks below the last it read.
    const read = await head();
    await w.evm.mine(40);
    const t2 = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500, amount: 1n });
    await prepareOnEvm(w, t2.xtxId, t2.leg);
    ranges.length = 0;
    await a.step();
    expect(ranges).toEqual([{ from: read + 1 - 16, to: await head() }]);
    const [, b2] = await voteBlocks(start);
    expect(attested(b2!)).toBe(true);
    // A new attester (a restarted peer) reads its whole look-back window again.
    const fresh = await attester();
    ranges.length = 0;
    await fresh.step();
    expect(ranges[0]!.from).toBeLessThanOrEqual(first[0]!);
  }, 120_000);

  it('attests a block with events that a shallow reorganization put where it had read none', async () => {
    const a = await attester();
    await a.step();
    const snapshot = (await w.evm.publicClient.request({ method: 'evm_snapshot' } as never)) as string;
    await w.evm.mine(3);
    // The attester reads the three empty blocks, which the chain then replaces.
    await a.step();
    const replaced = await head();
    await w.evm.publicClient.request({ method: 'evm_revert', params: [snapshot] } as never);
    const t = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500, amount: 1n });
    await prepareOnEvm(w, t.xtxId, t.leg);
    // The head passes the last block read: only the blocks read again show the vote.
    await w.evm.mine(5);
    const b = (await voteBlocks(replaced - 3)).at(-1);
    expect(b).toBeGreaterThan(replaced - 3);
    expect(b).toBeLessThanOrEqual(replaced);
    expect(attested(b!)).toBe(false);
    await a.step();
    expect(attested(b!)).toBe(true);
  }, 120_000);
});
