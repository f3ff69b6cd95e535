/**
 * The local EVM chain's process (HardhatChain, src/interop/evm/hardhat.ts): it answers JSON-RPC on
 * 127.0.0.1 with the chain id asked for, mines a block per transaction, survives a kill by a
 * restart on the same port (as a new chain: Hardhat keeps nothing on disk), or restarts keeping its
 * blocks (replayed: the same hashes, balances and nonces, and new blocks on top), and refuses bad
 * options.
 */
import { existsSync } from 'node:fs';
import { codeChecker } from '@custos/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeError } from '../src/errors.js';
import { HardhatChain } from '../src/interop/evm/hardhat.js';

const expectCode = codeChecker(NodeError);
let chain: HardhatChain | undefined;
afterAll(() => chain?.stop());

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return ((await res.json()) as { result: unknown }).result;
}

describe('HardhatChain', () => {
  it('refuses a chain id that is not a positive integer', async () => {
    for (const chainId of [0, -1, 1.5]) {
      const e = await HardhatChain.start({ chainId }).catch((x: unknown) => x);
      expectCode(() => {
        throw e;
      }, 'BAD_REQUEST');
    }
  });

  it('serves its chain id on 127.0.0.1, is killed, restarts on the same port as a new chain', async () => {
    chain = await HardhatChain.start({ chainId: 1337 });
    expect(chain.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await rpc(chain.rpcUrl, 'eth_chainId')).toBe('0x539');
    await rpc(chain.rpcUrl, 'hardhat_mine', ['0x5']);
    expect(await rpc(chain.rpcUrl, 'eth_blockNumber')).toBe('0x5');
    await chain.kill();
    expect(chain.running).toBe(false);
    await expect(fetch(chain.rpcUrl, { method: 'POST' })).rejects.toThrow();
    await chain.restart();
    expect(chain.running).toBe(true);
    expect(await rpc(chain.rpcUrl, 'eth_blockNumber')).toBe('0x0');
    const dir = (chain as unknown as { dir: string }).dir;
    await chain.stop();
    expect(existsSync(dir)).toBe(false);
    chain = undefined;
  });

  it('restarts keeping its blocks: the same hashes and balances, and it goes on mining', async () => {
    chain = await HardhatChain.start({ chainId: 1338 });
    const url = chain.rpcUrl;
    const [from, to] = (await rpc(url, 'eth_accounts')) as [string, string];
    await rpc(url, 'eth_sendTransaction', [{ from, to, value: '0x1234' }]);
    await rpc(url, 'hardhat_mine', ['0x3']);
    await rpc(url, 'eth_sendTransaction', [{ from: to, to: from, value: '0x10' }]);
    const head = (await rpc(url, 'eth_getBlockByNumber', ['latest', false])) as { number: string; hash: string };
    expect(head.number).toBe('0x5');
    const balance = await rpc(url, 'eth_getBalance', [to, 'latest']);
    const pid = chain.pid;
    await chain.restart({ keepBlocks: true });
    expect(chain.pid).not.toBe(pid);
    expect(await rpc(url, 'eth_getBlockByNumber', ['0x5', false])).toMatchObject({ hash: head.hash });
    expect(await rpc(url, 'eth_getBalance', [to, 'latest'])).toBe(balance);
    expect(await rpc(url, 'eth_getTransactionCount', [to, 'latest'])).toBe('0x1');
    await rpc(url, 'eth_sendTransaction', [{ from, to, value: '0x1' }]);
    const next = (await rpc(url, 'eth_getBlockByNumber', ['latest', false])) as {
      number: string;
      parentHash: string;
    };
    expect(next).toMatchObject({ number: '0x6', parentHash: head.hash });
    await chain.stop();
    chain = undefined;
  });
});
