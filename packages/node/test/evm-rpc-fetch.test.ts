/**
 * The attester's `fetch` for viem (src/interop/evm/rpc-fetch.ts): a JSON-RPC call answered through
 * viem's client as with the global fetch, an answer past the bound refused, viem's timeout
 * honoured, a call sent again once when a kept-alive connection is closed under it, anything but
 * an http(s) URL refused. Against a local HTTP server; the attesters'
 * tests run it against the real Hardhat process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RPC_RESPONSE_BYTES, rpcFetch } from '../src/interop/evm/rpc-fetch.js';

let server: Server;
let url: string;
/**
 * What the server answers next: a block number, a body past the bound, or nothing for a while; or it
 * closes the connection without an answer: one that served a request before (`race`, as a server
 * closing a kept-alive connection as idle just as a request goes out on it), or any (`drop`).
 */
let mode: 'ok' | 'huge' | 'slow' | 'race' | 'drop' = 'ok';
/** Requests received per connection, and in all. */
const served = new WeakMap<object, number>();
let received = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    if (mode === 'drop' || (mode === 'race' && n > 1)) return void req.socket.destroy();
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const calls = [JSON.parse(body)].flat() as { id: number; method: string }[];
      if (mode === 'slow') return void setTimeout(() => res.end(), 2_000);
      res.writeHead(200, { 'content-type': 'application/json' });
      if (mode === 'huge') return void res.end(`"${'x'.repeat(MAX_RPC_RESPONSE_BYTES + 10)}"`);
      const answers = calls.map((c) => ({
        jsonrpc: '2.0',
        id: c.id,
        result: c.method === 'eth_blockNumber' ? '0x2a' : null,
      }));
      res.end(JSON.stringify(Array.isArray(JSON.parse(body)) ? answers : answers[0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('rpcFetch', () => {
  it('answers viem calls, one at a time and in batches', async () => {
    mode = 'ok';
    const one = createPublicClient({ transport: http(url, { retryCount: 0, fetchFn: rpcFetch }) });
    expect(await one.getBlockNumber({ cacheTime: 0 })).toBe(42n);
    const batched = createPublicClient({ transport: http(url, { retryCount: 0, batch: true, fetchFn: rpcFetch }) });
    const got = await Promise.all([1, 2, 3].map(() => batched.getBlockNumber({ cacheTime: 0 })));
    expect(got).toEqual([42n, 42n, 42n]);
  });

  it('refuses an answer past the bound, and stops at viem’s timeout', async () => {
    mode = 'huge';
    const client = createPublicClient({ transport: http(url, { retryCount: 0, fetchFn: rpcFetch }) });
    await expect(client.getBlockNumber({ cacheTime: 0 })).rejects.toThrow(/more than 10485760 bytes/);
    mode = 'slow';
    const quick = createPublicClient({ transport: http(url, { retryCount: 0, timeout: 200, fetchFn: rpcFetch }) });
    await expect(quick.getBlockNumber({ cacheTime: 0 })).rejects.toThrow(/took too long/);
  });

  it('sends a call again on a new connection when a kept-alive one is closed under it, once', async () => {
    mode = 'ok';
    const client = createPublicClient({ transport: http(url, { retryCount: 0, fetchFn: rpcFetch }) });
    expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(42n);
    // The next call goes out on the kept-alive connection, which the server closes unanswered.
    mode = 'race';
    received = 0;
    expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(42n);
    expect(received).toBe(2);
    // A connection closed again on the second try is an error: at most one more try.
    mode = 'drop';
    received = 0;
    await expect(client.getBlockNumber({ cacheTime: 0 })).rejects.toThrow(/socket hang up/);
    expect(received).toBeGreaterThanOrEqual(1);
    expect(received).toBeLessThanOrEqual(2);
    mode = 'ok';
  });

  it('refuses anything but an http(s) URL and a string body', async () => {
    await expect(rpcFetch('ftp://127.0.0.1/', { method: 'POST', body: '{}' })).rejects.toThrow(/http\(s\) URL/);
    await expect(rpcFetch(url, { method: 'POST', body: new Uint8Array(2) })).rejects.toThrow(/as a string/);
  });
});
