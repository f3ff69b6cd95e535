/**
 * Conformance suite every `Orderer` implementation runs (solo now, etcd later): each admitted
 * transaction delivered exactly once, in submission order, one batch at a time, with block times
 * that never go back.
 */
import { randomSecretKey } from '@custos/protocol/crypto';
import { parseTx, signTx } from '@custos/protocol/ledger';
import { describe, expect, it } from 'vitest';
import { nativeSigner } from '../../src/crypto/native.js';
import type { OrderedBatch, Orderer, PendingTx } from '../../src/ordering/orderer.js';

const signer = nativeSigner(randomSecretKey());

export function pendingTxs(n: number, tag = 'x'): PendingTx[] {
  return Array.from({ length: n }, (_, i) => ({
    parsed: parseTx(signTx({ chainId: 'test', type: 'kv.put', args: { ns: tag, key: `k${i}`, value: i } }, signer)),
    sigOk: true,
  }));
}

export function runOrdererSuite(name: string, newOrderer: (maxTxs: number) => Promise<Orderer> | Orderer): void {
  describe(`Orderer conformance: ${name}`, () => {
    it('delivers every transaction exactly once, in order, in batches of at most maxTxs', async () => {
      const orderer = await newOrderer(50);
      const batches: OrderedBatch[] = [];
      let active = 0;
      let overlapped = false;
      await orderer.start(async (b) => {
        active++;
        if (active > 1) overlapped = true;
        await new Promise((r) => setTimeout(r, 1));
        batches.push(b);
        active--;
      }, 0);
      const txs = pendingTxs(437);
      for (let i = 0; i < txs.length; i += 37) orderer.submit(txs.slice(i, i + 37));
      const deadline = Date.now() + 10_000;
      while (batches.reduce((n, b) => n + b.txs.length, 0) < txs.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await orderer.stop();
      const delivered = batches.flatMap((b) => b.txs.map((t) => t.parsed.txId));
      expect(delivered).toEqual(txs.map((t) => t.parsed.txId));
      expect(batches.every((b) => b.txs.length >= 1 && b.txs.length <= 50)).toBe(true);
      for (let i = 1; i < batches.length; i++) expect(batches[i]!.time).toBeGreaterThanOrEqual(batches[i - 1]!.time);
      expect(overlapped).toBe(false);
      expect(orderer.pending()).toBe(0);
    });

    it('never delivers a block time before the last committed one', async () => {
      const orderer = await newOrderer(10);
      // Ahead of the clock, but within the skew a peer accepts (trust #1: 30 s by default).
      const future = Date.now() + 10_000;
      const times: number[] = [];
      await orderer.start((b) => {
        times.push(b.time);
      }, future);
      orderer.submit(pendingTxs(3, 'future'));
      const deadline = Date.now() + 5_000;
      while (times.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await orderer.stop();
      expect(times[0]).toBeGreaterThanOrEqual(future);
    });

    it('stop waits for the batch being delivered and delivers nothing after', async () => {
      const orderer = await newOrderer(5);
      let finished = 0;
      await orderer.start(async () => {
        await new Promise((r) => setTimeout(r, 30));
        finished++;
      }, 0);
      orderer.submit(pendingTxs(5, 'stop'));
      await new Promise((r) => setTimeout(r, 10));
      await orderer.stop();
      const atStop = finished;
      expect(atStop).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(finished).toBe(atStop);
    });
  });
}
